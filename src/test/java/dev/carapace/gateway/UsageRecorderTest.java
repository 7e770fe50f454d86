package dev.carapace.gateway;

import dev.carapace.identity.Principal;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Role;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class UsageRecorderTest {

    @TempDir Path dir;

    static Call call(String id, long in, long out) {
        ChatRequest req = new ChatRequest("m", List.of(Message.of(Role.USER, "hi")), List.of(), null, null, null, null,
                null, null, false, false, null, null);
        Call c = new Call(id, new Principal("acme", "platform", "alice", Principal.Role.MEMBER, "cpk_x"), WireApi.OPENAI, req, null);
        c.finish(200, new Usage(in, out, 0, 0, 0, false), null);
        return c;
    }

    @Test
    void writesEveryCompletedCallAndSkipsOnlyRecordsAlreadyStored() {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("u.db"), null, null, 2)) {
            store.usageLog().insertBatch(List.of(new UsageRecord("req-dup", Instant.now(), "acme", "platform", "alice",
                    "cpk_x", "openai", "m", null, null, 1, 0, 0, 1, 0, false, false, 200, null, 10, null)));
            try (UsageRecorder recorder = new UsageRecorder(store.usageLog(), Clock.systemUTC())) {
                recorder.completed(call("req-1", 10, 2));
                recorder.completed(call("req-dup", 99, 99));
                recorder.completed(call("req-2", 30, 4));
                assertThat(recorder.flush(5_000)).isTrue();
            }
            assertThat(store.usageLog().count()).isEqualTo(3);
            assertThat(store.usageLog().byRequestId("req-1").orElseThrow().inputTokens()).isEqualTo(10);
            assertThat(store.usageLog().byRequestId("req-2").orElseThrow().outputTokens()).isEqualTo(4);
            assertThat(store.usageLog().byRequestId("req-dup").orElseThrow().inputTokens())
                    .as("the stored record is kept, not overwritten").isEqualTo(1);
        }
    }

    @Test
    void closeWritesWhatIsQueued() {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("v.db"), null, null, 2)) {
            UsageRecorder recorder = new UsageRecorder(store.usageLog(), Clock.systemUTC());
            for (int i = 0; i < 1000; i++) recorder.completed(call("r" + i, i, 1));
            recorder.close();
            assertThat(store.usageLog().count()).isEqualTo(1000);
        }
    }
}
