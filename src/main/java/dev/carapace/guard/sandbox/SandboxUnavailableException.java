package dev.carapace.guard.sandbox;

/** The sandbox cannot run on this host; the message says what is missing and how to fix it. */
public final class SandboxUnavailableException extends RuntimeException {
    public SandboxUnavailableException(String message) {
        super(message);
    }
}
