package dev.carapace.agent;

import dev.carapace.identity.Principal;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Who may use an agent, by its owner. A user is named alone here, which is safe because a user name is one person
 * across the org (KeyAdmin refuses the name in a second team: AuthenticatorTest#aUserNameIsOnePersonAcrossTheOrg).
 */
class AgentSpecOwnerTest {

    static AgentSpec ownedBy(String user, String team) {
        return new AgentSpec("a", Path.of("/tmp/a"), "m", List.of(), List.of("read"), new AgentSpec.Owner(user, team),
                AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE, null);
    }

    static Principal member(String user, String team) {
        return new Principal("acme", team, user, Principal.Role.MEMBER, "ck-" + user);
    }

    @Test
    void anAgentOfAUserInATeamIsTheirsAndTheirTeams() {
        AgentSpec bobs = ownedBy("bob", "blue");
        assertThat(bobs.usableBy(member("bob", "blue"))).isTrue();
        assertThat(bobs.usableBy(member("carol", "blue"))).as("his team").isTrue();
        assertThat(bobs.usableBy(member("dave", "red"))).isFalse();
        assertThat(bobs.usableBy(new Principal("acme", "red", "root", Principal.Role.ADMIN, "ck-root"))).isTrue();
    }

    @Test
    void anAgentOfAUserAloneIsThatUsersAndOfATeamAloneThatTeams() {
        assertThat(ownedBy("bob", null).usableBy(member("bob", "blue"))).isTrue();
        assertThat(ownedBy("bob", null).usableBy(member("carol", "blue"))).isFalse();
        assertThat(ownedBy(null, "blue").usableBy(member("carol", "blue"))).isTrue();
        assertThat(ownedBy(null, "blue").usableBy(member("carol", "red"))).isFalse();
    }
}
