package dev.carapace.model;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A socket with its own read buffer, so that lines and chunk headers are parsed without extra copies. The buffer
 * is sized to the traffic ({@link Http1Client#MIN_BUFFER} to {@link Http1Client#MAX_BUFFER}).
 */
final class Http1Connection {
    final Socket socket;
    /** The TCP connection under {@link #socket} (which is TLS over it, or its own adaptor). */
    final SocketChannel channel;
    final InputStream in;
    final OutputStream out;
    final Http1Client client;
    byte[] buf = new byte[Http1Client.MIN_BUFFER];
    int pos, lim;
    /** Whether any byte arrived during the current exchange. */
    boolean received;
    /** Whether any byte of the current request may have left, once {@link #send} returned or failed. */
    boolean sent;
    long idleSince;
    /** The longest wait a read may have before the watchdog closes the connection. */
    volatile long timeoutNanos;
    /** Whether a read is under way, and since when: what the watchdog checks. */
    volatile boolean waiting;
    volatile long waitingSince;
    /** The watchdog closed the socket: the failed read is reported as a timeout. */
    volatile boolean timedOut;
    /** Set by the first {@link #close}, which alone gives the permit back. */
    private final AtomicBoolean closed = new AtomicBoolean();

    Http1Connection(Socket socket, SocketChannel channel, Http1Client client) throws IOException {
        this.socket = socket;
        this.channel = channel;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.client = client;
    }

    /**
     * Writes a whole request, noting in {@link #sent} whether any of it left. In plain text the channel says how
     * many bytes the kernel took, so a write refused outright is known to have sent nothing. Under TLS the bytes
     * pass through the TLS layer first, which does not say: any failure there counts as possibly sent.
     */
    void send(byte[] head, byte[] body) throws IOException {
        if (socket != channel.socket()) {
            sent = true;
            out.write(head);
            out.write(body);
            return;
        }
        ByteBuffer[] b = {ByteBuffer.wrap(head), ByteBuffer.wrap(body)};   // one gathering write, as one array was
        try {
            while (b[0].hasRemaining() || b[1].hasRemaining()) channel.write(b);
        } finally {
            sent = b[0].position() > 0;
        }
    }

    /**
     * Whether an idle connection can no longer carry a request: the server closed it (end of stream) or reset it,
     * or it holds bytes nobody asked for (a 408 before a close, a TLS close_notify). Looked at with one read that
     * does not wait: an idle connection that is fine has nothing to read, and the read costs one system call.
     * A byte read here is lost, but a connection with a byte to read is dropped anyway.
     */
    boolean stale() {
        if (pos < lim) return true;
        try {
            channel.configureBlocking(false);
            try {
                return channel.read(ByteBuffer.wrap(buf, 0, 1)) != 0;
            } finally {
                channel.configureBlocking(true);
            }
        } catch (IOException e) {
            return true;
        }
    }

    int buffered() { return lim - pos; }

    /**
     * Reads more bytes into the buffer; false at end of stream. A full buffer whose bytes are all unread (a line
     * longer than it) grows, up to {@code max}.
     */
    boolean fill() throws IOException { return fill(Http1Client.MAX_BUFFER); }

    private boolean fill(int max) throws IOException {
        if (pos == lim) {
            pos = lim = 0;
        } else if (lim == buf.length) {
            if (pos == 0) {
                if (buf.length >= max) throw new IOException("response line longer than " + max + " bytes");
                buf = java.util.Arrays.copyOf(buf, Math.min(max, buf.length * 2));
            } else {
                System.arraycopy(buf, pos, buf, 0, lim - pos);
                lim -= pos;
                pos = 0;
            }
        }
        int n;
        waitingSince = System.nanoTime();
        waiting = true;
        try {
            n = in.read(buf, lim, buf.length - lim);
        } catch (IOException e) {
            if (timedOut) throw new SocketTimeoutException("no byte for " + (timeoutNanos / 1_000_000) + " ms");
            throw e;
        } finally {
            waiting = false;
        }
        if (timedOut) throw new SocketTimeoutException("no byte for " + (timeoutNanos / 1_000_000) + " ms");
        if (n <= 0) return false;
        // A read that filled a buffer (mostly) empty before it: more may be waiting, so the next read gets more room.
        if (lim + n == buf.length && lim <= buf.length / 2 && buf.length < Http1Client.MAX_BUFFER) {
            buf = java.util.Arrays.copyOf(buf, Math.min(Http1Client.MAX_BUFFER, buf.length * 2));
        }
        lim += n;
        received = true;
        return true;
    }

    /** One line without its CRLF (or bare LF). */
    String readLine() throws IOException {
        int i = lineEnd();
        int end = i > pos && buf[i - 1] == '\r' ? i - 1 : i;
        String line = new String(buf, pos, end - pos, StandardCharsets.ISO_8859_1);
        pos = i + 1;
        return line;
    }

    /** Reads past one line, without making a string of it; returns its length without the CRLF. */
    int skipLine() throws IOException {
        int end = lineEnd();
        int length = (end > pos && buf[end - 1] == '\r' ? end - 1 : end) - pos;
        pos = end + 1;
        return length;
    }

    /**
     * Reads a chunk-size line ({@code 1a3}, optionally followed by {@code ;extensions}), parsed where it lies in the
     * buffer: a streamed answer has one per event.
     */
    long readChunkSize() throws IOException {
        int end = lineEnd();
        int to = end > pos && buf[end - 1] == '\r' ? end - 1 : end;
        int i = pos;
        pos = end + 1;
        while (i < to && (buf[i] == ' ' || buf[i] == '\t')) i++;
        long size = 0;
        int digits = 0;
        for (; i < to; i++, digits++) {
            int d = Character.digit(buf[i], 16);
            if (d < 0) break;
            if (digits == 15) throw new IOException("malformed chunk size");   // past what a body can be
            size = size << 4 | d;
        }
        while (i < to && (buf[i] == ' ' || buf[i] == '\t')) i++;
        if (digits == 0 || (i < to && buf[i] != ';')) throw new IOException("malformed chunk size");
        return size;
    }

    /** Where the current line's LF is, reading until one is buffered. */
    private int lineEnd() throws IOException {
        int from = pos;
        while (true) {
            for (int i = from; i < lim; i++) if (buf[i] == '\n') return i;
            from = lim - pos;
            if (!fill(Http1Client.MAX_HEADER_BYTES)) throw new EOFException("the upstream closed the connection");
            from += pos;
        }
    }

    /** Whether a whole line is already buffered (so {@link #readLine} will not block). */
    boolean lineBuffered() {
        for (int i = pos; i < lim; i++) if (buf[i] == '\n') return true;
        return false;
    }

    /** Called by the watchdog: the read under way fails with a {@link SocketTimeoutException}. */
    void timeOut() {
        timedOut = true;
        close();
    }

    void close() {
        client.busy.remove(this);
        Http1Client.closeQuietly(socket);
        if (closed.compareAndSet(false, true)) client.connections.release();
    }
}

