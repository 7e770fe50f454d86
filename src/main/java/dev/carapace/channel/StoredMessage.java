package dev.carapace.channel;

import java.time.Instant;
import java.util.Objects;

/**
 * An inbound message as the inbox keeps it, and where it is.
 *
 * @param id        Carapace's id for it ({@code msg_...})
 * @param message   the message as received
 * @param state     where it is
 * @param agent     the agent it was routed to, once known
 * @param runId     the run it started, once started
 * @param detail    why it was refused, ignored or failed; what the run answered is in the transcript, not here
 * @param updatedAt when the state last changed
 */
public record StoredMessage(String id, Inbound message, MessageState state, String agent, String runId, String detail,
                            Instant updatedAt) {

    public StoredMessage {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(state, "state");
    }
}
