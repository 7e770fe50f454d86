package dev.carapace.agent;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.Gateway;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.Message;
import dev.carapace.model.Tool;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.UUID;

/**
 * Compaction: when the next prompt would fill more of the model's context window than the agent's threshold
 * allows, or an upstream refused it as too long, asks a model (the agent's compaction model, else its own) through
 * the gateway to summarize the older turns, and records the summary in the transcript. What is replaced and how big
 * a prompt is, {@link Compactor} decides. Every compaction gives the agent its {@link MemoryFlush} first.
 */
final class Summarizer {

    private static final Logger log = LoggerFactory.getLogger(Summarizer.class);

    private final Gateway gateway;
    private final ModelLimits models;
    private final RunJournal journal;
    private final RunEvents events;
    private final MemoryFlush flush;

    Summarizer(Gateway gateway, ModelLimits models, RunJournal journal, RunEvents events, MemoryFlush flush) {
        this.gateway = gateway;
        this.models = models;
        this.journal = journal;
        this.events = events;
        this.flush = flush;
    }

    /**
     * Summarizes the older part of {@code visible} when {@code prompt} is over the threshold. True when a summary
     * was recorded (the prompt must then be assembled again); false when the prompt is to be sent as it is: small
     * enough, nothing older than the turns kept verbatim, or the summary call failed (the upstream may yet accept
     * the prompt).
     *
     * @param rows     the session's whole transcript, of which {@code visible} is what the model sees
     * @param overflow the upstream refused {@code prompt} as too long: compact whatever the estimate says
     */
    boolean summarize(Execution ex, Principal principal, List<SessionStore.Entry> rows, List<SessionStore.Entry> visible,
                      List<Message> prompt, List<Tool> schemas, boolean overflow) {
        AgentSpec.Compaction settings = ex.agent.compaction();
        long window = models.contextWindow(ex.agent.model());
        if (window <= 0 && !overflow) return false;
        long limit = (long) (window * settings.threshold());
        long estimate = Compactor.estimate(visible, prompt, schemas, overflow ? 0 : limit);
        if (estimate <= limit && !overflow) return false;
        Compactor.Split split = Compactor.split(visible, settings.keepTurns());
        if (split == null) return false;   // nothing older than the turns kept verbatim: send as is
        flush.beforeCompaction(ex, principal, rows, prompt, split, overflow);
        if (ex.stopped()) return false;
        String model = settings.model() != null ? settings.model() : ex.agent.model();
        ChatRequest request = new ChatRequest(model, Compactor.request(split.old()), List.of(), null, null, null, null,
                null, null, false, false, null, null);
        Call call = new Call("agt_" + UUID.randomUUID().toString().replace("-", ""), principal, WireApi.OPENAI, request,
                ex.sessionKey + "#compaction");
        ChatResponse answer;
        try {
            answer = gateway.complete(call);
        } catch (ApiException e) {
            if (ex.stopped()) return false;
            log.warn("run {}: compaction with {} failed ({}); sending the full conversation", ex.runId, model, e.code());
            return false;
        }
        Usage usage = answer.usage() == null ? Usage.ZERO : answer.usage();
        ex.tokens += usage.inputTokens() + usage.outputTokens();
        String text = answer.text() == null ? "" : answer.text().strip();
        String content = Transcript.JSON.createObjectNode().put("text", text).put("through", split.through())
                .put("replaced", split.old().size()).put("tokens_before", estimate).toString();
        journal.append(ex, "summary", content, answer.model(), usage);
        events.publish(new RunEvent.Compacted(ex.runId, ex.sessionKey, split.through(), split.old().size(), estimate,
                answer.model(), usage));
        return true;
    }
}
