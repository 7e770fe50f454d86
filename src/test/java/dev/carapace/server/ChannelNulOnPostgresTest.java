package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.store.PostgresForTests;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A NUL character is valid JSON ({@code \u0000}), valid in a mail's body and in a file name, and PostgreSQL's text
 * cannot hold it: a message carrying one must be stored like any other, not refused as "cannot be stored now" for its
 * sender to retry forever (a webhook sender backs off for days; an IMAP mail would stay unseen at the head of the
 * folder).
 */
class ChannelNulOnPostgresTest {

    @TempDir Path dir;
    final ScriptedUpstream up = new ScriptedUpstream();
    Carapace carapace;

    @AfterEach
    void stop() {
        if (carapace != null) carapace.close();
        up.close();
    }

    @Test
    void aNulInAWebhookMessageOrFileNameIsStoredOnPostgresqlNotRefusedAsUnavailable() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path in = Files.writeString(dir.resolve("crm_in.key"), WebhookEndToEndTest.IN_KEY);
        String yaml = PostgresGatewayTest.config(PostgresForTests.createDatabase(), up) + """
                secrets:
                  crm_in: file:%s
                agents:
                  helper: {workspace: %s, model: m-pg, tools: [], owner: {team: platform}}
                channels:
                  crm:
                    kind: webhook
                    agent: helper
                    unknown_senders: ignore
                    webhook: {secrets: [crm_in]}
                """.formatted(in, ws);
        carapace = Carapace.start(ConfigLoader.load(yaml, "pg.yaml"), dir.resolve("data"), PostgresGatewayTest.ENV::get,
                Clock.systemUTC(), 0);
        String admin = carapace.keyAdmin().create("root", "platform", Principal.Role.ADMIN, null).secret();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

        String body = "{\"text\":\"before\\u0000after\",\"sender\":\"nul\",\"attachments\":[{\"name\":\"a\\u0000b.txt\","
                + "\"media_type\":\"text/plain\",\"data_base64\":\"aGk=\"}]}";
        HttpResponse<String> r = http.send(WebhookEndToEndTest.signed(carapace.port(), "msg_nul_1", body),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);

        HttpResponse<String> list = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + carapace.port()
                + "/api/channels/messages?channel=crm")).header("authorization", "Bearer " + admin).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode messages = GatewayHarness.json(list.body()).path("data");
        assertThat(messages).singleElement().satisfies(m -> assertThat(m.path("sender").asText()).isEqualTo("webhook:crm/nul"));
        var stored = carapace.channels().store().message(messages.get(0).path("id").asText()).orElseThrow().message();
        assertThat(stored.text()).isEqualTo("before\uFFFDafter");
        assertThat(stored.attachments()).singleElement().satisfies(a -> assertThat(a.name()).isEqualTo("a\uFFFDb.txt"));
    }
}
