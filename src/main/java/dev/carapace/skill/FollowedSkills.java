package dev.carapace.skill;

import dev.carapace.agent.Following;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link SkillScope} of a run that follows skills ({@link Following}), from the agent's {@link SkillSource}.
 *
 * <p>A skill's needs are read once per session, the first time the guard sees it load the skill (or, failing that,
 * the first time it needs them), and kept for the rest of the session: a run that follows a skill cannot widen it by
 * editing the skill's {@code SKILL.md} in its workspace afterwards, nor can a later run of the session. The
 * snapshots are kept in memory: after a restart a session's followed skills are read again as they are then (a
 * changed org skill is a new version, reviewed before it is installed). A name is resolved exactly as written; one
 * that is not a skill of the agent declares nothing.
 */
public final class FollowedSkills {

    /** Snapshots kept at most; past it they are all forgotten (and read again for sessions that go on). */
    static final int MAX_SNAPSHOTS = 10_000;

    private final SkillSource source;
    private final Map<String, SkillScope.Declared> snapshots = new ConcurrentHashMap<>();

    public FollowedSkills(SkillSource source) {
        this.source = source;
    }

    /**
     * Notes that session {@code sessionKey} of {@code agentId} is loading {@code name}: its needs as they are now
     * are the session's.
     */
    public void loading(String agentId, String sessionKey, String name) {
        declared(agentId, sessionKey, name);
    }

    /** What the skills of one level of {@code following} declared together; null when it follows none. */
    public SkillScope scope(Following level) {
        if (level == null || level.skills().isEmpty()) return null;
        List<SkillScope.Declared> declared = new ArrayList<>();
        for (String name : level.skills().stream().sorted().toList()) {
            declared.add(declared(level.agentId(), level.sessionKey(), name));
        }
        return new SkillScope(declared);
    }

    /** Every level of {@code following} that follows a skill, this run's first. */
    public List<SkillScope> scopes(Following following) {
        List<SkillScope> out = new ArrayList<>();
        if (following == null) return out;
        for (Following level : following.levels()) {
            SkillScope s = scope(level);
            if (s != null) out.add(s);
        }
        return out;
    }

    private SkillScope.Declared declared(String agentId, String sessionKey, String name) {
        if (snapshots.size() > MAX_SNAPSHOTS) snapshots.clear();
        return snapshots.computeIfAbsent(sessionKey + '\u0000' + name, k -> resolve(agentId, name));
    }

    private SkillScope.Declared resolve(String agentId, String name) {
        for (Skill s : source.skillsFor(agentId)) {
            if (s.name().equals(name)) return new SkillScope.Declared(name, s.doc().needs(), true);
        }
        return new SkillScope.Declared(name, SkillNeeds.NOTHING, false);
    }
}
