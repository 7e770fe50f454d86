package dev.carapace.server.http;

import org.eclipse.jetty.io.Content;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/**
 * A streamed answer's body: writes are held in one array until {@link #flush}, which sends them in one write to the
 * connection, so a burst of events leaves together and the route decides when the client sees them.
 *
 * <p>Why not Jetty's buffered sink: every write to it goes through a blocking callback even when it only copies into
 * the buffer, about 5% of a streamed call's CPU under load. Here a write is an array copy. The array is made at the
 * first write, {@value #FIRST} bytes, and doubles up to {@value #MAX} for bursts (larger writes go straight out), so an
 * open stream that sends small events holds about a kilobyte.
 */
final class StreamBody extends OutputStream {

    static final int FIRST = 1024;
    static final int MAX = 16 * 1024;

    private final Content.Sink response;
    private final ConnectionWatch.Watched connection;   // times each write; null when not watched
    private byte[] buf;
    private int size;
    private boolean closed;

    StreamBody(Content.Sink response, ConnectionWatch.Watched connection) {
        this.response = response;
        this.connection = connection;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (closed) throw new IOException("the response has ended");
        if (buf == null) buf = new byte[FIRST];
        if (size + len > buf.length) {
            int wanted = Math.max(buf.length * 2, size + len);
            if (wanted <= MAX) {
                buf = java.util.Arrays.copyOf(buf, Math.min(MAX, Integer.highestOneBit(wanted - 1) << 1));
            } else {
                send(false);
                if (len > buf.length) {
                    write(false, ByteBuffer.wrap(b, off, len));
                    return;
                }
            }
        }
        System.arraycopy(b, off, buf, size, len);
        size += len;
    }

    /** Sends what is held, in one write. */
    @Override
    public void flush() throws IOException {
        if (!closed && size > 0) send(false);
    }

    /** Sends what is held together with the end of the response. */
    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        send(true);
    }

    private void send(boolean last) throws IOException {
        ByteBuffer bytes = size == 0 ? ByteBuffer.allocate(0) : ByteBuffer.wrap(buf, 0, size);
        size = 0;
        write(last, bytes);
    }

    private void write(boolean last, ByteBuffer bytes) throws IOException {
        Exchange.write(response, last, bytes, connection);
    }
}
