package dev.carapace.memory;

/**
 * A write or search memory refuses, with what was wrong in words the caller (a model, an API client) can act on.
 * Never quotes a sensitive value.
 */
public final class MemoryException extends RuntimeException {

    /** Why: the API answers each with its own status. */
    public enum Reason {
        /** A bad argument: a path, a query, k, a scope (400). */
        INVALID,
        /** No such note (404). */
        NOT_FOUND,
        /** The privacy policy refuses a value the note holds (422). */
        PRIVACY,
        /** The note, or the scope with it, is over its size cap (413). */
        TOO_LARGE,
        /** Too many writes in a minute (429). */
        RATE,
        /** The embedding model could not be loaded (503): memory cannot search or write until it can. */
        UNAVAILABLE
    }

    private final Reason reason;

    public MemoryException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() { return reason; }
}
