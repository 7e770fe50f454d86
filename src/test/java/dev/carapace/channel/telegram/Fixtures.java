package dev.carapace.channel.telegram;

import dev.carapace.channel.Access;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.ChannelState;
import dev.carapace.channel.ChannelStore;
import dev.carapace.channel.IdentityBinding;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.MessageState;
import dev.carapace.channel.Pairing;
import dev.carapace.channel.Secrets;
import dev.carapace.channel.StoredMessage;
import dev.carapace.channel.UnknownSenders;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/** What the Telegram tests build channels with: settings, secrets, a state-only store, a recording inbox. */
final class Fixtures {

    static final String HOOK_SECRET = "hook-Secret_0123456789";

    private Fixtures() {}

    static TelegramSettings polling(URI base, TelegramSettings.Groups groups) {
        return new TelegramSettings("tg-token", base, TelegramSettings.Mode.POLLING, null, Duration.ofSeconds(1), groups);
    }

    static TelegramSettings webhook(URI base) {
        return new TelegramSettings("tg-token", base, TelegramSettings.Mode.WEBHOOK, "tg-hook", Duration.ofSeconds(1),
                TelegramSettings.Groups.MENTION);
    }

    static ChannelSpec spec(TelegramSettings settings, long maxBytes) {
        return new ChannelSpec("tg", "telegram", List.of(new AgentRoute("*", "helper", Access.ALLOW)),
                UnknownSenders.PAIR, maxBytes, ChannelSpec.DEFAULT_ATTACHMENT_TYPES, settings);
    }

    static Secrets secrets() {
        Map<String, String> values = Map.of("tg-token", ScriptedBotApi.TOKEN, "tg-hook", HOOK_SECRET);
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

    static ChannelContext context(ChannelSpec spec, ChannelState store) {
        return new ChannelContext(spec, secrets(), store, Clock.systemUTC());
    }

    /** The channel's own state, in memory. */
    static final class StateOnly implements ChannelState {
        final Map<String, String> state = new ConcurrentHashMap<>();

        @Override public Optional<String> get(String key) { return Optional.ofNullable(state.get(key)); }
        @Override public void put(String key, String value) { state.put(key, value); }
    }

    /** Records what it takes, in order; refuses (once each) the messages {@code refuse} picks. */
    static final class RecordingInbox implements Inbox {
        final List<Inbound> taken = new CopyOnWriteArrayList<>();
        final List<String> attempts = new CopyOnWriteArrayList<>();
        private final List<String> refusedOnce = new ArrayList<>();
        private final Predicate<Inbound> refuse;

        RecordingInbox() { this(m -> false); }

        RecordingInbox(Predicate<Inbound> refuse) { this.refuse = refuse; }

        @Override
        public synchronized boolean receive(Inbound message) throws ChannelException {
            attempts.add(message.messageId());
            if (refuse.test(message) && !refusedOnce.contains(message.messageId())) {
                refusedOnce.add(message.messageId());
                throw new ChannelException("the store is down", true);
            }
            if (taken.stream().anyMatch(m -> m.messageId().equals(message.messageId()))) return false;
            taken.add(message);
            return true;
        }

        List<String> ids() { return taken.stream().map(Inbound::messageId).toList(); }
    }

    /** A pause that only records how long it was asked to wait. */
    static final class RecordingPause implements TelegramChannel.Pause {
        final List<Duration> waits = new CopyOnWriteArrayList<>();

        @Override
        public void pause(Duration d) throws InterruptedException {
            waits.add(d);
            Thread.sleep(5);   // a poll loop that fails at once must not spin the CPU
        }
    }

    /** A private text message from Alice, as Telegram sends it. */
    static String privateText(long updateId, long messageId, String text) {
        return """
                {"update_id":%d,"message":{"message_id":%d,"date":1700000000,
                 "from":{"id":4242,"is_bot":false,"first_name":"Alice","username":"alice"},
                 "chat":{"id":4242,"type":"private","first_name":"Alice","username":"alice"},
                 "text":%s}}""".formatted(updateId, messageId, ScriptedBotApi.JSON.valueToTree(text).toString());
    }
}
