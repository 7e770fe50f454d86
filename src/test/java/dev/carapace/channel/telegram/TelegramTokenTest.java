package dev.carapace.channel.telegram;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.HookRequest;
import dev.carapace.channel.Outbound;
import dev.carapace.channel.Secrets;
import dev.carapace.channel.Sender;
import dev.carapace.channel.telegram.Fixtures.RecordingInbox;
import dev.carapace.channel.telegram.Fixtures.RecordingPause;
import dev.carapace.channel.telegram.Fixtures.StateOnly;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.carapace.channel.telegram.Fixtures.privateText;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The bot token is in every Bot API URL; whatever fails, it is in no log line, exception or answer. */
class TelegramTokenTest {

    private static final String SECRET_PART = ScriptedBotApi.TOKEN.substring(ScriptedBotApi.TOKEN.indexOf(':') + 1);

    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final List<String> seen = new ArrayList<>();
    private ScriptedBotApi api;

    @BeforeEach
    void capture() throws Exception {
        logs.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        logs.start();
        root.addAppender(logs);
        api = new ScriptedBotApi();
    }

    @AfterEach
    void release() {
        root.detachAppender(logs);
        api.close();
    }

    private TelegramChannel channel(URI base, TelegramSettings.Mode mode) {
        TelegramSettings s = new TelegramSettings("tg-token", base, mode, "tg-hook", Duration.ofSeconds(1),
                TelegramSettings.Groups.MENTION);
        return new TelegramChannel(Fixtures.context(Fixtures.spec(s, 1 << 20), new StateOnly()), new RecordingPause(),
                Duration.ofMillis(5));
    }

    private void attempt(ThrowingRunnable r) {
        try {
            r.run();
            seen.add("(no failure)");
        } catch (Exception e) {
            for (Throwable t = e; t != null; t = t.getCause()) seen.add(t.toString());
        }
    }

    private interface ThrowingRunnable { void run() throws Exception; }

    private static Outbound message() {
        return new Outbound("tg", new Sender("telegram", "1", null), "1", "hi", List.of(), Map.of(), "k");
    }

    @Test
    void noFailureShowsTheToken() throws Exception {
        // nobody listens on the Bot API's address
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        URI nowhere = URI.create("http://127.0.0.1:" + closed);
        try (TelegramChannel ch = channel(nowhere, TelegramSettings.Mode.POLLING)) {
            attempt(() -> ch.send(message()));
            attempt(ch::test);
            ch.start(new RecordingInbox());
            await().atMost(Duration.ofSeconds(5)).until(() -> logs.list.stream()
                    .anyMatch(e -> e.getFormattedMessage().contains("polling failed")));
        }
        // Telegram's own description names the URL; a 401; a 409; an answer that is not JSON
        api.fail("sendMessage", 400, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: POST /bot"
                + ScriptedBotApi.TOKEN + "/sendMessage and bot" + ScriptedBotApi.TOKEN.replace(":", "%3A") + "\"}");
        api.fail("getMe", 401, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized: " + ScriptedBotApi.TOKEN + "\"}");
        api.fail("getUpdates", 409, "{\"ok\":false,\"error_code\":409,\"description\":\"Conflict " + ScriptedBotApi.TOKEN + "\"}");
        api.fail("getUpdates", 404, "<html>no such bot " + ScriptedBotApi.TOKEN + "</html>");
        try (TelegramChannel ch = channel(api.base(), TelegramSettings.Mode.POLLING)) {
            attempt(() -> ch.send(message()));
            attempt(ch::test);
            ch.start(new RecordingInbox());
            await().atMost(Duration.ofSeconds(5)).until(() -> api.offsets().size() >= 3);
        }
        // a download that fails, in webhook mode
        RecordingInbox hooked = new RecordingInbox();
        try (TelegramChannel ch = channel(api.base(), TelegramSettings.Mode.WEBHOOK)) {
            ch.start(hooked);
            api.file("F", "documents/f.pdf", new byte[10], 10L);
            api.fail("getFile", 200, "{\"ok\":true,\"result\":{\"file_id\":\"F\",\"file_path\":\"gone/f.pdf\"}}");
            String update = """
                    {"update_id":1,"message":{"message_id":1,"date":1,"from":{"id":1,"is_bot":false,"first_name":"A"},
                     "chat":{"id":1,"type":"private"},"document":{"file_id":"F","file_unique_id":"f","mime_type":"application/pdf"}}}""";
            var r = ch.receive(new HookRequest("", Map.of("x-telegram-bot-api-secret-token", Fixtures.HOOK_SECRET),
                    update.getBytes(StandardCharsets.UTF_8), "127.0.0.1"));
            seen.add(new String(r.body(), StandardCharsets.UTF_8));
            var bad = ch.receive(new HookRequest("", Map.of("x-telegram-bot-api-secret-token", ScriptedBotApi.TOKEN),
                    privateText(2, 2, "x").getBytes(StandardCharsets.UTF_8), "127.0.0.1"));
            seen.add(new String(bad.body(), StandardCharsets.UTF_8));
        }
        hooked.taken.forEach(m -> seen.add(m.text()));
        for (ILoggingEvent e : logs.list) {
            seen.add(e.getFormattedMessage());
            for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) seen.add(t.getMessage());
        }
        assertThat(seen).as("what was said").anyMatch(s -> s.contains("could not reach the Bot API"))
                .anyMatch(s -> s.contains("sendMessage: Bad Request: POST /bot<token>/sendMessage and bot<token>"))
                .anyMatch(s -> s.contains("Unauthorized: <token>"))
                .anyMatch(s -> s.contains("Telegram refuses getUpdates (409)"))
                .anyMatch(s -> s.contains("Telegram does not know this bot token"))
                .anyMatch(s -> s.contains("dropped: Telegram would not give it"));
        for (String s : seen) {
            assertThat(s).doesNotContain(SECRET_PART).doesNotContain(Fixtures.HOOK_SECRET);
        }
    }

    @Test
    void aTokenThatIsNotBotFathersIsRefusedWithoutBeingShown() throws Exception {
        String odd = "123:abc/../../evil?x=" + SECRET_PART;
        Secrets secrets = new Secrets() {
            @Override public String value(String name) { return odd; }
            @Override public boolean has(String name) { return true; }
        };
        TelegramSettings s = Fixtures.polling(api.base(), TelegramSettings.Groups.ALL);
        ChannelContext context = new ChannelContext(Fixtures.spec(s, 1000), secrets, new StateOnly(), Clock.systemUTC());
        try (TelegramChannel ch = new TelegramChannel(context, new RecordingPause(), Duration.ofMillis(5))) {
            try {
                ch.send(message());
                throw new AssertionError("sent with a malformed token");
            } catch (ChannelException e) {
                assertThat(e.getMessage()).isEqualTo("secret 'tg-token' is not a Telegram bot token (expected the bot's id, "
                        + "a colon and letters, as BotFather gives it)");
                assertThat(e.retryable()).isFalse();
            }
        }
        assertThat(api.calls("sendMessage")).as("nothing went out with it").isEmpty();
    }
}
