package dev.carapace.model;

/** The two wire protocols Carapace speaks, on both sides: to clients and to upstreams. */
public enum WireApi { OPENAI, ANTHROPIC }
