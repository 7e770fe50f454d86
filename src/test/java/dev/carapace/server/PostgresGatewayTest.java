package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.KeyMaterial;
import dev.carapace.identity.Principal;
import dev.carapace.store.PostgresForTests;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static dev.carapace.testing.ScriptedUpstream.openAiTextStream;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The gateway's whole path with its store on a real PostgreSQL server (see {@code TestPostgres}): keys and usage
 * land there, and gateways sharing the database share the keys.
 */
class PostgresGatewayTest {

    static final String PG_PASSWORD = "pg-password-value";
    static final Map<String, String> ENV = Map.of("UP_KEY", "secret-up", "PG_USER", PostgresForTests.USER,
            "PG_PASSWORD", PG_PASSWORD);

    @TempDir Path dataDir;
    final ScriptedUpstream up = new ScriptedUpstream();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    final List<Carapace> running = new ArrayList<>();
    String dbUrl;

    @BeforeEach
    void database() {
        dbUrl = PostgresForTests.createDatabase();
        assertThat(dbUrl).startsWith("jdbc:postgresql://");
    }

    @AfterEach
    void stop() {
        running.forEach(Carapace::close);
        up.close();
    }

    /** A gateway on the PostgreSQL database {@code dbUrl}: one model, {@code m-pg}, on {@code upstream}; team platform. */
    static String config(String dbUrl, ScriptedUpstream upstream) {
        return """
                org: acme
                store:
                  url: %s
                  user_env: PG_USER
                  password_env: PG_PASSWORD
                  pool_size: 4
                providers:
                  up: {kind: openai, base_url: %s, api_key_env: UP_KEY, read_timeout: 2s}
                models:
                  m-pg:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: up, model: up-model}]
                teams:
                  platform: {}
                """.formatted(dbUrl, upstream.openAiBaseUrl());
    }

    Carapace start(String keyCacheTtl) throws Exception {
        String yaml = config(dbUrl, up) + """
                auth:
                  key_cache_ttl: %s
                """.formatted(keyCacheTtl);
        Carapace c = Carapace.start(ConfigLoader.load(yaml, "pg.yaml"), dataDir, ENV::get, Clock.systemUTC(), 0);
        running.add(c);
        return c;
    }

