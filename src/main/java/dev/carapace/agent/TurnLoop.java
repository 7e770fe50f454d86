package dev.carapace.agent;

import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.Message;
import dev.carapace.model.Tool;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The loop of one run, on the run's own thread: begin it (its first entries into the transcript), then model call
 * ({@link ModelCalls}) on the prompt the {@link PromptAssembler} builds, then the tool calls it asked for
 * ({@link ToolRunner}), then the model again, until it answers without tools, is stopped, or reaches a limit (steps,
 * tokens); a call refused as too long is compacted and tried once more. Every assistant turn is committed as it
 * completes. How the run ends is returned, not recorded: that is
 * the {@link RunLifecycle}'s.
 */
final class TurnLoop {

    private final SessionStore store;
    private final RunJournal journal;
    private final RunEvents events;
    private final PromptAssembler prompts;
    private final ModelCalls models;
    private final Toolbox toolbox;
    private final ToolRunner tools;
    private final Function<AgentSpec, Principal> principals;
    private final Clock clock;

    TurnLoop(SessionStore store, RunJournal journal, RunEvents events, PromptAssembler prompts, ModelCalls models,
             Toolbox toolbox, ToolRunner tools, Function<AgentSpec, Principal> principals, Clock clock) {
        this.store = store;
        this.journal = journal;
        this.events = events;
        this.prompts = prompts;
        this.models = models;
        this.toolbox = toolbox;
        this.tools = tools;
        this.principals = principals;
        this.clock = clock;
    }

    Execution.Outcome run(Execution ex) {
        if (ex.stopped()) return ex.stop.get();
        AgentSpec agent = ex.agent;
        List<SessionStore.Entry> first = new ArrayList<>(ex.carried);
        if (ex.input != null) first.add(journal.entry(ex.sessionKey, ex.runId, "user", Transcript.user(ex.input, ex.sender, ex.images), null, null));
        if (!store.beginRun(ex.runId, clock.instant(), first)) {
            return new Execution.Outcome(RunStatus.CANCELLED, "the run was ended before it began");
        }
        // The session's earlier skill reads are still in what the model sees (or in a summary of it): the run
        // follows those skills from its first call, so a new message or a resume does not shake them off.
        ex.skills.addAll(Transcript.skillsRead(store.entries(ex.sessionKey)));
        events.publish(new RunEvent.StatusChanged(ex.runId, ex.sessionKey, RunStatus.RUNNING, null));
        Principal principal = ex.parent == null ? chargedTo(principals.apply(agent), ex.startedBy).forJob(ex.job)
                : asAgent(ex.parent.principal, agent.id());
        ex.principal = principal;
        // The system prompt and the tool schemas are the same on every turn, in config order, so the prefix a
        // provider caches (explicitly, by the breakpoint on the system prompt, or automatically) is hit every time.
        Message system = prompts.system(agent);
        List<Tool> schemas = toolbox.schemas(ex.tools, ex.family);
        AgentSpec.Limits limits = agent.limits();
        while (true) {
            if (ex.stopped()) return ex.stop.get();
            if (ex.steps >= limits.maxSteps()) {
                return new Execution.Outcome(RunStatus.LIMIT_EXCEEDED, "max_steps: the run made " + ex.steps
                        + " model calls, its limit, and the model still asked for tools");
            }
            if (ex.totalTokens() >= ex.maxTokens) return tokenLimit(ex);
            // Asked again before each later call: an owner whose keys were revoked meanwhile stops the run here
            // (the refusal ends it as a failed model call would).
            if (ex.steps > 0 && ex.parent == null) principals.apply(agent);
            List<Message> messages = prompts.prompt(ex, principal, system, schemas);
            if (ex.stopped()) return ex.stop.get();
            ModelCalls.Turn turn = call(ex, principal, system, schemas, messages);
            ex.steps++;
            ex.tokens += turn.usage().inputTokens() + turn.usage().outputTokens();
            if (!turn.text().isEmpty()) ex.lastText = turn.text();
            boolean cut = ex.stopped();
            if (!turn.text().isEmpty() || (!cut && !turn.calls().isEmpty())) {
                journal.append(ex, "assistant", Transcript.assistant(turn.text(), cut ? List.of() : turn.calls(),
                        turn.finish(), cut), turn.model(), turn.usage());
            }
            events.publish(new RunEvent.UsageReported(ex.runId, ex.sessionKey, ex.steps, turn.model(), turn.usage()));
            store.progress(ex.runId, ex.steps, ex.totalTokens());
            if (cut) return ex.stop.get();
            if (turn.calls().isEmpty()) return new Execution.Outcome(RunStatus.COMPLETED, null);
            if (ex.totalTokens() >= ex.maxTokens) return tokenLimit(ex);
            tools.run(ex, turn.calls());
        }
    }

    /**
     * One model call; when the upstream refuses the prompt as too long (its tokenizer is the one that counts, and a
     * single turn can jump past the compaction threshold), compacts and tries once more.
     */
    private ModelCalls.Turn call(Execution ex, Principal principal, Message system, List<Tool> schemas,
                                 List<Message> messages) {
        try {
            return models.call(ex, principal, messages, schemas);
        } catch (ApiException e) {
            if (ex.stopped() || !ContextOverflow.is(e)) throw e;
            List<Message> smaller = prompts.afterOverflow(ex, principal, system, schemas, messages);
            if (smaller == null || ex.stopped()) throw e;
            return models.call(ex, principal, smaller, schemas);
        }
    }

    /**
     * Whom a run's model calls are charged to: the user who started it (issue 14: runs of a team-owned agent were
     * charged to no user, "-" in the spend report), within the agent's owner team, as the agent, with the prefix of
     * the key that started it. A starter without a user (a team key) leaves the owner's user, if any.
     */
    private static Principal chargedTo(Principal owner, Principal startedBy) {
        if (startedBy == null) return owner;
        return new Principal(owner.org(), owner.team(), startedBy.user() != null ? startedBy.user() : owner.user(),
                owner.role(), startedBy.keyPrefix(), owner.agent(), owner.job());
    }

    /**
     * A parent's principal, as the child agent {@code agentId}: the same owner, the child's own agent budget, and
     * the parent's job (a job's sub-agents spend its budget).
     */
    private static Principal asAgent(Principal parent, String agentId) {
        return new Principal(parent.org(), parent.team(), parent.user(), parent.role(), parent.keyPrefix(), agentId,
                parent.job());
    }

    private static Execution.Outcome tokenLimit(Execution ex) {
        return new Execution.Outcome(RunStatus.LIMIT_EXCEEDED, "max_tokens: the run used " + ex.totalTokens()
                + " tokens, its limit is " + ex.maxTokens
                + (ex.maxTokens < ex.agent.limits().maxTokens() ? " (its share of its parent's budget)" : ""));
    }
}
