/**
 * The JSON shapes that both the HTTP API and the command line's {@code --json} output show, so the two never drift:
 * agents, runs and their events ({@code AgentJson}), audit records, approvals and grants, with the query values both
 * parse ({@code GuardJson}), budgets with their current window ({@code BudgetView}), spend reports
 * ({@code SpendReport}), API keys ({@code KeyJson}) and scheduled jobs, their runs and events ({@code JobsJson}).
 */
package dev.carapace.server.json;
