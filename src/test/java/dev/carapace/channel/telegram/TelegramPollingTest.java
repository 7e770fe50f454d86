package dev.carapace.channel.telegram;

import dev.carapace.channel.Inbound;
import dev.carapace.channel.telegram.Fixtures.RecordingInbox;
import dev.carapace.channel.telegram.Fixtures.RecordingPause;
import dev.carapace.channel.telegram.Fixtures.StateOnly;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.carapace.channel.telegram.Fixtures.privateText;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Long polling against a scripted Bot API: order, the offset confirmed after the inbox, restarts, rate limits. */
class TelegramPollingTest {

    private static final String B = ScriptedBotApi.BOT_ID + ":";

    private ScriptedBotApi api;

    @BeforeEach
    void startApi() throws Exception { api = new ScriptedBotApi(); }

    @AfterEach
    void stopApi() { api.close(); }

    private TelegramChannel channel(dev.carapace.channel.ChannelState store, TelegramChannel.Pause pause) {
        TelegramSettings s = Fixtures.polling(api.base(), TelegramSettings.Groups.MENTION);
        return new TelegramChannel(Fixtures.context(Fixtures.spec(s, 10L << 20), store), pause, Duration.ofMillis(10));
    }

    @Test
    void updatesGoToTheInboxInOrderAndAreConfirmedOnlyAfterItTookThem() {
        api.update(privateText(1, 11, "first"));
        api.update(privateText(2, 12, "second"));
        api.update(privateText(3, 13, "third"));
        StateOnly store = new StateOnly();
        RecordingInbox inbox = new RecordingInbox(m -> m.text().equals("second"));
        try (TelegramChannel ch = channel(store, new RecordingPause())) {
            ch.start(inbox);
            await().atMost(Duration.ofSeconds(5)).until(() -> inbox.taken.size() == 3);
            await().atMost(Duration.ofSeconds(5)).until(() -> "4".equals(store.state.get("offset")));
        }
        assertThat(inbox.ids()).containsExactly(B + "1", B + "2", B + "3");
        assertThat(inbox.attempts).as("the refused update came again, after the one before it was not")
                .containsExactly(B + "1", B + "2", B + "2", B + "3");
        List<Long> offsets = api.offsets();
        assertThat(offsets.getFirst()).as("nothing stored: Telegram's oldest unconfirmed").isNull();
        assertThat(offsets.get(1)).as("after the inbox refused update 2, only update 1 is confirmed").isEqualTo(2L);
        assertThat(api.calls("getUpdates").getFirst().json().get("allowed_updates").toString()).isEqualTo("[\"message\"]");

        Inbound first = inbox.taken.getFirst();
        assertThat(first.channel()).isEqualTo("tg");
        assertThat(first.sender().key()).isEqualTo("telegram:4242");
        assertThat(first.sender().name()).isEqualTo("@alice");
        assertThat(first.address()).isEqualTo("4242");
        assertThat(first.conversation()).isEqualTo("4242");
        assertThat(first.text()).isEqualTo("first");
        assertThat(first.reply()).isEqualTo(Map.of("chat_id", "4242", "message_id", "11"));
        assertThat(first.automated()).isFalse();
    }

