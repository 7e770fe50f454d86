package dev.carapace.guard;

/**
 * Where guard decisions go. The store-backed, hash-chained audit log is the real one; tests collect events in a
 * list. Must not throw and must be cheap for the caller: a decision is never held up by its record.
 */
@FunctionalInterface
public interface AuditSink {

    void record(AuditEvent event);
}
