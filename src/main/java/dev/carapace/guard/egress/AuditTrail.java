package dev.carapace.guard.egress;

import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;

/**
 * Records each egress decision in the {@link AuditSink} (never a credential's value), and builds the {@link Denial}
 * a refusal is answered with.
 */
final class AuditTrail {

    /** Logged as the proxy: an audit sink failing is the proxy's problem to report. */
    private static final Logger log = LoggerFactory.getLogger(EgressProxy.class);

    private final AuditSink audit;
    private final Clock clock;

    AuditTrail(AuditSink audit, Clock clock) {
        this.audit = audit;
        this.clock = clock;
    }

    /**
     * The proxy asked for identity encoding; a server that compresses anyway sends a body in which an echoed
     * credential cannot be found, so the response is refused rather than passed on unchecked.
     */
    Denial compressedRefused(String agent, String method, Target target) {
        String reason = "the server compressed its response (Content-Encoding) to a request carrying credentials, "
                + "although the proxy asked for identity encoding; a compressed body cannot be checked for echoed "
                + "credentials, so it is refused";
        record(agent, method, target, "deny", "egress:scrub", reason);
        return new Denial(502, "bad_upstream_response", target.host().name(), target.port(), method, target.path(),
                "egress:scrub", reason, "the server must honour 'Accept-Encoding: identity' for this endpoint");
    }

    /** One audit record per credential that came back and was masked: its name and count, never its value. */
    void auditScrubbed(String agent, String method, Target target, CredentialScrubber scrubber) {
        scrubber.hits().forEach((secret, count) -> record(agent, method, target, "scrub", "egress:scrub",
                "credential '" + secret + "' came back in the response (" + count + " time" + (count == 1 ? "" : "s")
                        + ") and was masked before reaching the agent"));
    }

    EgressDeniedException refuse(String agent, String method, Target target, int status, String error,
                                 String rule, String reason, String remedy) {
        record(agent, method, target, "deny", rule, reason);
        return new EgressDeniedException(new Denial(status, error, target.host().name(), target.port(), method,
                target.path(), rule, reason, remedy));
    }

    /** A proxy client's request that is not well-formed HTTP/1.1; {@code method} and {@code target} may be null. */
    Denial refuseMalformed(String agent, String method, Target target, String reason) {
        return refuseBadRequest(agent, method, target, reason, "send a well-formed HTTP/1.1 proxy request");
    }

    /**
     * A request given to {@link EgressProxy#send} that cannot be sent as it is (its URL, method, a header, the body's
     * size); {@code method} and {@code target} may be null.
     */
    Denial refuseRequest(String agent, String method, Target target, String reason) {
        return refuseBadRequest(agent, method, target, reason, "change the request as the reason says");
    }

    private Denial refuseBadRequest(String agent, String method, Target target, String reason, String remedy) {
        audit(agent, method == null ? "?" : method, target == null ? null : target.audited(), "deny",
                "egress:bad-request", reason);
        return new Denial(400, "bad_request", target == null ? null : target.host().name(),
                target == null ? 0 : target.port(), method, target == null ? null : target.path(), "egress:bad-request",
                reason, remedy);
    }

    static Denial unreachable(Target target, String method, IOException e) {
        return new Denial(502, "upstream_unreachable", target.host().name(), target.port(), method, target.path(),
                "egress:connect", "could not connect: " + e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : " (" + HttpMessages.printable(e.getMessage()) + ")"),
                "check that the server is up");
    }

    void record(String agent, String method, Target target, String outcome, String rule, String reason) {
        audit(agent, method, target.audited(), outcome, rule, reason);
    }

    void audit(String agent, String action, String target, String outcome, String rule, String reason) {
        try {
            audit.record(new AuditEvent(clock.instant(), null, agent, null, "network", action, target, outcome, rule,
                    reason));
        } catch (RuntimeException e) {
            log.error("audit sink failed", e);
        }
    }
}
