package dev.carapace.channel.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.channel.Access;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.ChannelStore;
import dev.carapace.channel.HookRequest;
import dev.carapace.channel.HookResponse;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.Secrets;
import dev.carapace.channel.UnknownSenders;
import dev.carapace.testing.MutableClock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The webhook channel's way in, handed requests as the server would: what is taken (202, then 200 for the same id),
 * and everything an attacker or a careless caller can send, each refused with a status and a message that says what
 * was wrong, and nothing stored.
 */
class WebhookChannelTest {

    static final String KEY = "whsec_" + java.util.Base64.getEncoder().encodeToString("current-key-0123456789".getBytes());
    static final String OLD_KEY = "old plain text key";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");

    final MutableClock clock = new MutableClock(NOW);
    final List<Inbound> stored = new CopyOnWriteArrayList<>();
    /** The inbox's dedupe, as the store's (channel, message id) key does it. */
    final Set<String> ids = ConcurrentHashMap.newKeySet();
    volatile ChannelException failing;
    final Inbox inbox = m -> {
        if (failing != null) throw failing;
        if (!ids.add(m.channel() + " " + m.messageId())) return false;
        stored.add(m);
        return true;
    };
    WebhookChannel channel;

    static Secrets secrets(Map<String, String> values) {
        return new Secrets() {
            @Override
            public String value(String name) throws ChannelException {
                String v = values.get(name);
                if (v == null) throw new ChannelException("secret '" + name + "' is not configured", false);
                return v;
            }

            @Override
            public boolean has(String name) { return values.containsKey(name); }
        };
    }

    static ChannelStore noStore() {
        return (ChannelStore) java.lang.reflect.Proxy.newProxyInstance(ChannelStore.class.getClassLoader(),
                new Class<?>[]{ChannelStore.class}, (p, m, a) -> { throw new UnsupportedOperationException(m.getName()); });
    }

    static ChannelSpec spec(WebhookSettings settings) {
        return new ChannelSpec("crm", "webhook", List.of(new AgentRoute("billing", "biller", Access.ALLOW),
                new AgentRoute("", "helper", Access.ALLOW)), UnknownSenders.PAIR, ChannelSpec.DEFAULT_MAX_ATTACHMENT_BYTES,
                ChannelSpec.DEFAULT_ATTACHMENT_TYPES, settings);
    }

    static WebhookSettings settings(List<String> secrets, List<String> prefixes) {
        return new WebhookSettings(secrets, Duration.ofMinutes(5), URI.create("https://crm.test/answers"), List.of(), 3,
                prefixes, 64 * 1024);
    }

    @BeforeEach
    void start() {
        channel = new WebhookChannel(new ChannelContext(spec(settings(List.of("new", "old"),
                List.of("https://crm.test/callbacks/"))), secrets(Map.of("new", KEY, "old", OLD_KEY)), noStore(), clock),
                null);
        channel.start(inbox);
    }

    /** A request signed with {@code key} at {@code ts}, to {@code path}. */
    static HookRequest signed(String key, String id, long ts, String path, String body) {
        return signed(key, id, ts, path, body.getBytes(StandardCharsets.UTF_8));
    }

    static HookRequest signed(String key, String id, long ts, String path, byte[] b) {
        Map<String, String> h = new HashMap<>();
        h.put("webhook-id", id);
        h.put("webhook-timestamp", Long.toString(ts));
        h.put("webhook-signature", StandardWebhooks.sign(StandardWebhooks.key(key), id, ts, b));
        h.put("content-type", "application/json");
        return new HookRequest(path, h, b, "127.0.0.1");
    }

    HookRequest signed(String id, String body) { return signed(KEY, id, NOW.getEpochSecond(), "", body); }

    static JsonNode json(HookResponse r) throws Exception { return JSON.readTree(r.body()); }

    static String error(HookResponse r) throws Exception { return json(r).path("error").path("message").asText(); }

