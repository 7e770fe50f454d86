package dev.carapace.agent;

import java.time.Instant;

/**
 * Where the runtime's own decisions go: every {@code spawn_agent} call, allowed or refused, with its reason. The
 * guard's audit log implements it through an adapter in the composition root; it must not throw and must be cheap.
 */
@FunctionalInterface
public interface SpawnAudit {

    void record(Decision decision);

    /** Records nothing. */
    SpawnAudit NONE = decision -> { };

    /**
     * One spawn decision. Every field is safe to show an operator.
     *
     * @param principal who the parent run acts for, {@code org/team[/user]}; null when not known yet
     * @param agent     the parent run's agent
     * @param session   the parent run's session key
     * @param child     the agent it asked to start
     * @param outcome   {@code allow} or {@code deny}
     * @param rule      {@code agent.spawn}, or {@code agent.spawn.<error>} for a refusal
     * @param reason    one line of why
     */
    record Decision(Instant time, String principal, String agent, String session, String child, String outcome,
                    String rule, String reason) {}
}
