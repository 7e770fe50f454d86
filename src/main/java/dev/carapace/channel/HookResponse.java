package dev.carapace.channel;

import java.nio.charset.StandardCharsets;

/**
 * What a channel answers a pushed request: the status the service acts on (2xx: taken, do not send again), and a
 * small body.
 *
 * @param errorCode    for an error, its code ({@code bad_signature}, ...); null otherwise
 * @param errorMessage for an error, what was wrong and what is expected; null otherwise
 */
public record HookResponse(int status, String contentType, byte[] body, String errorCode, String errorMessage) {

    /** {@code json} as the body. */
    public static HookResponse json(int status, String json) {
        return new HookResponse(status, "application/json", json.getBytes(StandardCharsets.UTF_8), null, null);
    }

    public static HookResponse ok() { return json(200, "{\"ok\":true}"); }

    /**
     * An error a caller can act on: what was wrong and what is expected, never a stack trace. The server writes it
     * in the API's error shape, as any route's error ({@code {"error":{"message", "type", "param", "code"}}}).
     */
    public static HookResponse error(int status, String code, String message) {
        return new HookResponse(status, "application/json", ("{\"error\":{\"code\":" + quote(code) + ",\"message\":"
                + quote(message) + "}}").getBytes(StandardCharsets.UTF_8), code, message);
    }

    public boolean isError() { return errorCode != null; }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }
}
