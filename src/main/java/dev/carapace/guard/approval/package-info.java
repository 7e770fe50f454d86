/**
 * Human approvals of guard decisions that said {@code ask}, and the standing grants operators make of them
 * ({@link dev.carapace.guard.approval.ApprovalQueue}). The store is the truth, so racing operators, timeouts and
 * gateways end with exactly one outcome.
 */
package dev.carapace.guard.approval;
