package dev.carapace.model;

/** A model's request to call a tool. {@code arguments} is the JSON text of the arguments object, as the model wrote it. */
public record ToolCall(String id, String name, String arguments) {}
