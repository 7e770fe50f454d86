package dev.carapace.channel;

import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A request a service pushed to a channel's endpoint ({@code POST /hooks/CHANNEL[/REST]}): a webhook call, a Slack
 * event, a Telegram update. Nothing in it is trusted until the channel verified its signature or secret.
 *
 * @param path          what followed {@code /hooks/CHANNEL} ({@code ""} or {@code /...}), already percent-decoded
 *                      once by the server and free of {@code ..} segments
 * @param headers       the request's headers, names in lower case, the first value of each
 * @param body          the body, as received (signatures are over these bytes)
 * @param remoteAddress the peer's address, for logs only
 */
public record HookRequest(String path, Map<String, String> headers, byte[] body, String remoteAddress) {

    public HookRequest {
        Objects.requireNonNull(path, "path");
        headers = Map.copyOf(headers);
        Objects.requireNonNull(body, "body");
    }

    /** A header's value, or null. */
    public String header(String name) { return headers.get(name.toLowerCase(Locale.ROOT)); }
}
