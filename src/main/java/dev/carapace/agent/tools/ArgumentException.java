package dev.carapace.agent.tools;

/** A tool call's arguments are missing or malformed; the message names the argument and what was expected. */
public final class ArgumentException extends Exception {

    public ArgumentException(String message) {
        super(message, null, false, false);
    }
}
