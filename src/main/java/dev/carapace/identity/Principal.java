package dev.carapace.identity;

/**
 * Who is calling: a user of a team of an org, authenticated by an API key. Agents (a later capability) are
 * principals too, owned by a user or team.
 *
 * @param keyPrefix the public part of the key used, safe to log and show
 */
public record Principal(String org, String team, String user, Role role, String keyPrefix) {

    public enum Role { ADMIN, MEMBER }

    public boolean isAdmin() { return role == Role.ADMIN; }
}
