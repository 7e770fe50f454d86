package dev.carapace.fs;

/** A path that cannot be turned into a real path; the message names the part at fault and may be shown to a model. */
public final class PathException extends Exception {
    public PathException(String message) {
        super(message, null, false, false);
    }
}
