package dev.carapace.ledger;

import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RecordWriterTest {

    @TempDir Path dir;

    static UsageRecord record(String id, long in, long out) {
        return new UsageRecord(id, Instant.now(), "acme", "platform", "alice", "cpk_x", "openai", "m", "mid", "a/m",
                in, 0, 0, out, 0, false, false, 200, null, 10, null, null, in * 3 + out * 6);
    }

    @Test
    void writesEveryRecordAndSkipsOnlyThoseAlreadyStored() {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("u.db"), null, null, 2)) {
            store.usageLog().insertBatch(List.of(record("req-dup", 1, 1)));
            try (RecordWriter writer = new RecordWriter(store.usageLog())) {
                writer.add(record("req-1", 10, 2));
                writer.add(record("req-dup", 99, 99));
                writer.add(record("req-2", 30, 4));
                assertThat(writer.flush(5_000)).as("a duplicate must not block the writer").isTrue();
            }
            assertThat(store.usageLog().count()).isEqualTo(3);
            assertThat(store.usageLog().byRequestId("req-1").orElseThrow().costNanos()).isEqualTo(42);
            assertThat(store.usageLog().byRequestId("req-2").orElseThrow().outputTokens()).isEqualTo(4);
            assertThat(store.usageLog().byRequestId("req-dup").orElseThrow().inputTokens())
                    .as("the stored record is kept, not overwritten").isEqualTo(1);
        }
    }

    @Test
    void closeWritesWhatIsQueuedAndRollupsMatchTheRecords() {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("v.db"), null, null, 2)) {
            RecordWriter writer = new RecordWriter(store.usageLog());
            long cost = 0;
            for (int i = 0; i < 1000; i++) {
                UsageRecord r = record("r" + i, i, 1);
                cost += r.costNanos();
                writer.add(r);
            }
            writer.close();
            assertThat(store.usageLog().count()).isEqualTo(1000);
            var today = java.time.LocalDate.now(java.time.ZoneOffset.UTC);
            var rows = store.ledgerBook().spend("team", today.minusDays(1), today.plusDays(1), null);
            assertThat(rows).hasSize(1);
            assertThat(rows.get(0).requests()).isEqualTo(1000);
            assertThat(rows.get(0).costNanos()).isEqualTo(cost);
        }
    }
}
