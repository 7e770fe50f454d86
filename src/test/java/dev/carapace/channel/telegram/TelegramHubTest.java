package dev.carapace.channel.telegram;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.channel.ChannelAudit;
import dev.carapace.channel.ChannelEvents;
import dev.carapace.channel.ChannelHub;
import dev.carapace.channel.ChannelPrivacy;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.Identities;
import dev.carapace.channel.MessageState;
import dev.carapace.channel.StoredMessage;
import dev.carapace.channel.telegram.Fixtures.RecordingInbox;
import dev.carapace.channel.telegram.Fixtures.RecordingPause;
import dev.carapace.server.adapter.StoreChannels;
import dev.carapace.store.Store;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static dev.carapace.channel.telegram.Fixtures.privateText;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The channel on a real SQLite store: its offset across a restart, and a message through the real hub. */
class TelegramHubTest {

    private static final String B = ScriptedBotApi.BOT_ID + ":";

    @TempDir static Path dir;
    private static Store db;
    private static StoreChannels store;
    private ScriptedBotApi api;

    @BeforeAll
    static void open() {
        db = Store.open("jdbc:sqlite:" + dir.resolve("c.db"), null, null, 2);
        store = new StoreChannels(db.channelRows());
    }

    @AfterAll
    static void closeStore() { db.close(); }

    @BeforeEach
    void startApi() throws Exception { api = new ScriptedBotApi(); }

    @AfterEach
    void stopApi() { api.close(); }

    private ChannelSpec spec(String id) {
        ChannelSpec s = Fixtures.spec(Fixtures.polling(api.base(), TelegramSettings.Groups.MENTION), 1 << 20);
        return new ChannelSpec(id, s.kind(), s.routes(), s.unknownSenders(), s.maxAttachmentBytes(), s.attachmentTypes(),
                s.settings());
    }

    private TelegramChannel channel(ChannelSpec spec) {
        return new TelegramChannel(new dev.carapace.channel.ChannelContext(spec, Fixtures.secrets(), store, java.time.Clock.systemUTC()), new RecordingPause(), Duration.ofMillis(10));
    }

    @Test
    void aNewChannelOnTheSameStoreResumesAfterTheLastUpdateTaken() {
        ChannelSpec spec = spec("restarted");
        api.update(privateText(10, 1, "a"));
        api.update(privateText(11, 2, "b"));
        RecordingInbox before = new RecordingInbox();
        try (TelegramChannel ch = channel(spec)) {
            ch.start(before);
            await().atMost(Duration.ofSeconds(5)).until(() -> store.state("restarted", "offset").orElse("").equals("12"));
        }
        api.update(privateText(12, 3, "c"));
        int callsBefore = api.offsets().size();
        RecordingInbox after = new RecordingInbox();
        try (TelegramChannel ch = channel(spec)) {
            ch.start(after);
            await().atMost(Duration.ofSeconds(5)).until(() -> after.taken.size() == 1);
        }
        assertThat(before.ids()).containsExactly(B + "10", B + "11");
        assertThat(after.ids()).as("updates taken before the restart are not taken again").containsExactly(B + "12");
        assertThat(api.offsets().get(callsBefore)).as("the restarted channel's first getUpdates").isEqualTo(12L);
    }

    @Test
    void anUnknownSenderIsStoredAndAnsweredWithAPairingCodeInReplyToTheirMessage() {
        ChannelSpec spec = spec("hubbed");
        Clock clock = Clock.systemUTC();
        ChannelHub hub = new ChannelHub(List.of(spec), store, new Identities("org", List.of(), store, ChannelAudit.NONE,
                clock), null, null, ChannelPrivacy.NONE, ChannelAudit.NONE, new ChannelEvents(), null,
                clock, Duration.ofMillis(10));
        try (hub) {
            hub.add(channel(spec));
            api.update(privateText(40, 77, "hello bot"));
            hub.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> !api.calls("sendMessage").isEmpty());
            await().atMost(Duration.ofSeconds(5)).until(() -> store.recent("hubbed", 5).stream()
                    .anyMatch(m -> m.state() == MessageState.REFUSED));
        }
        JsonNode sent = api.calls("sendMessage").getFirst().json();
        assertThat(sent.get("chat_id").asLong()).isEqualTo(4242L);
        assertThat(sent.get("reply_parameters").get("message_id").asLong()).isEqualTo(77L);
        assertThat(sent.get("text").asText()).contains("carapace channels pair ");
        StoredMessage stored = store.recent("hubbed", 5).getFirst();
        assertThat(stored.message().messageId()).isEqualTo(B + "40");
        assertThat(stored.message().sender().key()).isEqualTo("telegram:4242");
        assertThat(stored.detail()).isEqualTo("unknown sender; a pairing code was sent");
        assertThat(store.state("hubbed", "offset")).contains("41");
    }
}
