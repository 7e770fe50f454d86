package dev.carapace.guard;

import java.util.List;
import java.util.Objects;

/**
 * The network half of the policy, as the egress proxy asks it: may this agent reach this host and port, and (for an
 * HTTP request the proxy can read) with this method and path? The policy engine implements it; the proxy holds one
 * and asks it for every connection and every request, before resolving any name.
 */
@FunctionalInterface
public interface NetworkRules {

    NetworkDecision decide(NetworkRequest request);

    /**
     * @param agent  the agent (or principal label) whose traffic this is; selects the attached policy
     * @param host   the host as the client named it, lower case, no trailing dot (a name or an IP literal)
     * @param port   the destination port
     * @param method the HTTP method, upper case; null for an opaque CONNECT tunnel, whose requests cannot be read
     * @param path   the path made canonical by {@link dev.carapace.guard.url.CanonicalPath} (the one canonicaliser of
     *               the proxy, the engine and the web_fetch guard); null for a CONNECT tunnel
     * @param binary the executable making the request when known (sandboxed processes), else null
     */
    record NetworkRequest(String agent, String host, int port, String method, String path, String binary) {
        public NetworkRequest {
            Objects.requireNonNull(host, "host");
            if (port < 1 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        }
    }

    /**
     * @param verdict    allow, deny, or ask an operator first
     * @param rule       id of the deciding rule (policy name / endpoint / rule index), or of the default deny
     * @param reason     words for the agent and the audit log; never a secret
     * @param audit      true when the deciding rule is in {@code enforcement: audit}: the proxy lets the request
     *                   through but records that it would have been denied
     * @param allowedIps CIDR blocks the endpoint may resolve to even though they are private/loopback/link-local
     *                   (the policy's {@code allowed_ips}); empty means only public addresses
     * @param inject     headers the proxy adds to the request from the secret store (Carapace extension:
     *                   credentials bound to endpoints); empty for none
     */
    record NetworkDecision(Verdict verdict, String rule, String reason, boolean audit, List<String> allowedIps,
                           List<Injection> inject) {
        public NetworkDecision {
            Objects.requireNonNull(verdict, "verdict");
            allowedIps = List.copyOf(allowedIps);
            inject = List.copyOf(inject);
        }

        public boolean allowed() { return verdict == Verdict.ALLOW || audit; }
    }

    enum Verdict { ALLOW, DENY, ASK }

    /**
     * One header to add: {@code template} with {@code {secret}} replaced by the value of secret {@code secret} from
     * the secret store, e.g. {@code Authorization: Bearer {secret}}. Any header of the same name the client sent is
     * dropped first.
     */
    record Injection(String header, String template, String secret) {
        public Injection {
            Objects.requireNonNull(header, "header");
            Objects.requireNonNull(template, "template");
            Objects.requireNonNull(secret, "secret");
        }
    }
}
