package dev.carapace.channel.telegram;

import dev.carapace.channel.HookRequest;
import dev.carapace.channel.HookResponse;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.telegram.Fixtures.RecordingInbox;
import dev.carapace.channel.telegram.Fixtures.RecordingPause;
import dev.carapace.channel.telegram.Fixtures.StateOnly;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static dev.carapace.channel.telegram.Fixtures.privateText;
import static org.assertj.core.api.Assertions.assertThat;

/** Webhook mode: the secret token, malformed bodies, and the files an update brings. */
class TelegramWebhookTest {

    private static final String SECRET_HEADER = "x-telegram-bot-api-secret-token";

    private ScriptedBotApi api;
    private RecordingInbox inbox;
    private TelegramChannel channel;

    @BeforeEach
    void start() throws Exception {
        api = new ScriptedBotApi();
        channel = channel(10L << 20);
    }

    private TelegramChannel channel(long maxBytes) {
        if (channel != null) channel.close();
        inbox = new RecordingInbox();
        TelegramChannel ch = new TelegramChannel(Fixtures.context(Fixtures.spec(Fixtures.webhook(api.base()), maxBytes),
                new StateOnly()), new RecordingPause(), Duration.ofMillis(10));
        ch.start(inbox);
        return ch;
    }

    @AfterEach
    void stop() {
        channel.close();
        api.close();
    }

    private HookResponse post(String secret, String body) {
        return post("", secret, body.getBytes(StandardCharsets.UTF_8));
    }

    private HookResponse post(String path, String secret, byte[] body) {
        Map<String, String> headers = secret == null ? Map.of("content-type", "application/json")
                : Map.of("content-type", "application/json", SECRET_HEADER, secret);
        return channel.receive(new HookRequest(path, headers, body, "127.0.0.1"));
    }

    private static String text(HookResponse r) { return new String(r.body(), StandardCharsets.UTF_8); }

