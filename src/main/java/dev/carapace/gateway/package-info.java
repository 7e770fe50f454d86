/**
 * The one call pipeline every model call goes through, from {@code /v1} clients and from agent runs alike.
 *
 * <p>{@link dev.carapace.gateway.Gateway} takes a {@link dev.carapace.gateway.Call} (who asks, what, through which
 * operation) through the ordered {@link dev.carapace.gateway.CallFilter}s (privacy, ledger, guard), the portfolio
 * router and the upstream attempts with failover, and back through the filters with the answer. The package knows
 * nothing of HTTP, agents or the database: the server adapts requests into calls, and the filters bring the
 * policies. State here is per call; what outlives a call (budgets, health, transcripts) lives with its owner.
 */
package dev.carapace.gateway;
