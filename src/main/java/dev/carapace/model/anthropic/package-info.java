/**
 * The Anthropic Messages API on both sides: a client's {@code /v1/messages} and {@code /v1/messages/count_tokens}
 * parsed and validated into the neutral types, answers and SSE streams rendered in Anthropic's shapes, the body
 * sent to an Anthropic-compatible upstream, its answers and streams read back, and the same-API relay.
 */
package dev.carapace.model.anthropic;
