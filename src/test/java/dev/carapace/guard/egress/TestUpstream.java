package dev.carapace.guard.egress;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test server that records what reaches it: every accepted connection, and every request (read with the proxy's
 * own strict parser). It answers through a handler; the default answers 200 with "ok " and the request target.
 */
final class TestUpstream implements AutoCloseable {

    record Received(String method, String target, List<HttpMessages.Header> headers, byte[] body) {
        String header(String name) {
            return HttpMessages.header(headers, name);
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    @FunctionalInterface
    interface Handler {
        void answer(Received request, OutputStream out) throws Exception;
    }

    static final Handler OK = (r, out) -> {
        byte[] body = ("ok " + r.method() + " " + r.target()).getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
    };

    final AtomicInteger accepted = new AtomicInteger();
    final List<Received> received = new CopyOnWriteArrayList<>();
    private final ServerSocket server;
    private volatile Handler handler = OK;

    private final boolean echo;

    private TestUpstream(ServerSocket server, boolean echo) {
        this.server = server;
        this.echo = echo;
        Thread.ofVirtual().start(this::acceptLoop);
    }

    static TestUpstream plain(String host, int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
        return new TestUpstream(s, false);
    }

    static TestUpstream tls(String host) throws Exception {
        ServerSocket s = serverContext().getServerSocketFactory().createServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        return new TestUpstream(s, false);
    }

    /** Echoes raw bytes back instead of speaking HTTP (a CONNECT target). */
    static TestUpstream echo(String host) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        return new TestUpstream(s, true);
    }

    TestUpstream answering(Handler h) {
        this.handler = h;
        return this;
    }

    int port() {
        return server.getLocalPort();
    }

    private static KeyStore keyStore() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = TestUpstream.class.getResourceAsStream("/egress/upstream.p12")) {
            ks.load(in, "changeit".toCharArray());
        }
        return ks;
    }

    private static SSLContext serverContext() throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keyStore(), "changeit".toCharArray());
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(kmf.getKeyManagers(), null, null);
        return c;
    }

    /** Trusts the test server's self-signed certificate (names api.test, tls.test, 127.0.0.1). */
    static SSLContext clientContext() throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(keyStore());
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(null, tmf.getTrustManagers(), null);
        return c;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                accepted.incrementAndGet();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(10_000);
            if (echo) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                byte[] b = new byte[4096];
                int n;
                while ((n = in.read(b)) > 0) {
                    out.write(b, 0, n);
                    out.flush();
                }
                return;
            }
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (true) {
                HttpMessages.Request r = HttpMessages.readRequest(in);
                if (r == null) return;
                byte[] body = HttpMessages.body(in, r.framing()).readAllBytes();
                Received got = new Received(r.method(), r.target(), r.headers(), body);
                received.add(got);
                handler.answer(got, out);
                out.flush();
                if (!r.keepAlive()) return;
            }
        } catch (Exception e) {
            // test server: the client went away
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
