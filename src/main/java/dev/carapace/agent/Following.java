package dev.carapace.agent;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The skills a run follows, with those of the runs that started it. Following belongs to the session's context, not
 * to one run: a session follows a skill from the moment a call of the {@value #SKILL_TOOL} tool has given it that
 * skill's instructions (a call that failed does not count), for as long as the session lasts. Within a run that is
 * from the turn after the call (calls in the same model response were decided before the model read the skill);
 * every later run of the session (a new message, a resume after a restart, a scheduled job's run in that session)
 * follows it from its first call, as the runtime reads the session's transcript when the run begins. A summary
 * that replaced the read does not end it: the summary may carry the instructions on. What following means is the
 * guard's: the runtime only keeps the record and hands it to the {@link Guard} with every decision and to the tools
 * with every call ({@link ToolContext#following()}), where the sandbox reads it to narrow a command's network.
 *
 * @param agentId the agent of the run
 * @param sessionKey the run's session, whose context holds what it follows
 * @param skills  the names of the skills its session loaded, as its model wrote them (the guard resolves them)
 * @param parent  the same for the run that started it; null for a run no run started
 */
public record Following(String agentId, String sessionKey, Set<String> skills, Following parent) {

    /** The tool whose calls load a skill's instructions; provided by the skills package, known here by name. */
    public static final String SKILL_TOOL = "skill";
    /** The field of a finished sub-agent's result (spawn_agent, wait_agents) naming the skills its session followed. */
    public static final String PASSED_UP = "followed_skills";

    public Following {
        skills = Set.copyOf(skills);
    }

    /**
     * The skill a {@value #SKILL_TOOL} call with these arguments reads ({@code {"name": X}}, and any file of X), or
     * null for one that reads none ({@code {"action": "list"}}).
     */
    public static String loaded(com.fasterxml.jackson.databind.JsonNode arguments) {
        if (arguments == null || !arguments.path("name").isTextual()) return null;
        String action = arguments.path("action").asText("read");
        return action.equals("list") ? null : arguments.path("name").asText();
    }

    /** This run's level, then its parent's, up to the root run. */
    public List<Following> levels() {
        List<Following> out = new ArrayList<>();
        for (Following f = this; f != null; f = f.parent) out.add(f);
        return out;
    }

    /** Whether this run or any run above it follows a skill. */
    public boolean any() {
        for (Following f = this; f != null; f = f.parent) if (!f.skills.isEmpty()) return true;
        return false;
    }
}
