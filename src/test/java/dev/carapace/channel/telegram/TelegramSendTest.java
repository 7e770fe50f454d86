package dev.carapace.channel.telegram;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Outbound;
import dev.carapace.channel.Sender;
import dev.carapace.channel.telegram.Fixtures.RecordingPause;
import dev.carapace.channel.telegram.Fixtures.StateOnly;
import dev.carapace.channel.telegram.ScriptedBotApi.Call;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Sending: replies in the user's thread as plain text, 4096-character parts, retry_after, files by their type. */
class TelegramSendTest {

    private static final Sender ALICE = new Sender("telegram", "4242", "@alice");
    private static final Map<String, String> IN_TOPIC = Map.of("chat_id", "-1001234", "message_id", "55", "message_thread_id", "9");

    private ScriptedBotApi api;
    private RecordingPause pause;
    private TelegramChannel channel;

    @BeforeEach
    void start() throws Exception {
        api = new ScriptedBotApi();
        pause = new RecordingPause();
        TelegramSettings s = Fixtures.polling(api.base(), TelegramSettings.Groups.MENTION);
        channel = new TelegramChannel(Fixtures.context(Fixtures.spec(s, 10L << 20), new StateOnly()), pause, Duration.ofMillis(10));
    }

    @AfterEach
    void stop() {
        channel.close();
        api.close();
    }

    private static Outbound answer(String text, List<Attachment> files, String key) {
        return new Outbound("tg", ALICE, "-1001234:9", text, files, IN_TOPIC, key);
    }

    @Test
    void aReplyGoesToTheUsersMessageInItsTopicAsPlainText() throws Exception {
        channel.send(answer("<b>not bold</b> [link](http://evil.example) *x*", List.of(), "m1:answer"));
        JsonNode sent = api.calls("sendMessage").getFirst().json();
        assertThat(sent.get("chat_id").asLong()).isEqualTo(-1001234L);
        assertThat(sent.get("message_thread_id").asLong()).isEqualTo(9L);
        assertThat(sent.get("text").asText()).isEqualTo("<b>not bold</b> [link](http://evil.example) *x*");
        assertThat(sent.get("reply_parameters").get("message_id").asLong()).isEqualTo(55L);
        assertThat(sent.get("reply_parameters").get("allow_sending_without_reply").asBoolean()).isTrue();
        assertThat(sent.has("parse_mode")).as("model output is never parsed as markup").isFalse();
    }

    @Test
    void withoutAReplyContextTheConversationNamesTheChat() throws Exception {
        channel.send(new Outbound("tg", ALICE, "4242", "hi", List.of(), Map.of(), null));
        JsonNode sent = api.calls("sendMessage").getFirst().json();
        assertThat(sent.get("chat_id").asLong()).isEqualTo(4242L);
        assertThat(sent.has("reply_parameters")).isFalse();
        assertThatThrownBy(() -> channel.send(new Outbound("tg", ALICE, "../etc", "hi", List.of(), Map.of(), null)))
                .isInstanceOf(ChannelException.class).hasMessageContaining("is not CHAT_ID[:TOPIC_ID]")
                .matches(e -> !((ChannelException) e).retryable());
    }

