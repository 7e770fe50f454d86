package dev.carapace.store;

import org.jdbi.v3.core.mapper.RowMapper;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The channels' tables: the inbox ({@code channel_messages} and their files in {@code channel_attachments}),
 * identity bindings, pending pairings, and each channel's small state. A message is unique per channel and the
 * channel's message id, so a redelivery inserts nothing.
 */
public final class ChannelRows {

    /** A stored message; {@code reply} is JSON text the store keeps and never reads. */
    public record MessageRow(String id, String channel, String messageId, String sender, String senderName,
                             String address, String conversation, String text, String reply, boolean automated,
                             Instant receivedAt, String state, String agent, String runId, String detail,
                             Instant updatedAt) {
        public MessageRow {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(state, "state");
        }
    }

    public record FileRow(String name, String mediaType, byte[] data) {}

    public record IdentityRow(String sender, String team, String user, String source, Instant createdAt) {}

    public record PairingRow(String codeHash, String sender, String name, String channel, Instant expiresAt) {}

    private static final String COLUMNS = "id, channel, message_id, sender, sender_name, address, conversation, text, "
            + "reply, automated, received_at, state, agent, run_id, detail, updated_at";

    private static final RowMapper<MessageRow> MESSAGE = (rs, ctx) -> new MessageRow(rs.getString("id"),
            rs.getString("channel"), rs.getString("message_id"), rs.getString("sender"), rs.getString("sender_name"),
            rs.getString("address"), rs.getString("conversation"), rs.getString("text"), rs.getString("reply"),
            rs.getBoolean("automated"), Instant.ofEpochMilli(rs.getLong("received_at")), rs.getString("state"),
            rs.getString("agent"), rs.getString("run_id"), rs.getString("detail"),
            Instant.ofEpochMilli(rs.getLong("updated_at")));

    private static final RowMapper<IdentityRow> IDENTITY = (rs, ctx) -> new IdentityRow(rs.getString("sender"),
            rs.getString("team"), rs.getString("user_name"), rs.getString("source"),
            Instant.ofEpochMilli(rs.getLong("created_at")));

    private static final RowMapper<PairingRow> PAIRING = (rs, ctx) -> new PairingRow(rs.getString("code_hash"),
            rs.getString("sender"), rs.getString("name"), rs.getString("channel"),
            Instant.ofEpochMilli(rs.getLong("expires_at")));

    private final Store store;

    ChannelRows(Store store) { this.store = store; }

    /** Stores a message with its files in one transaction; false (and nothing written) when it is there already. */
    public boolean insert(MessageRow m, List<FileRow> files) {
        return store.write("store channel message", h -> {
            int n = h.createUpdate("INSERT INTO channel_messages (" + COLUMNS + ") VALUES (:id, :channel, :messageId, "
                            + ":sender, :senderName, :address, :conversation, :text, :reply, :automated, :receivedAt, "
                            + ":state, :agent, :runId, :detail, :updatedAt) ON CONFLICT (channel, message_id) DO NOTHING")
                    .bindMethods(m).bind("receivedAt", m.receivedAt().toEpochMilli())
                    .bind("updatedAt", m.updatedAt().toEpochMilli()).execute();
            if (n == 0) return false;
            for (int i = 0; i < files.size(); i++) {
                FileRow f = files.get(i);
                h.createUpdate("INSERT INTO channel_attachments (message, idx, name, media_type, data) "
                                + "VALUES (:message, :idx, :name, :type, :data)")
                        .bind("message", m.id()).bind("idx", i).bind("name", f.name()).bind("type", f.mediaType())
                        .bind("data", f.data()).execute();
            }
            return true;
        });
    }

    /** Moves a message on; a null {@code agent}, {@code runId} or {@code detail} keeps the stored one. */
    public void update(String id, String state, String agent, String runId, String detail, Instant at) {
        store.write("update channel message", h -> h.createUpdate("UPDATE channel_messages SET state = :state, "
                        + "agent = COALESCE(:agent, agent), run_id = COALESCE(:runId, run_id), "
                        + "detail = COALESCE(:detail, detail), updated_at = :at WHERE id = :id")
                .bind("state", state).bind("agent", agent).bind("runId", runId).bind("detail", detail)
                .bind("at", at.toEpochMilli()).bind("id", id).execute());
    }

    /** Moves a message from {@code from} to {@code to} only if it is still in {@code from}; false when it was not. */
    public boolean transition(String id, String from, String to, String detail, Instant at) {
        return store.write("update channel message", h -> h.createUpdate("UPDATE channel_messages SET state = :to, "
                        + "detail = COALESCE(:detail, detail), updated_at = :at WHERE id = :id AND state = :from")
                .bind("to", to).bind("detail", detail).bind("at", at.toEpochMilli()).bind("id", id).bind("from", from)
                .execute()) == 1;
    }

    public Optional<MessageRow> message(String id) {
        return store.read("read channel message", h -> h.createQuery("SELECT " + COLUMNS
                + " FROM channel_messages WHERE id = :id").bind("id", id).map(MESSAGE).findOne());
    }

    public List<FileRow> files(String id) {
        return store.read("read channel message files", h -> h.createQuery("SELECT name, media_type, data FROM "
                        + "channel_attachments WHERE message = :id ORDER BY idx").bind("id", id)
                .map((rs, ctx) -> new FileRow(rs.getString("name"), rs.getString("media_type"), rs.getBytes("data")))
                .list());
    }

