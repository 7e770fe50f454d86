package dev.carapace.agent;

/**
 * What a tool call produced, as text for the model. {@code error} marks a failure the model should see as one
 * (a denial, a missing file, a timeout).
 */
public record ToolResult(String content, boolean error) {

    public static ToolResult ok(String content) { return new ToolResult(content, false); }

    public static ToolResult error(String content) { return new ToolResult(content, true); }
}
