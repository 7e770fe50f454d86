package dev.carapace.privacy;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.CallFilter;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.ToolCall;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The privacy stage of the pipeline, run on every model call (from {@code /v1} and from agents alike) before the
 * portfolio router. It scans what the request would send out — system prompts, message text, tool-call arguments,
 * tool results, and images as the config classifies them — and applies the strictest action the caller's policy
 * gives the classes found: block the request (400, naming classes and types, never values), keep it on private
 * models, redact values to placeholders (restored in the answer, streamed or not), or let it through. What it found
 * and did is left on the call ({@link Call#screening}) for the usage record, the audit log and metrics.
 */
public final class PrivacyRouter implements CallFilter {

    private static final String IMAGE = "image";

    private final PrivacySpec spec;
    private final Scanner scanner;

    public PrivacyRouter(PrivacySpec spec) {
        this.spec = spec;
        this.scanner = new Scanner(spec);
    }

    public PrivacySpec spec() { return spec; }

    public Scanner scanner() { return scanner; }

    /** The action the caller's policy gives a class: its agent's, else its team's, else the org's. */
    public Action actionFor(Principal p, String dataClass) {
        return spec.actionFor(p.team(), p.agent(), dataClass);
    }

    /** The {@link Piece#message} of the text beside the messages (see ChatRequest.Passthrough#unmodeledText). */
    private static final int UNMODELED = -1;

    /** What was found in one piece of the request: which message, which part or tool call, and where. */
    private record Piece(int message, int part, int toolCall, String text, List<Finding> findings) {
        String where() {
            if (message == UNMODELED) return "fields Carapace does not model";
            return "messages[" + message + "]" + (toolCall >= 0 ? ".tool_calls[" + toolCall + "]" : "");
        }
    }

    @Override
    public void beforeRoute(Call call) {
        ChatRequest req = call.request();
        Principal who = call.principal();
        List<Piece> pieces = new ArrayList<>();
        List<Message> messages = req.messages();
        for (int m = 0; m < messages.size(); m++) {
            Message msg = messages.get(m);
            for (int p = 0; p < msg.content().size(); p++) {
                Part part = msg.content().get(p);
                if (part instanceof Part.Text t) {
                    List<Finding> f = scanner.scan(t.text());
                    if (!f.isEmpty()) pieces.add(new Piece(m, p, -1, t.text(), f));
                } else if (part instanceof Part.Image && spec.imageClass() != null) {
                    pieces.add(new Piece(m, p, -1, null, List.of(new Finding(IMAGE, spec.imageClass(), 0, 0, 1.0))));
                }
            }
            for (int c = 0; c < msg.toolCalls().size(); c++) {
                String args = msg.toolCalls().get(c).arguments();
                if (args == null) continue;
                List<Finding> f = scanner.scan(args);
                if (!f.isEmpty()) pieces.add(new Piece(m, -1, c, args, f));
            }
        }
        // What a relay sends up beside the messages (unknown fields, extra keys of messages) is screened too.
        String unmodeled = req.passthrough().unmodeledText();
        Piece beside = null;
        if (!unmodeled.isEmpty()) {
            List<Finding> f = scanner.scan(unmodeled);
            if (!f.isEmpty()) pieces.add(beside = new Piece(UNMODELED, -1, -1, unmodeled, f));
        }
        if (pieces.isEmpty()) {
            call.screening(new Call.Screening(Action.ALLOW.label(), List.of(), List.of()));
            return;
        }

        Map<String, Action> actions = new TreeMap<>();
        Map<String, int[]> counts = new TreeMap<>();
        Map<String, String> classOf = new LinkedHashMap<>();
        Action decision = Action.ALLOW;
        for (Piece piece : pieces) {
            for (Finding f : piece.findings) {
                Action a = actions.computeIfAbsent(f.dataClass(), c -> actionFor(who, c));
                decision = decision.max(a);
                counts.computeIfAbsent(f.type(), t -> new int[1])[0]++;
                classOf.putIfAbsent(f.type(), f.dataClass());
            }
        }
        List<Call.Screening.Count> tally = new ArrayList<>();
        counts.forEach((type, n) -> tally.add(new Call.Screening.Count(type, actions.get(classOf.get(type)).label(), n[0])));
        call.screening(new Call.Screening(decision.label(), List.copyOf(actions.keySet()), tally));

        if (decision == Action.BLOCK) throw blocked(who, pieces, actions);
        if (beside != null) {
            for (Finding f : beside.findings) {
                if (actions.get(f.dataClass()) == Action.REDACT) throw unredactable(who, beside, actions);
            }
        }
        if (actions.containsValue(Action.PRIVATE)) call.requirePrivate(describe(pieces, actions, Action.PRIVATE));
        pieces.remove(beside);   // what is left is redacted in the messages
        if (actions.containsValue(Action.REDACT)) {
            Redaction redaction = new Redaction();
            for (Message msg : messages) {
                for (Part part : msg.content()) if (part instanceof Part.Text t) redaction.reserve(t.text());
                for (ToolCall tc : msg.toolCalls()) if (tc.arguments() != null) redaction.reserve(tc.arguments());
            }
            call.request(req.withMessages(redact(messages, pieces, actions, redaction)));
            if (!redaction.isEmpty()) {
                call.note(Redaction.class, redaction);
                call.rewriteOutput();   // placeholders in the answer are restored before the client sees it
            }
        }
    }

    private static List<Message> redact(List<Message> messages, List<Piece> pieces, Map<String, Action> actions,
                                        Redaction redaction) {
        List<Message> out = new ArrayList<>(messages);
        int i = 0;
        while (i < pieces.size()) {
            int m = pieces.get(i).message;
            Message msg = messages.get(m);
            Part[] parts = msg.content().toArray(Part[]::new);
            ToolCall[] calls = msg.toolCalls().toArray(ToolCall[]::new);
            for (; i < pieces.size() && pieces.get(i).message == m; i++) {
                Piece piece = pieces.get(i);
                if (piece.text == null) {
                    if (actions.get(piece.findings.get(0).dataClass()) == Action.REDACT) {
                        parts[piece.part] = new Part.Text(redaction.placeholderOnly(IMAGE));
                    }
                    continue;
                }
                boolean json = piece.toolCall >= 0;
                String redacted = redaction.redact(piece.text, piece.findings,
                        f -> actions.get(f.dataClass()) == Action.REDACT, json);
                if (json) {
                    ToolCall tc = calls[piece.toolCall];
                    calls[piece.toolCall] = new ToolCall(tc.id(), tc.name(), redacted);
                } else {
                    Part.Text t = (Part.Text) parts[piece.part];
                    parts[piece.part] = new Part.Text(redacted, t.cacheBreakpoint());
                }
            }
            out.set(m, new Message(msg.role(), Arrays.asList(parts), Arrays.asList(calls), msg.toolCallId(), msg.toolError()));
        }
        return out;
    }

    /** Data a rule redacts, found where Carapace cannot redact it: in a field it relays without modelling. */
    private static ApiException unredactable(Principal who, Piece beside, Map<String, Action> actions) {
        String scope = who.agent() != null ? "agent '" + who.agent() + "'" : "team '" + who.team() + "'";
        return new ApiException(ApiException.Kind.INVALID_REQUEST, "The privacy policy for " + scope + " redacts "
                + describe(List.of(beside), actions, Action.REDACT) + ", and Carapace cannot redact a field it does not"
                + " model. Remove that data, or move it into the messages, and send the request again.", null,
                "privacy_blocked", null, false);
    }

    private static ApiException blocked(Principal who, List<Piece> pieces, Map<String, Action> actions) {
        String scope = who.agent() != null ? "agent '" + who.agent() + "'" : "team '" + who.team() + "'";
        return new ApiException(ApiException.Kind.INVALID_REQUEST, "The privacy policy for " + scope
                + " does not let this request leave: it carries " + describe(pieces, actions, Action.BLOCK)
                + ". Remove that data and send the request again.", "messages", "privacy_blocked", null, false);
    }

    /** "data of class secret (openai_key in messages[1])": classes, types and places, never values. */
    private static String describe(List<Piece> pieces, Map<String, Action> actions, Action action) {
        Map<String, TreeSet<String>> byClass = new TreeMap<>();
        for (Piece piece : pieces) {
            for (Finding f : piece.findings) {
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
        List<ToolCall> calls = new ArrayList<>(response.toolCalls().size());
        for (ToolCall tc : response.toolCalls()) calls.add(new ToolCall(tc.id(), tc.name(), redaction.restore(tc.arguments(), true)));
        return new ChatResponse(response.id(), response.model(), redaction.restore(response.text(), false), calls,
                response.finishReason(), response.usage());
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
