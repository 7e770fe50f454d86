package dev.carapace.gateway;

import dev.carapace.model.Access;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.Deployment;
import dev.carapace.model.EmbeddingRequest;
import dev.carapace.model.ModelKind;
import dev.carapace.model.Portfolio;
import dev.carapace.model.Provider;
import dev.carapace.model.Router;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.TokenCounter;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import dev.carapace.model.Part;
import dev.carapace.model.audio.OpenAiAudio;
import dev.carapace.model.audio.Speech;
import dev.carapace.model.audio.SpeechRequest;
import dev.carapace.model.audio.TranscriptionRequest;
import dev.carapace.model.openai.OpenAiEmbeddings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * The one pipeline every model call goes through, whoever makes it: filters (before routing), the portfolio
 * router, filters (routed), upstream attempts with failover, filters on the answer, filters at completion.
 *
 * <p>Failover happens only while nothing has reached the client. Once the first streamed event is out, an
 * upstream failure ends the stream with an error; it is never retried, because the client has already seen part
 * of an answer that a retry would not repeat.
 */
public final class Gateway {

    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final Portfolio portfolio;
    private final Router router;
    private final Map<String, Access> teamAccess;
    private final CallFilter[] filters;

    /** @param teamAccess what each configured team may use; a key of a team not listed here is refused */
    public Gateway(Portfolio portfolio, Router router, Map<String, Access> teamAccess, List<CallFilter> filters) {
        this.portfolio = portfolio;
        this.router = router;
        this.teamAccess = Map.copyOf(teamAccess);
        this.filters = filters.toArray(CallFilter[]::new);
    }

    public Portfolio portfolio() { return portfolio; }

    /** What a team may use. */
    public Access access(String team) {
        Access a = teamAccess.get(team);
        if (a == null) {
            throw new ApiException(ApiException.Kind.PERMISSION, "Team '" + team + "' is not in the gateway's config;"
                    + " its keys cannot be used until an admin adds it.", null, "unknown_team", null, false);
        }
        return a;
    }

    /** Runs a non-streamed call. Throws {@link ApiException} when it cannot be answered. */
    public ChatResponse complete(Call call) {
        Usage usage = Usage.ZERO;
        try {
            Portfolio.Entry model = route(call);
            ChatResponse r = withFailover(call, model,
                    (d, maxOutput) -> d.provider().complete(call.request(), d.upstreamModel(), maxOutput,
                            call.relayTo(d.provider().api())), () -> false);
            usage = r.usage() != null ? r.usage() : TokenCounter.estimate(call.request(), outputText(r));
            r = r.withModel(model.id()).withUsage(usage);
            for (CallFilter f : filters) r = f.onResponse(call, r);
            call.finish(200, usage, null);
            return r;
        } catch (ApiException e) {
            call.finish(call.api().status(e), usage, e.code());   // an answer refused after it was made still cost its tokens
            throw e;
        } finally {
            completed(call);
        }
    }

    /**
     * Counts a Messages request's input tokens ({@link Operation#COUNT_TOKENS}): screened and routed like a chat call,
     * then asked of the model's deployment when it is Anthropic's (its own count), and counted here with o200k
     * otherwise (the tokenizer of OpenAI models; for other OpenAI-compatible servers an estimate). A model with no
     * Anthropic deployment is counted here without choosing one ({@link Call#deployment} stays null), so that counting
     * never passes for a deployment's success. Recorded at no cost.
     */
    public long countTokens(Call call) {
        try {
            Portfolio.Entry model = route(call);
            boolean upstreamCounts = false;
            for (Deployment d : model.deployments()) upstreamCounts |= d.provider().api() == WireApi.ANTHROPIC;
            long n = !upstreamCounts ? TokenCounter.prompt(call.request())
                    : withFailover(call, model, (d, maxOutput) -> d.provider().api() == WireApi.ANTHROPIC
                            ? d.provider().countTokens(call.request(), d.upstreamModel())
                            : (long) TokenCounter.prompt(call.request()), () -> false);
            call.finish(200, Usage.ZERO, null);
            return n;
        } catch (ApiException e) {
            call.finish(call.api().status(e), Usage.ZERO, e.code());
            throw e;
        } finally {
            completed(call);
        }
    }

    /**
     * Embeds {@code request}'s inputs ({@link Operation#EMBEDDINGS}; the call's request is its {@link
     * EmbeddingRequest#view}): screened, budgeted and metered like a chat call, sent to an embedding model's deployment.
     * Returns the upstream's answer, with the model renamed, for the client.
     */
    public byte[] embed(Call call, EmbeddingRequest request) {
        Usage usage = Usage.ZERO;
        try {
            Portfolio.Entry model = route(call);
            OpenAiEmbeddings.Answer answer = withFailover(call, model, (d, maxOutput) -> OpenAiEmbeddings.answer(
                    d.provider().embed(OpenAiEmbeddings.upstreamRequest(request, call.request(), d.upstreamModel()), d.upstreamModel()),
                    model.id(), call.request()), () -> false);
            usage = answer.usage();
            call.finish(200, usage, null);
            return answer.body();
        } catch (ApiException e) {
            call.finish(call.api().status(e), usage, e.code());
            throw e;
        } finally {
            completed(call);
        }
    }

