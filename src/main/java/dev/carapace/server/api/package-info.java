/**
 * The HTTP routes of Carapace, one class per resource: the model calls under {@code /v1} with health and metrics
 * ({@link dev.carapace.server.api.HttpApi}), the model list ({@code ModelsApi}), Responses ({@code ResponsesApi}),
 * and the native API under {@code /api}: keys ({@code KeysApi}), budgets ({@code BudgetsApi}), spend
 * ({@code SpendApi}), agents and runs ({@code AgentApi}, with its SSE and WebSocket streams), scheduled jobs
 * ({@code JobsApi}, with their SSE stream), the guard's audit and approvals ({@code GuardApi}) and privacy
 * ({@code PrivacyApi}).
 *
 * <p>Every route runs inside {@code HttpApi}'s frame (a request id, errors in the API's own shape, metrics, one
 * access-log line) and sees an {@link dev.carapace.server.http.Exchange}, never the HTTP server. To add a resource:
 * a class here with a {@code routes(Routes)} method that frames each route with {@code HttpApi.handleApi}, built and
 * registered by {@link dev.carapace.server.Carapace} before {@code HttpApi}, whose fallback answers unknown paths.
 */
package dev.carapace.server.api;
