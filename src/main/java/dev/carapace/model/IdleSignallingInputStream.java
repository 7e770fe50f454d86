package dev.carapace.model;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * An upstream body that calls {@link StreamSink#idle()} before its first read and before every read that may have to
 * wait for the network. The first call, with nothing to flush yet, tells the sink that the calls will come: without
 * it, a stream whose first bytes are already buffered would not be coalesced until its first wait.
 *
 * <p>A stream reader (such as {@link SseReader}) only reads once it has handed on all the complete events it holds,
 * so a read with nothing {@linkplain InputStream#available() available} means the sink has everything there is for
 * now: the moment to flush. While bytes are already buffered, reads go on without the call, and the events they
 * carry can leave together. {@code available()} may err low (a sink then flushes a little more often) but must not
 * err high, or a sink would hold events while the reader waits: {@code Http1Client}'s body counts only the body
 * bytes it already has in its buffer.
 */
public final class IdleSignallingInputStream extends FilterInputStream {

    private final StreamSink sink;
    private boolean reading;

    public IdleSignallingInputStream(InputStream in, StreamSink sink) {
        super(in);
        this.sink = sink;
    }

    @Override
    public int read() throws IOException {
        signal();
        return in.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len > 0) signal();
        return in.read(b, off, len);
    }

    private void signal() throws IOException {
        if (!reading || in.available() <= 0) sink.idle();
        reading = true;
    }
}
