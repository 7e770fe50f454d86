package dev.carapace.channel.slack;

import dev.carapace.channel.ChannelException;
import dev.carapace.channel.HookRequest;
import dev.carapace.channel.HookResponse;
import dev.carapace.channel.Inbound;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;

import static dev.carapace.channel.slack.SlackFixture.NOW;
import static dev.carapace.channel.slack.SlackFixture.SIGNING;
import static dev.carapace.channel.slack.SlackFixture.direct;
import static dev.carapace.channel.slack.SlackFixture.envelope;
import static dev.carapace.channel.slack.SlackFixture.mention;
import static dev.carapace.channel.slack.SlackFixture.signed;
import static org.assertj.core.api.Assertions.assertThat;

/** The Events API way in: Slack's signed pushes, as {@code POST /hooks/CHANNEL} hands them to the channel. */
class SlackEventsTest {

    private final SlackFixture.RecordingInbox inbox = new SlackFixture.RecordingInbox();
    private SlackChannel channel;

    @BeforeEach
    void start() {
        // nothing listens there: the way in makes no Web API call
        URI nowhere = URI.create("http://127.0.0.1:9/");
        channel = new SlackChannel(SlackFixture.context(SlackFixture.spec(SlackFixture.events(nowhere.resolve("api/"),
                nowhere), 1 << 20)));
        channel.start(inbox);
    }

    @AfterEach
    void stop() { channel.close(); }

    private static String body(HookResponse r) { return new String(r.body(), StandardCharsets.UTF_8); }

    @Test
    void slacksOwnExampleSignatureVerifies() {
        // the example of Slack's "Verifying requests from Slack" page
        String body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
                + "channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
                + "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
                + "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        String sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        java.time.Instant then = java.time.Instant.ofEpochSecond(1531420618);
        assertThat(SlackSignature.problem(SIGNING, "1531420618", sig, body.getBytes(StandardCharsets.UTF_8), then)).isNull();
        assertThat(SlackSignature.problem(SIGNING, "1531420618", sig.toUpperCase().replace("V0=", "v0="),
                body.getBytes(StandardCharsets.UTF_8), then)).as("hex in capitals").isNull();
        assertThat(SlackSignature.problem(SIGNING, "1531420618", sig, (body + " ").getBytes(StandardCharsets.UTF_8), then))
                .contains("does not match");
    }

    @Test
    void aMentionInAThreadIsStoredWithItsThreadAndWithoutTheMention() {
        HookResponse r = channel.receive(signed(envelope("Ev01", mention("C0CHAN", "U0ALICE", "1764964800.000200",
                "1764964000.000100", "<@UBOT> summarise &lt;this&gt; &amp; that"))));
        assertThat(r.status()).isEqualTo(200);
        assertThat(inbox.messages).singleElement().satisfies(m -> {
            assertThat(m.channel()).isEqualTo("team-slack");
            assertThat(m.messageId()).isEqualTo("C0CHAN:1764964800.000200");
            assertThat(m.sender().key()).isEqualTo("slack:T0001:U0ALICE");
            assertThat(m.address()).isEqualTo("C0CHAN");
            assertThat(m.conversation()).isEqualTo("C0CHAN:1764964000.000100");
            assertThat(m.text()).isEqualTo("summarise <this> & that");
            assertThat(m.reply()).isEqualTo(Map.of("channel", "C0CHAN", "thread_ts", "1764964000.000100"));
            assertThat(m.automated()).isFalse();
            assertThat(m.receivedAt()).isEqualTo(NOW);
        });
    }

    @Test
    void aMentionOutsideAThreadStartsOneAtItsOwnTs() {
        channel.receive(signed(envelope("Ev02", mention("C0CHAN", "U0ALICE", "1764964800.000300", null,
                "<@UBOT|carapace> hello <@U0BOB>"))));
        Inbound m = inbox.messages.getFirst();
        assertThat(m.conversation()).isEqualTo("C0CHAN:1764964800.000300");
        assertThat(m.reply()).containsEntry("thread_ts", "1764964800.000300");
        assertThat(m.text()).as("other mentions stay").isEqualTo("hello <@U0BOB>");
    }

    @Test
    void aDirectMessageIsAddressedToIm() {
        channel.receive(signed(envelope("Ev03", direct("U0ALICE", "1764964800.000400", "what is on today?", ""))));
        Inbound m = inbox.messages.getFirst();
        assertThat(m.address()).isEqualTo("im");
        assertThat(m.conversation()).isEqualTo("D0DM1:1764964800.000400");
        assertThat(m.reply()).isEqualTo(Map.of("channel", "D0DM1", "thread_ts", "1764964800.000400"));
    }

    @Test
    void aUserOfAnotherOrganisationInASharedChannelIsAnotherSender() {
        String event = mention("C0SHARED", "U0ALICE", "1764964800.000500", null, "<@UBOT> hi")
                .replace("\"team\":\"T0001\"", "\"team\":\"T0001\",\"user_team\":\"T0EVIL\"");
        channel.receive(signed(envelope("Ev04", event)));
        assertThat(inbox.messages.getFirst().sender().key()).isEqualTo("slack:T0EVIL:U0ALICE");
    }

