package dev.carapace.config;

import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.slack.SlackSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A Slack channel's {@code slack:} block. */
class SlackConfigTest {

    @TempDir Path dir;

    private String base() throws Exception {
        return ChannelConfigs.base(dir, "helper: {workspace: %s, model: m, owner: {team: t}}",
                "slack-bot: env:SLACK_BOT_TOKEN", "slack-signing: env:SLACK_SIGNING_SECRET", "slack-app: env:SLACK_APP_TOKEN");
    }

    private List<String> errors(String slack) throws Exception {
        return ChannelConfigs.errors(base() + channel(slack));
    }

    private static String channel(String slack) {
        return "channels:\n  team-slack:\n    kind: slack\n    agent: helper\n    slack:\n" + slack.indent(6);
    }

    @Test
    void readsEventsAndSocketModes() throws Exception {
        ChannelSpec events = ConfigLoader.load(base() + channel("""
                bot_token_secret: slack-bot
                signing_secret_secret: slack-signing
                """), "t.yaml").channels().channels().getFirst();
        assertThat(events.kind()).isEqualTo("slack");
        assertThat(events.settings()).isEqualTo(new SlackSettings("slack-bot", "slack-signing", null,
                SlackSettings.Mode.EVENTS, SlackSettings.DEFAULT_API_BASE, SlackSettings.DEFAULT_FILES_BASE));

        SlackSettings socket = (SlackSettings) ConfigLoader.load(base() + channel("""
                bot_token_secret: slack-bot
                mode: socket
                app_token_secret: slack-app
                api_base: http://127.0.0.1:8089/api
                files_base: https://files.acme-slack.example/
                """), "t.yaml").channels().channels().getFirst().settings();
        assertThat(socket.mode()).isEqualTo(SlackSettings.Mode.SOCKET);
        assertThat(socket.appTokenSecret()).isEqualTo("slack-app");
        assertThat(socket.signingSecretSecret()).isNull();
        assertThat(socket.apiBase()).as("a base ends in /").isEqualTo(URI.create("http://127.0.0.1:8089/api/"));
        assertThat(socket.filesBase()).isEqualTo(URI.create("https://files.acme-slack.example/"));
    }

    /** A binding whose kind is misspelt could never match a sender: the file is refused at that line. */
    @Test
    void anIdentityOfNoChannelKindIsNamed() throws Exception {
        String yaml = base() + channel("bot_token_secret: slack-bot\nsigning_secret_secret: slack-signing\n")
                + "identities:\n  - {sender: \"slack:T1:U1\", team: t}\n  - {sender: \"slak:T1:U2\", team: t}\n";
        assertThat(ChannelConfigs.errors(yaml)).singleElement().asString()
                .contains("identities[1].sender").contains("no channel kind 'slak' (kinds: email, slack, telegram, webhook)");
    }

    @Test
    void mistakesAreNamedAndASecretWrittenInPlaceIsNotEchoed() throws Exception {
        assertThat(errors("bot_token_secret: slack-bot\n")).singleElement().asString()
                .contains("channels.team-slack.slack: missing required key 'signing_secret_secret'");
        assertThat(errors("bot_token_secret: slack-bot\nmode: socket\n")).singleElement().asString()
                .contains("missing required key 'app_token_secret'");
        assertThat(errors("bot_token_secret: slack-bot\nsigning_secret_secret: slack-signing\nmode: webhook\n"))
                .singleElement().asString().contains("unknown value 'webhook' (expected one of: events, socket)");
        List<String> written = errors("bot_token_secret: \"xoxb-1234-5678-abcdefSECRET\"\nsigning_secret_secret: slack-signing\n");
        assertThat(written).singleElement().asString().contains("channels.team-slack.slack.bot_token_secret")
                .contains("the value is not shown").doesNotContain("abcdefSECRET");
        assertThat(errors("bot_token_secret: slack-bot\nsigning_secret_secret: 8f742231b10e8888abcd99eeefff85a5\n"))
                .singleElement().asString().contains("signing_secret_secret").doesNotContain("8f742231");
        assertThat(errors("bot_tokn_secret: slack-bot\nbot_token_secret: slack-bot\nsigning_secret_secret: s\n"))
                .as("a misspelt *_secret key is an unknown key, not silently dropped").singleElement().asString()
                .contains("unknown key 'bot_tokn_secret'");
        assertThat(errors("bot_token_secret: slack-bot\nsigning_secret_secret: s\napi_base: http://slack.example/api/\n"))
                .singleElement().asString().contains("api_base: expected an https URL");
        assertThat(errors("bot_token_secret: slack-bot\nsigning_secret_secret: s\nfiles_base: https://u:p@files.example/\n"))
                .singleElement().asString().contains("files_base: expected an https URL").doesNotContain("u:p");
        assertThat(errors("bot_token: xoxb-1\nbot_token_secret: slack-bot\nsigning_secret_secret: s\n"))
                .as("a credential itself is still refused").anySatisfy(e -> assertThat(e)
                        .contains("bot_token: secrets are not written in the config").doesNotContain("xoxb-1"));
    }
}
