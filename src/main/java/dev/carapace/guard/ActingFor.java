package dev.carapace.guard;

/**
 * Whom an agent's act is done for, as the audit log and approvals name them ({@code org/team/user}): the person whose
 * message started the run going on in the session (a key's user, a channel's bound user, a job's owner), else the
 * agent's owner. A team's agent is run by many people; its owner alone does not say which of them asked.
 */
@FunctionalInterface
public interface ActingFor {

    String principal(String agentId, String sessionKey);
}