    @Test
    void aSignedMessageIsStoredOnceAndAnsweredWithItsId() throws Exception {
        String body = "{\"text\":\"invoice 42 is wrong\",\"sender\":\"agent-7\",\"conversation\":\"ticket-981\"}";
        HookResponse first = channel.receive(signed(KEY, "msg_1", NOW.getEpochSecond(), "/billing", body));
        assertThat(first.status()).isEqualTo(202);
        assertThat(json(first).path("id").asText()).isEqualTo("msg_1");
        assertThat(json(first).path("status").asText()).isEqualTo("stored");
        assertThat(stored).singleElement().satisfies(m -> {
            assertThat(m.channel()).isEqualTo("crm");
            assertThat(m.messageId()).isEqualTo("msg_1");
            assertThat(m.sender().key()).isEqualTo("webhook:crm/agent-7");
            assertThat(m.address()).isEqualTo("billing");
            assertThat(m.conversation()).isEqualTo("agent-7/ticket-981");
            assertThat(m.text()).isEqualTo("invoice 42 is wrong");
            assertThat(m.automated()).isFalse();
            assertThat(m.reply()).containsEntry("in_reply_to", "msg_1").containsEntry("conversation", "ticket-981");
        });

        HookResponse again = channel.receive(signed(KEY, "msg_1", NOW.getEpochSecond() + 30, "/billing", body));
        assertThat(again.status()).as("a retry or a replay within the tolerance").isEqualTo(200);
        assertThat(json(again).path("status").asText()).isEqualTo("duplicate");
        assertThat(stored).hasSize(1);
    }

    @Test
    void withoutASenderItIsTheCallingSystemsDefaultAndEachMessageItsOwnConversation() {
        assertThat(channel.receive(signed("msg_a", "{\"text\":\"hi\"}")).status()).isEqualTo(202);
        assertThat(stored.get(0).sender().key()).isEqualTo("webhook:crm/default");
        assertThat(stored.get(0).conversation()).isEqualTo("msg_a");
        assertThat(stored.get(0).address()).isEmpty();
    }

    @Test
    void eitherKeyVerifiesDuringRotation() {
        long ts = NOW.getEpochSecond();
        assertThat(channel.receive(signed(KEY, "r1", ts, "", "{\"text\":\"new\"}")).status()).isEqualTo(202);
        assertThat(channel.receive(signed(OLD_KEY, "r2", ts, "", "{\"text\":\"old\"}")).status()).isEqualTo(202);
        assertThat(stored).extracting(Inbound::text).containsExactly("new", "old");
    }

    @Test
    void aWrongKeyATamperedBodyOrMissingHeadersAre401AndRevealNoKey() throws Exception {
        HookResponse wrong = channel.receive(signed("whsec_" + java.util.Base64.getEncoder().encodeToString("guess".getBytes()),
                "w1", NOW.getEpochSecond(), "", "{\"text\":\"x\"}"));
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(error(wrong)).startsWith("the signature does not match; expected Standard Webhooks headers");

        HookRequest ok = signed("t1", "{\"text\":\"pay 10\"}");
        HookResponse tampered = channel.receive(new HookRequest("", ok.headers(),
                "{\"text\":\"pay 99\"}".getBytes(StandardCharsets.UTF_8), "x"));
        assertThat(tampered.status()).isEqualTo(401);

        Map<String, String> noSig = new HashMap<>(ok.headers());
        noSig.remove("webhook-signature");
        noSig.remove("webhook-timestamp");
        HookResponse missing = channel.receive(new HookRequest("", noSig, ok.body(), "x"));
        assertThat(missing.status()).isEqualTo(401);
        assertThat(error(missing)).startsWith("missing webhook-timestamp, webhook-signature; expected");

        Map<String, String> other = new HashMap<>(ok.headers());
        other.put("webhook-id", "t2");   // the signature is over the id: another id is another message
        assertThat(channel.receive(new HookRequest("", other, ok.body(), "x")).status()).isEqualTo(401);

        for (HookResponse r : List.of(wrong, tampered, missing)) {
            String text = new String(r.body(), StandardCharsets.UTF_8);
            assertThat(text).doesNotContain(KEY, OLD_KEY, "new", "old", "current-key");
        }
        assertThat(stored).isEmpty();
    }