    @Test
    void forgedStaleFutureAndUnsignedRequestsAreRefusedAndNothingIsStored() {
        String body = envelope("Ev05", mention("C0CHAN", "U0ALICE", "1764964800.000600", null, "<@UBOT> hi"));
        HookResponse wrongSecret = channel.receive(signed(body, NOW, "another-secret", Map.of()));
        assertThat(wrongSecret.status()).isEqualTo(401);
        assertThat(body(wrongSecret)).contains("does not match the body");
        HookResponse stale = channel.receive(signed(body, NOW.minus(Duration.ofMinutes(6)), SIGNING, Map.of()));
        assertThat(stale.status()).isEqualTo(401);
        assertThat(body(stale)).contains("360 s from now; at most 300 s are accepted");
        assertThat(channel.receive(signed(body, NOW.plus(Duration.ofMinutes(6)), SIGNING, Map.of())).status())
                .isEqualTo(401);
        assertThat(channel.receive(signed(body, NOW.minus(Duration.ofMinutes(4)), SIGNING, Map.of())).status())
                .as("within five minutes").isEqualTo(200);
        inbox.messages.clear();
        inbox.ids.clear();
        inbox.callCount.set(0);
        inbox.calls = 0;

        HookRequest good = signed(body);
        HookRequest unsigned = new HookRequest("", Map.of("content-type", "application/json"), good.body(), "x");
        assertThat(channel.receive(unsigned).status()).isEqualTo(401);
        assertThat(body(channel.receive(unsigned))).contains("X-Slack-Signature and X-Slack-Request-Timestamp are required");
        HookRequest tampered = new HookRequest("", good.headers(),
                body.replace("U0ALICE", "U0ADMIN").getBytes(StandardCharsets.UTF_8), "x");
        assertThat(channel.receive(tampered).status()).as("another sender under the same signature").isEqualTo(401);
        Map<String, String> h = new java.util.HashMap<>(good.headers());
        h.put("x-slack-signature", "v1=" + HexFormat.of().formatHex(new byte[32]));
        assertThat(channel.receive(new HookRequest("", h, good.body(), "x")).status()).isEqualTo(401);
        h.put("x-slack-signature", good.header("x-slack-signature"));
        h.put("x-slack-request-timestamp", "17649648e2");
        assertThat(body(channel.receive(new HookRequest("", h, good.body(), "x")))).contains("whole seconds");
        h.put("x-slack-signature", good.header("x-slack-signature").substring(0, 20));
        h.put("x-slack-request-timestamp", good.header("x-slack-request-timestamp"));
        assertThat(channel.receive(new HookRequest("", h, good.body(), "x")).status()).as("a short signature").isEqualTo(401);
        assertThat(inbox.calls).isZero();
        assertThat(body(wrongSecret)).doesNotContain(SIGNING);
    }

    @Test
    void urlVerificationEchoesTheChallengeOnlyWhenSigned() {
        String body = "{\"token\":\"Jhj5dZrVaK7ZwHHjRyZWjbDl\",\"challenge\":\"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P\",\"type\":\"url_verification\"}";
        HookResponse r = channel.receive(signed(body));
        assertThat(r.status()).isEqualTo(200);
        assertThat(body(r)).isEqualTo("{\"challenge\":\"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P\"}");
        assertThat(channel.receive(new HookRequest("", Map.of(), body.getBytes(StandardCharsets.UTF_8), "x")).status())
                .isEqualTo(401);
        assertThat(channel.receive(signed("{\"type\":\"url_verification\",\"challenge\":7}")).status()).isEqualTo(400);
    }

    @Test
    void botsOwnMessagesEditsAndChannelChatterAreNotTaken() {
        // the bot's own reply in a DM comes back as message.im
        assertThat(channel.receive(signed(envelope("Ev10", direct("UBOT", "1764964801.000100", "my answer",
                ",\"bot_id\":\"B0BOT\",\"app_id\":\"A0001\"")))).status()).isEqualTo(200);
        // an edit and a deletion
        assertThat(channel.receive(signed(envelope("Ev11", """
                {"type":"message","subtype":"message_changed","channel":"D0DM1","channel_type":"im","ts":"1764964802.000100",
                 "message":{"type":"message","user":"U0ALICE","text":"edited","ts":"1764964800.000100"},"hidden":true}"""))).status())
                .isEqualTo(200);
        assertThat(channel.receive(signed(envelope("Ev12", """
                {"type":"message","subtype":"message_deleted","channel":"D0DM1","channel_type":"im","ts":"1764964803.000100",
                 "deleted_ts":"1764964800.000100","hidden":true}"""))).status()).isEqualTo(200);
        // a message in a channel that does not mention the bot
        assertThat(channel.receive(signed(envelope("Ev13", """
                {"type":"message","channel":"C0CHAN","channel_type":"channel","user":"U0ALICE","text":"lunch?","ts":"1764964804.000100"}""")))
                .status()).isEqualTo(200);
        // a reaction
        assertThat(channel.receive(signed(envelope("Ev14", """
                {"type":"reaction_added","user":"U0ALICE","reaction":"thumbsup","item":{"type":"message","channel":"C0CHAN","ts":"1764964800.000200"}}""")))
                .status()).isEqualTo(200);
        assertThat(inbox.calls).isZero();

        // another app's bot writing to ours: stored as automated, never answered
        channel.receive(signed(envelope("Ev15", direct("U0OTHERBOT", "1764964805.000100", "ping",
                ",\"bot_id\":\"B0OTHER\",\"bot_profile\":{\"id\":\"B0OTHER\",\"name\":\"other\"}"))));
        channel.receive(signed(envelope("Ev16", """
                {"type":"message","subtype":"bot_message","channel":"D0DM1","channel_type":"im","bot_id":"B0HOOK","text":"deploy done","ts":"1764964806.000100"}""")));
        assertThat(inbox.messages).hasSize(2).allSatisfy(m -> assertThat(m.automated()).isTrue());
        assertThat(inbox.messages.get(1).sender().key()).isEqualTo("slack:T0001:B0HOOK");
    }