    /**
     * Transcribes {@code request}'s audio ({@link Operation#TRANSCRIPTION}; the call's request is its {@link
     * TranscriptionRequest#view}): screened (the prompt as text, the audio by its class), budgeted on the most seconds
     * the audio can be, sent to a transcription model's deployment, metered in seconds; the transcript passes the
     * filters ({@link CallFilter#onTranscript}) before the client has it. A transcript refused there still cost its
     * seconds.
     */
    public Transcribed transcribe(Call call, TranscriptionRequest request) {
        Usage usage = Usage.ZERO;
        try {
            call.unitBound(OpenAiAudio.secondsBound(request.audio()));
            Portfolio.Entry model = route(call);
            int max = model.spec().contextWindow();     // max_audio_seconds
            if (call.unitBound() > max) {
                throw ApiException.invalid("file", "file: model '" + model.id() + "' transcribes at most " + max
                        + " seconds of audio; this file can play for up to " + call.unitBound());
            }
            OpenAiAudio.Transcript answer = withFailover(call, model, (d, maxOutput) -> OpenAiAudio.transcript(
                    d.provider().transcribe(OpenAiAudio.transcriptionBody(request, text(call.request(), 0), d.upstreamModel()),
                            d.upstreamModel()), request), () -> false);
            usage = answer.usage();
            List<String> texts = answer.texts();
            for (CallFilter f : filters) {
                List<String> out = f.onTranscript(call, texts);
                if (out.size() != texts.size()) throw new IllegalStateException(f.getClass().getSimpleName() + " changed how many texts a transcript has");
                texts = out;
            }
            call.finish(200, usage, null);
            return new Transcribed(answer.body(texts), answer.mediaType(), texts.get(0));
        } catch (ApiException e) {
            call.finish(call.api().status(e), usage, e.code());
            throw e;
        } finally {
            completed(call);
        }
    }

    /**
     * A transcript for the client: the body in the format it asked for, its media type, and its whole text (for a
     * caller that wants the text alone).
     */
    public record Transcribed(byte[] body, String mediaType, String text) {}

    /**
     * Speaks {@code request}'s input ({@link Operation#SPEECH}; the call's request is its {@link SpeechRequest#view}):
     * screened like a prompt (what is spoken is the text the filters left), budgeted and metered in characters of the
     * input, sent to a speech model's deployment (an upstream, or espeak-ng on this machine). An answer in another
     * format than the one asked for (a local voice speaks WAV) says so in {@link Call.Adaptation#CONVERTED}.
     */
    public Speech speak(Call call, SpeechRequest request) {
        try {
            call.unitBound(request.input().codePointCount(0, request.input().length()));
            Portfolio.Entry model = route(call);
            int max = model.spec().contextWindow();
            if (call.unitBound() > max) {
                throw ApiException.invalid("input", "input: model '" + model.id() + "' speaks at most " + max
                        + " characters; got " + call.unitBound());
            }
            String input = text(call.request(), 0);
            String instructions = request.instructions() == null ? null : text(call.request(), 1);
            Speech speech = withFailover(call, model, (d, maxOutput) ->
                    d.provider().speak(request, input, instructions, d.upstreamModel()), () -> false);
            if (!speech.format().equals(request.responseFormat())) {
                call.adapted(Call.Adaptation.CONVERTED, "response_format=" + request.responseFormat() + "->" + speech.format());
            }
            call.finish(200, Usage.of(input.codePointCount(0, input.length()), 0), null);
            return speech;
        } catch (ApiException e) {
            call.finish(call.api().status(e), Usage.ZERO, e.code());
            throw e;
        } finally {
            completed(call);
        }
    }

    /** The text of a view's message {@code i} (as the filters left it), or null when it has none. */
    private static String text(ChatRequest view, int i) {
        if (view.messages().size() <= i) return null;
        StringBuilder b = new StringBuilder();
        for (Part p : view.messages().get(i).content()) if (p instanceof Part.Text t) b.append(t.text());
        return b.toString();
    }