    @Test
    void aStaleOrFutureTimestampIs400EvenWhenSigned() throws Exception {
        long now = NOW.getEpochSecond();
        HookResponse stale = channel.receive(signed(KEY, "s1", now - 301, "", "{\"text\":\"x\"}"));
        assertThat(stale.status()).isEqualTo(400);
        assertThat(error(stale)).startsWith("webhook-timestamp " + (now - 301) + " is 301 s in the past; it must be within 300 s");
        HookResponse future = channel.receive(signed(KEY, "s2", now + 301, "", "{\"text\":\"x\"}"));
        assertThat(future.status()).isEqualTo(400);
        assertThat(error(future)).contains("301 s in the future");
        assertThat(channel.receive(signed(KEY, "s3", now - 300, "", "{\"text\":\"edge\"}")).status()).isEqualTo(202);

        // a replay after the window: the id was stored, the timestamp is stale anyway
        clock.advance(Duration.ofMinutes(10));
        assertThat(channel.receive(signed(KEY, "s3", now - 300, "", "{\"text\":\"edge\"}")).status()).isEqualTo(400);
        assertThat(stored).extracting(Inbound::messageId).containsExactly("s3");
    }

    @Test
    void malformedHeadersAre400() throws Exception {
        HookRequest ok = signed("m1", "{\"text\":\"x\"}");
        Map<String, String> h = new HashMap<>(ok.headers());
        h.put("webhook-timestamp", "2026-12-05T12:00:00Z");
        HookResponse ts = channel.receive(new HookRequest("", h, ok.body(), "x"));
        assertThat(ts.status()).isEqualTo(400);
        assertThat(error(ts)).isEqualTo("webhook-timestamp must be whole Unix seconds without leading zeros, such as "
                + NOW.getEpochSecond());
        h.put("webhook-timestamp", "0" + NOW.getEpochSecond());   // the MAC covers the text: one number, one spelling
        assertThat(error(channel.receive(new HookRequest("", h, ok.body(), "x")))).startsWith("webhook-timestamp must be");
        h = new HashMap<>(ok.headers());
        h.put("webhook-id", "has space");
        assertThat(channel.receive(new HookRequest("", h, ok.body(), "x")).status()).isEqualTo(400);
        h.put("webhook-id", "x".repeat(257));
        assertThat(channel.receive(new HookRequest("", h, ok.body(), "x")).status()).isEqualTo(400);
    }

