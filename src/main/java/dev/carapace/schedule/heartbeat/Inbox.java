package dev.carapace.schedule.heartbeat;

import java.io.IOException;
import java.util.List;

/**
 * New inbound messages for an agent, as the probe sees them: a count and a few short summaries since a marker.
 * Channels (e-mail, chat apps) implement it when they exist; until then {@link #NONE} has no messages.
 */
public interface Inbox {

    /**
     * Messages that arrived after {@code marker}.
     *
     * @param marker       what {@link Batch#marker} said last time, or null for "from the beginning"
     * @param maxSummaries at most this many summaries (the oldest first); the count still counts them all
     */
    Batch since(String agentId, String marker, int maxSummaries) throws IOException;

    /**
     * @param from    who sent it (a name or address, not trusted)
     * @param summary its subject or first words (not trusted: it is quoted to the model as data)
     */
    record Message(String from, String summary) {}

    /**
     * @param count    how many new messages there are, at least {@code messages.size()}
     * @param messages summaries of the first of them
     * @param marker   the marker after the newest of them, passed back next time; unchanged when there are none
     */
    record Batch(int count, List<Message> messages, String marker) {
        public Batch {
            messages = List.copyOf(messages);
            if (count < messages.size()) count = messages.size();
        }
    }

    /** No channel delivers to agents yet: never a message. */
    Inbox NONE = (agentId, marker, maxSummaries) -> new Batch(0, List.of(), marker);
}