    @Test
    void aLongAnswerIsCutIntoPartsOfAtMost4096AtLineBreaks() throws Exception {
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < 10_000; i++) text.append("line ").append(i).append(" of the answer\n");
        channel.send(answer(text.toString(), List.of(), "m2:answer"));
        List<Call> parts = api.calls("sendMessage");
        assertThat(parts).hasSize(3);
        for (Call c : parts) {
            String part = c.json().get("text").asText();
            assertThat(part.length()).isLessThanOrEqualTo(4096);
            assertThat(part.strip()).as("cut at a line break").startsWith("line ").endsWith("of the answer");
        }
        assertThat(String.join("\n", parts.stream().map(c -> c.json().get("text").asText()).toList()))
                .as("nothing lost but the breaks cut at").isEqualTo(text.toString());
        assertThat(parts.get(0).json().has("reply_parameters")).isTrue();
        assertThat(parts.get(1).json().has("reply_parameters")).isFalse();
        assertThat(parts.get(2).json().get("message_thread_id").asLong()).as("every part in the topic").isEqualTo(9L);
    }

    @Test
    void textWithoutBreaksIsCutButNeverInsideASurrogatePair() {
        String emoji = "\uD83D\uDE00".repeat(3000);   // 6000 UTF-16 units, no spaces
        List<String> parts = TextParts.split("x" + emoji, 4096);
        assertThat(parts).hasSize(2);
        assertThat(parts.get(0).length()).isEqualTo(4095);
        assertThat(String.join("", parts)).isEqualTo("x" + emoji);
        for (String p : parts) assertThat(Character.isLowSurrogate(p.charAt(0))).isFalse();
        assertThat(TextParts.split("   \n  ", 4096)).as("white space only is not sent").isEmpty();
    }

    @Test
    void retryAfterIsWaitedOutAndAHubRetrySendsOnlyTheMissingParts() throws Exception {
        api.fail("sendMessage", 429, """
                {"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}""");
        channel.send(answer("short", List.of(), "m3:answer"));
        assertThat(pause.waits).containsExactly(Duration.ofSeconds(3));
        assertThat(api.calls("sendMessage")).hasSize(2);

        String two = "a".repeat(4000) + "\n" + "b".repeat(100);
        Outbound long_ = answer(two, List.of(), "m4:answer");
        api.fail("sendMessage", 200, "{\"ok\":true,\"result\":{\"message_id\":1,\"date\":1,\"chat\":{\"id\":1,\"type\":\"private\"}}}");
        api.fail("sendMessage", 429, """
                {"ok":false,"error_code":429,"description":"Too Many Requests: retry after 120","parameters":{"retry_after":120}}""");
        assertThatThrownBy(() -> channel.send(long_)).isInstanceOf(ChannelException.class)
                .hasMessageContaining("Telegram asks to wait 120 s").matches(e -> ((ChannelException) e).retryable());
        int before = api.calls("sendMessage").size();
        channel.send(long_);
        List<Call> after = api.calls("sendMessage").subList(before, api.calls("sendMessage").size());
        assertThat(after).hasSize(1);
        assertThat(after.getFirst().json().get("text").asText()).isEqualTo("b".repeat(100));
    }

    @Test
    void aRefusedSendIsNotRetryableAndSaysWhy() {
        api.fail("sendMessage", 403, "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot was blocked by the user\"}");
        assertThatThrownBy(() -> channel.send(answer("hi", List.of(), "m5:answer"))).isInstanceOf(ChannelException.class)
                .hasMessage("sendMessage: Forbidden: bot was blocked by the user (403)")
                .matches(e -> !((ChannelException) e).retryable());
        api.fail("sendMessage", 500, "{\"ok\":false,\"error_code\":500,\"description\":\"Internal Server Error\"}");
        assertThatThrownBy(() -> channel.send(answer("hi", List.of(), "m6:answer")))
                .matches(e -> ((ChannelException) e).retryable());
    }

    @Test
    void aGroupThatBecameASupergroupIsFollowed() throws Exception {
        api.fail("sendMessage", 400, """
                {"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1009999}}""");
        channel.send(new Outbound("tg", ALICE, "-5", "hi", List.of(), Map.of("chat_id", "-5", "message_id", "3"), "m7"));
        List<Call> calls = api.calls("sendMessage");
        assertThat(calls).hasSize(2);
        assertThat(calls.get(1).json().get("chat_id").asLong()).isEqualTo(-1009999L);
    }

    @Test
    void filesGoAsVoicePhotoOrDocumentWithNamesThatCannotBreakTheirHeader() throws Exception {
        byte[] ogg = "OggS-voice".getBytes(StandardCharsets.UTF_8);
        byte[] jpg = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 1, 2, 3};
        byte[] pdf = "%PDF-1.7".getBytes(StandardCharsets.UTF_8);
        channel.send(answer("here you go", List.of(new Attachment("answer.ogg", "audio/ogg", ogg),
                new Attachment("", "image/jpeg", jpg),
                new Attachment("a\"\r\nX-Injected: 1\r\n\r\nreport.pdf", "application/pdf", pdf)), "m8:answer"));
        assertThat(api.calls("sendMessage")).hasSize(1);
        Call voice = api.calls("sendVoice").getFirst();
        assertThat(voice.contentType()).startsWith("multipart/form-data; boundary=");
        assertThat(voice.rawText()).contains("name=\"chat_id\"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n-1001234\r\n")
                .contains("name=\"message_thread_id\"").contains("name=\"voice\"; filename=\"answer.ogg\"\r\nContent-Type: audio/ogg")
                .contains("OggS-voice").doesNotContain("reply_parameters");
        assertThat(api.calls("sendPhoto").getFirst().rawText()).contains("name=\"photo\"; filename=\"photo.jpg\"");
        String doc = api.calls("sendDocument").getFirst().rawText();
        assertThat(doc).contains("filename=\"a___X-Injected__1____report.pdf\"").doesNotContain("\r\nX-Injected");
    }

    @Test
    void anAudioAnswerAloneRepliesToTheMessage() throws Exception {
        channel.send(answer("", List.of(new Attachment("a.mp3", "audio/mpeg", new byte[] {1, 2})), "m9:answer"));
        assertThat(api.calls("sendMessage")).isEmpty();
        assertThat(api.calls("sendAudio").getFirst().rawText()).contains("name=\"reply_parameters\"")
                .contains("{\"message_id\":55,\"allow_sending_without_reply\":true}");
    }

    @Test
    void testAsksGetMeAndSaysWhetherAWebhookStandsInTheWay() throws Exception {
        assertThat(channel.test()).isEqualTo("getMe: @cara_bot (id 123456789); polling");
        assertThat(api.calls("sendMessage")).isEmpty();
    }
}
