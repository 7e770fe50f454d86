package dev.carapace.identity;

/**
 * Who is calling: a user of a team of an org, authenticated by an API key, or an agent running inside Carapace on
 * behalf of its owner (a team, or a user of a team).
 *
 * @param user      the user, or null for an agent owned by a team
 * @param keyPrefix the public part of the key used, safe to log and show; null for an agent
 * @param agent     the agent's id when an agent is calling, else null; its budget applies on top of its owner's
 * @param job       the scheduled job an agent's run is for, else null; its budget ({@code job:ID}) applies too
 */
public record Principal(String org, String team, String user, Role role, String keyPrefix, String agent, String job) {

    public enum Role { ADMIN, MEMBER }

    /** A person (or their program) calling with an API key. */
    public Principal(String org, String team, String user, Role role, String keyPrefix) {
        this(org, team, user, role, keyPrefix, null, null);
    }

    /** A caller, as an agent ({@code agent} non-null) or not, for no job. */
    public Principal(String org, String team, String user, Role role, String keyPrefix, String agent) {
        this(org, team, user, role, keyPrefix, agent, null);
    }

    /** An agent calling models as its owner: {@code team}, and {@code user} when a user owns it. */
    public static Principal agent(String org, String team, String user, String agentId) {
        return new Principal(org, team, user, Role.MEMBER, null, agentId, null);
    }

    /** The same caller, working for the scheduled job {@code jobId} (null: for none). */
    public Principal forJob(String jobId) {
        return new Principal(org, team, user, role, keyPrefix, agent, jobId);
    }

    public boolean isAdmin() { return role == Role.ADMIN; }

    /** How the audit log and approvals name this caller: {@code org/team/user}, or {@code org/team} for a team. */
    public String path() {
        return org + "/" + (team == null ? "-" : team) + (user == null ? "" : "/" + user);
    }
}
