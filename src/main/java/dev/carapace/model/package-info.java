/**
 * The bottom layer: provider-neutral chat types (requests, messages, parts, tool calls, stream events, usage), the
 * portfolio of models with their deployments and the router that picks one per attempt, and the upstream side
 * (providers, the HTTP/1.1 client, SSE reading and writing).
 *
 * <p>Each wire protocol is a {@link dev.carapace.model.WireFormat} in its own sub-package ({@code openai},
 * {@code anthropic}, {@code responses}); everything that crosses between two protocols goes through the neutral types
 * here, and a request relayed to an upstream of its own protocol goes through as it came, read only for what the
 * accounts need. Nothing here knows budgets, policies, agents or the server.
 */
package dev.carapace.model;
