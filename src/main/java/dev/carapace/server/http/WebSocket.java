package dev.carapace.server.http;

/**
 * A WebSocket as a route's endpoint sees it, once {@link Exchange#upgradeToWebSocket} has switched the connection:
 * text messages in through a {@link Listener}, text out through {@link #send}.
 */
public interface WebSocket {

    /** Sends one text message and waits until it has been written; returns false if the client has gone. */
    boolean send(String text);

    /** Closes it from this side with a WebSocket status code (1008: policy violation) and a short reason. */
    void close(int status, String reason);

    /** What happens on one WebSocket. Calls arrive on the connection's own thread, one at a time. */
    interface Listener {
        void onOpen(WebSocket socket);

        /** A whole text message (its frames joined, up to the server's message size limit). */
        void onText(String message);

        /** The socket is closed, by either side or by an error; called once. */
        void onClose();
    }
}
