package dev.carapace.memory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.ToolResult;
import dev.carapace.privacy.Action;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.store.Store;
import dev.carapace.testing.MutableClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Memory over a real SQLite store with the real model: write and search round trips (keyword, vector and hybrid),
 * re-indexing only on change, appends, the privacy screen on the way in (a secret refused with its line and never its
 * value, a card number redacted or refused as the policy says), and the caps (note size, scope size, writes per
 * minute, the last over 10,000 writes in a loop).
 */
class MemoryTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");
    /** Luhn-valid (a test Visa number), and an OpenAI-shaped key. */
    static final String CARD = "4111 1111 1111 1111";
    static final String KEY = "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LzXcVbNm";

    @TempDir Path dir;
    private Store store;
    private final MutableClock clock = new MutableClock(T0);

    private MemoryFixture fixture(PrivacySpec privacy, MemoryLimits limits) {
        store = MemoryFixture.sqlite(dir);
        return new MemoryFixture(store, privacy, limits, clock);
    }

    @AfterEach
    void close() {
        if (store != null) store.close();
    }

    private static final Memory.Writer ALICE = new Memory.Writer("alice", "ops");

    /**
     * Regression (found from outside): a model that failed to load (an OutOfMemoryError in its class initialiser) left
     * every later memory call failing "unexpectedly"; it is said as what it is, and nothing is stored half-way.
     */
    @Test
    void aModelThatCannotLoadIsSaidPlainlyAndNothingIsStored() throws Exception {
        store = MemoryFixture.sqlite(dir);
        Embedder broken = new Embedder() {
            @Override public String id() { return MiniLmEmbedder.ID; }
            @Override public int dimension() { return 384; }
            @Override public List<float[]> embed(List<String> texts) {
                throw new MemoryException(MemoryException.Reason.UNAVAILABLE, "memory is unavailable: the embedding model "
                        + "could not be loaded (java.lang.OutOfMemoryError: Java heap space); give Carapace more heap");
            }
        };
        Memory m = new Memory(new dev.carapace.server.adapter.StoreMemoryNotes(store.memoryNotes()), broken,
                new dev.carapace.server.adapter.PrivacyWriteScreen(PrivacySpec.DEFAULT, new dev.carapace.privacy.Scanner(
                        PrivacySpec.DEFAULT)), MemoryLimits.DEFAULT, clock);
        MemoryScopes scopes = new MemoryScopes(new dev.carapace.agent.Agents(List.of(MemoryFixture.agent("alice",
                new dev.carapace.agent.AgentSpec.Owner(null, "ops")))), a -> null);
        var result = new MemoryWriteTool(m, scopes).run(new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                "{\"path\":\"a.md\",\"text\":\"hello\"}"), MemoryFixture.as("alice"));
        assertThat(result.error()).isTrue();
        assertThat(result.content()).startsWith("memory_write: memory is unavailable").contains("more heap");
        assertThat(m.list(Scope.agent("alice"))).isEmpty();
    }

    @Test
    void writeAndSearchByKeywordByMeaningAndBoth() {
        MemoryFixture f = fixture(PrivacySpec.DEFAULT, MemoryLimits.DEFAULT);
        Memory m = f.memory;
        Scope own = Scope.agent("alice");
        m.write(own, "ops/backups.md", "# Backups\n\nNightly snapshots of the database are kept for 14 days in the "
                + "cold bucket. To restore, pick a snapshot and run the recovery playbook.", Memory.Mode.REPLACE, ALICE);
        m.write(own, "errors/kx.md", "Error KX-9042 from the billing worker means the invoice queue is stuck.",
                Memory.Mode.REPLACE, ALICE);
        m.write(own, "people/lunch.md", "The team likes the Thai place on Friday.", Memory.Mode.REPLACE, ALICE);

        // by meaning: no word of the query is in the note
        assertThat(m.search(List.of(own), "how do I get lost data back", 1, Memory.Strategy.VECTOR))
                .extracting(Memory.Hit::path).containsExactly("ops/backups.md");
        assertThat(m.search(List.of(own), "how do I get lost data back", 3, Memory.Strategy.KEYWORD)).isEmpty();
        // by keyword: an identifier
        assertThat(m.search(List.of(own), "KX-9042", 1, Memory.Strategy.KEYWORD))
                .extracting(Memory.Hit::path).containsExactly("errors/kx.md");
        // hybrid finds both kinds, with a passage, the note's path, a score and the time
        List<Memory.Hit> hits = m.search(List.of(own), "how do I get lost data back", 2);
        assertThat(hits.get(0).path()).isEqualTo("ops/backups.md");
        assertThat(hits.get(0).snippet()).contains("Nightly snapshots");
        assertThat(hits.get(0).score()).isPositive();
        assertThat(hits.get(0).updatedAt()).isEqualTo(T0);
        assertThat(m.search(List.of(own), "KX-9042", 1)).extracting(Memory.Hit::path).containsExactly("errors/kx.md");
    }

    @Test
    void aSearchOfAnEmptyMemoryNoLongerLoadsTheModel() {
        // the gateway's RSS grew by about 370 MB on the first search of an agent with no notes at all
        MemoryFixture f = fixture(PrivacySpec.DEFAULT, MemoryLimits.DEFAULT);
        assertThat(f.memory.search(List.of(Scope.agent("alice"), Scope.team("ops")), "how do we deploy", 5)).isEmpty();
        assertThat(f.embedded).hasValue(0);
        f.memory.write(Scope.agent("alice"), "deploy.md", "We deploy with the blue-green script.", Memory.Mode.REPLACE, ALICE);
        int afterWrite = f.embedded.get();
        assertThat(f.memory.search(List.of(Scope.agent("alice")), "how do we ship releases", 5)).isNotEmpty();
        assertThat(f.embedded.get()).as("a memory with notes embeds the query").isEqualTo(afterWrite + 1);
    }

    @Test
    void anUnchangedNoteIsNotReindexedAndARewriteReplacesItsChunks() {
        MemoryFixture f = fixture(PrivacySpec.DEFAULT, MemoryLimits.DEFAULT);
        Scope own = Scope.agent("alice");
        Memory.Written first = f.memory.write(own, "deploy.md", "Deploys use blue green switching.", Memory.Mode.REPLACE, ALICE);
        assertThat(first.outcome()).isEqualTo(NoteStore.Outcome.CREATED);
        int afterFirst = f.embedded.get();
        Memory.Written again = f.memory.write(own, "deploy.md", "Deploys use blue green switching.", Memory.Mode.REPLACE, ALICE);
        assertThat(again.outcome()).isEqualTo(NoteStore.Outcome.UNCHANGED);
        assertThat(f.embedded.get()).as("no embedding for an unchanged note").isEqualTo(afterFirst);

        f.memory.write(own, "deploy.md", "Deploys are canary releases now.", Memory.Mode.REPLACE, ALICE);
        assertThat(f.memory.search(List.of(own), "blue green", 5, Memory.Strategy.KEYWORD)).isEmpty();
        assertThat(f.memory.search(List.of(own), "canary", 5)).extracting(Memory.Hit::snippet)
                .containsExactly("Deploys are canary releases now.");

        Memory.Written appended = f.memory.write(own, "deploy.md", "Rollbacks take five minutes.", Memory.Mode.APPEND, ALICE);
        assertThat(appended.outcome()).isEqualTo(NoteStore.Outcome.REPLACED);
        assertThat(f.memory.read(own, "deploy.md").body())
                .isEqualTo("Deploys are canary releases now.\n\nRollbacks take five minutes.");
        f.memory.remove(own, "deploy.md");
        assertThat(f.memory.search(List.of(own), "canary rollbacks", 5)).isEmpty();
        assertThatThrownBy(() -> f.memory.remove(own, "deploy.md")).isInstanceOf(MemoryException.class)
                .hasMessageContaining("no note 'deploy.md' in memory agent:alice");
    }

    @Test
    void aSecretIsRefusedWithItsLineAndACardIsRedactedByDefault() throws Exception {
        MemoryFixture f = fixture(PrivacySpec.DEFAULT, MemoryLimits.DEFAULT);
        ToolResult refused = f.writeTool().run(JSON.readTree(JSON.writeValueAsString(Map.of("path", "creds.md",
                "text", "# Creds\n\nThe billing key is " + KEY + "\n"))), MemoryFixture.as("alice"));
        assertThat(refused.error()).isTrue();
        assertThat(refused.content()).contains("not stored", "line 3", "openai_key", "class secret")
                .doesNotContain(KEY).doesNotContain("Zx9Qw8");
        assertThat(f.memory.list(Scope.agent("alice"))).isEmpty();

        ToolResult redacted = f.writeTool().run(JSON.readTree(JSON.writeValueAsString(Map.of("path", "card.md",
                "text", "Customer paid with " + CARD + " yesterday."))), MemoryFixture.as("alice"));
        assertThat(redacted.error()).isFalse();
        assertThat(redacted.content()).contains("Redacted", "line 1", "card").doesNotContain(CARD);
        String stored = f.memory.read(Scope.agent("alice"), "card.md").body();
        assertThat(stored).isEqualTo("Customer paid with [REDACTED:CARD] yesterday.").doesNotContain("4111");
        assertThat(f.memory.search(List.of(Scope.agent("alice")), "4111", 5, Memory.Strategy.KEYWORD)).isEmpty();
    }

    @Test
    void thePolicyDecidesPerClassAndPerAgent() {
        PrivacySpec strict = new PrivacySpec(Map.of("pii", Action.BLOCK), Map.of(),
                Map.of("bob", Map.of("secret", Action.ALLOW)), null, PrivacySpec.DEFAULT_PHONE_REGIONS, List.of(), List.of());
        MemoryFixture f = fixture(strict, MemoryLimits.DEFAULT);
        assertThatThrownBy(() -> f.memory.write(Scope.agent("alice"), "c.md", "line one\ncard " + CARD, Memory.Mode.REPLACE, ALICE))
                .isInstanceOf(MemoryException.class).hasMessageContaining("line 2 holds a card number (card, class pii)")
                .hasMessageNotContaining("4111")
                .satisfies(e -> assertThat(((MemoryException) e).reason()).isEqualTo(MemoryException.Reason.PRIVACY));
        // bob's policy lets secrets through: his memory keeps the key
        f.memory.write(Scope.agent("bob"), "k.md", "key " + KEY, Memory.Mode.REPLACE, new Memory.Writer("bob", "sales"));
        assertThat(f.memory.read(Scope.agent("bob"), "k.md").body()).contains(KEY);
    }

    @Test
    void hugeNotesAndFullScopesAreRefusedBeforeAnyWork() {
        MemoryFixture f = fixture(PrivacySpec.DEFAULT, new MemoryLimits(2_000, 10_000, 100_000, Duration.ofDays(30)));
        Scope own = Scope.agent("alice");
        assertThatThrownBy(() -> f.memory.write(own, "big.md", "a".repeat(2_001), Memory.Mode.REPLACE, ALICE))
                .isInstanceOf(MemoryException.class).hasMessageContaining("2001 bytes; a note holds at most 2000");
        assertThatThrownBy(() -> f.memory.write(own, "big.md", "é".repeat(1_001), Memory.Mode.REPLACE, ALICE))
                .as("bytes, not characters").hasMessageContaining("2002 bytes");
        f.memory.write(own, "grow.md", "b ".repeat(900), Memory.Mode.REPLACE, ALICE);
        assertThatThrownBy(() -> f.memory.write(own, "grow.md", "c ".repeat(200), Memory.Mode.APPEND, ALICE))
                .hasMessageContaining("would be").hasMessageContaining("start a new note");

        int written = 0;
        MemoryException last = null;
        for (int i = 0; i < 10_000; i++) {
            try {
                f.memory.write(own, "n" + i + ".md", "note number " + i + " " + "x".repeat(1_500), Memory.Mode.REPLACE, ALICE);
                written++;
            } catch (MemoryException e) {
                last = e;
            }
        }
        assertThat(last).isNotNull();
        assertThat(last.reason()).isEqualTo(MemoryException.Reason.TOO_LARGE);
        assertThat(last.getMessage()).contains("cap of 10000 bytes");
        assertThat(written).isBetween(4, 6);
        assertThat(f.store.memoryNotes().scopeBytes(new dev.carapace.store.MemoryNotes.Scope("agent", "alice")))
                .isLessThanOrEqualTo(10_000);
    }

    @Test
    void tenThousandWritesInALoopAreCutOffByTheRate() {
        MemoryFixture f = fixture(PrivacySpec.DEFAULT, new MemoryLimits(64 * 1024, 8L << 20, 20, Duration.ofDays(30)));
        Scope own = Scope.agent("alice");
        int written = 0, limited = 0;
        for (int i = 0; i < 10_000; i++) {
            try {
                f.memory.write(own, "loop.md", "iteration " + i, Memory.Mode.REPLACE, ALICE);
                written++;
            } catch (MemoryException e) {
                assertThat(e.reason()).isEqualTo(MemoryException.Reason.RATE);
                assertThat(e.getMessage()).contains("at most 20 a minute", "try again in");
                limited++;
            }
        }
        assertThat(written).isEqualTo(20);
        assertThat(limited).isEqualTo(9_980);
        clock.advance(Duration.ofSeconds(30));       // half a minute refills half the bucket
        int later = 0;
        for (int i = 0; i < 100; i++) {
            try {
                f.memory.write(own, "loop.md", "later " + i, Memory.Mode.REPLACE, ALICE);
                later++;
            } catch (MemoryException e) {
                assertThat(e.reason()).isEqualTo(MemoryException.Reason.RATE);
            }
        }
        assertThat(later).isEqualTo(10);
        // another agent has its own bucket
        f.memory.write(Scope.agent("bob"), "b.md", "bob's first", Memory.Mode.REPLACE, new Memory.Writer("bob", "sales"));
    }

    @Test
    void anotherGatewaysWriteIsSeenThroughTheScopesVersion() {
        MemoryFixture first = fixture(PrivacySpec.DEFAULT, MemoryLimits.DEFAULT);
        MemoryFixture second = new MemoryFixture(store, PrivacySpec.DEFAULT, MemoryLimits.DEFAULT, clock);
        Scope own = Scope.agent("alice");
        first.memory.write(own, "a.md", "The staging cluster runs in Dublin.", Memory.Mode.REPLACE, ALICE);
        assertThat(first.memory.search(List.of(own), "where is staging hosted", 5, Memory.Strategy.VECTOR))
                .extracting(Memory.Hit::path).containsExactly("a.md");              // first's cache now holds a.md
        second.memory.write(own, "b.md", "Production runs in Frankfurt.", Memory.Mode.REPLACE, ALICE);
        assertThat(first.memory.search(List.of(own), "where is production hosted", 1, Memory.Strategy.VECTOR))
                .extracting(Memory.Hit::path).containsExactly("b.md");
        second.memory.remove(own, "b.md");
        assertThat(first.memory.search(List.of(own), "where is production hosted", 5, Memory.Strategy.VECTOR))
                .extracting(Memory.Hit::path).containsExactly("a.md");
    }

    @Test
    void searchArgumentsAreChecked() {
        MemoryFixture f = fixture(PrivacySpec.DEFAULT, MemoryLimits.DEFAULT);
        List<Scope> own = List.of(Scope.agent("alice"));
        assertThatThrownBy(() -> f.memory.search(own, " ", 5)).hasMessageContaining("query");
        assertThatThrownBy(() -> f.memory.search(own, "x", 21)).hasMessageContaining("k: from 1 to 20; got 21");
        assertThatThrownBy(() -> f.memory.search(own, "x", 0)).hasMessageContaining("k: from 1 to 20");
        assertThatThrownBy(() -> f.memory.search(own, "x".repeat(1_001), 5)).hasMessageContaining("at most 1000");
        assertThat(f.memory.search(own, "anything at all", 5)).isEmpty();
        JsonNode none = null;
        assertThat(f.searchTool().run(none, MemoryFixture.as("alice")).content()).contains("missing argument 'query'");
    }
}
