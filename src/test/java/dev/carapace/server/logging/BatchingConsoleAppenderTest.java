package dev.carapace.server.logging;

import ch.qos.logback.core.ContextBase;
import ch.qos.logback.core.encoder.EncoderBase;
import ch.qos.logback.core.status.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class BatchingConsoleAppenderTest {

    /** Records every write, so a test can count them; optionally blocks writes until released. */
    static final class Sink extends OutputStream {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final AtomicInteger writes = new AtomicInteger();
        volatile CountDownLatch gate = new CountDownLatch(0);
        volatile boolean broken;

        @Override
        public void write(int b) throws IOException { write(new byte[] {(byte) b}, 0, 1); }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                gate.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            if (broken) throw new IOException("stdout closed");
            writes.incrementAndGet();
            synchronized (bytes) {
                bytes.write(b, off, len);
            }
        }

        List<String> lines() {
            synchronized (bytes) {
                String all = bytes.toString(StandardCharsets.UTF_8);
                return all.isEmpty() ? List.of() : Arrays.asList(all.split("\n"));
            }
        }
    }

    static final class LineEncoder extends EncoderBase<String> {
        @Override public byte[] headerBytes() { return null; }
        @Override public byte[] encode(String event) { return (event + "\n").getBytes(StandardCharsets.UTF_8); }
        @Override public byte[] footerBytes() { return null; }
    }

    final Sink sink = new Sink();
    final List<BatchingConsoleAppender<String>> started = new ArrayList<>();

    BatchingConsoleAppender<String> appender(Duration linger) {
        var a = new BatchingConsoleAppender<String>(sink, linger);
        a.setContext(new ContextBase());
        a.setName("test");
        a.setEncoder(new LineEncoder());
        a.start();
        started.add(a);
        return a;
    }

    @AfterEach
    void stop() {
        sink.gate.countDown();
        started.forEach(BatchingConsoleAppender::stop);
    }

    @Test
    void aLoneLineIsWrittenWithinTheLinger() {
        var a = appender(Duration.ofMillis(2));
        a.doAppend("hello");
        await().atMost(Duration.ofSeconds(2)).until(() -> sink.lines().equals(List.of("hello")));
        assertThat(sink.writes).hasValue(1);
    }

    /** The writer wakes itself while lines keep coming; once a wake finds none it must wait for the next line's signal. */
    @Test
    void aLineAfterAQuietSpellIsWrittenAsPromptlyAsTheFirst() throws Exception {
        var a = appender(Duration.ofMillis(2));
        for (int i = 0; i < 50; i++) {
            a.doAppend("busy " + i);
            Thread.sleep(1);
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> sink.lines().size() == 50);
        Thread.sleep(50);   // many lingers without a line: the writer is back to waiting
        int writes = sink.writes.get();
        a.doAppend("after the quiet");
        await().atMost(Duration.ofSeconds(2)).until(() -> sink.lines().contains("after the quiet"));
        assertThat(sink.writes.get()).isEqualTo(writes + 1);
    }

    @Test
    void linesFromManyThreadsArriveWholeInOrderPerThreadAndShareWrites() throws Exception {
        var a = appender(Duration.ofMillis(5));
        int threads = 8, perThread = 2_000;
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < perThread; i++) a.doAppend("t" + id + " line " + i + " " + "x".repeat(i % 50));
            }));
        }
        for (Thread w : workers) w.join();
        await().atMost(Duration.ofSeconds(10)).until(() -> sink.lines().size() == threads * perThread);

        int[] next = new int[threads];
        for (String line : sink.lines()) {
            String[] f = line.split(" ");
            int t = Integer.parseInt(f[0].substring(1)), i = Integer.parseInt(f[2]);
            assertThat(i).as("line %s: thread %d's lines in the order it logged them", line, t).isEqualTo(next[t]++);
            assertThat(line).endsWith(" " + "x".repeat(i % 50));
        }
        assertThat(sink.writes.get()).as("16,000 lines in far fewer writes").isLessThan(threads * perThread / 10);
    }

    @Test
    void stopWritesWhatIsPendingAndLaterLinesAreWrittenDirectly() {
        var a = appender(Duration.ofSeconds(30));   // the writer would hold the lines for 30 s
        a.doAppend("one");
        a.doAppend("two");
        a.stop();
        assertThat(sink.lines()).containsExactly("one", "two");
    }

    @Test
    void loggersWaitForASlowWriterInsteadOfDroppingLines() throws Exception {
        var a = appender(Duration.ZERO);
        sink.gate = new CountDownLatch(1);   // stdout blocks
        String big = "y".repeat(64 * 1024);
        int lines = 2 * BatchingConsoleAppender.MAX_PENDING_BYTES / big.length() + 4;
        AtomicInteger logged = new AtomicInteger();
        Thread logger = Thread.ofVirtual().start(() -> {
            for (int i = 0; i < lines; i++) {
                a.doAppend(i + big);
                logged.incrementAndGet();
            }
        });
        // The buffer fills up to its bound and the logger waits there.
        await().atMost(Duration.ofSeconds(5)).until(() -> logger.getState() == Thread.State.WAITING);
        assertThat(logged.get()).isLessThan(lines).isGreaterThan(BatchingConsoleAppender.MAX_PENDING_BYTES / big.length() - 2);

        sink.gate.countDown();
        assertThat(logger.join(Duration.ofSeconds(10))).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> sink.lines().size() == lines);
        for (int i = 0; i < lines; i++) assertThat(sink.lines().get(i)).startsWith(i + "y");
    }

    @Test
    void aFailingStdoutIsReportedToLogbackAndNeverThrowsIntoTheLogger() throws Exception {
        var a = appender(Duration.ZERO);
        sink.broken = true;
        a.doAppend("lost");
        await().atMost(Duration.ofSeconds(5)).until(() -> a.getContext().getStatusManager().getCopyOfStatusList()
                .stream().anyMatch(s -> s.getLevel() == Status.ERROR && s.getMessage().contains("standard output")));
        sink.broken = false;
        a.doAppend("after");
        await().atMost(Duration.ofSeconds(5)).until(() -> sink.lines().equals(List.of("after")));
    }
}
