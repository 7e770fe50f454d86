package dev.carapace.privacy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.gateway.Call;
import dev.carapace.gateway.CallFilter;
import dev.carapace.gateway.Operation;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.Provider;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.ToolCall;
import dev.carapace.model.WireFormat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The privacy stage of the pipeline, run on every model call (from {@code /v1} and from agents alike) before the
 * portfolio router. It scans every string the request would send out, whatever field holds it — messages, tool
 * definitions and their schemas, tool calls and results, end-user ids, metadata, documents, thinking, fields Carapace
 * does not model ({@link BodyWalk}) — and images as the config classifies them, and applies the strictest action the
 * caller's policy gives the classes found: block the request (400, naming classes, types and fields, never values),
 * keep it on private models, redact values to placeholders (restored in the answer, streamed or not), or let it
 * through. A value to redact where no placeholder may go (signed thinking, an identifier) keeps the call private. What it found
 * and did is left on the call ({@link Call#screening}) for the usage record, the audit log and metrics.
 */
public final class PrivacyRouter implements CallFilter {

    /** The finding type of an audio file, counted as {@code privacy.image_class}. */
    static final String AUDIO = "audio";

    private final PrivacySpec spec;
    private final Scanner scanner;
    private final BodyReader reader;

    /**
     * Reads a client's body back into a request as the client's own parser did ({@link WireFormat#parseRequest} for
     * the call's API and operation): the router redacts a copy of the body that goes up and reads the view from it.
     */
    @FunctionalInterface
    public interface BodyReader {
        ChatRequest read(Call call, byte[] body);
    }

    /** A router that screens requests in their neutral view alone (see {@link ViewWalk}). */
    public PrivacyRouter(PrivacySpec spec) {
        this(spec, null);
    }

    /** @param reader reads a redacted client body back into a request; null to screen the neutral view alone */
    public PrivacyRouter(PrivacySpec spec, BodyReader reader) {
        this.spec = spec;
        this.scanner = new Scanner(spec);
        this.reader = reader;
    }

    public PrivacySpec spec() { return spec; }

    public Scanner scanner() { return scanner; }

    /** The action the caller's policy gives a class: its agent's, else its team's, else the org's. */
    public Action actionFor(Principal p, String dataClass) {
        return spec.actionFor(p.team(), p.agent(), dataClass);
    }

    @Override
    public void beforeRoute(Call call) {
        ChatRequest req = call.request();
        Principal who = call.principal();
        // An embeddings request's view has one message per input: its findings are named by their place in input; an
        // audio request's by the field its text came in.
        String field = switch (call.operation()) {
            case EMBEDDINGS, SPEECH -> "input";
            case TRANSCRIPTION -> "prompt";
            default -> "messages";
        };
        boolean body = walksBody(req);
        // With the body walked, the view is walked for its images alone, which count only when the config classes them.
        boolean images = spec.imageClass() != null;
        ViewWalk view = body && !images ? null : new ViewWalk(scanner, spec, req, field, body);
        List<Piece> pieces = new ArrayList<>(view == null ? List.of() : view.pieces);
        // The body is walked once, in the copy a redaction writes into: its pieces both decide and redact.
        ObjectNode copy = body ? req.original().body().deepCopy() : null;
        List<Piece> bodyPieces = body ? BodyWalk.request(scanner, copy) : List.of();
        pieces.addAll(bodyPieces);
        // Audio to transcribe is binary like an image: it counts as the class images do. It cannot be redacted, so a
        // class the policy redacts keeps it on private models.
        if (call.operation() == Operation.TRANSCRIPTION && images) {
            pieces.add(new Piece("file", null, false, "audio cannot be redacted",
                    List.of(new Finding(AUDIO, spec.imageClass(), 0, 0, 1.0)), null));
        }
        if (pieces.isEmpty()) {
            call.screening(new Call.Screening(Action.ALLOW.label(), List.of(), List.of()));
            return;
        }

        Map<String, Action> actions = new TreeMap<>();
        Map<String, int[]> counts = new TreeMap<>();
        Map<String, String> classOf = new LinkedHashMap<>();
        Action decision = Action.ALLOW;
        List<Piece> unredactable = new ArrayList<>();
        for (Piece piece : pieces) {
            for (Finding f : piece.findings()) {
                Action a = actions.computeIfAbsent(f.dataClass(), c -> actionFor(who, c));
                decision = decision.max(a);
                counts.computeIfAbsent(f.type(), t -> new int[1])[0]++;
                classOf.putIfAbsent(f.type(), f.dataClass());
                if (a == Action.REDACT && piece.fixed() != null && !unredactable.contains(piece)) unredactable.add(piece);
            }
        }
        // Data the policy redacts, in a string that must go up as it came (signed thinking, an identifier, a key): it
        // cannot leave redacted, so it does not leave at all. It stays on private models, as data the policy keeps
        // private does, rather than being refused: a refusal would end the conversation of a client that cannot edit
        // its history (signed thinking is the model's own words, sent back as they came), while a private model can
        // serve it without it leaving. With no private model the refusal says what it was and where.
        if (!unredactable.isEmpty()) decision = decision.max(Action.PRIVATE);
        List<Call.Screening.Count> tally = new ArrayList<>();
        counts.forEach((type, n) -> tally.add(new Call.Screening.Count(type, actions.get(classOf.get(type)).label(), n[0])));
        call.screening(new Call.Screening(decision.label(), List.copyOf(actions.keySet()), tally));

        if (decision == Action.BLOCK) throw blocked(who, pieces, actions);
        List<String> privately = new ArrayList<>();
        if (actions.containsValue(Action.PRIVATE)) privately.add(describe(pieces, actions, Action.PRIVATE));
        if (!unredactable.isEmpty()) {
            privately.add(describe(unredactable, actions, Action.REDACT) + ", which the policy redacts but which"
                    + " cannot be redacted where it is (" + fixedReasons(unredactable) + ")");
        }
        if (!privately.isEmpty()) call.requirePrivate(String.join("; and ", privately));
        if (actions.containsValue(Action.REDACT)) redact(call, req, actions, field, view, copy, bodyPieces);
    }

    /**
     * Whether the request is screened (and redacted) in the client's own body: one a client sent, whose parser this
     * router can read a redacted copy back with. Its body holds all that goes up (a relay sends it as it came; a
     * translation sends part of it), fields Carapace does not model included.
     */
    private boolean walksBody(ChatRequest req) {
        return reader != null && req.original() != null && req.original().body() != null;
    }

    /**
     * Replaces each value the policy redacts with its placeholder, wherever it is, in a copy of what the request
     * sends; the answer's placeholders are restored on the way back. A client's body is redacted as a whole and read
     * back with the client's parser: the redacted body is what a relay sends (every field as it came but for the
     * values, thinking and its signatures included, so a client such as Claude Code, whose tool descriptions carry an
     * e-mail address, keeps working), and every field of the view a translation is made from (tools and their
     * schemas, the end-user id, the parameters kept for the client's API) is the redacted one. The relayed answer is
     * restored in its own frames ({@link RelayRestorer}). An image, which only the view can replace with a
     * placeholder, makes the request a translation.
     *
     * @param view       the request's view as screened, its pieces not yet replaced: what is redacted without a body
     * @param copy       the copy of the client's body that {@code bodyPieces} write into, or null to redact the view
     * @param bodyPieces the pieces of {@code copy}, not yet replaced
     */
    private void redact(Call call, ChatRequest req, Map<String, Action> actions, String field, ViewWalk view,
                        ObjectNode copy, List<Piece> bodyPieces) {
        java.util.function.Predicate<Finding> redacted = f -> actions.get(f.dataClass()) == Action.REDACT;
        Redaction redaction = new Redaction();
        ChatRequest out;
        boolean relayed = false;
        if (copy != null) {
            BodyWalk.strings(copy, redaction::reserve);
            for (Piece piece : bodyPieces) replace(piece, redaction, redacted);
            byte[] raw = copy.toString().getBytes(StandardCharsets.UTF_8);
            out = reader.read(call, raw).withRelayedHeaders(req.original().headers()).withTranslationPaths(req);
            ViewWalk images = spec.imageClass() == null ? null : new ViewWalk(scanner, spec, out, field, true);
            boolean image = false;
            if (images != null) for (Piece piece : images.pieces) image |= replace(piece, redaction, redacted);
            if (image) out = images.build();
            else relayed = true;
        } else {
            view.strings(redaction::reserve);
            for (Piece piece : view.pieces) replace(piece, redaction, redacted);
            out = view.build();
        }
        call.request(out);
        if (!redaction.isEmpty()) {
            call.note(Redaction.class, redaction);
            call.rewriteOutput();   // placeholders in the answer are restored before the client sees it
            if (relayed) call.rewriteRelayedOutput();   // in the upstream's own frames when it is relayed
        }
    }

    /** Writes the piece redacted, if it can be and a finding in it is to be; says whether it did. */
    private static boolean replace(Piece piece, Redaction redaction, java.util.function.Predicate<Finding> redacted) {
        if (piece.replace() == null || piece.findings().stream().noneMatch(redacted)) return false;
        piece.replace().accept(piece.text() == null ? redaction.placeholderOnly(piece.findings().get(0).type())
                : redaction.redact(piece.text(), piece.findings(), redacted, piece.json()));
        return true;
    }

    private static String fixedReasons(List<Piece> pieces) {
        TreeSet<String> reasons = new TreeSet<>();
        for (Piece p : pieces) reasons.add(p.fixed());
        return String.join("; ", reasons);
    }

    private static ApiException blocked(Principal who, List<Piece> pieces, Map<String, Action> actions) {
        String scope = who.agent() != null ? "agent '" + who.agent() + "'" : "team '" + who.team() + "'";
        String param = null;
        for (Piece p : pieces) {
            if (param == null && p.findings().stream().anyMatch(f -> actions.get(f.dataClass()) == Action.BLOCK)) param = p.topLevel();
        }
        return new ApiException(ApiException.Kind.INVALID_REQUEST, "The privacy policy for " + scope
                + " does not let this request leave: it carries " + describe(pieces, actions, Action.BLOCK)
                + ". Remove that data and send the request again.", param, "privacy_blocked", null, false);
    }

    /** "data of class secret (openai_key in messages[1])": classes, types and places, never values. */
    private static String describe(List<Piece> pieces, Map<String, Action> actions, Action action) {
        Map<String, TreeSet<String>> byClass = new TreeMap<>();
        for (Piece piece : pieces) {
            for (Finding f : piece.findings()) {
                if (actions.get(f.dataClass()) != action) continue;
                byClass.computeIfAbsent(f.dataClass(), c -> new TreeSet<>()).add(f.type() + " in " + piece.where());
            }
        }
        StringBuilder b = new StringBuilder("data of class");
        if (byClass.size() > 1) b.append("es");
        String sep = " ";
        for (var e : byClass.entrySet()) {
            b.append(sep).append(e.getKey()).append(" (").append(String.join(", ", e.getValue())).append(')');
            sep = ", ";
        }
        return b.toString();
    }

    @Override
    public StreamEvent onEvent(Call call, StreamEvent event, StreamSink earlier) {
        Redaction redaction = call.note(Redaction.class);
        if (redaction == null) return event;
        if (event instanceof StreamEvent.Frame f) {
            RelayRestorer frames = call.note(RelayRestorer.class);
            if (frames == null) call.note(RelayRestorer.class, frames = new RelayRestorer(redaction));
            return frames.frame(f, earlier);
        }
        // A relayed stream's decoded events serve Carapace's accounts; its frames, restored above, are the answer.
        if (call.deployment() != null && call.relayTo(call.deployment().provider().api()) != Provider.Relay.NONE) return event;
        Restorer held = call.note(Restorer.class);
        if (held == null) {
            held = new Restorer(redaction);
            call.note(Restorer.class, held);
        }
        return switch (event) {
            case StreamEvent.TextDelta t -> {
                held.releaseTools(-1, earlier);
                String out = held.text(t.text());
                yield out.isEmpty() ? null : new StreamEvent.TextDelta(out);
            }
            case StreamEvent.ToolCallDelta d -> {
                held.releaseText(earlier);
                held.releaseTools(d.index(), earlier);
                String out = held.tool(d.index(), d.argumentsDelta());
                yield out.isEmpty() ? null : new StreamEvent.ToolCallDelta(d.index(), out);
            }
            // Thinking is signed by the model as it wrote it, placeholders and all: restoring values in it would put
            // them in the history the client sends back, in a block that cannot be redacted again.
            case StreamEvent.ReasoningDelta r -> r;
            default -> {
                held.releaseText(earlier);
                held.releaseTools(-1, earlier);
                yield event;
            }
        };
    }

    @Override
    public ChatResponse onResponse(Call call, ChatResponse response) {
        Redaction redaction = call.note(Redaction.class);
        if (redaction == null) return response;
        if (response.relayed() != null) return response.withRelayed(new RelayRestorer(redaction).body(response.relayed()));
        List<ToolCall> calls = new ArrayList<>(response.toolCalls().size());
        for (ToolCall tc : response.toolCalls()) calls.add(new ToolCall(tc.id(), tc.name(), redaction.restore(tc.arguments(), true)));
        return new ChatResponse(response.id(), response.model(), redaction.restore(response.text(), false), calls,
                response.finishReason(), response.usage());
    }

    /**
     * Screens a transcript as the caller's policy screens what it sends: a class the policy blocks refuses the answer
     * (its audio was processed, and is charged, but the text does not reach the caller, who may be a channel passing it
     * on to an agent); a class it redacts is replaced with placeholders, which nothing restores; a class it keeps
     * private passes, as the transcript comes from the model the audio went to and goes back only to the caller.
     */
    @Override
    public List<String> onTranscript(Call call, List<String> texts) {
        Principal who = call.principal();
        List<Piece> pieces = new ArrayList<>();
        List<List<Finding>> found = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            List<Finding> f = texts.get(i).isEmpty() ? List.of() : scanner.scan(texts.get(i));
            found.add(f);
            if (!f.isEmpty()) pieces.add(new Piece(i == 0 ? "text" : "segments", texts.get(i), false, null, f, null));
        }
        if (pieces.isEmpty()) return texts;
        Map<String, Action> actions = new TreeMap<>();
        Map<String, int[]> counts = new TreeMap<>();
        Map<String, String> classOf = new LinkedHashMap<>();
        Action decision = Action.ALLOW;
        // Segments and words repeat the whole text: what is counted is the whole text's findings, when it has any.
        boolean wholeCounts = !found.get(0).isEmpty();
        for (Piece piece : pieces) {
            for (Finding f : piece.findings()) {
                decision = decision.max(actions.computeIfAbsent(f.dataClass(), c -> actionFor(who, c)));
                if (!wholeCounts || piece == pieces.get(0)) counts.computeIfAbsent(f.type(), t -> new int[1])[0]++;
                classOf.putIfAbsent(f.type(), f.dataClass());
            }
        }
        Call.Screening before = call.screening();
        List<Call.Screening.Count> tally = new ArrayList<>(before == null ? List.of() : before.counts());
        counts.forEach((type, n) -> tally.add(new Call.Screening.Count(type, actions.get(classOf.get(type)).label(), n[0])));
        TreeSet<String> classes = new TreeSet<>(actions.keySet());
        Action overall = decision;
        if (before != null) {
            classes.addAll(before.classes());
            overall = decision.max(Action.valueOf(before.decision().toUpperCase(java.util.Locale.ROOT)));
        }
        call.screening(new Call.Screening(overall.label(), List.copyOf(classes), tally));
        if (decision == Action.BLOCK) {
            String scope = who.agent() != null ? "agent '" + who.agent() + "'" : "team '" + who.team() + "'";
            throw new ApiException(ApiException.Kind.INVALID_REQUEST, "The privacy policy for " + scope + " does not"
                    + " let this transcript through: it carries " + describe(pieces, actions, Action.BLOCK) + ".",
                    "file", "privacy_blocked", null, false);
        }
        if (!actions.containsValue(Action.REDACT)) return texts;
        Redaction redaction = new Redaction();
        texts.forEach(redaction::reserve);
        java.util.function.Predicate<Finding> redacted = f -> actions.get(f.dataClass()) == Action.REDACT;
        List<String> out = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            out.add(found.get(i).isEmpty() ? texts.get(i) : redaction.redact(texts.get(i), found.get(i), redacted, false));
        }
        return out;
    }

    /**
     * The streamed answer's tails that may be the start of a placeholder ({@code "... <EMA"}), held until the next
     * chunk tells; one for the text and one per tool call.
     */
    private static final class Restorer {
        private final Redaction redaction;
        private String text = "";
        private final Map<Integer, String> tools = new TreeMap<>();

        Restorer(Redaction redaction) { this.redaction = redaction; }

        String text(String delta) {
            String all = text.isEmpty() ? delta : text + delta;
            int cut = redaction.safeEnd(all);
            text = all.substring(cut);
            return redaction.restore(all.substring(0, cut), false);
        }

        String tool(int index, String delta) {
            String before = tools.getOrDefault(index, "");
            String all = before.isEmpty() ? delta : before + delta;
            int cut = redaction.safeEnd(all);
            if (cut == all.length()) tools.remove(index);
            else tools.put(index, all.substring(cut));
            return redaction.restore(all.substring(0, cut), true);
        }

        void releaseText(StreamSink earlier) {
            if (text.isEmpty()) return;
            String out = redaction.restore(text, false);
            text = "";
            earlier.accept(new StreamEvent.TextDelta(out));
        }

        /** Releases what is held for every tool call but {@code except}. */
        void releaseTools(int except, StreamSink earlier) {
            if (tools.isEmpty()) return;
            for (var it = tools.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey() == except) continue;
                it.remove();
                earlier.accept(new StreamEvent.ToolCallDelta(e.getKey(), redaction.restore(e.getValue(), true)));
            }
        }
    }
}
