package dev.carapace.bench;

import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.egress.Listener;
import dev.carapace.guard.egress.SecretStore;
import org.HdrHistogram.Histogram;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Egress proxy overhead: the same small GET against a local keep-alive server, sent directly and through the proxy
 * (TCP, Unix socket, CONNECT tunnel, and with a credential injected). Sequential latency (p50/p99 over one client
 * connection) and throughput (C clients for S seconds). The proxy opens a new server connection per forwarded
 * request (no upstream pooling), so "direct, new connection" is the fair baseline for forwarding.
 *
 * <pre>EgressBench [--requests N] [--seconds S] [--concurrency C]</pre>
 */
public final class EgressBench {

    private static final byte[] RESPONSE = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n"
            + "x".repeat(64)).getBytes(StandardCharsets.ISO_8859_1);

    public static void main(String[] args) throws Exception {
        int requests = intArg(args, "--requests", 20_000);
        int seconds = intArg(args, "--seconds", 5);
        int concurrency = intArg(args, "--concurrency", 8);
        try (ServerSocket upstream = new ServerSocket(0, 512, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> serve(upstream));
            int port = upstream.getLocalPort();
            NetworkRules rules = r -> new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, "bench", "bench",
                    false, List.of("127.0.0.0/8"), r.method() == null ? List.of()
                    : List.of(new NetworkRules.Injection("Authorization", "Bearer {secret}", "TOKEN")));
            NetworkRules plainRules = r -> new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, "bench",
                    "bench", false, List.of("127.0.0.0/8"), List.of());
            AtomicLong audited = new AtomicLong();
            SecretStore secrets = SecretStore.of(java.util.Map.of("TOKEN", "env:T"), n -> "bench-token");
            Path dir = Files.createTempDirectory("h-egress-bench");
            Path sock = dir.resolve("egress.sock");
            try (EgressProxy plain = proxy(plainRules, secrets, audited);
                 EgressProxy injecting = proxy(rules, secrets, audited)) {
                Listener tcp = plain.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "bench");
                Listener unix = plain.listen(UnixDomainSocketAddress.of(sock), "bench");
                Listener inj = injecting.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "bench");
                String origin = "GET /x HTTP/1.1\r\nHost: bench.test\r\n\r\n";
                String absolute = "GET http://bench.test:" + port + "/x HTTP/1.1\r\n\r\n";
                List<Target> targets = List.of(
                        new Target("direct, keep-alive", () -> tcp(port), origin, false),
                        new Target("direct, new connection", () -> tcp(port), origin, true),
                        new Target("proxy TCP (forward)", () -> tcp(portOf(tcp)), absolute, false),
                        new Target("proxy Unix socket (forward)", () -> unix(sock), absolute, false),
                        new Target("proxy TCP + credential injection", () -> tcp(portOf(inj)), absolute, false),
                        new Target("proxy CONNECT tunnel", () -> tunnel(portOf(tcp), port), origin, false));
                System.out.printf(Locale.ROOT, "EgressBench: %d sequential requests, then %d clients for %d s%n",
                        requests, concurrency, seconds);
                System.out.printf(Locale.ROOT, "%-34s %9s %9s %9s %12s%n", "target", "p50 us", "p99 us", "p99.9 us",
                        "req/s");
                for (Target t : targets) {
                    sequential(t, requests / 4); // warm-up
                    Histogram h = sequential(t, requests);
                    throughput(t, concurrency, 1); // warm-up
                    double rps = throughput(t, concurrency, seconds);
                    System.out.printf(Locale.ROOT, "%-34s %9.1f %9.1f %9.1f %12.0f%n", t.name,
                            h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
                            h.getValueAtPercentile(99.9) / 1000.0, rps);
                }
                System.out.println("audit events recorded: " + audited.get());
            } finally {
                Files.deleteIfExists(sock);
                Files.deleteIfExists(dir);
            }
        }
    }

    private static EgressProxy proxy(NetworkRules rules, SecretStore secrets, AtomicLong audited) {
        return new EgressProxy(rules, name -> List.of(InetAddress.getLoopbackAddress()), secrets,
                e -> audited.incrementAndGet(), Clock.systemUTC(), EgressProxy.Options.defaults());
    }

    private record Connection(InputStream in, OutputStream out, AutoCloseable closer) {}

    @FunctionalInterface
    private interface Opener {
        Connection open() throws Exception;
    }

    private record Target(String name, Opener opener, String request, boolean newConnectionEach) {}

    private static Histogram sequential(Target t, int n) throws Exception {
        Histogram h = new Histogram(3_600_000_000L, 3);
        byte[] request = t.request.getBytes(StandardCharsets.ISO_8859_1);
        Connection c = t.newConnectionEach ? null : t.opener.open();
        try {
            for (int i = 0; i < n; i++) {
                long start = System.nanoTime();
                Connection use = c != null ? c : t.opener.open();
                exchange(use, request);
                if (c == null) use.closer.close();
                h.recordValue(System.nanoTime() - start);
            }
        } finally {
            if (c != null) c.closer.close();
        }
        return h;
    }

    private static double throughput(Target t, int clients, int seconds) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong done = new AtomicLong();
        byte[] request = t.request.getBytes(StandardCharsets.ISO_8859_1);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    Connection c = t.newConnectionEach ? null : t.opener.open();
                    while (!stop.get()) {
                        Connection use = c != null ? c : t.opener.open();
                        exchange(use, request);
                        if (c == null) use.closer.close();
                        done.incrementAndGet();
                    }
                    if (c != null) c.closer.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        long start = System.nanoTime();
        Thread.sleep(Duration.ofSeconds(seconds));
        stop.set(true);
        for (Thread th : threads) th.join();
        return done.get() / ((System.nanoTime() - start) / 1e9);
    }

    /** Sends one request and reads the 64-byte response (status line, headers, body by Content-Length). */
    private static void exchange(Connection c, byte[] request) throws IOException {
        c.out.write(request);
        c.out.flush();
        int length = -1;
        StringBuilder line = new StringBuilder();
        boolean first = true;
        while (true) {
            int b = c.in.read();
            if (b < 0) throw new IOException("closed");
            if (b != '\n') {
                if (b != '\r') line.append((char) b);
                continue;
            }
            String l = line.toString();
            line.setLength(0);
            if (first && !l.startsWith("HTTP/1.1 200")) throw new IOException("unexpected: " + l);
            first = false;
            if (l.isEmpty()) break;
            if (l.regionMatches(true, 0, "content-length:", 0, 15)) length = Integer.parseInt(l.substring(15).strip());
        }
        if (length < 0) throw new IOException("no Content-Length");
        c.in.readNBytes(length);
    }

    private static Connection tcp(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setTcpNoDelay(true);
        return new Connection(new BufferedInputStream(s.getInputStream()), s.getOutputStream(), s);
    }

    private static Connection unix(Path path) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(path));
        return new Connection(new BufferedInputStream(Channels.newInputStream(ch)), Channels.newOutputStream(ch), ch);
    }

    private static Connection tunnel(int proxyPort, int port) throws IOException {
        Connection c = tcp(proxyPort);
        c.out.write(("CONNECT bench.test:" + port + " HTTP/1.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        c.out.flush();
        byte[] expect = "HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        byte[] got = c.in.readNBytes(expect.length);
        if (!java.util.Arrays.equals(expect, got)) throw new IOException("tunnel refused");
        return c;
    }

    private static int portOf(Listener l) {
        return ((InetSocketAddress) l.address()).getPort();
    }

    /** A keep-alive server answering every request with the same 64-byte body; ignores request bodies. */
    private static void serve(ServerSocket server) {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                s.setTcpNoDelay(true);
                Thread.ofVirtual().start(() -> {
                    try (s) {
                        InputStream in = new BufferedInputStream(s.getInputStream());
                        OutputStream out = s.getOutputStream();
                        int prev = -1;
                        int b;
                        int state = 0; // counts CR LF CR LF
                        while ((b = in.read()) >= 0) {
                            state = (b == '\n' && (state == 1 || state == 3)) || (b == '\r' && (state == 0 || state == 2))
                                    ? state + 1 : (b == '\r' ? 1 : 0);
                            if (state == 4) {
                                out.write(RESPONSE);
                                out.flush();
                                state = 0;
                            }
                            prev = b;
                        }
                    } catch (IOException e) {
                        // client went away
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    private static int intArg(String[] args, String name, int otherwise) {
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals(name)) return Integer.parseInt(args[i + 1]);
        }
        return otherwise;
    }
}
