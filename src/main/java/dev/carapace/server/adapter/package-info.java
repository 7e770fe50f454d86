/**
 * Adapters: the implementations of the agent runtime's and the gateway's interfaces that the composition root plugs
 * in. The guard's decisions as the agent runtime's {@code Guard} ({@code PolicyGuard}, with standing grants and the
 * approval queue in front: {@code GrantingGuard}, {@code QueuedApprovals}); the egress proxy as {@code web_fetch}'s
 * way out ({@code ProxyEgress}), as jobs' webhooks ({@code ProxyWebhooks}) and as each sandboxed agent's socket
 * ({@code EgressSockets}); exec in bubblewrap
 * ({@code BwrapExec}); the runtime's sessions in the store ({@code StoreSessions}) and its spawns in the audit log
 * ({@code AuditedSpawns}); and the gateway's call filters that are not a domain's own: the store watch
 * ({@code StoreWatch}), the stop of agent runs whose starting key was revoked ({@code RevokedStarters}), metrics
 * ({@code Metrics}; the jobs' from their events, {@code JobMetrics}) and the privacy router's audit records
 * ({@code PrivacyAudit}).
 *
 * <p>They translate and wire; what is allowed is decided in {@code dev.carapace.guard}.
 */
package dev.carapace.server.adapter;
