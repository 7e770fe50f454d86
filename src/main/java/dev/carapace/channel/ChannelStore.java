package dev.carapace.channel;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What the channels keep in the store: the inbox (messages and their files, once per channel and message id), the
 * identity bindings made through the API or a pairing, pending pairings, and each channel's own small state (an
 * IMAP UID, a Telegram offset). Every method is durable when it returns.
 */
public interface ChannelStore {

    /** Stores a received message with its files, state {@link MessageState#RECEIVED}; false when already there. */
    boolean insert(String id, Inbound message, Instant at);

    /** Moves a message on; {@code agent}, {@code runId} and {@code detail} replace the stored ones when not null. */
    void update(String id, MessageState state, String agent, String runId, String detail, Instant at);

    /**
     * Moves a message from {@code from} to {@code to} only if it is still in {@code from} (two operators deciding at
     * once: one wins); false when it was not.
     */
    boolean transition(String id, MessageState from, MessageState to, String detail, Instant at);

    Optional<StoredMessage> message(String id);

    /** Messages not in a final state, oldest first: what a restart looks at again. */
    List<StoredMessage> unfinished();

    /** The newest messages, of one channel or (null) all, newest first, without their files' bytes. */
    List<StoredMessage> recent(String channel, int limit);

    /** How many messages from {@code sender} were refused or paired since {@code since} (the reply rate limit). */
    int refusalsSince(String sender, Instant since);

    Optional<IdentityBinding> binding(String sender);

    /** Adds or replaces the binding of its sender. */
    void bind(IdentityBinding binding);

    boolean unbind(String sender);

    List<IdentityBinding> bindings();

    /** Stores a pairing, replacing the sender's earlier one; pairings expired at {@code now} may go. */
    void putPairing(Pairing pairing, Instant now);

    /** Takes the pairing with this code hash away (once); empty when none or expired at {@code now}. */
    Optional<Pairing> takePairing(String codeHash, Instant now);

    /** Pairings not expired at {@code now}. */
    List<Pairing> pairings(Instant now);

    Optional<String> state(String channel, String key);

    void putState(String channel, String key, String value, Instant at);
}
