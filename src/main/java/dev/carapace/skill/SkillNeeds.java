package dev.carapace.skill;

import java.util.List;

/**
 * What a skill declares it needs beyond reading its own files; what it did not declare, an agent following it does
 * not get. Empty lists mean it needs nothing more.
 *
 * @param tools    agent tools it uses, from the front matter's {@code allowed-tools} (AgentSkills), as written
 * @param commands programs it runs, from OpenClaw's {@code requires.bins} and {@code requires.anyBins}
 * @param hosts    hosts it contacts, from Carapace's {@code metadata.carapace.hosts}: {@code host}, {@code host:port}
 *                 or {@code *.domain} patterns
 * @param network  whether it declared any network use at all: {@code hosts} is not empty
 */
public record SkillNeeds(List<String> tools, List<String> commands, List<String> hosts, boolean network) {

    public static final SkillNeeds NOTHING = new SkillNeeds(List.of(), List.of(), List.of());

    public SkillNeeds {
        tools = List.copyOf(tools);
        commands = List.copyOf(commands);
        hosts = List.copyOf(hosts);
        if (network != !hosts.isEmpty()) {
            throw new IllegalArgumentException("network is declared by listing hosts");
        }
    }

    public SkillNeeds(List<String> tools, List<String> commands, List<String> hosts) {
        this(tools, commands, hosts, !hosts.isEmpty());
    }

    /** Whether the skill declared nothing beyond reading itself. */
    public boolean isEmpty() {
        return tools.isEmpty() && commands.isEmpty() && hosts.isEmpty();
    }
}
