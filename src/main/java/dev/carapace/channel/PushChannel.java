package dev.carapace.channel;

/**
 * A channel its service pushes to: a webhook endpoint, Slack's Events API, Telegram's webhook mode. The server hands
 * it every {@code POST /hooks/CHANNEL[/REST]}, unauthenticated by API key: the channel authenticates the request
 * itself (a signature over the body, a secret token) before anything in it is believed, and puts what it accepts in
 * the {@link Inbox} before answering 2xx.
 */
public interface PushChannel extends Channel {

    /**
     * Handles one pushed request. Never throws for anything the caller sent: a bad signature is a 401, a replay or a
     * malformed body a 400, each with a {@link HookResponse#error} saying what was wrong; a message that could not
     * be stored is a 503, so the service sends it again.
     */
    HookResponse receive(HookRequest request);

    /**
     * The largest body this endpoint takes. A pushed request is read before anything can authenticate it, so the
     * server reads no more than this: a declared longer body is refused (413) before a byte of it is read, a chunked
     * one as soon as it passes the limit.
     */
    long maxBodyBytes();
}
