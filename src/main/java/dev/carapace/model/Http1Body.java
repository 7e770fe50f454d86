package dev.carapace.model;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.TimeUnit;

/** A response body: a known length, chunked, or up to the server closing the connection. */
final class Http1Body extends InputStream {
    private final Http1Connection c;
    private final boolean chunked;
    private final boolean keepAlive;
    /** Bytes left in the body (known length; {@code Long.MAX_VALUE} when close-delimited) or in the current chunk. */
    private long remaining;
    /** Chunked: the CRLF that ends a chunk's data is still to be read. */
    private boolean chunkEnd;
    /** Chunked: the last (empty) chunk was seen; trailer lines follow up to an empty one. */
    private boolean trailers;
    private boolean eof;
    private boolean closed;

    Http1Body(Http1Connection c, long length, boolean chunked, boolean keepAlive) {
        this.c = c;
        this.chunked = chunked;
        this.keepAlive = keepAlive;
        this.remaining = length;
        if (!chunked && length == 0) finish();
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (closed) throw new IOException("body closed");
        return len == 0 ? 0 : read0(b, off, len);
    }

    private int read0(byte[] b, int off, int len) throws IOException {
        if (chunked) frame(true);
        if (eof) return -1;
        if (c.buffered() == 0 && !c.fill()) {
            if (remaining == Long.MAX_VALUE) {     // close-delimited: this is the end
                finish();
                return -1;
            }
            throw new EOFException("the upstream closed the connection before the body was complete");
        }
        int n = (int) Math.min(Math.min(len, c.buffered()), remaining);
        System.arraycopy(c.buf, c.pos, b, off, n);
        c.pos += n;
        if (remaining != Long.MAX_VALUE) remaining -= n;
        if (remaining == 0) {
            if (chunked) chunkEnd = true;
            else finish();
        }
        return n;
    }

    /** Bytes that can be read without blocking: only what is buffered, and only body bytes. */
    @Override
    public int available() throws IOException {
        return closed ? 0 : buffered();
    }

    private int buffered() throws IOException {
        if ((chunked && !frame(false)) || eof) return 0;
        return (int) Math.min(c.buffered(), remaining);
    }

    /**
     * Reads chunk framing up to the next data byte or the end of the body.
     *
     * @return false when {@code block} is false and the framing is not all buffered yet
     */
    private boolean frame(boolean block) throws IOException {
        while (remaining == 0 && !eof) {
            if (!block && !c.lineBuffered()) return false;
            if (chunkEnd) {
                if (c.skipLine() != 0) throw new IOException("malformed chunked body");
                chunkEnd = false;
            } else if (trailers) {
                if (c.skipLine() == 0) finish();
            } else {
                remaining = c.readChunkSize();
                trailers = remaining == 0;
            }
        }
        return true;
    }

    /** Reads and drops the rest of the body, blocking or not; true if it ended, within {@code MAX_DRAIN} bytes. */
    private boolean drain(boolean block) throws IOException {
        byte[] scratch = null;   // most bodies end with nothing left to drop
        for (long left = Http1Client.MAX_DRAIN; !eof && left > 0; ) {
            if (!block && buffered() == 0) break;
            if (scratch == null) scratch = new byte[1024];
            int n = read0(scratch, 0, scratch.length);
            if (n < 0) break;
            left -= n;
        }
        return eof;
    }

    /**
     * Ends a body the caller no longer needs, keeping its connection if the rest arrives soon: a stream's last
     * chunk usually follows its final event by microseconds. What is buffered is read here; the rest, if any,
     * in the background, for at most {@code DRAIN_MILLIS}.
     */
    void done() {
        if (closed) return;
        closed = true;
        try {
            if (eof || drain(false)) return;
        } catch (IOException e) {
            c.close();
            return;
        }
        if (!keepAlive) {
            c.close();
            return;
        }
        c.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(Http1Client.DRAIN_MILLIS);
        Thread.ofVirtual().name("carapace-upstream-drain").start(() -> {
            try {
                if (!drain(true)) c.close();
            } catch (IOException e) {
                c.close();
            }
        });
    }

    private void finish() {
        eof = true;
        if (keepAlive) c.client.release(c);
        else c.close();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (!eof) c.close();
    }
}
