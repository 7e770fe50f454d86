package dev.carapace.skill;

/**
 * Told when a run loads a skill's instructions through the {@code skill} tool: from then on the run follows that
 * skill, and whoever enforces what skills declare ({@link SkillNeeds}: tools, commands, hosts) learns it here.
 */
@FunctionalInterface
public interface SkillUses {

    SkillUses NONE = (agentId, sessionKey, skill) -> { };

    /**
     * The run of {@code agentId} in {@code sessionKey} has just been given {@code skill}'s instructions. Called before
     * the tool's result goes back to the model; must not throw.
     */
    void loaded(String agentId, String sessionKey, Skill skill);
}
