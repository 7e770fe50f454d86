package dev.carapace.config;

import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.telegram.TelegramSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A Telegram channel's {@code telegram:} block. */
class TelegramConfigTest {

    @TempDir Path dir;

    private String base() throws Exception {
        return ChannelConfigs.base(dir, "a: {workspace: %s, model: m, owner: {team: t}}", "tg-bot: env:TG_TOKEN",
                "tg-hook: env:TG_HOOK");
    }

    private List<String> errors(String telegram) throws Exception {
        return ChannelConfigs.errors(base() + channel(telegram));
    }

    private static String channel(String telegram) {
        return "channels:\n  bot:\n    kind: telegram\n    agent: a\n    telegram:\n" + telegram.indent(6);
    }

    @Test
    void readsTheBlock() throws Exception {
        CarapaceConfig c = ConfigLoader.load(base() + channel("""
                token_secret: tg-bot
                mode: webhook
                webhook_secret_secret: tg-hook
                api_base: http://127.0.0.1:8081/
                poll_timeout: 20s
                groups: all
                """), "t.yaml");
        ChannelSpec spec = c.channels().channels().getFirst();
        assertThat(spec.kind()).isEqualTo("telegram");
        assertThat(spec.settings()).isEqualTo(new TelegramSettings("tg-bot", URI.create("http://127.0.0.1:8081"),
                TelegramSettings.Mode.WEBHOOK, "tg-hook", Duration.ofSeconds(20), TelegramSettings.Groups.ALL));
        TelegramSettings defaults = (TelegramSettings) ConfigLoader.load(base() + channel("token_secret: tg-bot\n"), "t.yaml")
                .channels().channels().getFirst().settings();
        assertThat(defaults).isEqualTo(new TelegramSettings("tg-bot", URI.create("https://api.telegram.org"),
                TelegramSettings.Mode.POLLING, null, Duration.ofSeconds(30), TelegramSettings.Groups.MENTION));
    }

    @Test
    void mistakesNameTheirLineAndKey() throws Exception {
        int line = base().split("\n").length + 6;
        assertThat(errors("token_secret: tg-bot\ntokn_secret: x\n")).singleElement().asString()
                .isEqualTo("t.yaml:" + (line + 1) + ":7: channels.bot.telegram.tokn_secret: unknown key 'tokn_secret' "
                        + "(expected one of: token_secret, api_base, mode, webhook_secret_secret, poll_timeout, groups)");
        assertThat(errors("mode: polling\n")).singleElement().asString().contains("channels.bot.telegram")
                .contains("token_secret");
        assertThat(errors("token_secret: tg-bot\nmode: webhook\n")).singleElement().asString()
                .contains("mode: webhook needs webhook_secret_secret");
        assertThat(errors("token_secret: tg-bot\napi_base: http://api.telegram.org\n")).singleElement().asString()
                .contains("channels.bot.telegram.api_base: must be https (the bot token is in every request's path)");
        assertThat(errors("token_secret: tg-bot\napi_base: https://u:p@api.telegram.org/?x=1\n")).singleElement().asString()
                .contains("must not have user info, a query or a fragment");
        assertThat(errors("token_secret: tg-bot\npoll_timeout: 2m\n")).singleElement().asString()
                .contains("poll_timeout: must be at most 50s");
        assertThat(errors("token_secret: tg-bot\ngroups: some\n")).singleElement().asString()
                .contains("unknown value 'some' (expected one of: mention, all, off)");
    }

    @Test
    void aTokenWrittenInPlaceOfItsNameIsRefusedWithoutBeingEchoed() throws Exception {
        List<String> e = errors("token_secret: \"123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ\"\n");
        assertThat(e).singleElement().asString().contains("channels.bot.telegram.token_secret: expected the name of an entry "
                + "of secrets:").doesNotContain("AAHdq");
        assertThat(errors("token: tg-bot\ntoken_secret: tg-bot\n")).singleElement().asString()
                .contains("channels.bot.telegram.token: secrets are not written in the config");
    }
}
