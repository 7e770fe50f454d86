package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.carapace.server.AgentHarness.text;
import static dev.carapace.server.AgentHarness.toolCall;
import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Memory on a real gateway: an agent run's model calls {@code memory_write} and, in a later run, {@code memory_search}
 * (the passage reaches the model in the tool result); then {@code /api/memory} over real HTTP, with who may read whose
 * memory and every client mistake answered 4xx in the API's error shape.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MemoryEndToEndTest {

    /** helper (team platform) writes and searches; lab (team research) searches; the workspaces go in the %s. */
    static final String AGENTS = """
            agents:
              helper:
                workspace: %s
                model: m-solo
                tools: [memory_write, memory_search]
                owner: {team: platform}
              lab:
                workspace: %s
                model: m-solo
                tools: [memory_search]
                owner: {team: research}
            """;

    @TempDir static Path dir;
    GatewayHarness h;

    @BeforeAll
    void start() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path lab = Files.createDirectories(dir.resolve("lab"));
        Files.writeString(ws.resolve("AGENTS.md"), "You help.");
        h = new GatewayHarness(dir.resolve("data"), AGENTS.formatted(ws, lab));
        h.a.enqueue(toolCall("call_1", "memory_write", "{\"path\":\"deploys.md\",\"text\":\"# Deploys\\n\\nWe ship with"
                + " canary releases on Tuesdays. Error KX-9042 means the invoice queue is stuck.\"}"), text("saved", 200, 3));
        JsonNode run = json(h.post("/api/agents/helper/runs?wait=true", h.memberKey, "{\"message\":\"remember how we deploy\"}").body());
        assertThat(run.path("status").asText()).as(run.toString()).isEqualTo("completed");
        h.a.take();
        String toolResult = ScriptedUpstream.body(h.a.take());
        assertThat(toolResult).contains("saved new note 'deploys.md' in your memory");
    }

    @AfterAll
    void stop() {
        h.close();
    }

    @Test
    void aLaterRunFindsTheNoteByMeaning() {
        h.a.enqueue(toolCall("call_2", "memory_search", "{\"query\":\"which weekday do new versions go out\"}"), text("Tuesdays", 300, 3));
        JsonNode run = json(h.post("/api/agents/helper/runs?wait=true", h.memberKey, "{\"message\":\"when do we deploy?\"}").body());
        assertThat(run.path("status").asText()).isEqualTo("completed");
        h.a.take();
        String second = ScriptedUpstream.body(h.a.take());
        assertThat(second).contains("deploys.md").contains("canary releases on Tuesdays");
    }

    @Test
    void theApiSearchesListsReadsAndRemovesForWhoMayReachTheMemory() {
        HttpResponse<String> found = h.get("/api/memory/search?agent=helper&q=KX-9042&k=3", h.memberKey);
        assertThat(found.statusCode()).as(found.body()).isEqualTo(200);
        JsonNode hit = json(found.body()).path("data").get(0);
        assertThat(hit.path("path").asText()).isEqualTo("deploys.md");
        assertThat(hit.path("memory").path("kind").asText()).isEqualTo("agent");
        assertThat(hit.path("memory").path("name").asText()).isEqualTo("helper");
        assertThat(hit.path("snippet").asText()).contains("KX-9042");
        assertThat(hit.path("score").asDouble()).isPositive();
        assertThat(json(h.get("/api/memory/search?agent=helper&q=KX-9042", h.adminKey).body()).path("data")).isNotEmpty();

        JsonNode list = json(h.get("/api/memory/notes?agent=helper", h.memberKey).body());
        assertThat(list.path("data").findValuesAsText("path")).containsExactly("deploys.md");
        assertThat(list.path("data").get(0).path("author").asText()).isEqualTo("helper");
        JsonNode note = json(h.get("/api/memory/note?agent=helper&path=deploys.md", h.memberKey).body());
        assertThat(note.path("text").asText()).startsWith("# Deploys");
        assertThat(json(h.get("/api/memory/notes?team=platform", h.memberKey).body()).path("data")).isEmpty();

        // rita (research) may not reach helper's memory or team platform's; nothing of the note in the answers
        for (String path : new String[]{"/api/memory/search?agent=helper&q=KX-9042", "/api/memory/notes?agent=helper",
                "/api/memory/note?agent=helper&path=deploys.md", "/api/memory/notes?team=platform"}) {
            HttpResponse<String> r = h.get(path, h.researchKey);
            assertThat(r.statusCode()).as(path).isEqualTo(403);
            assertThat(json(r.body()).path("error").path("code").asText()).isEqualTo("memory_forbidden");
            assertThat(r.body()).doesNotContain("KX-9042").doesNotContain("canary");
        }
        assertThat(delete("/api/memory/note?agent=helper&path=deploys.md", h.researchKey).statusCode()).isEqualTo(403);
        assertThat(json(h.get("/api/memory/search?agent=lab&q=KX-9042", h.researchKey).body()).path("data")).isEmpty();
    }

    @Test
    void clientMistakesAre4xxInTheApisErrorShape() {
        record Case(String path, int status, String says) {}
        for (Case c : new Case[]{
                new Case("/api/memory/search?agent=helper", 400, "q: what to search for is required"),
                // regression (found from outside): text of only control, invisible or no-break characters was a 500
                new Case("/api/memory/search?agent=helper&q=%00", 400, "q: what to search for is required"),
                new Case("/api/memory/search?team=platform&q=%e2%80%8b", 400, "q: what to search for is required"),
                new Case("/api/memory/search?team=platform&q=%c2%a0%1f%7f", 400, "q: what to search for is required"),
                new Case("/api/memory/search?team=platform&q=%e2%80%8bKX%00", 200, ""),
                new Case("/api/memory/search?agent=helper&q=x&k=21", 400, "k: a whole number from 1 to 20"),
                new Case("/api/memory/search?agent=helper&q=x&k=abc", 400, "got 'abc'"),
                new Case("/api/memory/search?agent=helper&q=x&scope=sales", 400, "scope: agent, team or both"),
                new Case("/api/memory/search?agent=helper&q=" + "x".repeat(1_001), 400, "at most 1000"),
                new Case("/api/memory/search?team=platform&q=x&scope=agent", 400, "give agent too"),
                new Case("/api/memory/notes", 400, "name one memory"),
                new Case("/api/memory/notes?agent=helper&team=platform", 400, "name one memory"),
                new Case("/api/memory/notes?agent=helper&sort=desc", 400, "sort: unknown parameter"),
                new Case("/api/memory/notes?agent=nobody", 404, "No agent 'nobody'"),
                new Case("/api/memory/notes?team=nope", 404, "No team 'nope'"),
                new Case("/api/memory/note?agent=helper", 400, "path: the note's path is required"),
                new Case("/api/memory/note?agent=helper&path=..%2F..%2Fetc%2Fpasswd", 400, "'.' and '..' are not allowed"),
                new Case("/api/memory/note?agent=helper&path=missing.md", 404, "no note 'missing.md'")}) {
            HttpResponse<String> r = h.get(c.path(), h.memberKey);
            assertThat(r.statusCode()).as(c.path() + " " + r.body()).isEqualTo(c.status());
            JsonNode e = json(r.body()).path("error");
            assertThat(e.path("message").asText()).as(c.path()).contains(c.says());
            if (c.status() != 200) assertThat(e.path("type").asText()).as(c.path()).isNotEmpty();
        }
        assertThat(h.get("/api/memory/notes?agent=helper", null).statusCode()).isEqualTo(401);
        // the field at fault is named, as everywhere else in the API
        assertThat(json(h.get("/api/memory/note?agent=helper&path=..%2Fx", h.memberKey).body()).path("error").path("param")
                .asText()).isEqualTo("path");
        assertThat(json(h.get("/api/memory/search?agent=helper&q=x&scope=sales", h.memberKey).body()).path("error")
                .path("param").asText()).isEqualTo("scope");
    }

    @Test
    void removingANoteTakesItOutOfSearch() {
        h.a.enqueue(toolCall("call_3", "memory_write", "{\"path\":\"tmp/scratch.md\",\"text\":\"Scratch pad: zebra crossing\"}"),
                text("ok", 100, 1));
        assertThat(json(h.post("/api/agents/helper/runs?wait=true", h.memberKey, "{\"message\":\"note it\"}").body())
                .path("status").asText()).isEqualTo("completed");
        h.a.take();
        h.a.take();
        assertThat(json(h.get("/api/memory/search?agent=helper&q=zebra", h.memberKey).body()).path("data")
                .findValuesAsText("path")).contains("tmp/scratch.md");
        HttpResponse<String> removed = delete("/api/memory/note?agent=helper&path=tmp/scratch.md", h.memberKey);
        assertThat(removed.statusCode()).as(removed.body()).isEqualTo(200);
        assertThat(json(removed.body()).path("deleted").asBoolean()).isTrue();
        assertThat(json(h.get("/api/memory/search?agent=helper&q=zebra", h.memberKey).body()).path("data")
                .findValuesAsText("path")).doesNotContain("tmp/scratch.md");
        assertThat(delete("/api/memory/note?agent=helper&path=tmp/scratch.md", h.memberKey).statusCode()).isEqualTo(404);
    }

    private HttpResponse<String> delete(String path, String key) {
        return h.send(HttpRequest.newBuilder(URI.create(h.url(path))).DELETE().header("authorization", "Bearer " + key).build());
    }
}
