package dev.carapace.agent;

import dev.carapace.gateway.Gateway;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Runs agents: the agent runtime's public face, and the place its rooms are put together. Messages for sessions
 * are accepted, queued per session and ended by the {@link RunLifecycle}; each run is driven by the
 * {@link TurnLoop} — prompt from the {@link PromptAssembler}, model call through the {@link Gateway} (so routing,
 * failover, budgets and metering apply as to any {@code /v1} call) by {@link ModelCalls}, then the tool calls it
 * asked for by the {@link ToolRunner} (in parallel, each admitted by the {@link Guard} first), then the model again,
 * until it answers without tools or a limit is reached.
 *
 * <p>Durability: a message is in the {@link SessionStore} (in its run's record) before {@link #start} returns; it
 * enters the transcript when its run begins; every assistant turn and every tool result is committed as it
 * completes. On construction, runs a previous process left queued or running are marked {@code interrupted};
 * {@link #resume} continues such a session from its transcript.
 */
public final class AgentRuntime implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AgentRuntime.class);

    /** The largest user message accepted, in characters. */
    static final int MAX_MESSAGE_CHARS = 1_000_000;

    /**
     * How the session of a channel's conversation is named ({@code ch-CHANNEL-HASH}). Only a message that came
     * through a channel ({@link RunOptions#via}) may start a run in one: its person talks to the agent there, and no
     * other caller may put words into that conversation.
     */
    public static final String CHANNEL_SESSION_PREFIX = "ch-";

    /** Whether a client may name a session {@code name}: letters, digits, '.', '_' and '-', at most 128. */
    public static boolean sessionName(String name) {
        return name != null && RunLifecycle.SESSION_NAME.matcher(name).matches();
    }

    /** Whether {@code sessionName} is a channel's conversation ({@link #CHANNEL_SESSION_PREFIX}). */
    public static boolean channelSession(String sessionName) {
        return sessionName != null && sessionName.startsWith(CHANNEL_SESSION_PREFIX);
    }

    private final Agents agents;
    private final SessionStore store;
    private final RunEvents events;
    private final RunLifecycle lifecycle;

    /**
     * @param tools      every tool agents may be given; each agent's config names a subset
     * @param principals whom an agent calls models as (its owner's org, team and user, plus its own id); may throw
     *                   {@link ApiException} when the owner cannot be resolved, which fails the run
     * @throws IllegalArgumentException when an agent lists a tool that is not among {@code tools}
     */
    public AgentRuntime(Agents agents, Gateway gateway, SessionStore store, Guard guard, List<AgentTool> tools,
                        Function<AgentSpec, Principal> principals, RunEvents events, Clock clock) {
        this(agents, gateway, store, guard, null, tools, principals, events, clock);
    }

    /**
     * As above, with {@code approvals} taking the tool calls the guard answers {@code ask}: the run waits for an
     * operator's decision (null: such calls are refused as needing approval).
     */
    public AgentRuntime(Agents agents, Gateway gateway, SessionStore store, Guard guard, Approvals approvals,
                        List<AgentTool> tools, Function<AgentSpec, Principal> principals, RunEvents events, Clock clock) {
        this(agents, gateway, store, guard, approvals, tools, principals, events, clock, SpawnAudit.NONE);
    }

    /**
     * As above, with {@code audit} receiving every sub-agent spawn decision (allowed or refused, with its reason);
     * the constructors without it record none.
     */
    public AgentRuntime(Agents agents, Gateway gateway, SessionStore store, Guard guard, Approvals approvals,
                        List<AgentTool> tools, Function<AgentSpec, Principal> principals, RunEvents events, Clock clock,
                        SpawnAudit audit) {
        this(agents, gateway, store, guard, approvals, tools, principals, events, clock, audit, List.of());
    }

    /**
     * As above, with {@code context}: more parts of every system prompt (skills, memory), after the agent's
     * instructions, in this order.
     */
    public AgentRuntime(Agents agents, Gateway gateway, SessionStore store, Guard guard, Approvals approvals,
                        List<AgentTool> tools, Function<AgentSpec, Principal> principals, RunEvents events, Clock clock,
                        SpawnAudit audit, List<ContextSource> context) {
        this.agents = agents;
        this.store = store;
        this.events = events;
        Toolbox toolbox = new Toolbox(tools, agents);
        RunJournal journal = new RunJournal(store, clock);
        ModelLimits limits = new ModelLimits(gateway);
        SubAgents subAgents = new SubAgents(subAgentHost(audit, clock));
        ToolRunner runner = new ToolRunner(new ToolAdmission(guard, approvals, toolbox, events), guard, subAgents,
                journal, events);
        List<ContextSource> sources = new java.util.ArrayList<>(List.of(new Instructions()));
        sources.addAll(context);
        MemoryFlush flush = new MemoryFlush(gateway, limits, toolbox, runner, journal, events);
        PromptAssembler prompts = new PromptAssembler(sources, store,
                new Summarizer(gateway, limits, journal, events, flush));
        TurnLoop loop = new TurnLoop(store, journal, events, prompts, new ModelCalls(gateway, limits, events), toolbox,
                runner, principals, clock);
        this.lifecycle = new RunLifecycle(store, journal, events, clock, loop::run);
        reapOrphans();
    }

    /** Sub-agents start runs here, and their spawn decisions go to {@code audit}. */
    private SubAgents.Host subAgentHost(SpawnAudit audit, Clock clock) {
        return new SubAgents.Host() {
            @Override
            public SubAgents.Child startChild(Execution parent, AgentSpec agent, List<String> tools, String sessionName,
                                              String task, long maxTokens, SubAgents.Family family, String name) {
                SubAgents.Result result = new SubAgents.Result();
                Execution child = lifecycle.startChild(parent, agent, tools, agent.sessionKey(sessionName), task,
                        Math.min(maxTokens, agent.limits().maxTokens()), family, result);
                return new SubAgents.Child(name, child.runId, child.sessionKey, agent.id(), maxTokens, child.done, result);
            }

            @Override
            public void audit(Execution parent, String agent, String outcome, String rule, String reason) {
                // whoever asked for the run at the root of the tree, as the guard's records name them
                Principal p = parent.requester() != null ? parent.requester() : parent.principal;
                String who = p == null ? null : p.path();
                try {
                    audit.record(new SpawnAudit.Decision(clock.instant(), who, parent.agent.id(), parent.sessionKey,
                            agent, outcome, rule, reason));
                } catch (RuntimeException e) {
                    log.warn("run {}: the audit sink failed on a spawn record", parent.runId, e);
                }
            }

            @Override
            public RunInfo run(String runId) { return lifecycle.run(runId); }

            @Override
            public AgentSpec agent(String id) { return agents.get(id); }

            @Override
            public List<AgentSpec> agents() { return agents.list(); }

            @Override
            public void cancel(String runId) { lifecycle.cancel(runId); }
        };
    }

    /**
     * Marks interrupted the runs a stopped gateway left queued or running (see {@link SessionStore#interruptOrphans}):
     * at construction, and periodically where several gateways share the store.
     */
    public void reapOrphans() { lifecycle.reapOrphans(); }

    /** Keeps this runtime's queued and running runs from being taken for orphans by other gateways. */
    public void heartbeat() { lifecycle.heartbeat(); }

    // ---- the API ------------------------------------------------------------------------------------------------

    public Agents agents() { return agents; }

    /**
     * Sends {@code message} to the agent's session {@code sessionName} (created on first use). The message is stored
     * before this returns. If the session is busy, the run waits (on_busy: queue) or stops the current run (on_busy:
     * interrupt) and runs next.
     *
     * @return the new run's id
     * @throws ApiException unknown agent (404), bad session name or empty message (400), runtime closed (503)
     */
    public String start(String agentId, String sessionName, String message) {
        return start(agentId, sessionName, message, null);
    }

    /**
     * As {@link #start(String, String, String)}, started by {@code startedBy}: the run's model calls are charged to
     * that user (their user budget applies, and {@code spend --by user} shows them), within the agent's owner team,
     * and to the agent. A caller without a user of its own (a team key), or none, leaves them to the agent's owner.
     */
    public String start(String agentId, String sessionName, String message, Principal startedBy) {
        return start(agentId, sessionName, message, startedBy, RunOptions.NONE);
    }

    /**
     * As {@link #start(String, String, String, Principal)}, within {@code options}: fewer tools, tighter limits, and
     * a job charged (how a scheduled job runs its agent).
     *
     * @throws ApiException as above, and a tool the agent does not have (400)
     */
    public String start(String agentId, String sessionName, String message, Principal startedBy, RunOptions options) {
        return lifecycle.accept(agents.get(agentId), sessionName, message, startedBy, options);
    }

    /**
     * Continues a session whose last run was interrupted: the model picks up from the transcript. Messages that were
     * accepted but whose runs never began are added to the transcript first, in order.
     *
     * @return the new run's id
     * @throws ApiException unknown session (404); nothing to resume or the session is busy (409-kind: invalid)
     */
    public String resume(String sessionKey) {
        return resume(sessionKey, null);
    }

    /** As {@link #resume(String)}, charged to {@code startedBy} as {@link #start(String, String, String, Principal)} is. */
    public String resume(String sessionKey, Principal startedBy) {
        SessionStore.Session session = store.session(sessionKey).orElseThrow(() -> RunLifecycle.sessionNotFound(sessionKey));
        return lifecycle.resume(agents.get(session.agent()), sessionKey, startedBy);
    }

    /**
     * Cancels a run: a queued run ends at once; a running one is interrupted (its upstream stream and its tool
     * calls too) and ends {@code cancelled} promptly.
     *
     * @return false when the run had already ended
     * @throws ApiException unknown run (404)
     */
    public boolean cancel(String runId) { return lifecycle.cancel(runId); }

    /**
     * Who asked for what the session is doing now: whoever sent the message of its running run (a person's key, a
     * channel's bound user, a job's owner), or for a sub-agent's run whoever started the run at the root of its tree.
     * Empty when nothing runs in the session or no one is known (a heartbeat's turn). The guard's audit records and
     * approvals name them, rather than the agent's owner only.
     */
    public Optional<Principal> requester(String sessionKey) { return lifecycle.requester(sessionKey); }

    /** The run as stored. @throws ApiException unknown run (404) */
    public RunInfo run(String runId) { return lifecycle.run(runId); }

    /** The session's runs, oldest first. */
    public List<RunInfo> runs(String sessionKey) { return lifecycle.runs(sessionKey); }

    /**
     * Waits until the run has ended or {@code timeout} passed, and returns it as stored then.
     */
    public RunInfo await(String runId, Duration timeout) throws InterruptedException {
        return lifecycle.await(runId, timeout);
    }

    /** The session's transcript. @throws ApiException unknown session (404) */
    public List<TranscriptEntry> transcript(String sessionKey) {
        store.session(sessionKey).orElseThrow(() -> RunLifecycle.sessionNotFound(sessionKey));
        return store.entries(sessionKey).stream().map(Transcript::entry).toList();
    }

    /**
     * Live events of one run until it ends. A run that has already ended gets its final status at once.
     */
    public RunEvents.Subscription subscribeRun(String runId, Consumer<RunEvent> listener) {
        RunInfo before = run(runId);
        RunEvents.Subscription s = events.subscribeRun(runId, listener);
        RunInfo now = before.status().isFinal() ? before : run(runId);
        if (now.status().isFinal()) {
            events.publishTo(s, new RunEvent.StatusChanged(runId, now.sessionKey(), now.status(), now.reason()));
        }
        return s;
    }

    /** Live events of every run of a session, until closed. */
    public RunEvents.Subscription subscribeSession(String sessionKey, Consumer<RunEvent> listener) {
        return events.subscribeSession(sessionKey, listener);
    }

    /**
     * Stops every run: running ones end {@code interrupted} (resumable), queued ones too. Waits up to 10 s for runs
     * to write their end.
     */
    @Override
    public void close() {
        lifecycle.close();
        events.close();
    }
}
