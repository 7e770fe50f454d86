package dev.carapace.privacy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Screens a request that has no client body to walk ({@link BodyWalk}): one Carapace built itself (an agent's turn),
 * or the view of an embeddings request. Everything such a request sends is in its neutral view: message texts and
 * tool-call arguments, tools (name, description, input schema), the end-user id and the parameters kept for the
 * client's API. A walk over a request's images alone serves both: their class is known from the view.
 *
 * <p>The pieces' replacements write into this walk's copies, which {@link #build} turns into the rewritten request.
 */
final class ViewWalk {

    static final String IMAGE = "image";

    private final ChatRequest request;
    private final String field;
    private final Part[][] parts;
    private final ToolCall[][] calls;
    private final boolean[] touched;
    private final Tool[] tools;
    private String user;
    private final ObjectNode fields;
    final List<Piece> pieces = new ArrayList<>();

    /**
     * @param field     where the request holds its messages: {@code messages}, or an embeddings request's {@code input}
     * @param imageOnly screen the images alone (the rest is screened in the client's body)
     */
    ViewWalk(Scanner scanner, PrivacySpec spec, ChatRequest request, String field, boolean imageOnly) {
        this.request = request;
        this.field = field;
        List<Message> messages = request.messages();
        parts = new Part[messages.size()][];
        calls = new ToolCall[messages.size()][];
        touched = new boolean[messages.size()];
        tools = request.tools().toArray(Tool[]::new);
        user = request.user();
        fields = request.passthrough().isEmpty() ? null : request.passthrough().fields().deepCopy();
        for (int m = 0; m < messages.size(); m++) {
            Message msg = messages.get(m);
            parts[m] = msg.content().toArray(Part[]::new);
            calls[m] = msg.toolCalls().toArray(ToolCall[]::new);
            for (int p = 0; p < parts[m].length; p++) {
                int mi = m, pi = p;
                if (parts[m][p] instanceof Part.Image && spec.imageClass() != null) {
                    pieces.add(new Piece(field + "[" + m + "]", null, false, null,
                            List.of(new Finding(IMAGE, spec.imageClass(), 0, 0, 1.0)),
                            s -> set(mi, pi, new Part.Text(s))));
                } else if (!imageOnly && parts[m][p] instanceof Part.Text t) {
                    add(scanner, field + "[" + m + "]", t.text(), false, null,
                            s -> set(mi, pi, new Part.Text(s, t.cacheBreakpoint())));
                }
            }
            // Signed reasoning goes up unchanged (see Part.Reasoning): it is screened, and a finding in it cannot be
            // redacted.
            for (Part part : parts[m]) {
                if (!imageOnly && part instanceof Part.Reasoning r) {
                    if (r.text() != null) add(scanner, field + "[" + m + "].thinking", r.text(), false, BodyWalk.SIGNED, null);
                    add(scanner, field + "[" + m + "].signature", r.signature(), false, BodyWalk.SIGNED, null);
                }
            }
            for (int c = 0; !imageOnly && c < calls[m].length; c++) {
                ToolCall tc = calls[m][c];
                int mi = m, ci = c;
                String at = field + "[" + m + "].tool_calls[" + c + "]";
                add(scanner, at + ".name", tc.name(), false, BodyWalk.IDENTIFIER, null);
                if (tc.arguments() != null) {
                    add(scanner, at, tc.arguments(), true, null, s -> {
                        calls[mi][ci] = new ToolCall(tc.id(), tc.name(), s);
                        touched[mi] = true;
                    });
                }
            }
        }
        if (imageOnly) return;
        for (int t = 0; t < tools.length; t++) {
            Tool tool = tools[t];
            int ti = t;
            String at = "tools[" + t + "]";
            add(scanner, at + ".name", tool.name(), false, BodyWalk.IDENTIFIER, null);
            if (tool.description() != null) {
                add(scanner, at + ".description", tool.description(), false, null,
                        s -> tools[ti] = new Tool(tools[ti].name(), s, tools[ti].parameters()));
            }
            if (tool.parameters() != null) {
                ObjectNode schema = tool.parameters().deepCopy();
                tools[t] = new Tool(tool.name(), tool.description(), schema);
                BodyWalk.value(scanner, schema, at + ".parameters", pieces);
            }
        }
        if (user != null) add(scanner, "user", user, false, null, s -> user = s);
        if (fields != null) BodyWalk.value(scanner, fields, "", pieces);
    }

    private void add(Scanner scanner, String where, String text, boolean json, String fixed, java.util.function.Consumer<String> replace) {
        if (text == null || text.isEmpty()) return;
        List<Finding> found = scanner.scan(text);
        if (!found.isEmpty()) pieces.add(new Piece(where, text, json, fixed, found, fixed == null ? replace : null));
    }

    private void set(int m, int p, Part part) {
        parts[m][p] = part;
        touched[m] = true;
    }

    /** Every text the request sends, for {@link Redaction#reserve}. */
    void strings(java.util.function.Consumer<String> each) {
        for (int m = 0; m < parts.length; m++) {
            for (Part p : parts[m]) if (p instanceof Part.Text t) each.accept(t.text());
            for (ToolCall tc : calls[m]) if (tc.arguments() != null) each.accept(tc.arguments());
        }
        for (Tool t : tools) {
            if (t.description() != null) each.accept(t.description());
            if (t.parameters() != null) BodyWalk.strings(t.parameters(), each);
        }
        if (user != null) each.accept(user);
        if (fields != null) BodyWalk.strings(fields, each);
    }

    /** The request with what the pieces' replacements wrote. */
    ChatRequest build() {
        List<Message> messages = new ArrayList<>(request.messages());
        for (int m = 0; m < parts.length; m++) {
            if (!touched[m]) continue;
            Message msg = messages.get(m);
            messages.set(m, new Message(msg.role(), Arrays.asList(parts[m]), Arrays.asList(calls[m]), msg.toolCallId(),
                    msg.toolError()));
        }
        ChatRequest.Passthrough pt = request.passthrough();
        ChatRequest.Passthrough passthrough = fields == null ? pt
                : new ChatRequest.Passthrough(pt.api(), fields, pt.lossy(), pt.untranslatable());
        return request.rewritten(messages, Arrays.asList(tools), user, passthrough);
    }

    String field() { return field; }
}
