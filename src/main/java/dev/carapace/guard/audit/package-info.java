/**
 * The guard's audit log: every decision the guard makes (allow, deny, ask, and how an approval ended), appended by
 * one writer thread to a hash chain in the store, so that a record removed or changed afterwards shows when the
 * chain is checked. Secrets never enter a record: the guard hands over what was decided about, not its credentials.
 */
package dev.carapace.guard.audit;
