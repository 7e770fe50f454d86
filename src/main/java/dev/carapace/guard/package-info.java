/**
 * The guard: every security decision the gateway makes about what an agent may do. This package holds what its
 * parts share (the network question the egress proxy asks, {@link dev.carapace.guard.NetworkRules}, and the audit
 * record every decision leaves, {@link dev.carapace.guard.AuditEvent} through an
 * {@link dev.carapace.guard.AuditSink}); the sub-packages own the tool-call decision ({@code call}), the policy
 * ({@code policy}), URL canonicalisation ({@code url}; file paths are {@code dev.carapace.fs}'s, shared with the
 * agent file tools), the egress proxy ({@code egress}), the exec sandbox ({@code sandbox}), human approvals
 * ({@code approval}) and the audit log ({@code audit}).
 */
package dev.carapace.guard;
