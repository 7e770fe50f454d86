package dev.carapace.guard.egress;

import java.io.IOException;

/** A request (or an upstream response) the proxy refuses to read: the message says what and where, for the client. */
final class BadMessageException extends IOException {
    BadMessageException(String message) {
        super(message, null);
    }
}
