/**
 * The OpenAI Responses API on both sides: a client's {@code /v1/responses} read into the neutral request and the
 * context its answer needs, the typed event stream and response objects rendered, the body sent to an upstream that
 * speaks Responses, its answers and events read back, and the same-API relay. The stored responses that
 * {@code previous_response_id} continues live in the store; the server's route joins them.
 */
package dev.carapace.model.responses;
