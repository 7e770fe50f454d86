package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigLoader;
import dev.carapace.memory.Memory;
import dev.carapace.memory.Scope;
import dev.carapace.server.cli.Main;
import dev.carapace.store.Store;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code carapace memory search|list|rm} through {@link Main#run} on a config file and its store. */
class MemoryCliTest {

    @TempDir Path dir;
    Path config;
    Path data;

    record Result(int code, String out, String err) {}

    @BeforeEach
    void seed() throws Exception {
        Path helper = Files.createDirectories(dir.resolve("helper"));
        Path lab = Files.createDirectories(dir.resolve("lab"));
        data = dir.resolve("data");
        config = dir.resolve("carapace.yaml");
        Files.writeString(config, """
                org: acme
                providers:
                  a: {kind: openai, base_url: http://127.0.0.1:9, api_key_env: A_KEY}
                models:
                  m-solo:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: a, model: up-model}]
                teams:
                  platform: {}
                  research: {}
                """ + MemoryEndToEndTest.AGENTS.formatted(helper, lab));
        CarapaceConfig c = ConfigLoader.load(Files.readString(config), config.toString());
        try (Store store = Carapace.openStore(c, data, k -> null)) {
            Memory m = Carapace.memory(c, store, Clock.systemUTC());
            m.write(Scope.agent("helper"), "deploys.md", "We ship canary releases on Tuesdays.", Memory.Mode.REPLACE,
                    new Memory.Writer("helper", "platform"));
            m.write(Scope.team("platform"), "oncall.md", "The pager rota changes on Mondays.", Memory.Mode.REPLACE,
                    new Memory.Writer("helper", "platform"));
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
    void searchListAndRemove() {
        Result found = run("memory", "search", "--agent", "helper", "when do we release", "--json");
        assertThat(found.code()).as(found.err()).isZero();
        JsonNode hits = json(found.out());
        assertThat(hits.findValuesAsText("path")).first().isEqualTo("deploys.md");
        assertThat(hits.findValuesAsText("path")).contains("oncall.md");            // the team's memory too
        Result ownOnly = run("memory", "search", "--agent", "helper", "--scope", "agent", "pager rota", "--json");
        assertThat(json(ownOnly.out()).findValuesAsText("path")).containsExactly("deploys.md");
        Result text = run("memory", "search", "--team", "platform", "pager");
        assertThat(text.out()).contains("team:platform", "oncall.md", "The pager rota");

        Result list = run("memory", "list", "--agent", "helper");
        assertThat(list.code()).isZero();
        assertThat(list.out()).contains("PATH", "deploys.md");
        assertThat(json(run("memory", "list", "--team", "platform", "--json").out()).get(0).path("path").asText())
                .isEqualTo("oncall.md");

        Result rm = run("memory", "rm", "--agent", "helper", "deploys.md");
        assertThat(rm.code()).as(rm.err()).isZero();
        assertThat(rm.out()).contains("Removed deploys.md from memory agent:helper");
        assertThat(run("memory", "list", "--agent", "helper").out()).contains("holds no notes");
        Result again = run("memory", "rm", "--agent", "helper", "deploys.md");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).startsWith("error: no note 'deploys.md' in memory agent:helper");
    }

    @Test
    void mistakesAreSaid() {
        Result neither = run("memory", "list");
        assertThat(neither.code()).isEqualTo(2);
        assertThat(neither.err()).contains("name one memory");
        assertThat(run("memory", "list", "--agent", "helper", "--team", "platform").code()).isEqualTo(2);
        Result unknown = run("memory", "list", "--agent", "ghost");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).contains("no agent 'ghost'", "agents: helper, lab");
        assertThat(run("memory", "list", "--team", "sales").err()).contains("no team 'sales'");
        Result badPath = run("memory", "rm", "--agent", "helper", "../lab/x.md");
        assertThat(badPath.code()).isEqualTo(1);
        assertThat(badPath.err()).contains("'.' and '..' are not allowed");
        assertThat(run("memory", "search", "--agent", "helper", "x", "--k", "50").err()).contains("k: from 1 to 20");
        assertThat(run("memory", "search", "--agent", "lab", "--scope", "team", "x").code()).isZero();
        assertThat(run("memory", "search", "--agent", "lab", "--scope", "sales", "x").err()).contains("scope: agent, team or both");
    }
}
