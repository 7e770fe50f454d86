package dev.carapace.guard.egress;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One place the proxy accepts connections: a Unix socket (for a sandbox, whose network namespace has nothing else)
 * or a loopback TCP port. Each accepted connection is served on its own virtual thread. Closing the listener closes
 * its open connections too, and removes a Unix socket's file.
 */
public final class Listener implements AutoCloseable {

    /** Serves one accepted connection; must close it when done. */
    @FunctionalInterface
    interface Handler {
        void serve(InputStream in, OutputStream out, Closeable connection, String agent);
    }

    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final Closeable server;
    private final SocketAddress address;
    private final String agent;
    private final Set<Closeable> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private Listener(Closeable server, SocketAddress address, String agent) {
        this.server = server;
        this.address = address;
        this.agent = agent;
    }

    static Listener open(SocketAddress address, String agent, Duration idle, Handler handler) throws IOException {
        if (address instanceof UnixDomainSocketAddress unix) {
            removeStaleSocket(unix.getPath());
            ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            channel.bind(unix);
            Listener l = new Listener(channel, unix, agent);
            Thread.ofVirtual().name("egress-accept-" + unix.getPath().getFileName()).start(() -> l.acceptUnix(channel, handler));
            return l;
        }
        if (address instanceof InetSocketAddress inet) {
            if (inet.getAddress() == null || !inet.getAddress().isLoopbackAddress()) {
                throw new IllegalArgumentException("the egress proxy listens on loopback only, not " + inet);
            }
            ServerSocket socket = new ServerSocket();
            socket.bind(inet);
            Listener l = new Listener(socket, socket.getLocalSocketAddress(), agent);
            int idleMillis = (int) Math.min(Integer.MAX_VALUE, idle.toMillis());
            Thread.ofVirtual().name("egress-accept-" + socket.getLocalPort()).start(() -> l.acceptTcp(socket, idleMillis, handler));
            return l;
        }
        throw new IllegalArgumentException("the egress proxy listens on a Unix socket or a loopback TCP address");
    }

    /** A socket file left by a previous run is replaced; any other file at the path is an error. */
    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) return;
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(path + " exists and is not a socket; the egress proxy will not replace it");
        }
        Files.delete(path);
    }

    private void acceptUnix(ServerSocketChannel channel, Handler handler) {
        while (!closed) {
            try {
                SocketChannel c = channel.accept();
                start(c, Channels.newInputStream(c), Channels.newOutputStream(c), handler);
            } catch (IOException e) {
                if (!closed) sleepAfterError();
            }
        }
    }

    private void acceptTcp(ServerSocket socket, int idleMillis, Handler handler) {
        while (!closed) {
            try {
                Socket s = socket.accept();
                s.setTcpNoDelay(true);
                s.setSoTimeout(idleMillis);
                start(s, s.getInputStream(), s.getOutputStream(), handler);
            } catch (IOException e) {
                if (!closed) sleepAfterError();
            }
        }
    }

    private void start(Closeable connection, InputStream in, OutputStream out, Handler handler) {
        open.add(connection);
        Thread.ofVirtual().start(() -> {
            try {
                handler.serve(in, out, connection, agent);
            } finally {
                open.remove(connection);
                EgressProxy.closeQuietly(connection);
            }
        });
    }

    /** Out of file descriptors, for instance: do not spin. */
    private static void sleepAfterError() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The bound address: the Unix socket path, or the TCP address with its actual port. */
    public SocketAddress address() {
        return address;
    }

    /** The agent whose traffic arrives here. */
    public String agent() {
        return agent;
    }

    @Override
    public void close() {
        closed = true;
        EgressProxy.closeQuietly(server);
        for (Closeable c : open) EgressProxy.closeQuietly(c);
        if (address instanceof UnixDomainSocketAddress unix) {
            try {
                Files.deleteIfExists(unix.getPath());
            } catch (IOException ignored) {
                // the socket is closed either way
            }
        }
    }
}
