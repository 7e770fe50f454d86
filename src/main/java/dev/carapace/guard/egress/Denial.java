package dev.carapace.guard.egress;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Why the proxy refused a request, as the client (and through web_fetch, the model) sees it: an HTTP status and a
 * JSON body {@code {error, layer: "network", host, port, method, path, rule, reason, remedy}}. Never holds a secret
 * value or a query string.
 *
 * @param status 403 for a policy or address refusal, 400 for a malformed request, 502 when the proxy cannot act
 * @param error  a stable code: {@code egress_denied}, {@code bad_request}, {@code credential_unavailable}
 * @param host   the host asked for, or null if it could not be read
 * @param port   the port, or 0 if unknown
 * @param method the HTTP method, {@code CONNECT}, or null
 * @param path   the canonical path, or null (tunnels, unreadable requests)
 * @param rule   id of the deciding rule; the proxy's own checks are {@code egress:...}
 */
public record Denial(int status, String error, String host, int port, String method, String path, String rule,
                     String reason, String remedy) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The JSON body of the refusal. */
    public String json() {
        ObjectNode o = JSON.createObjectNode();
        o.put("error", error);
        o.put("layer", "network");
        o.put("host", host);
        if (port > 0) o.put("port", port);
        else o.putNull("port");
        o.put("method", method);
        o.put("path", path);
        o.put("rule", rule);
        o.put("reason", reason);
        o.put("remedy", remedy);
        return o.toString();
    }
}
