package dev.carapace.channel.slack;

import dev.carapace.channel.Access;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.ChannelState;
import dev.carapace.channel.HookRequest;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.Secrets;
import dev.carapace.channel.UnknownSenders;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** What the Slack tests share: credentials, a fixed clock, signed requests, Slack's event envelopes, an inbox. */
final class SlackFixture {

    static final Instant NOW = Instant.parse("2026-12-05T20:00:00Z");
    static final String BOT_TOKEN = "xoxb-1111-2222-test-bot-token";
    static final String SIGNING = "8f742231b10e8888abcd99yyyzzz85a5";
    static final String APP_TOKEN = "xapp-1-A111-test-app-token";
    static final Secrets SECRETS = new Secrets() {
        final Map<String, String> values = Map.of("slack-bot", BOT_TOKEN, "slack-signing", SIGNING, "slack-app", APP_TOKEN);

        @Override
        public String value(String name) throws ChannelException {
            String v = values.get(name);
            if (v == null) throw new ChannelException("no secret '" + name + "'", false);
            return v;
        }

        @Override
        public boolean has(String name) { return values.containsKey(name); }
    };

    private SlackFixture() {}

    static ChannelSpec spec(SlackSettings settings, long maxBytes) {
        return new ChannelSpec("team-slack", "slack", List.of(new AgentRoute("*", "helper", Access.ALLOW)),
                UnknownSenders.PAIR, maxBytes, ChannelSpec.DEFAULT_ATTACHMENT_TYPES, settings);
    }

    static SlackSettings events(URI api, URI files) {
        return new SlackSettings("slack-bot", "slack-signing", null, SlackSettings.Mode.EVENTS, api, files);
    }

    /** A context whose state is not used (the channel keeps no state of its own). */
    static ChannelContext context(ChannelSpec spec) {
        ChannelState unused = new ChannelState() {
            @Override
            public java.util.Optional<String> get(String key) { throw new UnsupportedOperationException("no state: " + key); }

            @Override
            public void put(String key, String value) { throw new UnsupportedOperationException("no state: " + key); }
        };
        return new ChannelContext(spec, SECRETS, unused, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    /** A request as Slack signs it, at {@code at}. */
    static HookRequest signed(String body, Instant at, String secret, Map<String, String> extra) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String ts = Long.toString(at.getEpochSecond());
        String sig = "v0=" + HexFormat.of().formatHex(SlackSignature.sign(secret, ts, b));
        Map<String, String> h = new java.util.HashMap<>(Map.of("x-slack-request-timestamp", ts,
                "x-slack-signature", sig, "content-type", "application/json"));
        h.putAll(extra);
        return new HookRequest("", h, b, "127.0.0.1");
    }

    static HookRequest signed(String body) { return signed(body, NOW, SIGNING, Map.of()); }

    /** An {@code event_callback} envelope around {@code event}, delivered to bot user {@code UBOT}. */
    static String envelope(String eventId, String event) {
        return """
                {"token":"legacy","team_id":"T0001","context_team_id":"T0001","api_app_id":"A0001","type":"event_callback",
                 "event_id":"%s","event_time":1764964800,"event_context":"4-abc",
                 "authorizations":[{"enterprise_id":null,"team_id":"T0001","user_id":"UBOT","is_bot":true,"is_enterprise_install":false}],
                 "is_ext_shared_channel":false,
                 "event":%s}""".formatted(eventId, event);
    }

    static String mention(String channel, String user, String ts, String threadTs, String text) {
        return """
                {"type":"app_mention","user":"%s","text":"%s","ts":"%s",%s"team":"T0001","channel":"%s","event_ts":"%s",
                 "client_msg_id":"6f5a1e1c-0000-4000-8000-000000000001",
                 "blocks":[{"type":"rich_text","block_id":"b1","elements":[]}]}"""
                .formatted(user, text, ts, threadTs == null ? "" : "\"thread_ts\":\"" + threadTs + "\",", channel, ts);
    }

    static String direct(String user, String ts, String text, String extra) {
        return """
                {"type":"message","channel":"D0DM1","user":"%s","text":"%s","ts":"%s","event_ts":"%s",
                 "channel_type":"im","team":"T0001"%s}""".formatted(user, text, ts, ts, extra);
    }

    /** An inbox that stores like the real one: once per channel and message id. */
    static final class RecordingInbox implements Inbox {
        final List<Inbound> messages = new CopyOnWriteArrayList<>();
        final Set<String> ids = ConcurrentHashMap.newKeySet();
        volatile ChannelException failure;
        /** A message id whose message cannot be stored. */
        volatile String failOn;
        final java.util.concurrent.atomic.AtomicInteger callCount = new java.util.concurrent.atomic.AtomicInteger();
        volatile int calls;

        @Override
        public boolean receive(Inbound message) throws ChannelException {
            calls = callCount.incrementAndGet();
            if (failure != null) throw failure;
            if (message.messageId().equals(failOn)) throw new ChannelException("the store is down", true);
            if (!ids.add(message.channel() + "\u0000" + message.messageId())) return false;
            messages.add(message);
            return true;
        }
    }
}
