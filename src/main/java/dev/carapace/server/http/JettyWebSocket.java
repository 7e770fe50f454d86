package dev.carapace.server.http;

import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/** Adapts a {@link WebSocket.Listener} to Jetty's WebSocket session (public only because Jetty calls it by reflection). */
public final class JettyWebSocket implements Session.Listener.AutoDemanding, WebSocket {

    private final WebSocket.Listener listener;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Session session;

    JettyWebSocket(WebSocket.Listener listener) {
        this.listener = listener;
    }

    @Override
    public boolean send(String text) {
        Session s = session;
        if (s == null || !s.isOpen()) return false;
        try {
            Callback.Completable.with(c -> s.sendText(text, c)).get();
            return true;
        } catch (ExecutionException | RuntimeException gone) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close(int status, String reason) {
        Session s = session;
        if (s != null && s.isOpen()) s.close(status, reason, Callback.NOOP);
    }

    @Override
    public void onWebSocketOpen(Session session) {
        this.session = session;
        listener.onOpen(this);
    }

    @Override
    public void onWebSocketText(String message) {
        listener.onText(message);
    }

    @Override
    public void onWebSocketClose(int status, String reason) {
        if (closed.compareAndSet(false, true)) listener.onClose();
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        if (closed.compareAndSet(false, true)) listener.onClose();
    }
}