    HttpResponse<String> send(Carapace c, String method, String path, String key, String body) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) r.header("content-type", "application/json");
        if (key != null) r.header("authorization", "Bearer " + key);
        try {
            return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    HttpResponse<String> chat(Carapace c, String key, boolean stream) {
        return send(c, "POST", "/v1/chat/completions", key, GatewayHarness.chat("m-pg", stream, ""));
    }

    /** One row of a table, read with plain JDBC straight from the server, not through Carapace's store. */
    Map<String, Object> row(String sql, Object arg) throws SQLException {
        try (Connection conn = DriverManager.getConnection(dbUrl, PostgresForTests.USER, PG_PASSWORD);
             PreparedStatement ps = conn.prepareStatement(sql)) {
            ps.setObject(1, arg);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).as("a row for %s", arg).isTrue();
                Map<String, Object> out = new LinkedHashMap<>();
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    out.put(rs.getMetaData().getColumnLabel(i), rs.getObject(i));
                }
                assertThat(rs.next()).as("one row only").isFalse();
                return out;
            }
        }
    }

    /** Usage records are written in the background: waits until the one for {@code requestId} is in the database. */
    void awaitUsageRecord(String requestId) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
            try (Connection conn = DriverManager.getConnection(dbUrl, PostgresForTests.USER, PG_PASSWORD);
                 PreparedStatement ps = conn.prepareStatement("SELECT 1 FROM usage_records WHERE request_id = ?")) {
                ps.setString(1, requestId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next();
                }
            }
        });
    }

    long count(String sql) throws SQLException {
        try (Connection conn = DriverManager.getConnection(dbUrl, PostgresForTests.USER, PG_PASSWORD);
             ResultSet rs = conn.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static String requestId(HttpResponse<?> r) {
        return r.headers().firstValue("x-request-id").orElseThrow();
    }

    @Test
    void keysAndUsageAreStoredInPostgres() throws Exception {
        Carapace c = start("5s");
        assertThat(c.store().postgres()).isTrue();
        var created = c.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null);
        String key = created.secret();
        String prefix = created.key().prefix();

        up.enqueue(openAiText("hello from postgres", 21, 7));
        HttpResponse<String> r = chat(c, key, false);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r.body()).at("/choices/0/message/content").asText()).isEqualTo("hello from postgres");

        up.enqueue(sse(openAiTextStream(List.of("str", "eam"), 11, 2), 0));
        HttpResponse<String> s = chat(c, key, true);
        assertThat(s.statusCode()).isEqualTo(200);
        assertThat(s.body()).contains("str").contains("eam").contains("[DONE]");

        awaitUsageRecord(requestId(r));
        awaitUsageRecord(requestId(s));
        Map<String, Object> rec = row("SELECT user_id, team, org, key_prefix, model, tier, deployment, input_tokens,"
                + " output_tokens, estimated, stream, status, error_code FROM usage_records WHERE request_id = ?", requestId(r));
        assertThat(rec).containsEntry("user_id", "alice").containsEntry("team", "platform").containsEntry("org", "acme")
                .containsEntry("key_prefix", prefix).containsEntry("model", "m-pg").containsEntry("tier", "mid")
                .containsEntry("deployment", "up/up-model").containsEntry("status", 200).containsEntry("error_code", null)
                .containsEntry("estimated", false).containsEntry("stream", false);
        assertThat(((Number) rec.get("input_tokens")).longValue()).isEqualTo(21);
        assertThat(((Number) rec.get("output_tokens")).longValue()).isEqualTo(7);

        Map<String, Object> streamed = row("SELECT input_tokens, output_tokens, stream, ttft_micros FROM usage_records"
                + " WHERE request_id = ?", requestId(s));
        assertThat(((Number) streamed.get("input_tokens")).longValue()).isEqualTo(11);
        assertThat(((Number) streamed.get("output_tokens")).longValue()).isEqualTo(2);
        assertThat(streamed).containsEntry("stream", true);
        assertThat(streamed.get("ttft_micros")).isNotNull();

        assertThat(count("SELECT COUNT(*) FROM usage_records")).isEqualTo(2);
        Map<String, Object> stored = row("SELECT hash, user_id FROM api_keys WHERE prefix = ?", prefix);
        assertThat(stored).containsEntry("hash", KeyMaterial.hash(key)).containsEntry("user_id", "alice");
        assertThat(stored.get("hash")).isNotEqualTo(key);

        try (Stream<Path> files = Files.list(dataDir)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no SQLite file on the side").noneMatch(n -> n.contains(".db"));
        }
    }

    @Test
    void twoGatewaysOnOneDatabaseShareKeysAndRevocations() throws Exception {
        Carapace one = start("0s");
        Carapace two = start("0s");
        up.respond(req -> openAiText("ok", 3, 1));
        String admin = one.keyAdmin().create("root", "platform", Principal.Role.ADMIN, null).secret();

        HttpResponse<String> created = send(one, "POST", "/api/keys", admin, "{\"user\":\"bob\",\"team\":\"platform\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String key = json(created.body()).get("key").asText();
        String prefix = json(created.body()).get("prefix").asText();

        HttpResponse<String> me = send(two, "GET", "/api/me", key, null);
        assertThat(me.statusCode()).as("a key made on one gateway works on the other").isEqualTo(200);
        assertThat(json(me.body()).get("user").asText()).isEqualTo("bob");
        HttpResponse<String> served = chat(two, key, false);
        assertThat(served.statusCode()).isEqualTo(200);
        JsonNode listed = json(send(two, "GET", "/api/keys", admin, null).body());
        assertThat(listed.at("/data").findValuesAsText("prefix")).contains(prefix);

        HttpResponse<String> revoked = send(one, "DELETE", "/api/keys/" + prefix, admin, null);
        assertThat(revoked.statusCode()).as(revoked.body()).isEqualTo(200);

        HttpResponse<String> refused = chat(two, key, false);
        assertThat(refused.statusCode()).as("with no key cache, the other gateway refuses at once").isEqualTo(401);
        assertThat(json(refused.body()).at("/error/code").asText()).isEqualTo("revoked_api_key");
        assertThat(send(two, "GET", "/api/me", key, null).statusCode()).isEqualTo(401);
        assertThat(send(one, "GET", "/api/me", key, null).statusCode()).isEqualTo(401);
        assertThat(send(two, "DELETE", "/api/keys/" + prefix, admin, null).statusCode())
                .as("already revoked, whichever gateway is asked").isEqualTo(404);

        awaitUsageRecord(requestId(served));
        Map<String, Object> rec = row("SELECT user_id, key_prefix, status FROM usage_records WHERE request_id = ?",
                requestId(served));
        assertThat(rec).containsEntry("user_id", "bob").containsEntry("key_prefix", prefix).containsEntry("status", 200);
    }

    @Test
    void aKeyCachedByTheOtherGatewayStopsWorkingWithinTheTtl() throws Exception {
        Duration ttl = Duration.ofSeconds(3);
        Carapace one = start(ttl.toSeconds() + "s");
        Carapace two = start(ttl.toSeconds() + "s");
        String admin = one.keyAdmin().create("root", "platform", Principal.Role.ADMIN, null).secret();
        HttpResponse<String> created = send(one, "POST", "/api/keys", admin, "{\"user\":\"carol\",\"team\":\"platform\"}");
        String key = json(created.body()).get("key").asText();
        String prefix = json(created.body()).get("prefix").asText();

        assertThat(send(two, "GET", "/api/me", key, null).statusCode()).isEqualTo(200);   // now cached on two
        long revokedAt = System.nanoTime();
        assertThat(send(one, "DELETE", "/api/keys/" + prefix, admin, null).statusCode()).isEqualTo(200);

        assertThat(send(one, "GET", "/api/me", key, null).statusCode()).as("the revoking gateway forgets at once").isEqualTo(401);
        HttpResponse<String> stillCached = send(two, "GET", "/api/me", key, null);
        if (System.nanoTime() - revokedAt < ttl.toNanos() / 2) {
            assertThat(stillCached.statusCode()).as("the other gateway trusts its cache for up to the TTL").isEqualTo(200);
        }
        await().atMost(ttl.plusSeconds(3)).pollInterval(Duration.ofMillis(100))
                .until(() -> send(two, "GET", "/api/me", key, null).statusCode() == 401);
        assertThat(Duration.ofNanos(System.nanoTime() - revokedAt)).isLessThanOrEqualTo(ttl.plusSeconds(3));
        HttpResponse<String> refused = send(two, "GET", "/api/me", key, null);
        assertThat(json(refused.body()).at("/error/code").asText()).isEqualTo("revoked_api_key");
    }
}