    /**
     * Runs a streamed call, passing every event to {@code client}. Throws {@link ApiException} when it fails,
     * before the first event or mid-stream: the caller knows which by whether its sink has been called.
     * If {@code client} throws (the client went away), the upstream call is abandoned,
     * the call is recorded with status 499 and the tokens generated so far, and this method returns normally.
     */
    public void stream(Call call, StreamSink client) {
        Relay relay = new Relay(call, client);
        try {
            Portfolio.Entry model = route(call);
            withFailover(call, model, (d, maxOutput) -> {
                d.provider().stream(call.request(), d.upstreamModel(), maxOutput, call.relayTo(d.provider().api()), relay);
                return null;
            }, () -> relay.delivered);
            call.finish(200, relay.usage(), null);
        } catch (ClientGone gone) {
            call.finish(499, relay.usage(), "client_disconnected");
        } catch (ApiException e) {
            call.finish(call.api().status(e), relay.delivered ? relay.usage() : Usage.ZERO, e.code());
            throw e;
        } finally {
            completed(call);
        }
        // After the bookkeeping, so that a client holding the end of its stream finds the call recorded; what the
        // client's sink still holds leaves with the end, in one write.
        if (call.status() == 200) client.end();
    }

    /** One upstream attempt on a deployment. */
    @FunctionalInterface
    private interface Attempt<T> {
        T run(Deployment d, int maxOutputTokens);
    }

    /**
     * Tries deployments of {@code model} until one answers, the failure is the request's own fault, the attempts
     * run out — or {@code committed} says the client has already received part of an answer.
     */
    private <T> T withFailover(Call call, Portfolio.Entry model, Attempt<T> attempt, BooleanSupplier committed) {
        List<Deployment> tried = new ArrayList<>(2);
        ApiException last = null;
        for (int i = 0; i < router.policy().maxAttempts(); i++) {
            Deployment d = router.choose(model, call.affinityKey(), tried, System.nanoTime());
            if (d == null) break;
            tried.add(d);
            call.attempt(d);
            call.adapted(Call.Adaptation.DROPPED, String.join(",", d.provider().dropped(call.request())));
            d.begin();
            try {
                T result = attempt.run(d, model.spec().maxOutputTokens());
                if (judgesHealth(call)) router.succeeded(d);
                return result;
            } catch (ApiException e) {
                last = e;
                if (!attemptFailed(call, d, e) || committed.getAsBoolean()) throw e;
            } finally {
                d.end();
            }
        }
        throw exhausted(model, last);
    }

    private Portfolio.Entry route(Call call) {
        for (CallFilter f : filters) f.beforeRoute(call);
        ChatRequest asked = call.request();
        String team = call.principal().team();
        Access access = access(team);
        Portfolio.Entry model = resolve(call, asked.model(), access, "Team '" + team + "'");
        try {
            return routeTo(call, model);
        } catch (ApiException refused) {
            // A tier's first model is a chat model: embeddings and audio are refused rather than downgraded to one.
            if (!refused.budgetExceeded() || access.downgradeTier() == null
                    || model.tier().equals(access.downgradeTier()) || call.operation().modelKind() != ModelKind.CHAT) {
                throw refused;
            }
            // The team asked for explicit downgrade over refusal: the client's own request (not what filters made
            // of it for the refused model), a cheaper tier, and a header saying so.
            call.request(asked);
            call.downgraded(model.id());
            return routeTo(call, resolve(call, Portfolio.TIER_PREFIX + access.downgradeTier(), access, "Team '" + team + "'"));
        }
    }

    private static String article(ModelKind k) { return k == ModelKind.EMBEDDING ? "an" : "a"; }

    /** The model for {@code requested}; a private one when a filter said the call must stay on private models. */
    private Portfolio.Entry resolve(Call call, String requested, Access access, String who) {
        return call.privateOnly() == null ? portfolio.resolve(requested, access, who)
                : portfolio.resolvePrivate(requested, access, who, call.privateOnly());
    }

    private Portfolio.Entry routeTo(Call call, Portfolio.Entry model) {
        ModelKind needed = call.operation().modelKind();
        ModelKind kind = model.spec().kind();
        if (kind != needed) {
            throw ApiException.invalid("model", "Model '" + model.id() + "' is " + article(kind) + " " + kind.label()
                    + " model; it serves " + kind.endpoint() + " only, and " + needed.endpoint() + " needs "
                    + article(needed) + " " + needed.label() + " model (kind: " + needed.label() + " in the gateway's config)."
                    + " GET /v1/models lists each model's kind.");
        }
        // More than the model can produce is asked for as "as much as it can" (Claude Code asks for 128000 whatever
        // the model): the limit is lowered to the model's, and the client told so, rather than the call refused.
        Integer max = call.request().maxTokens();
        int limit = model.spec().maxOutputTokens();
        if (max != null && max > limit) {
            call.request(call.request().withMaxTokens(limit));
            call.adapted(Call.Adaptation.CLAMPED, "max_tokens=" + max + "->" + limit);
        } else {
            call.adapted(Call.Adaptation.CLAMPED, null);   // a downgrade's model may allow what the first did not
        }
        call.routed(model);
        for (CallFilter f : filters) f.routed(call);
        return model;
    }

