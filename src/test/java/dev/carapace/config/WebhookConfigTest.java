package dev.carapace.config;

import dev.carapace.channel.webhook.WebhookSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A webhook channel's {@code webhook:} block, and the signing of jobs' results ({@code scheduler.deliver_secrets}). */
class WebhookConfigTest {

    @TempDir Path dir;

    private String base() throws Exception {
        return ChannelConfigs.base(dir, "helper: {workspace: %s, model: m, tools: [read], owner: {team: t}}",
                "crm_in: env:CRM_IN", "crm_out: env:CRM_OUT");
    }

    private List<String> errors(String yaml) throws Exception {
        return ChannelConfigs.errors(base() + yaml);
    }

    @Test
    void readsTheBlockAndTheSchedulersSigningKeys() throws Exception {
        CarapaceConfig c = ConfigLoader.load(base() + """
                tools: {web_fetch: proxy}
                scheduler:
                  deliver_secrets: [crm_out]
                  deliver_attempts: 4
                channels:
                  crm:
                    kind: webhook
                    routes: [{address: billing, agent: helper}]
                    webhook:
                      secrets: [crm_in, crm_out]
                      tolerance: 2m
                      deliver_to: https://crm.example/answers
                      deliver_secrets: [crm_out]
                      max_attempts: 5
                      reply_to_prefixes: [https://crm.example/callbacks/]
                      max_body_bytes: 2mb
                """, "t.yaml");
        WebhookSettings w = (WebhookSettings) c.channels().channels().get(0).settings();
        assertThat(w).isEqualTo(new WebhookSettings(List.of("crm_in", "crm_out"), Duration.ofMinutes(2),
                URI.create("https://crm.example/answers"), List.of("crm_out"), 5, List.of("https://crm.example/callbacks/"),
                2_000_000));
        assertThat(c.scheduler().deliverSecrets()).containsExactly("crm_out");
        assertThat(c.scheduler().deliverAttempts()).isEqualTo(4);

        CarapaceConfig d = ConfigLoader.load(base() + """
                channels:
                  crm: {kind: webhook, agent: helper, webhook: {secrets: [crm_in]}}
                """, "t.yaml");
        WebhookSettings defaults = (WebhookSettings) d.channels().channels().get(0).settings();
        assertThat(defaults.tolerance()).isEqualTo(Duration.ofMinutes(5));
        assertThat(defaults.deliverTo()).isNull();
        assertThat(defaults.replyToPrefixes()).isEmpty();
        assertThat(d.scheduler().deliverSecrets()).isEmpty();
    }

    @Test
    void mistakesAreErrorsAtTheirPlace() throws Exception {
        assertThat(errors("""
                tools: {exec: bwrap}
                channels:
                  crm:
                    kind: webhook
                    agent: helper
                    webhook:
                      secrets: []
                      tolerance: 2h
                      deliver_to: ftp://crm.example/x
                      reply_to_prefixes: [https://crm.example, "https://crm.example/cb/?x=1"]
                      secret: crm_in
                """)).satisfiesExactlyInAnyOrder(
                e -> assertThat(e).contains("channels.crm.webhook.secret").contains("unknown key 'secret'"),
                e -> assertThat(e).contains("a webhook channel names the keys callers sign with"),
                e -> assertThat(e).contains("tolerance").contains("at most 1h"),
                e -> assertThat(e).contains("deliver_to").contains("not an absolute http(s) URL"),
                e -> assertThat(e).contains("not a URL prefix: 'https://crm.example'"),
                e -> assertThat(e).contains("not a URL prefix: 'https://crm.example/cb/?x=1'"));
        assertThat(errors("""
                scheduler:
                  deliver_secrets: [nope]
                """)).singleElement().asString().contains("scheduler.deliver_secrets").contains("no secret 'nope' in secrets:");
    }

    /** Regression (found from outside): without the egress proxy every answer was given up while it read as answered. */
    @Test
    void answersThatGoOutNeedTheEgressProxy() throws Exception {
        for (String block : List.of("{secrets: [crm_in], deliver_to: \"https://crm.example/answers\"}",
                "{secrets: [crm_in], reply_to_prefixes: [\"https://crm.example/cb/\"]}")) {
            assertThat(errors("channels:\n  crm: {kind: webhook, agent: helper, webhook: " + block + "}\n"))
                    .as(block).singleElement().asString().contains("channels.crm.webhook")
                    .contains("through the egress proxy").contains("tools: {web_fetch: proxy}");
            assertThat(errors("tools: {web_fetch: proxy}\nchannels:\n  crm: {kind: webhook, agent: helper, webhook: "
                    + block + "}\n")).as(block).isEmpty();
        }
        assertThat(errors("channels:\n  crm: {kind: webhook, agent: helper, webhook: {secrets: [crm_in]}}\n"))
                .as("a channel that sends nothing needs no proxy").isEmpty();
    }
}
