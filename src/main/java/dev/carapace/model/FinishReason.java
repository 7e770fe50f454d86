package dev.carapace.model;

/** Why the model stopped. Each wire format maps its own names onto these. */
public enum FinishReason { STOP, LENGTH, TOOL_CALLS, CONTENT_FILTER }
