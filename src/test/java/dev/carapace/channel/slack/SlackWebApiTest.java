package dev.carapace.channel.slack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Outbound;
import dev.carapace.channel.Sender;
import dev.carapace.channel.slack.ScriptedSlack.Answer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static dev.carapace.channel.slack.SlackFixture.BOT_TOKEN;
import static dev.carapace.channel.slack.SlackFixture.envelope;
import static dev.carapace.channel.slack.SlackFixture.mention;
import static dev.carapace.channel.slack.SlackFixture.signed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Web API against a scripted Slack on loopback: replies in threads, rate limits, errors, files in and out. */
class SlackWebApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_BYTES = 4096;

    private ScriptedSlack slack;
    private ScriptedSlack elsewhere;
    private SlackChannel channel;
    private final SlackFixture.RecordingInbox inbox = new SlackFixture.RecordingInbox();

    @BeforeEach
    void start() throws Exception {
        slack = new ScriptedSlack();
        elsewhere = new ScriptedSlack();
        channel = new SlackChannel(SlackFixture.context(SlackFixture.spec(SlackFixture.events(slack.api(), slack.base()),
                MAX_BYTES)));
        channel.start(inbox);
    }

    @AfterEach
    void stop() {
        channel.close();
        slack.close();
        elsewhere.close();
    }

    private static Outbound reply(String text, List<Attachment> files, String key) {
        return new Outbound("team-slack", new Sender("slack", "T0001:U0ALICE", null), "C0CHAN:1764964000.000100", text,
                files, Map.of("channel", "C0CHAN", "thread_ts", "1764964000.000100"), key);
    }

    private static JsonNode json(ScriptedSlack.Request r) throws Exception { return JSON.readTree(r.body()); }

    @Test
    void aReplyGoesToTheThreadWithTheBearerTokenAndOnlyAsText() throws Exception {
        slack.on("/api/chat.postMessage", Answer.json("{\"ok\":true,\"channel\":\"C0CHAN\",\"ts\":\"1764964900.000100\"}"));
        channel.send(reply("Done <!channel> see <https://evil.example|your bank> & more", List.of(), "msg_1:answer"));
        ScriptedSlack.Request r = slack.to("/api/chat.postMessage").getFirst();
        assertThat(r.method()).isEqualTo("POST");
        assertThat(r.header("Authorization")).isEqualTo("Bearer " + BOT_TOKEN);
        assertThat(r.header("Content-Type")).startsWith("application/json");
        JsonNode b = json(r);
        assertThat(b.get("channel").asText()).isEqualTo("C0CHAN");
        assertThat(b.get("thread_ts").asText()).isEqualTo("1764964000.000100");
        assertThat(b.get("text").asText())
                .isEqualTo("Done &lt;!channel&gt; see &lt;https://evil.example|your bank&gt; &amp; more");
        assertThat(b.get("unfurl_links").asBoolean()).isFalse();
        assertThat(b.get("unfurl_media").asBoolean()).isFalse();
    }

    @Test
    void aLongAnswerGoesInPartsAndARetriedSendDoesNotRepeatThem() throws Exception {
        String text = ("x".repeat(99) + "\n").repeat(500);   // 50,000 characters
        slack.on("/api/chat.postMessage", Answer.json("{\"ok\":true}"), Answer.json("{\"ok\":false,\"error\":\"internal_error\"}"),
                Answer.json("{\"ok\":true}"));
        assertThatThrownBy(() -> channel.send(reply(text, List.of(), "msg_2:answer")))
                .isInstanceOfSatisfying(ChannelException.class, e -> assertThat(e.retryable()).isTrue());
        channel.send(reply(text, List.of(), "msg_2:answer"));
        List<ScriptedSlack.Request> posts = slack.to("/api/chat.postMessage");
        assertThat(posts).hasSize(3);
        assertThat(json(posts.get(0)).get("text").asText()).hasSizeLessThanOrEqualTo(SlackChannel.MAX_TEXT_CHARS);
        assertThat(json(posts.get(2)).get("text").asText()).as("the second part, sent again").isEqualTo(json(posts.get(1)).get("text").asText());
        assertThat(json(posts.get(0)).get("text").asText().length() + json(posts.get(2)).get("text").asText().length())
                .isEqualTo(text.strip().length());
    }

    @Test
    void a429IsWaitedOutForRetryAfterThenRetried() throws Exception {
        slack.on("/api/chat.postMessage", Answer.status(429, Map.of("Retry-After", "1")), Answer.json("{\"ok\":true}"));
        long t0 = System.nanoTime();
        channel.send(reply("hi", List.of(), "k"));
        assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(1000);
        assertThat(slack.to("/api/chat.postMessage")).hasSize(2);

        slack.on("/api/chat.postMessage", Answer.status(429, Map.of("Retry-After", "120")));
        assertThatThrownBy(() -> channel.send(reply("hi", List.of(), "k2")))
                .isInstanceOfSatisfying(ChannelException.class, e -> {
                    assertThat(e.retryable()).isTrue();
                    assertThat(e.getMessage()).contains("rate limited (HTTP 429); Slack asks to wait 120 s");
                });
        assertThat(slack.to("/api/chat.postMessage")).as("a long wait is the hub's back-off, not a sleep here").hasSize(3);
        assertThatThrownBy(() -> channel.send(reply("hi", List.of(), "k3")))
                .isInstanceOfSatisfying(ChannelException.class, e -> {
                    assertThat(e.retryable()).isTrue();
                    assertThat(e.getMessage()).contains("Slack asked to wait");
                });
        assertThat(slack.to("/api/chat.postMessage")).as("no call while Slack asked to wait").hasSize(3);
    }

    @Test
    void slackErrorsSayWhatToFixAndWhetherToTryAgain() {
        slack.on("/api/chat.postMessage", Answer.json("{\"ok\":false,\"error\":\"invalid_auth\"}"));
        assertThatThrownBy(() -> channel.send(reply("hi", List.of(), "a")))
                .isInstanceOfSatisfying(ChannelException.class, e -> {
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).isEqualTo("Slack chat.postMessage: invalid_auth (Slack refused the token; "
                            + "check the secret the channel's slack settings name)").doesNotContain(BOT_TOKEN);
                });
        assertThat(slack.to("/api/chat.postMessage")).as("not retried").hasSize(1);
        slack.on("/api/chat.postMessage", Answer.json("{\"ok\":false,\"error\":\"not_in_channel\"}"));
        assertThatThrownBy(() -> channel.send(reply("hi", List.of(), "b"))).hasMessageContaining("invite it")
                .isInstanceOfSatisfying(ChannelException.class, e -> assertThat(e.retryable()).isFalse());
        slack.on("/api/chat.postMessage", Answer.json("{\"ok\":false,\"error\":\"channel_not_found\"}"));
        assertThatThrownBy(() -> channel.send(reply("hi", List.of(), "c"))).hasMessageContaining("no such Slack channel");
        slack.on("/api/chat.postMessage", Answer.status(503, Map.of()));
        assertThatThrownBy(() -> channel.send(reply("hi", List.of(), "d")))
                .isInstanceOfSatisfying(ChannelException.class, e -> assertThat(e.retryable()).isTrue());
        slack.on("/api/chat.postMessage", new Answer(200, Map.of(), "<html>login</html>".getBytes(StandardCharsets.UTF_8)));
        assertThatThrownBy(() -> channel.send(reply("hi", List.of(), "e"))).hasMessageContaining("not a JSON object");
        assertThatThrownBy(() -> channel.send(new Outbound("team-slack", new Sender("slack", "x", null), "c", "hi",
                List.of(), Map.of(), "f"))).hasMessageContaining("no Slack channel to answer in");
    }

    @Test
    void testCallsAuthTest() throws Exception {
        slack.on("/api/auth.test", Answer.json("""
                {"ok":true,"url":"https://acme.slack.com/","team":"Acme","user":"carapace","team_id":"T0001","user_id":"UBOT","bot_id":"B0BOT","is_enterprise_install":false}"""));
        assertThat(channel.test()).isEqualTo("Slack auth.test: bot user UBOT (carapace) in workspace T0001 (Acme), events by events");
        assertThat(slack.to("/api/auth.test").getFirst().header("Authorization")).isEqualTo("Bearer " + BOT_TOKEN);
        slack.on("/api/auth.test", Answer.json("{\"ok\":false,\"error\":\"token_revoked\"}"));
        assertThatThrownBy(channel::test).hasMessageContaining("token_revoked").hasMessageNotContaining(BOT_TOKEN);
    }

    private String fileEvent(String... urls) {
        StringBuilder files = new StringBuilder();
        for (int i = 0; i < urls.length; i++) {
            files.append(i == 0 ? "" : ",").append("""
                    {"id":"F0%d","name":"notes-%d.txt","title":"notes","mimetype":"text/plain","filetype":"text","size":%d,
                     "mode":"hosted","url_private":"%s","url_private_download":"%s"}""".formatted(i, i, 10, urls[i], urls[i]));
        }
        return envelope("EvF" + urls.length, """
                {"type":"message","subtype":"file_share","channel":"D0DM1","channel_type":"im","user":"U0ALICE",
                 "text":"see attached","ts":"1764964830.000100","files":[%s]}""".formatted(files));
    }

    @Test
    void filesComeInWithTheTokenWithinTheLimitAndNeverFromAnotherHost() {
        slack.on("/files-pri/T0001-F00/download/notes-0.txt", Answer.bytes("hello file".getBytes(StandardCharsets.UTF_8)));
        // declared small by the event, over the limit by its Content-Length
        slack.on("/files-pri/T0001-F01/download/notes-1.txt", Answer.bytes(new byte[(int) MAX_BYTES + 1]));
        // declared small, no length: over the limit only as it streams
        slack.on("/files-pri/T0001-F05/download/notes-5.txt", Answer.streamed(new byte[(int) MAX_BYTES * 50]));
        // a redirect off the files host: not followed
        slack.on("/files-pri/T0001-F02/download/notes-2.txt",
                Answer.status(302, Map.of("Location", elsewhere.base().resolve("steal").toString())));
        // a redirect within the files host: followed
        slack.on("/files-pri/T0001-F03/download/notes-3.txt", Answer.status(302, Map.of("Location", "/cdn/notes-3.txt")));
        slack.on("/cdn/notes-3.txt", Answer.bytes("moved".getBytes(StandardCharsets.UTF_8)));
        String event = fileEvent(slack.base().resolve("files-pri/T0001-F00/download/notes-0.txt").toString(),
                slack.base().resolve("files-pri/T0001-F01/download/notes-1.txt").toString(),
                slack.base().resolve("files-pri/T0001-F02/download/notes-2.txt").toString(),
                slack.base().resolve("files-pri/T0001-F03/download/notes-3.txt").toString(),
                elsewhere.base().resolve("files-pri/T0001-F04/download/notes-4.txt").toString(),
                slack.base().resolve("files-pri/T0001-F05/download/notes-5.txt").toString());
        assertThat(channel.receive(signed(event)).status()).isEqualTo(200);

        Inbound m = inbox.messages.getFirst();
        assertThat(m.attachments()).extracting(Attachment::name).containsExactly("notes-0.txt", "notes-3.txt");
        assertThat(new String(m.attachments().getFirst().data(), StandardCharsets.UTF_8)).isEqualTo("hello file");
        assertThat(m.attachments().getFirst().mediaType()).isEqualTo("text/plain");
        assertThat(m.text()).startsWith("see attached\n")
                .contains("[file notes-1.txt dropped: the file is 4097 bytes; at most 4096 bytes are taken]")
                .contains("[file notes-5.txt dropped: the file is bigger than that; at most 4096 bytes are taken]")
                .contains("[file notes-2.txt dropped: the file is at http://127.0.0.1:" + elsewhere.base().getPort()
                        + ", not on the Slack files host http://127.0.0.1:" + slack.base().getPort() + " (a redirect)")
                .contains("[file notes-4.txt dropped: the file is at http://127.0.0.1:" + elsewhere.base().getPort());
        assertThat(slack.requests).filteredOn(r -> r.path().startsWith("/files-pri/") || r.path().startsWith("/cdn/"))
                .hasSize(6).allSatisfy(r -> assertThat(r.header("Authorization")).isEqualTo("Bearer " + BOT_TOKEN));
        assertThat(elsewhere.requests).as("the token never leaves the Slack hosts").isEmpty();
    }

    @Test
    void filesTooBigOrOfATypeNotTakenAreNotEvenFetched() {
        String event = envelope("EvG", """
                {"type":"message","subtype":"file_share","channel":"D0DM1","channel_type":"im","user":"U0ALICE","text":"",
                 "ts":"1764964840.000100","files":[
                  {"id":"F1","name":"big.pdf","mimetype":"application/pdf","size":999999,"url_private_download":"%s"},
                  {"id":"F2","name":"tool.exe","mimetype":"application/x-msdownload","size":10,"url_private_download":"%s"},
                  {"id":"F3","name":"gone.txt","mode":"tombstone","mimetype":"text/plain","size":10}]}"""
                .formatted(slack.base().resolve("f/big.pdf"), slack.base().resolve("f/tool.exe")));
        channel.receive(signed(event));
        assertThat(inbox.messages.getFirst().attachments()).isEmpty();
        assertThat(inbox.messages.getFirst().text())
                .isEqualTo("[file big.pdf dropped: 999999 bytes; at most 4096 are taken]\n"
                        + "[file tool.exe dropped: type application/x-msdownload is not taken here]");
        assertThat(slack.requests).isEmpty();
    }

    @Test
    void filesGoOutByTheExternalUploadIntoTheThread() throws Exception {
        String uploadUrl = slack.base().resolve("upload/v1/ABC123").toString();
        slack.on("/api/files.getUploadURLExternal", Answer.json("{\"ok\":true,\"upload_url\":\"" + uploadUrl
                + "\",\"file_id\":\"F0UP1\"}"));
        slack.on("/upload/v1/ABC123", Answer.json("OK - 11"));
        slack.on("/api/files.completeUploadExternal", Answer.json("{\"ok\":true,\"files\":[{\"id\":\"F0UP1\",\"title\":\"report.txt\"}]}"));
        byte[] data = "hello world".getBytes(StandardCharsets.UTF_8);
        channel.send(reply("here it is", List.of(new Attachment("../../etc/report.txt", "text/plain", data)), "msg_3:answer"));

        assertThat(slack.paths()).containsExactly("/api/chat.postMessage", "/api/files.getUploadURLExternal",
                "/upload/v1/ABC123", "/api/files.completeUploadExternal");
        ScriptedSlack.Request get = slack.to("/api/files.getUploadURLExternal").getFirst();
        assertThat(get.header("Content-Type")).isEqualTo("application/x-www-form-urlencoded");
        assertThat(get.text()).isEqualTo("filename=report.txt&length=11");
        ScriptedSlack.Request upload = slack.to("/upload/v1/ABC123").getFirst();
        assertThat(upload.body()).isEqualTo(data);
        assertThat(upload.header("Authorization")).as("the upload URL is pre-signed: no token").isNull();
        JsonNode complete = json(slack.to("/api/files.completeUploadExternal").getFirst());
        assertThat(complete.get("files").get(0).get("id").asText()).isEqualTo("F0UP1");
        assertThat(complete.get("files").get(0).get("title").asText()).isEqualTo("report.txt");
        assertThat(complete.get("channel_id").asText()).isEqualTo("C0CHAN");
        assertThat(complete.get("thread_ts").asText()).isEqualTo("1764964000.000100");

        // an upload URL off the files host is not used
        slack.requests.clear();
        slack.on("/api/files.getUploadURLExternal", Answer.json("{\"ok\":true,\"upload_url\":\""
                + elsewhere.base().resolve("upload") + "\",\"file_id\":\"F0UP2\"}"));
        assertThatThrownBy(() -> channel.send(reply("", List.of(new Attachment("a.txt", "text/plain", data)), "msg_4:answer")))
                .hasMessageContaining("not on the Slack files host");
        assertThat(elsewhere.requests).isEmpty();
        assertThat(slack.paths()).containsExactly("/api/files.getUploadURLExternal");
    }
}