    @Test
    void aRetryAndTheSameMessageAsTwoEventsAreStoredOnce() {
        String first = envelope("Ev20", mention("C0CHAN", "U0ALICE", "1764964810.000100", null, "<@UBOT> once"));
        assertThat(channel.receive(signed(first)).status()).isEqualTo(200);
        HookResponse retry = channel.receive(signed(first, NOW.plusSeconds(3), SIGNING,
                Map.of("x-slack-retry-num", "1", "x-slack-retry-reason", "http_timeout")));
        assertThat(retry.status()).as("a retry is acknowledged").isEqualTo(200);
        // the same message, subscribed twice (app_mention and message.channels would both carry it)
        String asMessage = envelope("Ev21", """
                {"type":"message","channel":"C0CHAN","channel_type":"im","user":"U0ALICE","text":"<@UBOT> once","ts":"1764964810.000100"}""");
        channel.receive(signed(asMessage));
        assertThat(inbox.calls).isEqualTo(3);
        assertThat(inbox.messages).hasSize(1);
    }

    @Test
    void aMessageThatCannotBeStoredIsNotAcknowledged() {
        inbox.failure = new ChannelException("the store is down", true);
        HookResponse r = channel.receive(signed(envelope("Ev30", mention("C0CHAN", "U0ALICE", "1764964820.000100", null,
                "<@UBOT> hi"))));
        assertThat(r.status()).isEqualTo(503);
        assertThat(body(r)).contains("send it again later").doesNotContain("store is down");
        SlackChannel notStarted = new SlackChannel(SlackFixture.context(SlackFixture.spec(
                SlackFixture.events(URI.create("http://127.0.0.1:9/api/"), URI.create("http://127.0.0.1:9/")), 100)));
        assertThat(notStarted.receive(signed(envelope("Ev31", mention("C0CHAN", "U0ALICE", "1764964820.000200", null,
                "<@UBOT> hi")))).status()).isEqualTo(503);
        notStarted.close();
    }

    @Test
    void malformedBodiesAre400AndAHugeOneIs413() {
        for (String bad : new String[] {"{", "[1,2]", "null", "{\"type\":5}", "{\"event\":{}}", "\"event_callback\"",
                "{\"type\":\"event_callback\",\"type\":\"url_verification\",\"challenge\":\"x\"}", "\u0000\u00ff"}) {
            HookResponse r = channel.receive(signed(bad));
            assertThat(r.status()).as(bad).isEqualTo(400);
            assertThat(body(r)).as(bad).startsWith("{\"error\":{\"code\":\"malformed\"");
        }
        byte[] invalidUtf8 = {'{', '"', 't', 'y', 'p', 'e', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        String ts = Long.toString(NOW.getEpochSecond());
        HookRequest r = new HookRequest("", Map.of("x-slack-request-timestamp", ts, "x-slack-signature",
                "v0=" + HexFormat.of().formatHex(SlackSignature.sign(SIGNING, ts, invalidUtf8))), invalidUtf8, "x");
        assertThat(channel.receive(r).status()).isEqualTo(400);
        // an event_callback with hostile fields: taken as nothing, acknowledged
        assertThat(channel.receive(signed(envelope("Ev40", """
                {"type":"app_mention","user":"U0ALICE\\n","text":"hi","ts":"1.2","channel":"C0CHAN"}"""))).status()).isEqualTo(200);
        assertThat(channel.receive(signed(envelope("Ev41", """
                {"type":"app_mention","user":"U0ALICE","text":["x"],"ts":"../../etc","channel":"C0CHAN"}"""))).status()).isEqualTo(200);
        assertThat(channel.receive(signed(envelope("Ev42", "[]"))).status()).isEqualTo(200);
        assertThat(inbox.calls).isZero();

        byte[] huge = new byte[SlackChannel.MAX_BODY_BYTES + 1];
        java.util.Arrays.fill(huge, (byte) ' ');
        HookResponse big = channel.receive(new HookRequest("", Map.of(), huge, "x"));
        assertThat(big.status()).isEqualTo(413);
        assertThat(body(big)).contains("at most 1048576");
    }
}
