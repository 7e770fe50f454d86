package dev.carapace.memory;

import dev.carapace.privacy.PrivacySpec;
import dev.carapace.store.PostgresForTests;
import dev.carapace.store.Store;
import dev.carapace.testing.MutableClock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Recall@5 on the labeled set ({@link RecallSet}) with the real model, on SQLite (FTS5) and PostgreSQL (tsvector): keyword search misses the paraphrases, vectors
 * confuse near-identical tickets and hosts, and the hybrid finds what either finds. The thresholds are what this
 * build measured (hybrid 0.93 on SQLite and 0.90 on PostgreSQL, whose keyword ranking differs; keyword
 * 0.63, vector 0.87 on both), less a margin for another
 * platform's floating point.
 */
class MemoryRecallTest {

    @TempDir Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void hybridRecallBeatsEachRankingAlone(String db) {
        try (Store store = db.equals("sqlite") ? MemoryFixture.sqlite(dir)
                : Store.open(PostgresForTests.createDatabase(), PostgresForTests.USER, "", 4)) {
            MemoryFixture f = new MemoryFixture(store, PrivacySpec.DEFAULT,
                    new MemoryLimits(64 * 1024, 8L << 20, 1_000, java.time.Duration.ofDays(30)),
                    new MutableClock(Instant.parse("2026-12-05T10:00:00Z")));
            RecallSet set = RecallSet.load();
            assertThat(set.notes).hasSize(40);
            assertThat(set.queries).hasSize(30);
            Scope scope = Scope.agent("alice");
            set.writeInto(f.memory, scope);
            Map<Memory.Strategy, Map<String, Double>> r = set.recall(f.memory, List.of(scope), 5);
            System.out.println("memory recall@5 (" + db + "): " + r);
            for (Memory.Strategy s : Memory.Strategy.values()) {
                System.out.println(s + " misses: " + set.misses(f.memory, List.of(scope), 5, s));
            }

            double hybrid = r.get(Memory.Strategy.HYBRID).get("all");
            double keyword = r.get(Memory.Strategy.KEYWORD).get("all");
            double vector = r.get(Memory.Strategy.VECTOR).get("all");
            assertThat(r.get(Memory.Strategy.KEYWORD).get("paraphrase")).as("keyword on paraphrases").isLessThan(0.5);
            assertThat(r.get(Memory.Strategy.KEYWORD).get("identifier")).as("keyword on identifiers").isEqualTo(1.0);
            assertThat(r.get(Memory.Strategy.VECTOR).get("identifier")).as("vector on identifiers").isLessThan(1.0);
            assertThat(hybrid).isGreaterThanOrEqualTo(keyword).isGreaterThanOrEqualTo(vector).isGreaterThanOrEqualTo(0.85);
            assertThat(hybrid).isGreaterThan(Math.max(keyword, vector));
        }
    }
}
