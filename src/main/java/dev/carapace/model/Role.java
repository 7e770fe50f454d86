package dev.carapace.model;

/** Who said a message. {@code TOOL} carries the result of one tool call back to the model. */
public enum Role { SYSTEM, USER, ASSISTANT, TOOL }