    /** Records a failed attempt; true if another deployment should be tried. */
    private boolean attemptFailed(Call call, Deployment d, ApiException e) {
        if (!Router.worthFailover(e)) return false;
        boolean cooldown = judgesHealth(call) && router.failed(d, e, System.nanoTime());
        // The access line names only the last deployment; a failed one is named here. A request that may have reached
        // it unanswered is a warning: that upstream may bill it, and the next deployment will bill it again.
        if (Provider.UNANSWERED.equals(e.code())) {
            log.warn("attempt {} on {} got no answer after the request was sent (it may have been processed there){}",
                    call.attempts(), d.id(), cooldown ? "; cooling down" : "");
        } else if (log.isInfoEnabled()) {
            log.info("attempt {} on {} failed: {}{}", call.attempts(), d.id(), e.code(), cooldown ? "; cooling down" : "");
        }
        for (CallFilter f : filters) {
            try {
                f.attemptFailed(call, d, e, cooldown);
            } catch (RuntimeException bug) {
                log.error("filter {} failed in attemptFailed", f.getClass().getSimpleName(), bug);
            }
        }
        return true;
    }

    /**
     * Whether a call's outcome tells about its deployment's health. A token count does not: an Anthropic-compatible
     * server without count_tokens would otherwise cool a deployment down for the model calls it serves well.
     */
    private static boolean judgesHealth(Call call) {
        return call.operation() != Operation.COUNT_TOKENS;
    }

    private ApiException exhausted(Portfolio.Entry model, ApiException last) {
        long wait = router.shortestCooldown(model, System.nanoTime());
        Duration retryAfter = wait > 0 ? Duration.ofNanos(wait) : null;
        if (last != null) return retryAfter != null && last.retryAfter() == null ? last.withRetryAfter(retryAfter) : last;
        return new ApiException(ApiException.Kind.UNAVAILABLE, "Every deployment of model '" + model.id()
                + "' is cooling down after upstream failures; retry later.", null, "model_unavailable", retryAfter, true);
    }

    private void completed(Call call) {
        for (CallFilter f : filters) {
            try {
                f.completed(call);
            } catch (RuntimeException bug) {
                log.error("filter {} failed in completed", f.getClass().getSimpleName(), bug);
            }
        }
    }

    private static CharSequence outputText(ChatResponse r) {
        StringBuilder sb = new StringBuilder(r.text() == null ? "" : r.text());
        r.toolCalls().forEach(c -> sb.append(c.name()).append(c.arguments()));
        return sb;
    }

    /** Passes upstream events through the filters to the client, noting what the usage figures need. */
    private final class Relay implements StreamSink {
        private final Call call;
        private final StreamSink client;
        private final StringBuilder output = new StringBuilder();
        private Usage reported;
        private long unreadChars;
        boolean delivered;

        Relay(Call call, StreamSink client) {
            this.call = call;
            this.client = client;
        }

        /** For each filter, a sink that passes an event on from the filter after it: what it releases early. */
        private final StreamSink[] after = new StreamSink[filters.length];

        @Override
        public void accept(StreamEvent event) {
            deliver(event, 0);
        }

        private void deliver(StreamEvent event, int from) {
            for (int i = from; i < filters.length; i++) {
                StreamSink earlier = after[i];
                if (earlier == null) {
                    int next = i + 1;
                    earlier = after[i] = e -> deliver(e, next);
                }
                event = filters[i].onEvent(call, event, earlier);
                if (event == null) return;
            }
            switch (event) {
                case StreamEvent.TextDelta t -> { output.append(t.text()); call.firstToken(); }
                case StreamEvent.ToolCallStarted s -> { output.append(s.name()); call.firstToken(); }
                case StreamEvent.ToolCallDelta d -> output.append(d.argumentsDelta());
                case StreamEvent.ReasoningDelta r -> output.append(r.text());
                case StreamEvent.UsageReport u -> reported = u.usage();
                case StreamEvent.Frame f -> unreadChars += f.unreadChars();
                default -> { }
            }
            try {
                client.accept(event);
            } catch (RuntimeException e) {
                throw new ClientGone(e);
            }
            delivered = true;
        }

        /** The client's sink may be holding events for one write; this is when they go (see StreamSink#idle). */
        @Override
        public void idle() {
            try {
                client.idle();
            } catch (RuntimeException e) {
                throw new ClientGone(e);
            }
        }

        /** What the upstream reported, or our own count of the prompt and of what was generated so far. */
        Usage usage() {
            return reported != null ? reported : TokenCounter.estimate(call.request(), output, unreadChars);
        }
    }

    /** The client stopped reading; unwinds the upstream read without being mistaken for an upstream failure. */
    private static final class ClientGone extends RuntimeException {
        ClientGone(Throwable cause) { super(null, cause, false, false); }
    }
}