    @Test
    void bodiesThatAreNotAMessageAre400SayingWhat() throws Exception {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("not json", "the body is not JSON");
        cases.put("[1,2]", "the body must be a JSON object");
        cases.put("{\"txt\":\"hi\"}", "unknown field 'txt' (expected: attachments, conversation, reply_to, sender, text)");
        cases.put("{\"text\":\"a\",\"text\":\"b\"}", "the body is not JSON: Duplicate field 'text'");
        cases.put("{\"text\":5}", "field 'text' must be a string");
        cases.put("{}", "field 'text' is required");
        cases.put("{\"text\":\"x\",\"sender\":\"a b\"}", "field 'sender' must be 1-128 of the characters");
        cases.put("{\"text\":\"x\",\"sender\":\"../admin\"}", "field 'sender' must be 1-128");
        cases.put("{\"text\":\"x\",\"conversation\":\"\"}", "field 'conversation' must be 1-128");
        cases.put("{\"text\":\"x\",\"attachments\":{}}", "field 'attachments' must be a list");
        cases.put("{\"text\":\"x\",\"attachments\":[{\"name\":\"a\",\"data_base64\":\"!!\"}]}",
                "'data_base64' in attachments[0] is not base64");
        cases.put("{\"text\":\"x\",\"attachments\":[{\"name\":\"a\"}]}", "'data_base64' in attachments[0] is required");
        cases.put("{\"text\":\"x\",\"attachments\":[{\"data_base64\":\"\",\"path\":\"/etc\"}]}",
                "unknown field 'path' in attachments[0]");
        cases.put("{\"text\":\"x\",\"attachments\":[{\"data_base64\":\"\",\"media_type\":\"text/html\\r\\nX: 1\"}]}",
                "'media_type' in attachments[0] must be a media type");
        cases.put("{\"text\":\"x\",\"attachments\":[{\"name\":\"" + "n".repeat(256) + "\",\"data_base64\":\"\"}]}",
                "field 'name' is 256 characters; at most 255");
        cases.put("{\"text\":\"x\",\"reply_to\":\"file:///etc/passwd\"}", "field 'reply_to' must be an absolute http(s) URL");
        cases.put("{\"text\":\"x\",\"reply_to\":\"https://evil.test/callbacks/\"}",
                "field 'reply_to' must start with one of this channel's allowed prefixes");
        cases.put("{\"text\":\"x\",\"reply_to\":\"https://crm.test.evil.test/callbacks/\"}", "must start with one of");
        cases.put("{\"text\":\"x\",\"reply_to\":\"https://crm.test/callbacks/../admin/delete\"}", "must start with one of");
        // Regression (found from outside): percent-encoded dots passed the prefix, and the egress proxy, which sends
        // paths canonical, delivered to /admin/delete. Every spelling a receiver resolves, splits or decodes again:
        for (String path : List.of("%2e%2e/admin/delete", "%2E%2E/admin", ".%2e/admin", "%2e/x", "./x", "...",
                "a%2f..%2fx", "%2f%2fevil", "a%5c..%5cx", "x;a/../../admin", "%252e%252e/admin", "a//b", "x%00y")) {
            cases.put("{\"text\":\"x\",\"reply_to\":\"https://crm.test/callbacks/" + path + "\"}", "must start with one of");
        }
        cases.put("{\"text\":\"x\",\"reply_to\":\"https://crm.test/callbacks/x#frag\"}", "without a user or fragment");
        cases.put("{\"text\":\"x\",\"reply_to\":\"https://crm.test/callbacks/%zz\"}", "field 'reply_to' is not a URL");
        cases.put("{\"text\":\"x\",\"\\u0000evil\\u202e\":1}", "unknown field '?evil?'");
        cases.put("[".repeat(50) + "]".repeat(50), "the body is not JSON");
        cases.put("{\"text\":\"hi\",\"sender\":\"alice\"} {\"x\":1}", "the body is not JSON");   // what follows is not read
        int i = 0;
        for (Map.Entry<String, String> c : cases.entrySet()) {
            HookResponse r = channel.receive(signed("b" + i++, c.getKey()));
            assertThat(r.status()).as(c.getKey()).isEqualTo(400);
            assertThat(error(r)).as(c.getKey()).contains(c.getValue());
        }
        // signed, but not UTF-8: UTF-16 (which Jackson reads by its zero bytes) and an overlong '/'
        for (byte[] b : List.of("{\"text\":\"x\"}".getBytes(StandardCharsets.UTF_16LE),
                new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xc0, (byte) 0xaf, '"', '}'})) {
            HookResponse r = channel.receive(signed(KEY, "u" + i++, NOW.getEpochSecond(), "", b));
            assertThat(r.status()).isEqualTo(400);
            assertThat(error(r)).startsWith("the body is not UTF-8: byte ");
        }
        assertThat(stored).isEmpty();
    }

    @Test
    void anOversizedBodyIs413BeforeAnythingElseIsRead() throws Exception {
        HookRequest big = signed("big", "{\"text\":\"" + "a".repeat(64 * 1024) + "\"}");
        HookResponse r = channel.receive(big);
        assertThat(r.status()).isEqualTo(413);
        assertThat(error(r)).isEqualTo("the body is " + big.body().length + " bytes; this endpoint takes at most 65536");
        assertThat(stored).isEmpty();
    }

    @Test
    void hostileFileNamesArriveAsDataForTheHubToMakeSafe() {
        String b64 = java.util.Base64.getEncoder().encodeToString("%PDF-1.4".getBytes());
        String body = "{\"text\":\"see files\",\"attachments\":["
                + "{\"name\":\"../../../etc/passwd\",\"media_type\":\"application/pdf\",\"data_base64\":\"" + b64 + "\"},"
                + "{\"name\":\"invoice\\u202egpj.exe\",\"media_type\":\"Application/PDF; charset=x\",\"data_base64\":\"" + b64 + "\"},"
                + "{\"name\":\"a\\u0000b/../c\",\"data_base64\":\"\"}]}";
        assertThat(channel.receive(signed("f1", body)).status()).isEqualTo(202);
        assertThat(stored.get(0).attachments()).extracting(a -> a.name() + "|" + a.mediaType() + "|" + a.data().length)
                .containsExactly("../../../etc/passwd|application/pdf|8", "invoice\u202egpj.exe|application/pdf|8",
                        "a\ufffdb/../c|application/octet-stream|0");   // a NUL no store could hold: U+FFFD
    }

    @Test
    void pathsOnlyToAnAddressARouteTakes() throws Exception {
        long ts = NOW.getEpochSecond();
        HookResponse none = channel.receive(signed(KEY, "p1", ts, "/sales", "{\"text\":\"x\"}"));
        assertThat(none.status()).isEqualTo(404);
        assertThat(error(none)).isEqualTo("no agent answers /hooks/crm/sales");
        HookResponse odd = channel.receive(signed(KEY, "p2", ts, "/a%2Fb", "{\"text\":\"x\"}"));
        assertThat(odd.status()).isEqualTo(404);
        assertThat(channel.receive(signed(KEY, "p3", ts, "/BILLING", "{\"text\":\"x\"}")).status()).isEqualTo(202);
    }

    @Test
    void aReplyToUnderAnAllowedPrefixIsKeptForTheAnswer() {
        assertThat(channel.receive(signed("rt", "{\"text\":\"x\",\"reply_to\":\"https://crm.test/callbacks/42\"}"))
                .status()).isEqualTo(202);
        assertThat(stored.get(0).reply()).containsEntry("reply_to", "https://crm.test/callbacks/42");
        // encodings that change no segment's meaning, a trailing slash and a query stay allowed
        String plain = "https://crm.test/callbacks/ticket%20981/caf%C3%A9/?state=a%2Fb&x=1";
        assertThat(channel.receive(signed("rt2", "{\"text\":\"x\",\"reply_to\":\"" + plain + "\"}")).status()).isEqualTo(202);
        assertThat(stored.get(1).reply()).containsEntry("reply_to", plain);
    }

    @Test
    void aMessageThatCannotBeStoredIs503SoItComesAgain() throws Exception {
        failing = new ChannelException("the message could not be stored: SQLITE_BUSY at /var/lib/carapace.db", true);
        HookResponse r = channel.receive(signed("x1", "{\"text\":\"x\"}"));
        assertThat(r.status()).isEqualTo(503);
        assertThat(error(r)).isEqualTo("the message could not be stored now; send it again later");
        failing = null;
        assertThat(channel.receive(signed("x1", "{\"text\":\"x\"}")).status()).as("not taken: the retry is new").isEqualTo(202);
        channel.close();
        assertThat(channel.receive(signed("x2", "{\"text\":\"x\"}")).status()).isEqualTo(503);
    }

    @Test
    void aChannelNamingAnUnknownSecretDoesNotStart() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new WebhookChannel(new ChannelContext(
                        spec(settings(List.of("nope"), List.of())), secrets(Map.of()), noStore(), clock), null))
                .hasMessage("channel 'crm': webhook secret 'nope' is not in secrets:");
    }

    @Test
    void anAnswerDeliveredIntoAnotherHooksEndpointIsRefusedThereSoTwoAgentsCannotAnswerEachOtherForever() throws Exception {
        List<byte[]> queued = new CopyOnWriteArrayList<>();
        DeliveryQueue queue = (DeliveryQueue) java.lang.reflect.Proxy.newProxyInstance(DeliveryQueue.class.getClassLoader(),
                new Class<?>[]{DeliveryQueue.class}, (p, m, a) -> {
                    if (!m.getName().equals("add")) throw new UnsupportedOperationException(m.getName());
                    queued.add(((Delivery) a[0]).body());
                    return true;
                });
        WebhookChannel answering = new WebhookChannel(new ChannelContext(spec(settings(List.of("new"), List.of())),
                secrets(Map.of("new", KEY)), noStore(), clock), new WebhookDeliveries(queue, null, secrets(Map.of()),
                clock, "test", WebhookDeliveries.Tuning.DEFAULT));
        answering.send(new dev.carapace.channel.Outbound("crm", new dev.carapace.channel.Sender("webhook", "crm/default", null),
                "c1", "Hello, other agent: what do you think?", List.of(), Map.of("in_reply_to", "m1", "sender", "default"), "k1"));
        HookResponse r = channel.receive(signed("loop-1", new String(queued.getFirst(), StandardCharsets.UTF_8)));
        assertThat(r.status()).isEqualTo(400);
        assertThat(error(r)).contains("unknown field");
        assertThat(stored).isEmpty();
    }
}
