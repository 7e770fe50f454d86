package dev.carapace.agent;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.Gateway;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.FinishReason;
import dev.carapace.model.Message;
import dev.carapace.model.Router;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * One model answer per turn: streamed through the {@link Gateway} (so routing, failover, budgets and metering apply
 * as to any {@code /v1} call), its text relayed to the run's subscribers as it arrives, the agent's fallback models
 * tried while a model is unavailable or refused before answering anything.
 */
final class ModelCalls {

    private static final Logger log = LoggerFactory.getLogger(ModelCalls.class);

    /** One model answer: its text, the tool calls it asked for, and what it cost. */
    record Turn(String text, List<ToolCall> calls, FinishReason finish, String model, Usage usage) {}

    private final Gateway gateway;
    private final ModelLimits limits;
    private final RunEvents events;

    ModelCalls(Gateway gateway, ModelLimits limits, RunEvents events) {
        this.gateway = gateway;
        this.limits = limits;
        this.events = events;
    }

    /**
     * Calls the agent's model, then its fallbacks. A stop (cancel, interrupt, wall-time limit) ends the stream at the
     * next event, or at once through the interrupt when the upstream is silent; what arrived until then is returned.
     */
    Turn call(Execution ex, Principal principal, List<Message> messages, List<Tool> schemas) {
        ApiException last = null;
        for (String model : ex.agent.models()) {
            ChatRequest request = new ChatRequest(model, messages, schemas, schemas.isEmpty() ? null : ToolChoice.AUTO,
                    outputCap(ex, model), null, null, null, null, true, true, null, null);
            Call call = new Call("agt_" + UUID.randomUUID().toString().replace("-", ""), principal, WireApi.OPENAI,
                    request, ex.sessionKey);
            Accumulator acc = new Accumulator(ex);
            try {
                gateway.stream(call, acc);
            } catch (ApiException e) {
                if (ex.stopped()) return acc.turn(call, model);
                if (acc.received || !worthFallback(e)) throw e;
                last = e;
                log.info("run {}: model {} refused or unavailable ({}); trying the next", ex.runId, model, e.code());
                continue;
            }
            return acc.turn(call, model);
        }
        throw last;
    }

    /**
     * The output limit of the next call: what the run has left of its token limit, when that is less than the
     * model's own output limit (so one answer cannot run far past the run's limit); else none, the model's default.
     */
    private Integer outputCap(Execution ex, String model) {
        long left = Math.max(1, ex.maxTokens - ex.totalTokens());
        long modelMax = limits.maxOutputTokens(model);
        return modelMax > 0 && left < modelMax ? (int) left : null;
    }

    private static boolean worthFallback(ApiException e) {
        return Router.worthFailover(e) || e.kind() == ApiException.Kind.PERMISSION || e.kind() == ApiException.Kind.NOT_FOUND;
    }

    /** Collects a streamed answer and relays its text to the subscribers. */
    private final class Accumulator implements StreamSink {
        private final Execution ex;
        private final StringBuilder text = new StringBuilder();
        private final TreeMap<Integer, String[]> calls = new TreeMap<>();   // index -> {id, name}
        private final Map<Integer, StringBuilder> arguments = new HashMap<>();
        private FinishReason finish;
        boolean received;

        Accumulator(Execution ex) { this.ex = ex; }

        @Override
        public void accept(StreamEvent event) {
            // Throwing here makes the gateway abandon the upstream call as if its client had gone away.
            if (ex.stopped()) throw new RunStopped();
            received = true;
            switch (event) {
                case StreamEvent.TextDelta t -> {
                    text.append(t.text());
                    events.publish(new RunEvent.TextDelta(ex.runId, ex.sessionKey, t.text()));
                }
                case StreamEvent.ToolCallStarted s -> calls.put(s.index(), new String[]{s.id(), s.name()});
                case StreamEvent.ToolCallDelta d -> arguments.computeIfAbsent(d.index(), i -> new StringBuilder()).append(d.argumentsDelta());
                case StreamEvent.Finished f -> finish = f.reason();
                default -> { }
            }
        }

        Turn turn(Call call, String asked) {
            List<ToolCall> list = new ArrayList<>();
            for (var e : calls.entrySet()) {
                String id = e.getValue()[0] == null || e.getValue()[0].isEmpty() ? "call_" + e.getKey() : e.getValue()[0];
                StringBuilder args = arguments.get(e.getKey());
                list.add(new ToolCall(id, e.getValue()[1], args == null || args.isEmpty() ? "{}" : args.toString()));
            }
            String model = call.model() != null ? call.model().id() : asked;
            return new Turn(text.toString(), list, finish, model, call.usage() == null ? Usage.ZERO : call.usage());
        }
    }

    /** Unwinds the gateway's stream when the run is stopped; never seen outside this class. */
    private static final class RunStopped extends RuntimeException {
        RunStopped() { super(null, null, false, false); }
    }
}
