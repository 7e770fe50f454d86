package dev.carapace.store;

import dev.carapace.store.MemoryNotes.NewChunk;
import dev.carapace.store.MemoryNotes.NoteWrite;
import dev.carapace.store.MemoryNotes.PutOutcome;
import dev.carapace.store.MemoryNotes.Scope;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Memory notes in the store (V16), on SQLite (FTS5) and a real PostgreSQL (tsvector): a note and its chunks written
 * at once, replaced whole, left alone when unchanged, refused over the scope's cap; keyword search within the scopes
 * asked only, stemmed, with identifiers as phrases; and user text that is query syntax in either dialect neither fails
 * nor changes what is found.
 */
class MemoryNotesTest {

    static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");
    static final Scope ALICE = new Scope("agent", "alice");
    static final Scope BOB = new Scope("agent", "bob");
    static final Scope OPS = new Scope("team", "ops");

    @TempDir Path dir;

    private Store open(String db) {
        return db.equals("sqlite")
                ? Store.open("jdbc:sqlite:" + dir.resolve("mem.db"), null, null, 4)
                : Store.open(TestPostgres.get().createDatabase(), TestPostgres.USER, "", 8);
    }

    static NoteWrite note(Scope scope, String path, String... chunks) {
        String body = String.join("\n\n", chunks);
        List<NewChunk> cs = new java.util.ArrayList<>();
        int at = 0;
        for (String c : chunks) {
            cs.add(new NewChunk(c, at, at + c.length(), new byte[]{1, 2, 3, 4}));
            at += c.length() + 2;
        }
        return new NoteWrite(scope, path, body, body.length(), Integer.toHexString(body.hashCode()), "alice", T0,
                "test-model", cs);
    }