    @Test
    void anUpdateWithTheSecretIsStoredBeforeThe200() {
        HookResponse r = post(Fixtures.HOOK_SECRET, privateText(7, 70, "via webhook"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(inbox.taken).singleElement().extracting(Inbound::text).isEqualTo("via webhook");
        assertThat(post(Fixtures.HOOK_SECRET, privateText(7, 70, "via webhook")).status()).as("a redelivery").isEqualTo(200);
        assertThat(inbox.taken).hasSize(1);
    }

    @Test
    void aWrongOrMissingSecretIs401AndNothingIsStored() {
        for (String wrong : new String[] {null, "", "hook-Secret_012345678", Fixtures.HOOK_SECRET + "x", ScriptedBotApi.TOKEN,
                Fixtures.HOOK_SECRET.toUpperCase()}) {
            HookResponse r = post(wrong, privateText(1, 1, "forged"));
            assertThat(r.status()).as("secret %s", wrong).isEqualTo(401);
            assertThat(text(r)).contains("bad_secret").doesNotContain(Fixtures.HOOK_SECRET);
        }
        assertThat(inbox.attempts).isEmpty();
        assertThat(post("/extra", Fixtures.HOOK_SECRET, privateText(1, 1, "x").getBytes(StandardCharsets.UTF_8)).status())
                .isEqualTo(404);
    }

    @Test
    void malformedBodiesAre400WithWhatWasWrongNeverAnError() {
        List<String> bodies = List.of("not json", "", "[]", "{}", "null", "{\"update_id\":\"7\"}", "{\"update_id\":1.5}",
                "{\"update_id\":-1}", "{\"update_id\":99999999999999999999999}", "{\"update_id\":1} trailing",
                "{\"update_id\":1,\"message\":[]}",
                "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":\"abc\",\"type\":\"private\"}}}",
                "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1}}}",
                "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1,\"type\":\"private\"},\"from\":{\"id\":\"x\"}}}",
                "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1,\"type\":\"private\"},\"from\":{\"id\":1},\"text\":5}}",
                "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1,\"type\":\"private\"},\"from\":{\"id\":1},\"photo\":{}}}",
                "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1,\"type\":\"private\"},\"from\":{\"id\":1},\"voice\":{\"file_id\":7}}}",
                "[".repeat(5000) + "]".repeat(5000));
        for (String body : bodies) {
            HookResponse r = post(Fixtures.HOOK_SECRET, body);
            assertThat(r.status()).as("body %s", body.length() > 60 ? body.substring(0, 60) : body).isEqualTo(400);
            assertThat(text(r)).contains("\"code\":\"malformed\"");
        }
        HookResponse notUtf8 = post("", Fixtures.HOOK_SECRET, new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'});
        assertThat(notUtf8.status()).isEqualTo(400);
        assertThat(text(post(Fixtures.HOOK_SECRET, "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":\"abc\","
                + "\"type\":\"private\"}}}"))).contains("update.message.chat.id: expected an integer");
        assertThat(inbox.attempts).isEmpty();
    }

    @Test
    void updatesOfOtherKindsAreAnswered200AndNotStored() {
        assertThat(post(Fixtures.HOOK_SECRET, "{\"update_id\":3,\"edited_message\":{\"message_id\":1}}").status()).isEqualTo(200);
        assertThat(post(Fixtures.HOOK_SECRET, "{\"update_id\":4,\"message\":{\"message_id\":1,\"date\":1,"
                + "\"chat\":{\"id\":-100,\"type\":\"channel\"},\"text\":\"post\"}}").status()).isEqualTo(200);
        assertThat(inbox.attempts).isEmpty();
    }

    @Test
    void aVoiceNoteAndAPhotoAreDownloadedIntoAttachments() {
        byte[] ogg = "OggS\0voice-note-bytes".getBytes(StandardCharsets.ISO_8859_1);
        byte[] small = new byte[100];
        byte[] large = new byte[5000];
        large[0] = (byte) 0xFF;
        api.file("VOICE1", "voice/file_1.oga", ogg, (long) ogg.length);
        api.file("PHOTO_S", "photos/file_2.jpg", small, 100L);
        api.file("PHOTO_L", "photos/file_3.jpg", large, 5000L);
        String update = """
                {"update_id":20,"message":{"message_id":5,"date":1,"from":{"id":4242,"is_bot":false,"first_name":"Alice"},
                 "chat":{"id":4242,"type":"private"},"caption":"what is this?",
                 "voice":{"file_id":"VOICE1","file_unique_id":"v","duration":2,"mime_type":"audio/ogg","file_size":%d},
                 "photo":[{"file_id":"PHOTO_S","file_unique_id":"s","width":90,"height":60,"file_size":100},
                          {"file_id":"PHOTO_L","file_unique_id":"l","width":1280,"height":960,"file_size":5000}]}}"""
                .formatted(ogg.length);
        assertThat(post(Fixtures.HOOK_SECRET, update).status()).isEqualTo(200);
        Inbound m = inbox.taken.getFirst();
        assertThat(m.text()).isEqualTo("what is this?");
        assertThat(m.attachments()).hasSize(2);
        assertThat(m.attachments().get(0).mediaType()).isEqualTo("audio/ogg");
        assertThat(m.attachments().get(0).data()).isEqualTo(ogg);
        assertThat(m.attachments().get(1).mediaType()).isEqualTo("image/jpeg");
        assertThat(m.attachments().get(1).data()).as("the largest size").isEqualTo(large);
        assertThat(api.calls("getFile").stream().map(c -> c.json().get("file_id").asText()).toList())
                .containsExactly("VOICE1", "PHOTO_L");
    }

    @Test
    void aFileOverTheLimitIsNotDownloadedAndTheTextSaysSo() {
        channel = channel(1000);
        api.file("BIG", "documents/file_9.pdf", new byte[5000], 5000L);
        api.file("LIAR", "documents/file_10.pdf", new byte[50_000], 500L);   // getFile says 500; the stream is 50 kB
        api.file("PHOTO_L", "photos/l.jpg", new byte[4000], 4000L);
        api.file("PHOTO_M", "photos/m.jpg", new byte[800], 800L);
        String doc = """
                {"update_id":%d,"message":{"message_id":1,"date":1,"from":{"id":1,"is_bot":false,"first_name":"A"},
                 "chat":{"id":1,"type":"private"},"document":{"file_id":"%s","file_unique_id":"d","file_name":"%s",
                 "mime_type":"application/pdf"%s}}}""";
        post(Fixtures.HOOK_SECRET, doc.formatted(1, "BIG", "big.pdf", ",\"file_size\":5000"));
        post(Fixtures.HOOK_SECRET, doc.formatted(2, "LIAR", "liar.pdf", ""));
        post(Fixtures.HOOK_SECRET, doc.formatted(3, "HUGE", "../../etc/passwd", ",\"file_size\":" + (25L << 20)));
        post(Fixtures.HOOK_SECRET, """
                {"update_id":4,"message":{"message_id":1,"date":1,"from":{"id":1,"is_bot":false,"first_name":"A"},
                 "chat":{"id":1,"type":"private"},"photo":[{"file_id":"PHOTO_M","file_unique_id":"m","width":320,"height":240,"file_size":800},
                 {"file_id":"PHOTO_L","file_unique_id":"l","width":1280,"height":960,"file_size":4000}]}}""");
        assertThat(inbox.taken).hasSize(4);
        assertThat(inbox.taken.get(0).attachments()).isEmpty();
        assertThat(inbox.taken.get(0).text()).isEqualTo("[file big.pdf dropped: 5000 bytes; at most 1000 are taken]");
        assertThat(inbox.taken.get(1).attachments()).isEmpty();
        assertThat(inbox.taken.get(1).text()).isEqualTo("[file liar.pdf dropped: more than 1000 bytes; at most 1000 are taken]");
        assertThat(inbox.taken.get(2).text()).isEqualTo("[file etc_passwd dropped: 26214400 bytes; at most 1000 are taken]");
        assertThat(inbox.taken.get(3).attachments()).singleElement().extracting(a -> a.data().length)
                .as("the largest photo size within the limit").isEqualTo(800);
        assertThat(api.calls("getFile").stream().map(c -> c.json().get("file_id").asText()).toList())
                .as("files known to be too big are not even asked for").containsExactly("LIAR", "PHOTO_M");
    }

    @Test
    void aFileOfATypeNotTakenIsNotDownloadedAndAFileTelegramCannotServeComesAgain() {
        String doc = """
                {"update_id":%d,"message":{"message_id":1,"date":1,"from":{"id":1,"is_bot":false,"first_name":"A"},
                 "chat":{"id":1,"type":"private"},"document":{"file_id":"%s","file_unique_id":"d","file_name":"x",
                 "mime_type":"%s"}}}""";
        assertThat(post(Fixtures.HOOK_SECRET, doc.formatted(1, "EXE", "application/x-msdownload")).status()).isEqualTo(200);
        assertThat(inbox.taken.getFirst().text()).startsWith("[file x dropped: type application/x-msdownload is not taken here");
        api.file("PDF", "documents/x.pdf", "%PDF".getBytes(StandardCharsets.UTF_8), 4L);
        api.fail("getFile", 502, "bad gateway");
        HookResponse r = post(Fixtures.HOOK_SECRET, doc.formatted(2, "PDF", "application/pdf; charset=binary"));
        assertThat(r.status()).as("not acknowledged: Telegram sends it again").isEqualTo(503);
        assertThat(inbox.taken).hasSize(1);
        assertThat(post(Fixtures.HOOK_SECRET, doc.formatted(2, "PDF", "application/pdf; charset=binary")).status()).isEqualTo(200);
        assertThat(inbox.taken.get(1).attachments()).singleElement().extracting(a -> a.mediaType()).isEqualTo("application/pdf");
        assertThat(api.calls("getFile")).hasSize(2);
    }

    @Test
    void aPollingChannelHasNoWebhook() {
        channel.close();
        channel = new TelegramChannel(Fixtures.context(Fixtures.spec(Fixtures.polling(api.base(), TelegramSettings.Groups.ALL),
                1000), new StateOnly()), new RecordingPause(), Duration.ofMillis(10));
        assertThat(post(Fixtures.HOOK_SECRET, privateText(1, 1, "x")).status()).isEqualTo(404);
    }
}
