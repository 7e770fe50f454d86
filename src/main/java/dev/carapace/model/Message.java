package dev.carapace.model;

import java.util.List;

/**
 * One message of a conversation in provider-neutral form.
 *
 * <ul>
 *   <li>{@code toolCalls}: only on {@link Role#ASSISTANT} messages; empty otherwise.</li>
 *   <li>{@code toolCallId}: only on {@link Role#TOOL} messages, naming the call this is the result of;
 *       {@code toolError} marks a result that reports a failure.</li>
 * </ul>
 */
public record Message(Role role, List<Part> content, List<ToolCall> toolCalls, String toolCallId, boolean toolError) {

    public Message {
        content = List.copyOf(content);
        toolCalls = List.copyOf(toolCalls);
    }

    public static Message of(Role role, String text) {
        return new Message(role, List.of(new Part.Text(text)), List.of(), null, false);
    }

    public static Message toolResult(String toolCallId, String text, boolean error) {
        return new Message(Role.TOOL, List.of(new Part.Text(text)), List.of(), toolCallId, error);
    }

    /** The concatenated text parts. */
    public String text() {
        if (content.size() == 1 && content.get(0) instanceof Part.Text t) return t.text();
        StringBuilder sb = new StringBuilder();
        for (Part p : content) if (p instanceof Part.Text t) sb.append(t.text());
        return sb.toString();
    }
}
