package dev.carapace.guard;

import java.time.Instant;
import java.util.Objects;

/**
 * One guard decision as the audit log keeps it. Every field is safe to show an operator: targets are paths,
 * host:port and method+path, commands; never a secret value, a header value or a request body.
 *
 * @param time      when it was decided
 * @param principal who the action was for: {@code org/team/user}, or the agent's owner path
 * @param agent     the agent, or null for a non-agent principal
 * @param session   the agent session key, or null
 * @param layer     {@code tool}, {@code filesystem}, {@code network}, {@code process}, {@code approval},
 *                  {@code policy}, {@code privacy} (an agent's model call the privacy router screened), {@code skills}
 *                  (the org skill repository's decisions: publish, review, install, pin, remove)
 * @param action    the tool name, HTTP method or {@code CONNECT}, or the operator action
 * @param target    what it touched (path, host:port/path, command), or null
 * @param outcome   {@code allow}, {@code deny}, {@code ask}, {@code audit} (allowed by an audit-only rule that would
 *                  have denied), {@code approved}, {@code rejected}, {@code expired}, {@code revoked} (a standing
 *                  grant), {@code scrub} (the egress proxy masked an injected credential a server echoed back;
 *                  the reason names the secret, never its value); for the privacy layer the router's decision: {@code block}, {@code redact},
 *                  {@code private}; for the skills layer {@code pending}, {@code approved}, {@code rejected},
 *                  {@code installed}, {@code pinned}, {@code removed}
 * @param rule      id of the deciding rule, or of the default deny
 * @param reason    one line of why
 */
public record AuditEvent(Instant time, String principal, String agent, String session, String layer, String action,
                         String target, String outcome, String rule, String reason) {
    public AuditEvent {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(layer, "layer");
        Objects.requireNonNull(outcome, "outcome");
    }
}
