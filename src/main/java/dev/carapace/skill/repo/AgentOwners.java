package dev.carapace.skill.repo;

import java.util.Optional;
import java.util.Set;

/** The agents and teams the repository's scopes name, and who owns each agent; the gateway's config answers. */
public interface AgentOwners {

    /** An agent's owner: a team, and a user of it when a user owns it. */
    record Owner(String team, String user) {}

    /** The owner of {@code agent}, or empty when there is no such agent. */
    Optional<Owner> owner(String agent);

    /** The teams of the org. */
    Set<String> teams();
}
