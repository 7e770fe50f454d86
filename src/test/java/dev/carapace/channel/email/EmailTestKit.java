package dev.carapace.channel.email;

import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.ChannelState;
import dev.carapace.channel.IdentityBinding;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.Pairing;
import dev.carapace.channel.Secrets;
import dev.carapace.channel.StoredMessage;
import dev.carapace.channel.UnknownSenders;
import dev.carapace.channel.email.EmailSettings.MailServer;
import dev.carapace.channel.email.EmailSettings.Security;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** What the e-mail tests share: settings, an inbox that records, a state store in memory, a TCP proxy to cut. */
final class EmailTestKit {

    static final String PASSWORD = "pw-not-logged";

    private EmailTestKit() {}

    static EmailSettings settings(String address, int imapPort, int smtpPort, boolean idle, Duration pollEvery) {
        return new EmailSettings(new MailServer("127.0.0.1", imapPort, Security.NONE, address, "mail"), "INBOX", idle,
                pollEvery, Duration.ofMinutes(9), new MailServer("127.0.0.1", smtpPort, Security.NONE, null, null),
                List.of(address), "Help Desk", false, null, EmailSettings.DEFAULT_MAX_MESSAGE_BYTES);
    }

    static ChannelSpec spec(EmailSettings settings, long maxAttachmentBytes) {
        return new ChannelSpec("mail", "email", List.of(), UnknownSenders.PAIR, maxAttachmentBytes,
                ChannelSpec.DEFAULT_ATTACHMENT_TYPES, settings);
    }

    static ChannelContext context(EmailSettings settings, MemoryState state) {
        return new ChannelContext(spec(settings, ChannelSpec.DEFAULT_MAX_ATTACHMENT_BYTES), secrets(), state, Clock.systemUTC());
    }

    static Secrets secrets() {
        return new Secrets() {
            @Override
            public String value(String name) throws ChannelException {
                if (name.equals("mail")) return PASSWORD;
                throw new ChannelException("no secret '" + name + "'", false);
            }

            @Override
            public boolean has(String name) { return name.equals("mail"); }
        };
    }

    static byte[] bytes(String mail) {
        return mail.replace("\r\n", "\n").replace("\n", "\r\n").getBytes(StandardCharsets.UTF_8);
    }

    /** Records what it receives; drops a repeated message id as the real inbox does; can refuse on demand. */
    static final class RecordingInbox implements Inbox {
        final LinkedBlockingQueue<Inbound> received = new LinkedBlockingQueue<>();
        final Set<String> ids = ConcurrentHashMap.newKeySet();
        final AtomicInteger duplicates = new AtomicInteger();
        final AtomicInteger refuseRetryable = new AtomicInteger();

        @Override
        public boolean receive(Inbound message) throws ChannelException {
            if (refuseRetryable.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new ChannelException("the store is down", true);
            }
            if (!ids.add(message.messageId())) {
                duplicates.incrementAndGet();
                return false;
            }
            received.add(message);
            return true;
        }

        Inbound next() throws InterruptedException {
            Inbound in = received.poll(10, TimeUnit.SECONDS);
            if (in == null) throw new AssertionError("no mail reached the inbox in 10 s");
            return in;
        }
    }

    /** The channel's own state, in memory. */
    static final class MemoryState implements ChannelState {
        final Map<String, String> state = new ConcurrentHashMap<>();

        @Override public Optional<String> get(String key) { return Optional.ofNullable(state.get(key)); }

        @Override public void put(String key, String value) { state.put(key, value); }
    }

    /**
     * A TCP proxy in front of a server: {@link #cut} drops every connection as a server that dies does,
     * {@link #refuse} turns new ones away, and {@code hideIdle} takes IDLE out of what the server says it can do.
     */
    static final class TcpProxy implements AutoCloseable {
        private final ServerSocket server;
        private final int target;
        private final boolean hideIdle;
        private final List<Socket> open = new CopyOnWriteArrayList<>();
        volatile boolean refuse;

        TcpProxy(int target, boolean hideIdle) throws IOException {
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.target = target;
            this.hideIdle = hideIdle;
            Thread.ofVirtual().start(this::accept);
        }

        int port() { return server.getLocalPort(); }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket client = server.accept();
                    if (refuse) {
                        client.close();
                        continue;
                    }
                    Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
                    open.add(client);
                    open.add(upstream);
                    Thread.ofVirtual().start(() -> pipe(client, upstream, false));
                    Thread.ofVirtual().start(() -> pipe(upstream, client, hideIdle));
                } catch (IOException e) {
                    // closed
                }
            }
        }

        private static void pipe(Socket from, Socket to, boolean hide) {
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                byte[] buf = new byte[8192];
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (hide) {
                        String s = new String(buf, 0, n, StandardCharsets.ISO_8859_1);
                        if (s.contains("CAPABILITY")) buf = s.replace(" IDLE", " XDLE").getBytes(StandardCharsets.ISO_8859_1);
                    }
                    out.write(buf, 0, n);
                    out.flush();
                    if (buf.length != 8192) buf = new byte[8192];
                }
            } catch (IOException e) {
                // one side went away
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }

        /** Drops every connection now. */
        void cut() {
            for (Socket s : open) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
            open.clear();
        }

        @Override
        public void close() throws IOException {
            server.close();
            cut();
        }
    }
}
