package dev.carapace.agent;

import dev.carapace.fs.RealPaths;
import dev.carapace.identity.Principal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Whether a run may start a sub-agent, and what the child may then do. A child never acts with more than its
 * parent:
 * <ul>
 *   <li>its agent must be one the parent's owner may use ({@link AgentSpec#usableBy}, the HTTP API's rule): an agent
 *       of one team cannot start another team's agent to read that agent's files;</li>
 *   <li>its tools are its own that its parent run also has; a child of another agent that works in another
 *       workspace keeps only the sub-agent tools: every other tool would act on that workspace (files, commands) or
 *       with that agent's network identity, which the parent does not have. (Config refuses overlapping workspaces,
 *       so in practice another agent's child only thinks and delegates.)</li>
 * </ul>
 * The child calls models as its parent's owner (so the parent's owner's budgets count its spend) with its own agent
 * id (so its own budget applies too), and the runtime asks the guard about each of its tool calls for every ancestor
 * as well (see {@code AgentRuntime}). Refusing rather than restricting was rejected for tools: a model that asked for
 * a helper gets one that can do what it could do itself, and is told what was withheld.
 */
final class SpawnRule {

    /** The tools a child of another agent keeps even in another workspace: they act only through the runtime. */
    private static final Set<String> RUNTIME_TOOLS = Set.of(AgentSpec.SPAWN_AGENT, AgentSpec.WAIT_AGENTS);

    /**
     * What was decided.
     *
     * @param error    null when allowed, else the error code the model gets
     * @param reason   why (for the model and the audit log)
     * @param tools    the child's tools when allowed
     * @param withheld the child's own tools it does not get
     */
    record Verdict(String error, String reason, List<String> tools, List<String> withheld) {
        boolean allowed() { return error == null; }
    }

    private SpawnRule() {}

    /**
     * @param parentTools the tools the parent run has (its own effective set, itself restricted if it is a child)
     */
    static Verdict decide(AgentSpec parent, Principal owner, List<String> parentTools, AgentSpec child) {
        if (!child.usableBy(owner)) {
            return new Verdict("agent_forbidden", "agent '" + child.id() + "' is owned by " + child.owner()
                    + " and this run's owner (team " + owner.team() + (owner.user() == null ? "" : ", user " + owner.user())
                    + ") may not use it: agents start only agents their owner may use", List.of(), List.of());
        }
        boolean elsewhere = !parent.id().equals(child.id()) && !sameFolder(parent.workspace(), child.workspace());
        List<String> tools = new ArrayList<>();
        List<String> withheld = new ArrayList<>();
        for (String t : child.enabledTools()) {
            boolean keep = parentTools.contains(t) && (!elsewhere || RUNTIME_TOOLS.contains(t));
            (keep ? tools : withheld).add(t);
        }
        String reason = "agent '" + child.id() + "' started" + (withheld.isEmpty() ? " with all its tools" : " without "
                + String.join(", ", withheld) + (elsewhere
                ? " (it works in another workspace than this run, so only tools this run has and that act through "
                + "the runtime are kept)" : " (this run does not have them)"));
        return new Verdict(null, reason, List.copyOf(tools), List.copyOf(withheld));
    }

    /** Same folder by real path (symlinks, {@code ..}, case on a case-insensitive disk; see {@link RealPaths#real}). */
    static boolean sameFolder(Path a, Path b) {
        return RealPaths.real(a).equals(RealPaths.real(b));
    }

}
