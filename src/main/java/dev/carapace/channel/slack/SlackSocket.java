package dev.carapace.channel.slack;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.channel.ChannelException;
import dev.carapace.text.Excerpt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * Socket Mode: Carapace opens the connection ({@code apps.connections.open} with the app-level token gives a
 * one-time {@code wss://} URL) and Slack sends each event over it as an envelope
 * ({@code {"envelope_id", "type": "events_api", "payload": {event_callback...}}}). An envelope is acknowledged
 * ({@code {"envelope_id": ...}}) only after its message is stored; one not acknowledged Slack sends again. On
 * {@code disconnect} (Slack refreshes connections every few hours) a new connection is opened at once; after an
 * error or a close, after a wait that doubles while failures follow in a row (1 s to a minute).
 */
final class SlackSocket implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SlackSocket.class);
    private static final Duration FIRST_WAIT = Duration.ofSeconds(1);
    private static final Duration MAX_WAIT = Duration.ofMinutes(1);
    private static final int MAX_MESSAGE_CHARS = 1 << 20;

    private final String channel;
    private final SlackApi api;
    private final HttpClient http;
    private final SlackApi.Token appToken;
    private final Predicate<JsonNode> take;
    private volatile boolean closed;
    private volatile Thread loop;
    private volatile WebSocket current;

    /**
     * @param take stores an {@code event_callback} payload; true when it may be acknowledged
     */
    SlackSocket(String channel, SlackApi api, HttpClient http, SlackApi.Token appToken, Predicate<JsonNode> take) {
        this.channel = channel;
        this.api = api;
        this.http = http;
        this.appToken = appToken;
        this.take = take;
    }

    void start() {
        loop = Thread.ofVirtual().name("slack-socket-" + channel).start(this::run);
    }

    private void run() {
        Duration wait = FIRST_WAIT;
        while (!closed) {
            Connection c = null;
            try {
                c = connectOnce();
            } catch (ChannelException e) {
                log.warn("channel {}: Socket Mode connection failed: {}", channel, e.getMessage());
            } catch (InterruptedException e) {
                return;
            }
            if (closed) return;
            if (c != null && c.greeted) wait = FIRST_WAIT;   // it worked: failures in a row start again
            if (c != null && c.refreshed) continue;         // Slack asked for a new connection: at once
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                return;
            }
            wait = min(wait.multipliedBy(2), MAX_WAIT);
        }
    }

    /** One connection, until Slack or the network ends it. */
    private Connection connectOnce() throws ChannelException, InterruptedException {
        JsonNode open = api.call("apps.connections.open", appToken, null);
        String url = SlackEvent.text(open, "url");
        URI uri;
        try {
            uri = url == null ? null : URI.create(url);
        } catch (IllegalArgumentException e) {
            uri = null;
        }
        if (uri == null || !("wss".equalsIgnoreCase(uri.getScheme()) || "ws".equalsIgnoreCase(uri.getScheme())
                && "http".equalsIgnoreCase(api.baseScheme()))) {
            throw new ChannelException("Slack apps.connections.open: no wss:// url in the answer", true);
        }
        Connection connection = new Connection();
        try {
            current = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10)).buildAsync(uri, connection)
                    .get(20, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new ChannelException("the Socket Mode WebSocket could not be opened ("
                    + e.getClass().getSimpleName() + ")", true, e);
        }
        try {
            connection.ended.get();
        } catch (ExecutionException e) {
            log.info("channel {}: Socket Mode connection ended: {}", channel, e.getCause().getClass().getSimpleName());
        } finally {
            current.abort();
        }
        return connection;
    }

    /** What one connection hears; each envelope is handled on its own thread so a slow store never stalls the socket. */
    private final class Connection implements WebSocket.Listener {
        final CompletableFuture<Void> ended = new CompletableFuture<>();
        /** Slack said hello on it. */
        volatile boolean greeted;
        /** Slack ended it with {@code disconnect}, expecting a new one. */
        volatile boolean refreshed;
        private final StringBuilder partial = new StringBuilder();

        @Override
        public void onOpen(WebSocket ws) { ws.request(1); }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            if (partial.length() + data.length() > MAX_MESSAGE_CHARS) {
                ended.completeExceptionally(new IOException("a Socket Mode message over " + MAX_MESSAGE_CHARS + " characters"));
                return null;
            }
            partial.append(data);
            if (last) {
                String message = partial.toString();
                partial.setLength(0);
                Thread.ofVirtual().name("slack-envelope-" + channel).start(() -> handle(ws, message));
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
            ended.complete(null);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) { ended.completeExceptionally(error); }

        private void handle(WebSocket ws, String message) {
            JsonNode m;
            try {
                m = SlackApi.JSON.readTree(message);
            } catch (IOException e) {
                log.warn("channel {}: Socket Mode sent a message that is not JSON; ignored", channel);
                return;
            }
            if (m == null || !m.isObject()) return;
            String type = SlackEvent.text(m, "type");
            if ("hello".equals(type)) {
                greeted = true;
                log.info("channel {}: Socket Mode connected", channel);
                return;
            }
            if ("disconnect".equals(type)) {
                log.info("channel {}: Slack ends the Socket Mode connection ({}); opening another", channel,
                        Excerpt.clip(String.valueOf(SlackEvent.text(m, "reason")), 40));
                refreshed = true;
                ended.complete(null);
                return;
            }
            String envelope = SlackEvent.text(m, "envelope_id");
            if (envelope == null) return;
            boolean ack = true;
            if ("events_api".equals(type) && "event_callback".equals(SlackEvent.text(m.path("payload"), "type"))) {
                ack = take.test(m.path("payload"));
            }
            if (ack) acknowledge(ws, envelope);
        }

        private void acknowledge(WebSocket ws, String envelope) {
            String ackText = SlackApi.JSON.createObjectNode().put("envelope_id", envelope).toString();
            synchronized (this) {   // one send at a time on a WebSocket
                try {
                    ws.sendText(ackText, true).get(10, TimeUnit.SECONDS);
                } catch (ExecutionException | TimeoutException e) {
                    log.info("channel {}: an acknowledgement was not sent; Slack will send the envelope again", channel);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private static Duration min(Duration a, Duration b) { return a.compareTo(b) <= 0 ? a : b; }

    @Override
    public void close() {
        closed = true;
        WebSocket ws = current;
        if (ws != null) ws.abort();
        Thread t = loop;
        if (t != null) t.interrupt();
    }
}
