package dev.carapace.skill;

import java.util.List;
import java.util.Optional;

/**
 * The skills of an agent with their eligibility on this gateway: what the prompt lists and the {@code skill} tool
 * reads. Asked afresh each time (a run's prompt, a tool call), so a skill added or a program installed counts from
 * the next run on.
 */
public final class SkillCatalog {

    private final SkillSource source;
    private final SkillHost host;
    private final SkillSettings settings;

    public SkillCatalog(SkillSource source, SkillHost host, SkillSettings settings) {
        this.source = source;
        this.host = host;
        this.settings = settings;
    }

    /** A skill and whether it may be used here. */
    public record Entry(Skill skill, SkillGate.Eligibility eligibility) {
        public boolean available() {
            return eligibility.available();
        }
    }

    /** Every skill of {@code agentId}, by name, available or not. */
    public List<Entry> entries(String agentId) {
        SkillGate gate = new SkillGate(host, settings);
        return source.skillsFor(agentId).stream().map(s -> new Entry(s, gate.check(s))).toList();
    }

    /** The skill named {@code name} of {@code agentId}, with its eligibility. */
    public Optional<Entry> find(String agentId, String name) {
        return source.skillsFor(agentId).stream().filter(s -> s.name().equals(name)).findFirst()
                .map(s -> new Entry(s, new SkillGate(host, settings).check(s)));
    }

    public SkillSettings settings() {
        return settings;
    }
}
