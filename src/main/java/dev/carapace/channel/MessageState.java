package dev.carapace.channel;

import java.util.Locale;

/** Where an inbound message is on its way: stored, waiting, handed to its agent, and how it ended. */
public enum MessageState {
    /** Stored, not yet looked at (after a restart, looked at again). */
    RECEIVED,
    /** Its route needs an operator's approval ({@link Access#ASK}). */
    AWAITING_APPROVAL,
    /** Its agent's run started ({@link StoredMessage#runId()}); the reply follows the run's end. */
    STARTED,
    /** The agent's answer was sent. */
    ANSWERED,
    /** The agent did not get it: an unknown sender, a denied route, the privacy router, an operator. */
    REFUSED,
    /** Not from a person (an auto-reply, a bounce, a loop) or nothing in it: never answered. */
    IGNORED,
    /** The run failed, or the reply could not be sent after every retry. */
    FAILED;

    public String label() { return name().toLowerCase(Locale.ROOT); }

    public boolean isFinal() { return this == ANSWERED || this == REFUSED || this == IGNORED || this == FAILED; }

    public static MessageState of(String label) { return valueOf(label.toUpperCase(Locale.ROOT)); }
}
