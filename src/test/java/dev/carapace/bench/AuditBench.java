package dev.carapace.bench;

import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.audit.AuditChain;
import dev.carapace.guard.audit.AuditLog;
import dev.carapace.store.AuditRecords;
import dev.carapace.store.AuditRecords.AuditRow;
import dev.carapace.store.Store;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What recording a guard decision costs the decision: {@link AuditLog#record} (clean, queue; a writer thread
 * appends in batches) against appending the record synchronously in its own transaction, on a SQLite file store
 * (WAL, synchronous=NORMAL). {@code seal} is the hash alone. Run: {@code bench/jmh AuditBench -f 1 -wi 3 -i 5}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class AuditBench {

    Path dir;
    Store store;
    AuditLog log;
    long n;
    final AuditEvent event = new AuditEvent(Instant.parse("2026-11-23T10:00:00Z"), "acme/platform/alice", "coder",
            "agent:coder:main", "filesystem", "read", "src/main/java/dev/carapace/App.java", "allow",
            "policy.filesystem.read_only[2]", "inside read-only root /work/src");
    final AuditRow draft = new AuditRow(0, event.time(), event.principal(), event.agent(), event.session(),
            event.layer(), event.action(), event.target(), event.outcome(), event.rule(), event.reason(), null, null);

    @Setup(Level.Trial)
    public void open() throws Exception {
        dir = Files.createTempDirectory("h-audit-bench");
        store = Store.open("jdbc:sqlite:" + dir.resolve("c.db"), null, null, 4);
        log = new AuditLog(store.auditRecords(), 1 << 20);
    }

    @TearDown(Level.Trial)
    public void close() throws Exception {
        log.flush(Duration.ofMinutes(2));
        System.out.println("\naudit records written: " + store.auditRecords().count() + ", chain ok: "
                + log.verify(null).ok());
        log.close();
        store.close();
    }

    /** The cost a decision pays with the writer thread. */
    @Benchmark
    public void recordQueued() {
        log.record(event);
    }

    /** The cost a decision would pay appending its record itself, one transaction each. */
    @Benchmark
    public List<AuditRow> appendSynchronously() {
        return store.auditRecords().append(List.of(draft), AuditChain::hash);
    }

    @Benchmark
    public String seal() {
        return AuditChain.hash(draft, ++n, AuditRecords.GENESIS);
    }
}
