package dev.carapace.agent;

import java.time.Instant;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Where a tool call the {@link Guard} answered {@code ask} goes: an operator approves or rejects it while the run
 * waits. The approval queue implements it (through an adapter in the server); without one, an {@code ask} is refused
 * as needing approval.
 */
@FunctionalInterface
public interface Approvals {

    /**
     * Creates a pending approval for {@code request}, tells {@code opened} its id (before waiting), and waits for the
     * decision: approved, rejected, or expired when the implementation's timeout passes.
     *
     * @throws InterruptedException the run was stopped; the implementation has withdrawn (expired) the approval
     */
    Outcome await(Request request, Consumer<Pending> opened) throws InterruptedException;

    /**
     * @param decision the guard's {@code ask}: reason, rule, layer, target and remedy are shown to the operator
     */
    record Request(String agent, String sessionKey, String runId, String callId, String tool, Guard.Decision decision) {
        public Request {
            Objects.requireNonNull(agent, "agent");
            Objects.requireNonNull(tool, "tool");
            Objects.requireNonNull(decision, "decision");
        }
    }

    /** The approval waiting for an operator. */
    record Pending(String id, Instant expiresAt) {}

    /**
     * @param status    {@code approved}, {@code rejected} or {@code expired}
     * @param decidedBy who decided (an operator, or {@code carapace} for a timeout)
     * @param reason    the operator's words, or why it expired; may be null
     */
    record Outcome(String id, String status, String decidedBy, String reason) {
        public boolean approved() { return "approved".equals(status); }
    }
}
