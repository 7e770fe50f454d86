package dev.carapace.gateway;

import dev.carapace.identity.Principal;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Deployment;
import dev.carapace.model.Portfolio;
import dev.carapace.model.Provider;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;

/**
 * One request's way through the gateway: who asked, what, where it went, and how it ended. Filters read it and
 * may replace the request (a privacy filter redacts it, say) before routing. Confined to the request's thread.
 */
public final class Call {

    private final String id;
    private final Principal principal;
    private final WireApi api;
    private final String affinityKey;
    private final Operation operation;
    private final long startNanos = System.nanoTime();
    private ChatRequest request;
    private Portfolio.Entry model;
    private Deployment deployment;
    private int attempts;
    private long firstTokenNanos;
    private Usage usage = Usage.ZERO;
    private int status;
    private String errorCode;
    private Object[] notes;
    private String downgradedFrom;
    private String privateOnly;
    private Screening screening;
    private boolean outputRead;
    private boolean outputRewritten;
    private boolean relayedRewritten;
    private java.util.EnumMap<Adaptation, String> adaptations;
    private long unitBound = -1;

    /**
     * @param affinityKey a session or end-user id that should stick to one deployment, or null
     */
    public Call(String id, Principal principal, WireApi api, ChatRequest request, String affinityKey) {
        this(id, principal, api, request, affinityKey, Operation.CHAT);
    }

    /**
     * @param operation what the model is asked; for {@link Operation#EMBEDDINGS} the request is a view of the inputs,
     *                  one user message each, which is what the privacy router screens and the ledger counts
     */
    public Call(String id, Principal principal, WireApi api, ChatRequest request, String affinityKey, Operation operation) {
        this.operation = operation;
        this.id = id;
        this.principal = principal;
        this.api = api;
        this.request = request;
        this.affinityKey = affinityKey;
    }

    public String id() { return id; }

    public Operation operation() { return operation; }

    public Principal principal() { return principal; }

    /** The API the client spoke. */
    public WireApi api() { return api; }

    public ChatRequest request() { return request; }

    public void request(ChatRequest replacement) { this.request = replacement; }

    public String affinityKey() { return affinityKey; }

    /**
     * For an operation metered in its model's own units ({@link Operation#meteredInUnits}: seconds of audio,
     * characters of input), the most units the call can use, which the ledger reserves; -1 until the gateway has
     * worked it out from the request and the model.
     */
    public long unitBound() { return unitBound; }

    void unitBound(long units) { this.unitBound = units; }

    public long startNanos() { return startNanos; }

    /** The model chosen, or null if the call failed before routing. */
    public Portfolio.Entry model() { return model; }

    /** The deployment of the last attempt, or null. */
    public Deployment deployment() { return deployment; }

    public int attempts() { return attempts; }

    /** When the first token reached the client (nanoTime), or 0. */
    public long firstTokenNanos() { return firstTokenNanos; }

    public Usage usage() { return usage; }

    /** The HTTP status the client got: 200, an error status, or 499 when the client went away mid-stream. */
    public int status() { return status; }

    public String errorCode() { return errorCode; }

    /**
     * Keeps a filter's own state for this call between its hooks (the ledger's reservation, say), keyed by the
     * note's type.
     */
    public <T> void note(Class<T> type, T value) {
        if (notes == null) notes = new Object[4];
        for (int i = 0; i < notes.length; i += 2) {
            if (notes[i] == null || notes[i] == type) {
                notes[i] = type;
                notes[i + 1] = value;
                return;
            }
        }
        Object[] grown = java.util.Arrays.copyOf(notes, notes.length * 2);
        grown[notes.length] = type;
        grown[notes.length + 1] = value;
        notes = grown;
    }

    /** The note of this type, or null. */
    public <T> T note(Class<T> type) {
        if (notes == null) return null;
        for (int i = 0; i < notes.length; i += 2) if (notes[i] == type) return type.cast(notes[i + 1]);
        return null;
    }

    /**
     * What the privacy router found and did with this call, or null when no privacy router ran (never values: types,
     * classes and actions only).
     *
     * @param decision the strictest action taken: {@code allow}, {@code redact}, {@code private} or {@code block}
     * @param classes  the classes of data found, sorted
     * @param counts   how many findings of each type, with the action their class got
     */
    public record Screening(String decision, java.util.List<String> classes, java.util.List<Count> counts) {
        public Screening {
            classes = java.util.List.copyOf(classes);
            counts = java.util.List.copyOf(counts);
        }