    /** Messages in one of {@code states}, oldest first. */
    public List<MessageRow> inStates(List<String> states) {
        return store.read("list unfinished channel messages", h -> h.createQuery("SELECT " + COLUMNS
                        + " FROM channel_messages WHERE state IN (<states>) ORDER BY received_at, id")
                .bindList("states", states).map(MESSAGE).list());
    }

    /** The newest messages of {@code channel} (all when null), newest first. */
    public List<MessageRow> recent(String channel, int limit) {
        return store.read("list channel messages", h -> (channel == null
                ? h.createQuery("SELECT " + COLUMNS + " FROM channel_messages ORDER BY received_at DESC, id LIMIT :n")
                : h.createQuery("SELECT " + COLUMNS + " FROM channel_messages WHERE channel = :channel "
                        + "ORDER BY received_at DESC, id LIMIT :n").bind("channel", channel))
                .bind("n", limit).map(MESSAGE).list());
    }

    /** Messages of {@code sender} in {@code state} updated since {@code since}. */
    public int countSince(String sender, String state, Instant since) {
        return store.read("count channel refusals", h -> h.createQuery("SELECT COUNT(*) FROM channel_messages "
                        + "WHERE sender = :sender AND state = :state AND updated_at >= :since")
                .bind("sender", sender).bind("state", state).bind("since", since.toEpochMilli()).mapTo(Integer.class).one());
    }

    public Optional<IdentityRow> identity(String sender) {
        return store.read("read channel identity", h -> h.createQuery("SELECT * FROM channel_identities "
                + "WHERE sender = :sender").bind("sender", sender).map(IDENTITY).findOne());
    }

    public void putIdentity(IdentityRow r) {
        store.write("bind channel identity", h -> h.createUpdate("INSERT INTO channel_identities (sender, team, "
                        + "user_name, source, created_at) VALUES (:sender, :team, :user, :source, :at) ON CONFLICT "
                        + "(sender) DO UPDATE SET team = excluded.team, user_name = excluded.user_name, "
                        + "source = excluded.source, created_at = excluded.created_at")
                .bind("sender", r.sender()).bind("team", r.team()).bind("user", r.user()).bind("source", r.source())
                .bind("at", r.createdAt().toEpochMilli()).execute());
    }

    public boolean deleteIdentity(String sender) {
        return store.write("unbind channel identity", h -> h.createUpdate("DELETE FROM channel_identities "
                + "WHERE sender = :sender").bind("sender", sender).execute()) == 1;
    }

    public List<IdentityRow> identities() {
        return store.read("list channel identities", h -> h.createQuery("SELECT * FROM channel_identities "
                + "ORDER BY sender").map(IDENTITY).list());
    }

    /** Stores a pairing, replacing the sender's earlier one, and drops pairings expired before {@code now}. */
    public void putPairing(PairingRow p, Instant now) {
        store.write("store pairing", h -> {
            h.createUpdate("DELETE FROM channel_pairings WHERE sender = :sender OR expires_at < :now")
                    .bind("sender", p.sender()).bind("now", now.toEpochMilli()).execute();
            return h.createUpdate("INSERT INTO channel_pairings (code_hash, sender, name, channel, expires_at) "
                            + "VALUES (:hash, :sender, :name, :channel, :expires)")
                    .bind("hash", p.codeHash()).bind("sender", p.sender()).bind("name", p.name())
                    .bind("channel", p.channel()).bind("expires", p.expiresAt().toEpochMilli()).execute();
        });
    }

    /** Deletes and returns the pairing with this hash, when it is not expired at {@code now}; at most once. */
    public Optional<PairingRow> takePairing(String codeHash, Instant now) {
        return store.write("take pairing", h -> {
            Optional<PairingRow> p = h.createQuery("SELECT * FROM channel_pairings WHERE code_hash = :hash")
                    .bind("hash", codeHash).map(PAIRING).findOne();
            if (p.isEmpty()) return p;
            int n = h.createUpdate("DELETE FROM channel_pairings WHERE code_hash = :hash").bind("hash", codeHash).execute();
            return n == 1 && !p.get().expiresAt().isBefore(now) ? p : Optional.<PairingRow>empty();
        });
    }

    public List<PairingRow> pairings(Instant now) {
        return store.read("list pairings", h -> h.createQuery("SELECT * FROM channel_pairings WHERE expires_at >= :now "
                + "ORDER BY expires_at").bind("now", now.toEpochMilli()).map(PAIRING).list());
    }

    public Optional<String> state(String channel, String key) {
        return store.read("read channel state", h -> h.createQuery("SELECT value FROM channel_state WHERE channel = "
                + ":channel AND key = :key").bind("channel", channel).bind("key", key).mapTo(String.class).findOne());
    }

    public void putState(String channel, String key, String value, Instant at) {
        store.write("save channel state", h -> h.createUpdate("INSERT INTO channel_state (channel, key, value, "
                        + "updated_at) VALUES (:channel, :key, :value, :at) ON CONFLICT (channel, key) DO UPDATE SET "
                        + "value = excluded.value, updated_at = excluded.updated_at")
                .bind("channel", channel).bind("key", key).bind("value", value).bind("at", at.toEpochMilli()).execute());
    }
}
