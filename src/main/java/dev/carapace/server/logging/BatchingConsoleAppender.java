package dev.carapace.server.logging;

import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Writes log lines to standard output from one background thread, many lines per write.
 *
 * <p>Logback's console appender writes and flushes every line on the thread that logs it: one system call per
 * access-log line, paid on the request path, and a request that waits whenever standard output is a slow pipe.
 * Here the calling thread only formats its line (it needs the thread's MDC) and appends the bytes to a buffer. A
 * writer thread is woken by the first line, then wakes itself every {@code linger} and writes what has come, until
 * a wake finds nothing. Under load that is one write per few dozen lines and no wake-ups paid on the request path;
 * idle, a line is out within {@code linger}.
 *
 * <p>Nothing is dropped: past {@value #MAX_PENDING_BYTES} bytes not yet written, loggers wait for the writer. When
 * the appender stops (logback stops it, or the JVM exits) the buffer is written out and later lines are written
 * directly, so lines logged while Carapace shuts down still appear.
 */
public final class BatchingConsoleAppender<E> extends UnsynchronizedAppenderBase<E> {

    static final int MAX_PENDING_BYTES = 1 << 20;
    private static final Duration DEFAULT_LINGER = Duration.ofMillis(2);

    private final OutputStream out;
    private final long lingerNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition hasLines = lock.newCondition();
    private final Condition hasRoom = lock.newCondition();
    private Encoder<E> encoder;
    /** Lines not yet written; swapped with {@link #spare} by the writer. Guarded by {@link #lock}. */
    private ByteArrayOutputStream pending = new ByteArrayOutputStream(8192);
    private ByteArrayOutputStream spare = new ByteArrayOutputStream(8192);
    private boolean writerWaiting;
    /** Set once stopped: lines are then written by the thread that logs them. Guarded by {@link #lock}. */
    private boolean direct;
    private Thread writer;
    private Thread exitHook;

    /** What logback's configuration makes: {@code System.out} (a test runner's replacement included), 2 ms linger. */
    public BatchingConsoleAppender() {
        this(System.out, DEFAULT_LINGER);
    }

    BatchingConsoleAppender(OutputStream out, Duration linger) {
        this.out = out;
        this.lingerNanos = linger.toNanos();
    }

    /** Set by logback from {@code <encoder>}. */
    public void setEncoder(Encoder<E> encoder) { this.encoder = encoder; }

    @Override
    public void start() {
        if (encoder == null) {
            addError("no encoder set for the appender named \"" + name + "\"");
            return;
        }
        lock.lock();
        try {
            direct = false;
        } finally {
            lock.unlock();
        }
        writer = Thread.ofPlatform().name("log-writer").daemon().start(this::writeLoop);
        exitHook = new Thread(this::drainForExit, "log-writer-exit");
        Runtime.getRuntime().addShutdownHook(exitHook);
        super.start();
    }

    @Override
    public void stop() {
        if (!isStarted()) return;
        drainForExit();
        try {
            Runtime.getRuntime().removeShutdownHook(exitHook);
        } catch (IllegalStateException shuttingDown) {
            // the JVM is exiting and runs the hook (or has run it) itself
        }
        super.stop();
    }

    @Override
    protected void append(E event) {
        byte[] line = encoder.encode(event);
        lock.lock();
        try {
            while (!direct && pending.size() >= MAX_PENDING_BYTES) hasRoom.awaitUninterruptibly();
            if (direct) {
                write(line);
                return;
            }
            pending.write(line, 0, line.length);
            if (writerWaiting) {
                writerWaiting = false;
                hasLines.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    private void writeLoop() {
        while (true) {
            lock.lock();
            try {
                while (pending.size() == 0 && !direct) {
                    writerWaiting = true;
                    hasLines.awaitUninterruptibly();
                }
                if (direct) return;
            } finally {
                lock.unlock();
            }
            // The first line woke us. From here the writer wakes itself every linger for as long as each wake finds
            // lines, so under load no logging thread ever pays for waking it; the first wake that finds none goes
            // back to waiting for a signal.
            boolean wrote;
            do {
                LockSupport.parkNanos(lingerNanos);
                ByteArrayOutputStream batch;
                lock.lock();
                try {
                    if (direct) return;
                    batch = pending;
                    pending = spare;
                    spare = batch;
                    hasRoom.signalAll();
                } finally {
                    lock.unlock();
                }
                wrote = batch.size() > 0;
                write(batch);   // outside the lock: loggers keep appending to the other buffer meanwhile
                batch.reset();
            } while (wrote);
        }
    }

    /** Writes out what is pending, ends the writer thread, and from then on writes each line as it comes. */
    private void drainForExit() {
        Thread w;
        lock.lock();
        try {
            if (direct) return;
            direct = true;
            hasLines.signal();
            hasRoom.signalAll();
            w = writer;
        } finally {
            lock.unlock();
        }
        try {
            if (w != null && w != Thread.currentThread()) w.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lock.lock();
        try {
            // A batch the writer had taken is written (or abandoned with it after 5 s); what remains is here.
            write(pending);
            pending.reset();
        } finally {
            lock.unlock();
        }
    }

    private void write(ByteArrayOutputStream lines) {
        if (lines.size() == 0) return;
        try {
            lines.writeTo(out);
            out.flush();
        } catch (IOException e) {
            addError("could not write log lines to standard output", e);
        }
    }

    private void write(byte[] line) {
        try {
            out.write(line);
            out.flush();
        } catch (IOException e) {
            addError("could not write a log line to standard output", e);
        }
    }
}