        public record Count(String type, String action, int findings) {}
    }

    public Screening screening() { return screening; }

    public void screening(Screening s) { this.screening = s; }

    /**
     * Why this call may only go to models whose privacy class is private, or null when it may go anywhere. Said in
     * the refusal when no private model can take it.
     */
    public String privateOnly() { return privateOnly; }

    /** Keeps this call on private models; {@code reason} names what it carries (classes, never values). */
    public void requirePrivate(String reason) { this.privateOnly = reason; }

    /**
     * Said by a filter, at the latest in {@link CallFilter#routed}, that reads a streamed answer's output as it comes
     * (text and tool-call deltas). Otherwise a stream relayed from an upstream of the client's own API is decoded only
     * as far as the call's accounts need: its start, tool calls, finish and usage (see {@link #relayTo}).
     */
    public void readOutput() { this.outputRead = true; }

    /**
     * Said by a filter, at the latest in {@link CallFilter#routed}, that may change the answer (its streamed events or
     * its complete response): the client is then sent what the filters pass on, never the upstream's own bytes.
     */
    public void rewriteOutput() { this.outputRewritten = true; }

    /**
     * Said with {@link #rewriteOutput} by a filter that rewrites a relayed answer as well as a translated one: the
     * upstream's frames ({@link dev.carapace.model.StreamEvent.Frame}) and its complete body
     * ({@link dev.carapace.model.ChatResponse#relayed}). A request that relays then still gets its answer relayed,
     * thinking blocks and fields Carapace does not model included, with the filter's changes.
     */
    public void rewriteRelayedOutput() { this.relayedRewritten = true; }

    /**
     * How an answer from an upstream speaking {@code upstream} reaches the client: as the upstream sent it when the
     * client spoke that API, its request went up as it came ({@link ChatRequest#relaysTo}) and no filter rewrites the
     * output but in the relayed form ({@link #rewriteRelayedOutput}); translated otherwise.
     */
    public Provider.Relay relayTo(WireApi upstream) {
        if (outputRewritten && !relayedRewritten || !request.relaysTo(upstream)) return Provider.Relay.NONE;
        return outputRead ? Provider.Relay.EVERY_FRAME : Provider.Relay.ACCOUNTS;
    }

    /**
     * How Carapace adapted a client's request to serve it rather than refuse it, as the client is told in a response
     * header each (streamed or not).
     */
    public enum Adaptation {
        /** What a translation for the upstream's API left out, by name (see {@link dev.carapace.model.Translation}). */
        DROPPED("x-carapace-dropped"),
        /** A limit lowered to what the model allows, e.g. {@code max_tokens=128000->8192}. */
        CLAMPED("x-carapace-clamped"),
        /** An answer in another format than the one asked for, e.g. {@code response_format=mp3->wav} (a local voice). */
        CONVERTED("x-carapace-converted");

        /** The response header that says it. */
        public final String header;

        Adaptation(String header) { this.header = header; }
    }

    /** Notes an adaptation, replacing an earlier one of its kind (a later attempt's); empty or null clears it. */
    public void adapted(Adaptation kind, String what) {
        if (what == null || what.isEmpty()) {
            if (adaptations != null) adaptations.remove(kind);
            return;
        }
        if (adaptations == null) adaptations = new java.util.EnumMap<>(Adaptation.class);
        adaptations.put(kind, what);
    }

    /** The adaptations noted, by kind; empty when the request went as it came. */
    public java.util.Map<Adaptation, String> adaptations() {
        return adaptations == null ? java.util.Map.of() : java.util.Collections.unmodifiableMap(adaptations);
    }

    /** The model a budget refused before the call was moved to its team's downgrade tier, or null. */
    public String downgradedFrom() { return downgradedFrom; }

    void downgraded(String from) { this.downgradedFrom = from; }

    void routed(Portfolio.Entry m) { this.model = m; }

    void attempt(Deployment d) {
        this.deployment = d;
        this.attempts++;
    }

    void firstToken() {
        if (firstTokenNanos == 0) firstTokenNanos = System.nanoTime();
    }

    void finish(int status, Usage usage, String errorCode) {
        this.status = status;
        this.usage = usage;
        this.errorCode = errorCode;
    }
}