    private static List<String> paths(MemoryNotes notes, List<Scope> scopes, String query) {
        List<Long> ids = notes.keyword(scopes, query, 20).stream().map(MemoryNotes.KeywordHit::chunkId).toList();
        return notes.chunks(ids).stream().map(c -> c.scope().name() + ":" + c.path() + "#" + c.ordinal()).sorted().toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void writesReplacesAndKeepsUnchangedNotes(String db) {
        try (Store store = open(db)) {
            MemoryNotes notes = store.memoryNotes();
            assertThat(notes.put(note(ALICE, "deploy.md", "The deployment uses blue green switching.",
                    "Rollback takes five minutes."), 10_000).outcome()).isEqualTo(PutOutcome.CREATED);
            long v1 = notes.version(ALICE);
            assertThat(notes.find(ALICE, "deploy.md").orElseThrow().chunks()).isEqualTo(2);
            assertThat(notes.put(note(ALICE, "deploy.md", "The deployment uses blue green switching.",
                    "Rollback takes five minutes."), 10_000).outcome()).isEqualTo(PutOutcome.UNCHANGED);
            assertThat(notes.version(ALICE)).isEqualTo(v1);

            var r = notes.put(note(ALICE, "deploy.md", "Canary releases replaced blue green."), 10_000);
            assertThat(r.outcome()).isEqualTo(PutOutcome.REPLACED);
            assertThat(notes.version(ALICE)).isGreaterThan(v1);
            assertThat(notes.find(ALICE, "deploy.md").orElseThrow().chunks()).isEqualTo(1);
            assertThat(paths(notes, List.of(ALICE), "rollback")).isEmpty();          // the old chunk left the index
            assertThat(paths(notes, List.of(ALICE), "canary")).containsExactly("alice:deploy.md#0");
            assertThat(notes.scopeBytes(ALICE)).isEqualTo(r.scopeBytes())
                    .isEqualTo("Canary releases replaced blue green.".length());
            assertThat(notes.vectors(ALICE, "test-model").value()).singleElement()
                    .satisfies(v -> assertThat(v.embedding()).containsExactly(1, 2, 3, 4));
            assertThat(notes.vectors(ALICE, "other-model").value()).isEmpty();

            assertThat(notes.delete(ALICE, "deploy.md")).isTrue();
            assertThat(notes.delete(ALICE, "deploy.md")).isFalse();
            assertThat(paths(notes, List.of(ALICE), "canary")).isEmpty();
            assertThat(notes.scopeBytes(ALICE)).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void aWriteOverTheScopesCapChangesNothing(String db) {
        try (Store store = open(db)) {
            MemoryNotes notes = store.memoryNotes();
            notes.put(note(ALICE, "a.md", "x".repeat(60)), 100);
            var over = notes.put(note(ALICE, "b.md", "y".repeat(60)), 100);
            assertThat(over.outcome()).isEqualTo(PutOutcome.OVER_CAP);
            assertThat(over.scopeBytes()).isEqualTo(60);
            assertThat(notes.find(ALICE, "b.md")).isEmpty();
            // replacing a note by a smaller one is a shrink: always let through
            assertThat(notes.put(note(ALICE, "a.md", "z".repeat(30)), 10).outcome()).isEqualTo(PutOutcome.REPLACED);
            assertThat(notes.list(ALICE)).extracting(MemoryNotes.NoteRow::path).containsExactly("a.md");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void keywordSearchStaysInItsScopesStemsAndMatchesIdentifiersAsPhrases(String db) {
        try (Store store = open(db)) {
            MemoryNotes notes = store.memoryNotes();
            notes.put(note(ALICE, "errors.md", "Error ERR_4711 means the ledger journal is full.",
                    "Migrations happen on Tuesdays."), 10_000);
            notes.put(note(BOB, "secret.md", "Bob migrates the ledger on Fridays. ERR_4711 too."), 10_000);
            notes.put(note(OPS, "team.md", "The team migrated 4711 servers and an err log."), 10_000);
            notes.put(note(OPS, "inc.md", "# INC-3052\n\nHost db-eu-09 served /var/log/app.log from v2.3.1."), 10_000);

            assertThat(paths(notes, List.of(ALICE), "ERR_4711")).containsExactly("alice:errors.md#0");
            assertThat(paths(notes, List.of(ALICE, OPS), "ERR_4711")).containsExactly("alice:errors.md#0");
            assertThat(paths(notes, List.of(ALICE), "migrating")).containsExactly("alice:errors.md#1");
            assertThat(paths(notes, List.of(ALICE, OPS), "migration")).containsExactly("alice:errors.md#1", "ops:team.md#0");
            assertThat(paths(notes, List.of(BOB), "fridays")).containsExactly("bob:secret.md#0");
            // punctuation inside identifiers: PostgreSQL's own parser would read "-3052" as a negative number
            for (String id : List.of("INC-3052", "inc 3052", "3052", "db-eu-09", "app.log", "/var/log/app.log", "v2.3.1")) {
                assertThat(paths(notes, List.of(OPS), id)).as(id).containsExactly("ops:inc.md#0");
            }
            assertThat(paths(notes, List.of(ALICE, OPS), "fridays")).isEmpty();
            assertThat(notes.keyword(List.of(), "ledger", 10)).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void aCommonWordIsNotRankedByWhenTheQueryHasARareOne(String db) {
        try (Store store = open(db)) {
            MemoryNotes notes = store.memoryNotes();
            int common = MemoryNotes.COMMON_PHRASE_MATCHES;
            String[] chunks = new String[common + 1];
            for (int i = 0; i < common; i++) chunks[i] = "Heartbeat report number " + i + (i < 3 ? " for the ledger." : ".");
            chunks[common] = "Rotate the vault certificate every quarter.";
            notes.put(note(ALICE, "log.md", chunks), Long.MAX_VALUE);

            // "heartbeat" is in 1,000 chunks: with a rare word beside it, only the rare word's chunks match
            assertThat(paths(notes, List.of(ALICE), "heartbeat vault")).containsExactly("alice:log.md#" + common);
            assertThat(paths(notes, List.of(ALICE), "heartbeat 7")).containsExactly("alice:log.md#7");
            // every word common: the chunks holding all of them
            assertThat(paths(notes, List.of(ALICE), "heartbeat report"))
                    .hasSize(20).allMatch(p -> !p.endsWith("#" + common));
            // a common word alone still finds its chunks
            assertThat(paths(notes, List.of(ALICE), "heartbeat")).hasSize(20);
            // a word below the count is searched as before
            assertThat(paths(notes, List.of(ALICE), "ledger")).containsExactly("alice:log.md#0", "alice:log.md#1",
                    "alice:log.md#2");
            // what is common in another scope is counted in that scope only
            notes.put(note(BOB, "one.md", "Heartbeat of the vault."), Long.MAX_VALUE);
            assertThat(paths(notes, List.of(BOB), "heartbeat vault")).containsExactly("bob:one.md#0");
            assertThat(paths(notes, List.of(BOB), "heartbeat ledger")).containsExactly("bob:one.md#0");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void queryTextThatIsSyntaxIsOnlyText(String db) {
        try (Store store = open(db)) {
            MemoryNotes notes = store.memoryNotes();
            notes.put(note(ALICE, "n.md", "The proxy sits near the border router.", "Ledger alpha beta gamma."), 10_000);
            // each of these is syntax in FTS5 or tsquery; none may fail, and each finds what its words find
            List<String> hostile = List.of("\"proxy", "proxy\"", "NEAR(proxy border)", "proxy*", "-proxy",
                    "proxy -router", "proxy:", "proxy AND", "OR proxy", "NOT proxy", "proxy & | ! <-> :*",
                    "proxy'); DROP TABLE memory_notes; --", "(((proxy", "^proxy", "{proxy}", "proxy:*", "\u0000proxy");
            for (String q : hostile) {
                assertThat(paths(notes, List.of(ALICE), q)).as(q).containsExactly("alice:n.md#0");
            }
            assertThat(paths(notes, List.of(ALICE), "NEAR")).as("NEAR is a word").containsExactly("alice:n.md#0");
            // a column filter would find "proxy" in the column text; as text it is the phrase "text proxy"
            assertThat(paths(notes, List.of(ALICE), "text:proxy")).isEmpty();
            for (String nothing : List.of("", "   ", "\"\"", "*", "-", "()", "<->", "!!!", ":*")) {
                assertThat(notes.keyword(List.of(ALICE), nothing, 10)).as(nothing).isEmpty();
            }
            assertThat(paths(notes, List.of(ALICE), "AND OR NOT")).isEmpty();          // common words: dropped
            assertThat(notes.list(ALICE)).hasSize(1);                                   // and the table is still there
            String many = "word ".repeat(5_000) + "gamma";
            assertThat(notes.keyword(List.of(ALICE), many, 10)).isEmpty();             // only the first 32 words count
        }
    }

    @org.junit.jupiter.api.Test
    void phrasesKeepOnlyLettersAndDigits() {
        assertThat(MemoryNotes.phrases("ERR_4711 \"near\" a*b -x")).containsExactly(List.of("err", "4711"),
                List.of("near"), List.of("a", "b"), List.of("x"));
        assertThat(MemoryNotes.phrases("how do I restore the DB")).containsExactly(List.of("restore"), List.of("db"));
        assertThat(MemoryNotes.fts5(MemoryNotes.phrases("ERR_4711 near"))).isEqualTo("\"err 4711\" OR \"near\"");
        assertThat(MemoryNotes.tsquery(MemoryNotes.phrases("ERR_4711 near"))).isEqualTo("(err <-> 4711) | near");
    }
}
