package dev.carapace.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Locale;

/**
 * The upstream of the concurrent-streams benchmark ({@link ConcurrentStreamsBench}): answers every
 * {@code POST /v1/chat/completions} with an OpenAI SSE stream (a role chunk at once, then {@code chunks} content
 * chunks {@code gapMillis} apart, then the finish chunk, usage and {@code [DONE]}), on keep-alive HTTP/1.1 with chunked
 * framing, for thousands of streams at once.
 *
 * <p>Why not {@link SlowUpstream} (Carapace's own server, a virtual thread sleeping per stream): at 2,000 streams and 20
 * chunks a second each, it spent about 20 µs of CPU per chunk, three quarters of a core, on the same two cores as the
 * gateway under test. A real model server is elsewhere; here one thread on a {@link Selector} writes pre-rendered
 * frames from a queue of deadlines (every stream waits the same gap, so the queue stays in deadline order), about one
 * socket write per chunk. It reads the request's head and Content-Length body and nothing else.
 *
 * <p>Run as its own process: {@code PacedUpstream PORT CHUNKS GAP_MS}; prints {@code paced-upstream listening on PORT},
 * then every 5 s the streams open now, the most at once, and those served to the end.
 */
public final class PacedUpstream {

    private static final byte[] HEAD = ("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            + "transfer-encoding: chunked\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);

    private final int chunks;
    private final long gapNanos;
    private final byte[] first;
    private final byte[] piece;
    private final byte[] last;
    private final ArrayDeque<Conn> due = new ArrayDeque<>();   // in deadline order: every stream waits the same gap
    private int open;
    private int peak;
    private long served;

    private PacedUpstream(int chunks, long gapMillis) {
        this.chunks = chunks;
        this.gapNanos = gapMillis * 1_000_000L;
        byte[] role = frame("{\"role\":\"assistant\",\"content\":\"\"}", null);
        this.first = concat(HEAD, chunk(role));
        this.piece = chunk(frame("{\"content\":\"word \"}", null));
        String usage = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"slow\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":" + chunks + ",\"total_tokens\":" + (100 + chunks)
                + "}}\n\ndata: [DONE]\n\n";
        this.last = concat(chunk(concat(frame("{}", "\"stop\""), usage.getBytes(StandardCharsets.UTF_8))),
                "0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        new PacedUpstream(Integer.parseInt(args[1]), Long.parseLong(args[2])).run(port);
    }

    private void run(int port) throws IOException {
        try (Selector selector = Selector.open(); ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress("127.0.0.1", port), 4096);
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
            System.out.println("paced-upstream listening on " + ((InetSocketAddress) server.getLocalAddress()).getPort());
            System.out.flush();
            long nextReport = System.nanoTime() + 5_000_000_000L;
            while (true) {
                long now = System.nanoTime();
                while (!due.isEmpty() && due.peekFirst().deadline <= now) due.pollFirst().tick(now);
                if (now >= nextReport) {
                    System.out.printf(Locale.ROOT, "open %d peak %d served %d%n", open, peak, served);
                    System.out.flush();
                    nextReport += 5_000_000_000L;
                }
                long wake = Math.min(nextReport, due.isEmpty() ? Long.MAX_VALUE : due.peekFirst().deadline);
                long waitMs = Math.max(1, (wake - now + 999_999) / 1_000_000L);
                selector.select(waitMs);
                for (SelectionKey k : selector.selectedKeys()) {
                    if (!k.isValid()) continue;
                    if (k.isAcceptable()) {
                        SocketChannel ch;
                        while ((ch = server.accept()) != null) {
                            ch.configureBlocking(false);
                            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                            Conn c = new Conn(ch);
                            c.key = ch.register(selector, SelectionKey.OP_READ, c);
                        }
                    } else {
                        ((Conn) k.attachment()).ready(System.nanoTime());
                    }
                }
                selector.selectedKeys().clear();
            }
        }
    }

    /** One client connection: reads a request, streams the answer, then reads the next. */
    private final class Conn {
        final SocketChannel ch;
        SelectionKey key;
        final ByteBuffer in = ByteBuffer.allocate(16 * 1024);
        ByteBuffer pending;     // bytes a full socket buffer did not take
        boolean streaming;
        boolean closed;
        int sent;               // content chunks sent in this stream
        long deadline;

        Conn(SocketChannel ch) { this.ch = ch; }

        void ready(long now) {
            try {
                if (key.isWritable()) {
                    ch.write(pending);
                    if (!pending.hasRemaining()) {
                        pending = null;
                        key.interestOps(SelectionKey.OP_READ);
                    }
                }
                if (key.isValid() && key.isReadable()) {
                    int r = ch.read(in);
                    if (r < 0) {
                        close();
                        return;
                    }
                    if (!streaming) request(now);
                    else if (!in.hasRemaining()) throw new IOException("the client sent more than a request while streaming");
                }
            } catch (IOException e) {
                close();
            }
        }

        /** Starts the stream once a whole request is in. */
        private void request(long now) throws IOException {
            int end = headEnd();
            if (end < 0) {
                if (!in.hasRemaining()) throw new IOException("request head too long");
                return;
            }
            String head = new String(in.array(), 0, end, StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
            int at = head.indexOf("\r\ncontent-length:");
            long length = 0;
            if (at >= 0) {
                int eol = head.indexOf("\r\n", at + 2);
                length = Long.parseLong(head.substring(at + "\r\ncontent-length:".length(), eol).trim());
            } else if (head.contains("\r\ntransfer-encoding:")) {
                throw new IOException("a chunked request body is not supported here");
            }
            if (in.position() < end + length) {
                if (end + length > in.capacity()) throw new IOException("request body too long");
                return;
            }
            int rest = (int) (in.position() - end - length);
            if (rest > 0) throw new IOException("pipelined requests are not supported here");
            in.clear();
            streaming = true;
            sent = 0;
            open++;
            peak = Math.max(peak, open);
            write(first);
            schedule(now);
        }

        private int headEnd() {
            byte[] b = in.array();
            for (int i = 3; i < in.position(); i++) {
                if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') return i + 1;
            }
            return -1;
        }

        /** From now, not from the last deadline: now only grows, so the queue stays in deadline order. */
        private void schedule(long now) {
            deadline = now + gapNanos;
            due.addLast(this);
        }

        void tick(long now) {
            if (closed) return;
            try {
                if (++sent < chunks) {
                    write(piece);
                    schedule(now);
                } else {
                    write(concat(piece, last));
                    streaming = false;
                    open--;
                    served++;
                }
            } catch (IOException e) {
                close();
            }
        }

        private void write(byte[] bytes) throws IOException {
            if (pending != null) {
                ByteBuffer more = ByteBuffer.allocate(pending.remaining() + bytes.length);
                more.put(pending).put(bytes).flip();
                pending = more;
                return;
            }
            ByteBuffer b = ByteBuffer.wrap(bytes);
            ch.write(b);
            if (b.hasRemaining()) {
                pending = b;
                key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
            }
        }

        void close() {
            if (closed) return;
            closed = true;
            if (streaming) open--;
            streaming = false;
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    private static byte[] frame(String delta, String finish) {
        return ("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"slow\",\"choices\":[{\"index\":0,"
                + "\"delta\":" + delta + ",\"finish_reason\":" + (finish == null ? "null" : finish) + "}]}\n\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] chunk(byte[] data) {
        return concat(concat((Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1), data),
                "\r\n".getBytes(StandardCharsets.ISO_8859_1));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
