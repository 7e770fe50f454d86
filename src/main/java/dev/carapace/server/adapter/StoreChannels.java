package dev.carapace.server.adapter;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelStore;
import dev.carapace.channel.IdentityBinding;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.MessageState;
import dev.carapace.channel.Pairing;
import dev.carapace.channel.Sender;
import dev.carapace.channel.StoredMessage;
import dev.carapace.store.ChannelRows;
import dev.carapace.store.ChannelRows.FileRow;
import dev.carapace.store.ChannelRows.IdentityRow;
import dev.carapace.store.ChannelRows.MessageRow;
import dev.carapace.store.ChannelRows.PairingRow;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The channels' store in the store's tables: a message's reply context as JSON, its files as rows of their own. */
public final class StoreChannels implements ChannelStore {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, String>> MAP = new TypeReference<>() {};

    private final ChannelRows rows;

    public StoreChannels(ChannelRows rows) { this.rows = rows; }

    @Override
    public boolean insert(String id, Inbound m, Instant at) {
        String reply;
        try {
            reply = JSON.writeValueAsString(m.reply());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        MessageRow row = new MessageRow(id, m.channel(), m.messageId(), m.sender().key(), m.sender().name(), m.address(),
                m.conversation(), m.text(), reply, m.automated(), m.receivedAt(), MessageState.RECEIVED.label(), null,
                null, null, at);
        return rows.insert(row, m.attachments().stream().map(a -> new FileRow(a.name(), a.mediaType(), a.data())).toList());
    }

    @Override
    public void update(String id, MessageState state, String agent, String runId, String detail, Instant at) {
        rows.update(id, state.label(), agent, runId, detail, at);
    }

    @Override
    public boolean transition(String id, MessageState from, MessageState to, String detail, Instant at) {
        return rows.transition(id, from.label(), to.label(), detail, at);
    }

    @Override
    public Optional<StoredMessage> message(String id) {
        return rows.message(id).map(r -> stored(r, rows.files(id)));
    }

    @Override
    public List<StoredMessage> unfinished() {
        return rows.inStates(List.of(MessageState.RECEIVED.label(), MessageState.AWAITING_APPROVAL.label(),
                MessageState.STARTED.label())).stream().map(r -> stored(r, rows.files(r.id()))).toList();
    }

    @Override
    public List<StoredMessage> recent(String channel, int limit) {
        return rows.recent(channel, limit).stream().map(r -> stored(r, List.of())).toList();
    }

    @Override
    public int refusalsSince(String sender, Instant since) {
        return rows.countSince(sender, MessageState.REFUSED.label(), since);
    }

    @Override
    public Optional<IdentityBinding> binding(String sender) {
        return rows.identity(sender).map(StoreChannels::binding);
    }

    @Override
    public void bind(IdentityBinding b) {
        rows.putIdentity(new IdentityRow(b.sender(), b.team(), b.user(), b.source(), b.createdAt()));
    }

    @Override
    public boolean unbind(String sender) { return rows.deleteIdentity(sender); }

    @Override
    public List<IdentityBinding> bindings() {
        return rows.identities().stream().map(StoreChannels::binding).toList();
    }

    @Override
    public void putPairing(Pairing p, Instant now) {
        rows.putPairing(new PairingRow(p.codeHash(), p.sender(), p.name(), p.channel(), p.expiresAt()), now);
    }

    @Override
    public Optional<Pairing> takePairing(String codeHash, Instant now) {
        return rows.takePairing(codeHash, now).map(StoreChannels::pairing);
    }

    @Override
    public List<Pairing> pairings(Instant now) {
        return rows.pairings(now).stream().map(StoreChannels::pairing).toList();
    }

    @Override
    public Optional<String> state(String channel, String key) { return rows.state(channel, key); }

    @Override
    public void putState(String channel, String key, String value, Instant at) { rows.putState(channel, key, value, at); }

    private static StoredMessage stored(MessageRow r, List<FileRow> files) {
        Map<String, String> reply;
        try {
            reply = JSON.readValue(r.reply(), MAP);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("channel message " + r.id() + ": its reply context is not JSON", e);
        }
        int colon = r.sender().indexOf(':');
        Sender sender = new Sender(r.sender().substring(0, colon), r.sender().substring(colon + 1), r.senderName());
        Inbound in = new Inbound(r.channel(), r.messageId(), sender, r.address(), r.conversation(), r.text(),
                files.stream().map(f -> new Attachment(f.name(), f.mediaType(), f.data())).toList(), reply,
                r.automated(), r.receivedAt());
        return new StoredMessage(r.id(), in, MessageState.of(r.state()), r.agent(), r.runId(), r.detail(), r.updatedAt());
    }

    private static IdentityBinding binding(IdentityRow r) {
        return new IdentityBinding(r.sender(), r.team(), r.user(), r.source(), r.createdAt());
    }

    private static Pairing pairing(PairingRow r) {
        return new Pairing(r.codeHash(), r.sender(), r.name(), r.channel(), r.expiresAt());
    }
}
