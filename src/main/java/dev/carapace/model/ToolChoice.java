package dev.carapace.model;

/** How the model may use tools: {@code AUTO}, {@code NONE}, {@code REQUIRED} (any tool), or one named {@code TOOL}. */
public record ToolChoice(Mode mode, String name) {
    public enum Mode { AUTO, NONE, REQUIRED, TOOL }

    public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
}
