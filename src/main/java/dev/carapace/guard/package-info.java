/**
 * The guard: every security decision the gateway makes about what an agent may do. This package holds what its
 * parts share (the network question the egress proxy asks, {@link dev.carapace.guard.NetworkRules}, and the audit
 * record every decision leaves, {@link dev.carapace.guard.AuditEvent} through an
 * {@link dev.carapace.guard.AuditSink}); the sub-packages own the tool-call decision ({@code call}), the policy
 * ({@code policy}), path and URL canonicalisation ({@code fs}, {@code url}), the egress proxy ({@code egress}), the
 * exec sandbox ({@code sandbox}), human approvals ({@code approval}) and the audit log ({@code audit}).
 */
package dev.carapace.guard;
