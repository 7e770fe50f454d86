package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigLoader;
import dev.carapace.server.cli.Main;
import dev.carapace.store.ChannelRows;
import dev.carapace.store.Store;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code carapace channels ...} through {@link Main#run} on a config file and its store. */
class ChannelsCliTest {

    @TempDir Path dir;
    Path config;
    Path data;

    record Result(int code, String out, String err) {}

    @BeforeEach
    void seed() throws Exception {
        data = dir.resolve("data");
        config = dir.resolve("carapace.yaml");
        Files.writeString(config, """
                org: acme
                teams:
                  platform: {}
                identities:
                  - {sender: "slack:UBOSS", team: platform, user: boss}
                """);
        CarapaceConfig c = ConfigLoader.load(Files.readString(config), config.toString());
        try (Store store = Carapace.openStore(c, data, k -> null)) {
            String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest("7QK2M9XD4T".getBytes(StandardCharsets.US_ASCII)));
            store.channelRows().putPairing(new ChannelRows.PairingRow(hash, "telegram:42", "Ann", "tg",
                    Instant.now().plusSeconds(600)), Instant.now());
        }
    }

    Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--config", config.toString(), "--data", data.toString()));
        int code = Main.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void pairBindListAndRemove() {
        Result waiting = run("channels", "pair");
        assertThat(waiting.out()).contains("telegram:42", "via tg");
        Result noTeam = run("channels", "pair", "7QK2M9XD4T");
        assertThat(noTeam.code()).isEqualTo(2);
        assertThat(noTeam.err()).contains("--team is required");
        Result badTeam = run("channels", "pair", "7QK2M9XD4T", "--team", "sales");
        assertThat(badTeam.err()).contains("no team 'sales'");
        Result paired = run("channels", "pair", "7qk2-m9xd-4t", "--team", "platform", "--user", "ann", "--json");
        assertThat(paired.code()).as(paired.err()).isZero();
        assertThat(json(paired.out()).path("source").asText()).isEqualTo("pairing");
        Result again = run("channels", "pair", "7QK2M9XD4T", "--team", "platform");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("no pairing is waiting");

        assertThat(run("channels", "bindings", "add", "email:bob@corp.example", "--team", "platform", "--user", "bob").code())
                .isZero();
        JsonNode all = json(run("channels", "bindings", "--json").out());
        assertThat(all.findValuesAsText("sender")).containsExactly("slack:UBOSS", "email:bob@corp.example", "telegram:42");
        Result configured = run("channels", "bindings", "rm", "slack:UBOSS");
        assertThat(configured.code()).isEqualTo(1);
        assertThat(configured.err()).contains("bound in the config file");
        assertThat(run("channels", "bindings", "rm", "telegram:42").out()).contains("removed telegram:42");
        assertThat(run("channels", "bindings", "rm", "telegram:42").code()).isEqualTo(1);
        assertThat(run("channels", "bindings", "add", "nokind", "--team", "platform").err()).contains("KIND:ID");
        Result misspelt = run("channels", "bindings", "add", "slak:T1:U7", "--team", "platform");
        assertThat(misspelt.code()).isNotZero();
        assertThat(misspelt.err()).contains("no channel kind 'slak' (kinds: email, slack, telegram, webhook)");
        assertThat(run("channels", "bindings", "list").out()).doesNotContain("slak:");
        assertThat(run("channels", "bindings", "frob").err()).contains("unknown action");

        assertThat(run("channels", "list").out()).contains("No channels are configured");
        assertThat(run("channels", "test", "nope").err()).contains("no channel 'nope'");
        assertThat(run("channels", "messages").out()).contains("No messages.");
        assertThat(run("audit", "search", "--layer", "channels").out()).contains("pair", "bind", "unbind");
    }
}
