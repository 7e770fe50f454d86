package dev.carapace.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A guard policy names {@code channel:ID} among its agents to govern where a channel's outbound webhooks may go (the
 * egress proxy judges them as that caller); only a configured channel's id is taken.
 */
class GuardChannelCallersTest {

    @TempDir Path dir;

    String yaml(String agents) throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "x");
        Path policy = Files.writeString(dir.resolve("p.yaml"), """
                network_policies:
                  answers:
                    endpoints:
                      - {host: crm.example, port: 443, protocol: rest, access: full}
                """);
        return """
                org: acme
                providers:
                  up: {kind: openai, base_url: http://127.0.0.1:9/v1, api_key_env: UP_KEY}
                models:
                  m: {tier: mid, context_window: 1000, max_output_tokens: 100, price: {input: 1, output: 1}, deployments: [{provider: up, model: x}]}
                teams:
                  support: {}
                guard:
                  policies:
                    crm: {file: %s, agents: %s}
                secrets:
                  crm_in: env:CRM_IN
                tools: {web_fetch: proxy}
                agents:
                  helpdesk: {workspace: %s, model: m, tools: [read], owner: {team: support}}
                channels:
                  crm:
                    kind: webhook
                    agent: helpdesk
                    webhook: {secrets: [crm_in], deliver_to: "https://crm.example/answers"}
                """.formatted(policy, agents, ws);
    }

    @Test
    void aConfiguredChannelIsACallerAPolicyMayName() throws Exception {
        CarapaceConfig c = ConfigLoader.load(yaml("[\"channel:crm\", helpdesk]"), "c.yaml");
        assertThat(c.guard().policies().get("crm").agents()).containsExactly("channel:crm", "helpdesk");
    }

    @Test
    void anUnknownChannelIsRefusedWithWhatIsExpected() throws Exception {
        assertThatThrownBy(() -> ConfigLoader.load(yaml("[\"channel:crn\", \"job:x\"]"), "c.yaml"))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).hasSize(2)
                        .allSatisfy(p -> assertThat(p.message()).contains("or channel:ID for a channel's outbound webhooks")));
    }
}
