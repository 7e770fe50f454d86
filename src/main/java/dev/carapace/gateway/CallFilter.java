package dev.carapace.gateway;

import dev.carapace.model.ApiException;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.Deployment;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;

/**
 * A stage of the request pipeline. Filters run in order around every call, from {@code /v1} and from agents
 * alike: the privacy router rewrites requests and restores answers, the ledger reserves at {@link #routed} and
 * settles at {@link #completed}, metering and metrics observe. A filter refuses a call by throwing
 * {@link ApiException}.
 */
public interface CallFilter {

    /** Before the model is resolved; may replace {@link Call#request}. */
    default void beforeRoute(Call call) {}

    /** The model is chosen ({@link Call#model}); no upstream has been called yet. */
    default void routed(Call call) {}

    /** Each streamed event on its way to the client; returns the event to pass on (or a changed one), or null to drop it. */
    default StreamEvent onEvent(Call call, StreamEvent event) { return event; }

    /**
     * As {@link #onEvent(Call, StreamEvent)}, for a filter that holds events back and must release them before the
     * one at hand (the privacy router holds a placeholder split across chunks): {@code earlier} passes an event on to
     * the filters after this one and then the client, ahead of the returned event.
     */
    default StreamEvent onEvent(Call call, StreamEvent event, StreamSink earlier) { return onEvent(call, event); }

    /** A complete answer on its way to the client; returns the answer to pass on. */
    default ChatResponse onResponse(Call call, ChatResponse response) { return response; }

    /**
     * A transcript ({@link Operation#TRANSCRIPTION}) on its way to the client: its texts, the whole text first, then
     * each segment's and word's when the answer has them. Returns the texts to pass on, as many, in order (the
     * privacy router redacts them), or refuses the answer by throwing {@link ApiException}.
     */
    default java.util.List<String> onTranscript(Call call, java.util.List<String> texts) { return texts; }

    /** One upstream attempt failed; {@code cooldown} tells whether the deployment now cools down. */
    default void attemptFailed(Call call, Deployment deployment, ApiException failure, boolean cooldown) {}

    /**
     * Exactly once per call, however it ended — a call being a request that was authenticated and parsed (one refused
     * before that, with 401, 413, 415 or a malformed body, never becomes a call): {@link Call#status},
     * {@link Call#usage} and the rest are final. Must not throw.
     */
    default void completed(Call call) {}
}
