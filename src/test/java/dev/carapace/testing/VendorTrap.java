package dev.carapace.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An HTTP proxy on 127.0.0.1 that forwards nothing: a harness run with its proxy variables pointing here
 * ({@link HarnessProcess.Builder#proxyTo}; loopback, where Carapace is, is exempt) reaches its vendor only by coming
 * here, which is refused and recorded. A test asserts {@link #attempts()} is empty: the harness called no one but
 * Carapace.
 */
public final class VendorTrap implements AutoCloseable {

    private final ServerSocket server;
    private final List<String> attempts = new CopyOnWriteArrayList<>();

    public VendorTrap() {
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Thread.ofVirtual().name("vendor-trap").start(this::serve);
    }

    /** The proxy URL for {@code HTTPS_PROXY} and {@code HTTP_PROXY}. */
    public String url() { return "http://127.0.0.1:" + server.getLocalPort(); }

    /** The request lines of every attempt to go through the proxy, such as {@code CONNECT api.openai.com:443 HTTP/1.1}. */
    public List<String> attempts() { return List.copyOf(attempts); }

    private void serve() {
        while (!server.isClosed()) {
            try (Socket s = server.accept()) {
                s.setSoTimeout(2000);
                String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
                attempts.add(line == null ? "(connection without a request)" : line);
                OutputStream out = s.getOutputStream();
                out.write("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                // closed, or a client that hung up: either way nothing went through
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // nothing to release
        }
    }
}
