package dev.carapace.agent.tools;

import dev.carapace.agent.AgentTool;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The tools Carapace itself provides. {@link #NAMES} is what an agent's {@code tools:} list may name: the config is
 * checked against it, and the composition root registers the tools themselves (and must register every one).
 * {@link #all} builds them for one configuration.
 */
public final class BuiltinTools {

    private BuiltinTools() {}

    /**
     * read, write, edit, list, glob, grep (see {@link FileTools}), exec and web_fetch. The config refuses an agent
     * listing exec or web_fetch unless it also chose how they run ({@code tools: {exec: local, web_fetch: direct}}).
     */
    public static final Set<String> NAMES = Set.of("read", "write", "edit", "list", "glob", "grep", "exec", "web_fetch");

    /** The tools the agent runtime provides itself (it starts runs): not built here, but an agent may list them. */
    public static final Set<String> RUNTIME_NAMES = Set.of("spawn_agent", "wait_agents");

    /** Provided by the scheduler (it adds jobs): {@code schedule}. Not built here either, but an agent may list it. */
    public static final Set<String> SCHEDULER_NAMES = Set.of("schedule");

    /** Provided by memory (it keeps notes): {@code memory_write}, {@code memory_search}. Not built here either. */
    public static final Set<String> MEMORY_NAMES = Set.of("memory_write", "memory_search");
    /**
     * Provided by the skills package: {@code skill}, which reads the agent's skills on demand (and whose presence
     * puts the list of skills in the agent's system prompt). Not built here either, but an agent may list it.
     */
    public static final Set<String> SKILL_NAMES = Set.of("skill");
    /** Provided by the channels: {@code send_message}, which writes to someone on one of the agent's channels. */
    public static final Set<String> CHANNEL_NAMES = Set.of("send_message");

    /** Every name an agent's {@code tools:} list may hold. */
    public static Set<String> accepted() {
        java.util.Set<String> all = new java.util.HashSet<>(NAMES);
        all.addAll(RUNTIME_NAMES);
        all.addAll(SCHEDULER_NAMES);
        all.addAll(MEMORY_NAMES);
        all.addAll(SKILL_NAMES);
        all.addAll(CHANNEL_NAMES);
        return Set.copyOf(all);
    }

    /**
     * The file tools, then {@code exec} if {@code sandbox} is given and {@code web_fetch} if {@code egress} is given.
     * A command never runs and a URL is never fetched unless the config chose a way on purpose ({@link LocalRunner}
     * and {@link DirectEgress} are unisolated).
     *
     * @param sandbox where commands run, or null for no {@code exec}
     * @param egress  the way out to the network, or null for no {@code web_fetch}
     */
    public static List<AgentTool> all(Sandbox sandbox, Egress egress) {
        List<AgentTool> tools = new ArrayList<>(FileTools.all());
        if (sandbox != null) tools.add(new ExecTool(sandbox));
        if (egress != null) tools.add(new WebFetchTool(egress));
        return List.copyOf(tools);
    }
}
