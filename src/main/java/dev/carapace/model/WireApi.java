package dev.carapace.model;

/**
 * The wire protocols Carapace speaks, on both sides, to clients and to upstreams: OpenAI Chat Completions, Anthropic
 * Messages and the OpenAI Responses API.
 */
public enum WireApi { OPENAI, ANTHROPIC, RESPONSES }
