package dev.carapace.memory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.ToolResult;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.store.Store;
import dev.carapace.testing.MutableClock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The tools as an agent's model calls them, with hostile arguments: an agent reaches its own memory and its team's,
 * whatever it names. Alice and carol share team ops; bob is in sales; dave's owner has no team. Bob's note holds a word
 * only it has, so any leak would show.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MemoryScopeAttackTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir static Path dir;
    private Store store;
    private MemoryFixture f;

    @BeforeAll
    void notes() throws Exception {
        store = MemoryFixture.sqlite(dir);
        f = new MemoryFixture(store, PrivacySpec.DEFAULT, MemoryLimits.DEFAULT, new MutableClock(Instant.parse("2026-12-05T10:00:00Z")));
        assertThat(write("bob", Map.of("path", "plans.md", "text", "Project zanzibar launches in March; budget is tight."))
                .error()).isFalse();
        assertThat(write("bob", Map.of("path", "shared.md", "text", "Sales team: zanzibar pricing sheet.", "scope", "team"))
                .error()).isFalse();
        assertThat(write("alice", Map.of("path", "mine.md", "text", "Alice keeps the on-call rota for the ops team.")).error()).isFalse();
        assertThat(write("alice", Map.of("path", "runbook.md", "text", "Ops runbook: restart the ingest workers first.",
                "scope", "team")).error()).isFalse();
    }

    @AfterAll
    void close() {
        store.close();
    }

    private ToolResult write(String agent, Map<String, ?> args) throws Exception {
        return f.writeTool().run(JSON.valueToTree(args), MemoryFixture.as(agent));
    }

    private ToolResult search(String agent, Map<String, ?> args) throws Exception {
        return f.searchTool().run(JSON.valueToTree(args), MemoryFixture.as(agent));
    }

    private List<String> found(String agent, Map<String, ?> args) throws Exception {
        ToolResult r = search(agent, args);
        assertThat(r.error()).as(r.content()).isFalse();
        List<String> out = new ArrayList<>();
        for (JsonNode n : JSON.readTree(r.content()).path("results")) out.add(n.get("memory").asText() + "/" + n.get("path").asText());
        return out;
    }

    @Test
    void anAgentFindsItsOwnAndItsTeamsNotesOnly() throws Exception {
        assertThat(found("alice", Map.of("query", "zanzibar", "k", 20))).doesNotContain("agent/plans.md", "team sales/shared.md")
                .allMatch(p -> p.equals("agent/mine.md") || p.equals("team ops/runbook.md"));
        assertThat(found("carol", Map.of("query", "restart ingest workers"))).contains("team ops/runbook.md")
                .doesNotContain("agent/mine.md");
        assertThat(found("bob", Map.of("query", "zanzibar"))).contains("agent/plans.md", "team sales/shared.md");
        assertThat(found("alice", Map.of("query", "on-call rota", "scope", "team"))).doesNotContain("agent/mine.md");
        assertThat(found("alice", Map.of("query", "on-call rota", "scope", "agent"))).containsExactly("agent/mine.md");
        assertThat(found("dave", Map.of("query", "zanzibar runbook rota"))).isEmpty();
    }

    @Test
    void namingAnotherAgentOrTeamIsRefusedNotObeyed() throws Exception {
        for (Map<String, ?> args : List.of(Map.of("query", "zanzibar", "agent", "bob"),
                Map.of("query", "zanzibar", "team", "sales"), Map.of("query", "zanzibar", "scope", "sales"),
                Map.of("query", "zanzibar", "scope", "agent:bob"), Map.of("query", "zanzibar", "owner", "bob"))) {
            ToolResult r = search("alice", args);
            assertThat(r.error()).as(args.toString()).isTrue();
            assertThat(r.content()).doesNotContain("launches in March");
        }
        ToolResult r = search("dave", Map.of("query", "zanzibar", "scope", "team"));
        assertThat(r.error()).isTrue();
        assertThat(r.content()).contains("has no team");
        assertThat(write("alice", Map.of("path", "x.md", "text", "y", "scope", "sales")).content()).contains("scope: agent or team");
        assertThat(write("alice", Map.of("path", "plans.md", "text", "overwritten", "agent", "bob")).error()).isTrue();
        // alice writing plans.md writes her own plans.md: bob's is untouched
        assertThat(write("alice", Map.of("path", "plans.md", "text", "alice's plans")).error()).isFalse();
        assertThat(f.memory.read(Scope.agent("bob"), "plans.md").body()).contains("zanzibar");
    }

    @Test
    void pathsThatClimbOrHideAreRefused() throws Exception {
        for (String path : List.of("../bob/plans.md", "../../agent/bob/plans.md", "a/../../bob.md", "/etc/passwd",
                "~/x.md", "a\\..\\b.md", "a//b.md", "a/", ".", "..", "x\u0000.md", "x\u202e.md", "x\n.md", " ",
                "a".repeat(201), "a/b/c/d/e/f/g/h/i.md", "%2e%2e/bob.md")) {
            ToolResult r = write("alice", Map.of("path", path, "text", "attack"));
            assertThat(r.error()).as(path).isTrue();
            assertThat(r.content()).as(path).startsWith("memory_write: path");
        }
        assertThat(f.memory.read(Scope.agent("bob"), "plans.md").body()).contains("zanzibar");
        assertThat(f.memory.list(Scope.agent("alice"))).extracting(NoteStore.Note::path).doesNotContain("..", "/etc/passwd");
    }

    @Test
    void argumentsOfTheWrongShapeAreExplained() throws Exception {
        assertThat(search("alice", Map.of("query", "x", "k", 21)).content()).contains("k: from 1 to 20");
        assertThat(search("alice", Map.of("query", "x", "k", "five")).content()).contains("'k' must be a positive integer");
        assertThat(search("alice", Map.of("query", 42)).content()).contains("'query' must be a string");
        assertThat(write("alice", Map.of("path", "a.md")).content()).contains("missing argument 'text'");
        // no path: today's journal, appended to
        assertThat(write("carol", Map.of("text", "first thought")).content()).contains("journal/2026-12-05.md");
        assertThat(write("carol", Map.of("text", "second thought")).error()).isFalse();
        assertThat(f.memory.read(Scope.agent("carol"), "journal/2026-12-05.md").body())
                .isEqualTo("first thought\n\nsecond thought");
        assertThat(write("alice", Map.of("path", "a.md", "text", "x", "mode", "overwrite")).content()).contains("replace or append");
        ToolResult unknownAgent = f.searchTool().run(JSON.valueToTree(Map.of("query", "x")), MemoryFixture.as("mallory"));
        assertThat(unknownAgent.error()).isTrue();
    }
}