    @Test
    void aRateLimitedPollWaitsWhatTelegramAsks() {
        api.fail("getUpdates", 429, """
                {"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}""");
        api.update(privateText(5, 1, "hello"));
        RecordingPause pause = new RecordingPause();
        RecordingInbox inbox = new RecordingInbox();
        try (TelegramChannel ch = channel(new StateOnly(), pause)) {
            ch.start(inbox);
            await().atMost(Duration.ofSeconds(5)).until(() -> inbox.taken.size() == 1);
        }
        assertThat(pause.waits.getFirst()).isEqualTo(Duration.ofSeconds(7));
        assertThat(api.calls("getUpdates").size()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void serverErrorsAndAConflictBackOffAndPollingGoesOn() {
        api.fail("getUpdates", 502, "<html>Bad Gateway</html>");
        api.fail("getUpdates", 409, """
                {"ok":false,"error_code":409,"description":"Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}""");
        api.update(privateText(1, 1, "still here"));
        RecordingPause pause = new RecordingPause();
        RecordingInbox inbox = new RecordingInbox();
        try (TelegramChannel ch = channel(new StateOnly(), pause)) {
            ch.start(inbox);
            await().atMost(Duration.ofSeconds(5)).until(() -> inbox.taken.size() == 1);
        }
        assertThat(pause.waits).as("back-off, doubled").startsWith(Duration.ofMillis(10), Duration.ofMillis(20));
    }

    @Test
    void aMalformedPolledUpdateIsPassedOverNotRetriedForever() {
        api.update("""
                {"update_id":1,"message":{"message_id":"not a number","chat":{"id":1,"type":"private"}}}""");
        api.update(privateText(2, 2, "fine"));
        StateOnly store = new StateOnly();
        RecordingInbox inbox = new RecordingInbox();
        try (TelegramChannel ch = channel(store, new RecordingPause())) {
            ch.start(inbox);
            await().atMost(Duration.ofSeconds(5)).until(() -> "3".equals(store.state.get("offset")));
        }
        assertThat(inbox.ids()).containsExactly(B + "2");
    }

    @Test
    void updatesWithoutAnUpdateIdAreNotAskedForAgainAtOnce() {
        api.update("{\"update_id\":\"bad\",\"message\":{}}");
        RecordingPause pause = new RecordingPause();
        try (TelegramChannel ch = channel(new StateOnly(), pause)) {
            ch.start(new RecordingInbox());
            await().atMost(Duration.ofSeconds(5)).until(() -> pause.waits.size() >= 3);
        }
        assertThat(pause.waits).startsWith(Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(40));
    }

    @Test
    void aFileTelegramKeepsFailingToServeDoesNotHoldUpTheChat() {
        for (int i = 0; i < TelegramChannel.FILE_ATTEMPTS; i++) api.fail("getFile", 502, "bad gateway");
        api.file("V", "voice/v.oga", new byte[] {1}, 1L);
        api.update("""
                {"update_id":1,"message":{"message_id":1,"date":1,"from":{"id":4242,"is_bot":false,"first_name":"A"},
                 "chat":{"id":4242,"type":"private"},"voice":{"file_id":"V","file_unique_id":"v","duration":1}}}""");
        api.update(privateText(2, 2, "next"));
        RecordingInbox inbox = new RecordingInbox();
        try (TelegramChannel ch = channel(new StateOnly(), new RecordingPause())) {
            ch.start(inbox);
            await().atMost(Duration.ofSeconds(5)).until(() -> inbox.taken.size() == 2);
        }
        assertThat(api.calls("getFile")).hasSize(TelegramChannel.FILE_ATTEMPTS);
        assertThat(inbox.taken.getFirst().attachments()).isEmpty();
        assertThat(inbox.taken.getFirst().text())
                .isEqualTo("[file voice.ogg dropped: Telegram would not give it: getFile: HTTP 502 without the Bot API's JSON answer]");
    }

    @Test
    void groupMessagesAreTakenWhenTheBotIsMentionedCommandedOrRepliedTo() {
        String group = """
                {"update_id":%d,"message":{"message_id":%d,"date":1700000000,
                 "from":{"id":77,"is_bot":false,"first_name":"Bob"},
                 "chat":{"id":-1001234,"type":"supergroup","title":"Team","is_forum":true},
                 "is_topic_message":true,"message_thread_id":9,
                 "text":%s,"entities":%s%s}}""";
        api.update(group.formatted(1, 1, "\"just chatting\"", "[]", ""));
        api.update(group.formatted(2, 2, "\"hey @Cara_Bot what's up\"", "[{\"type\":\"mention\",\"offset\":4,\"length\":9}]", ""));
        api.update(group.formatted(3, 3, "\"/summary@cara_bot\"", "[{\"type\":\"bot_command\",\"offset\":0,\"length\":17}]", ""));
        api.update(group.formatted(4, 4, "\"and this?\"", "[]", ",\"reply_to_message\":{\"message_id\":3,\"date\":1,"
                + "\"chat\":{\"id\":-1001234,\"type\":\"supergroup\"},\"from\":{\"id\":123456789,\"is_bot\":true,\"first_name\":\"Cara\"}}"));
        api.update(group.formatted(5, 5, "\"@someone_else hi\"", "[{\"type\":\"mention\",\"offset\":0,\"length\":13}]", ""));
        api.update(group.formatted(6, 6, "\"bad @cara_bot\"", "[{\"type\":\"mention\",\"offset\":5,\"length\":900}]", ""));
        StateOnly store = new StateOnly();
        RecordingInbox inbox = new RecordingInbox();
        try (TelegramChannel ch = channel(store, new RecordingPause())) {
            ch.start(inbox);
            await().atMost(Duration.ofSeconds(5)).until(() -> "7".equals(store.state.get("offset")));
        }
        assertThat(inbox.ids()).containsExactly(B + "2", B + "3", B + "4");
        Inbound m = inbox.taken.getFirst();
        assertThat(m.address()).isEqualTo("-1001234");
        assertThat(m.conversation()).as("a forum topic is its own conversation").isEqualTo("-1001234:9");
        assertThat(m.reply()).containsEntry("message_thread_id", "9");
        assertThat(m.sender().name()).isEqualTo("Bob");
    }

    @Test
    void groupsOffDropsEveryGroupMessageAndBotsAreAutomated() {
        api.update("""
                {"update_id":1,"message":{"message_id":1,"date":1,"from":{"id":77,"is_bot":false,"first_name":"Bob"},
                 "chat":{"id":-5,"type":"group"},"text":"@cara_bot hi","entities":[{"type":"mention","offset":0,"length":9}]}}""");
        api.update("""
                {"update_id":2,"message":{"message_id":2,"date":1,"from":{"id":99,"is_bot":true,"first_name":"Echo"},
                 "chat":{"id":99,"type":"private"},"text":"beep"}}""");
        api.update("""
                {"update_id":3,"callback_query":{"id":"x","from":{"id":1,"is_bot":false,"first_name":"A"},"chat_instance":"1"}}""");
        StateOnly store = new StateOnly();
        RecordingInbox inbox = new RecordingInbox();
        TelegramSettings s = Fixtures.polling(api.base(), TelegramSettings.Groups.OFF);
        try (TelegramChannel ch = new TelegramChannel(Fixtures.context(Fixtures.spec(s, 1000), store), new RecordingPause(),
                Duration.ofMillis(10))) {
            ch.start(inbox);
            await().atMost(Duration.ofSeconds(5)).until(() -> "4".equals(store.state.get("offset")));
        }
        assertThat(inbox.ids()).containsExactly(B + "2");
        assertThat(inbox.taken.getFirst().automated()).isTrue();
        assertThat(Arrays.asList(api.calls("getMe").size())).as("groups: off needs no getMe").containsExactly(0);
    }
}
