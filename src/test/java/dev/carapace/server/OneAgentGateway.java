package dev.carapace.server;

import dev.carapace.config.ConfigLoader;
import dev.carapace.testing.ScriptedUpstream;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * A real gateway in front of one scripted OpenAI upstream, with one agent, {@code watcher} (team platform, tools
 * read and list, model {@code m-main} = upstream model {@code up-main}; {@code m-cheap} = {@code up-cheap} is there
 * too), restarted on the same data folder with whatever config a test gives next.
 */
final class OneAgentGateway implements AutoCloseable {

    final ScriptedUpstream up = new ScriptedUpstream();
    final Path dir;
    final Path workspace;
    Carapace carapace;

    /** @param instructions the agent's AGENTS.md */
    OneAgentGateway(Path dir, String instructions) throws Exception {
        this.dir = dir;
        this.workspace = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(workspace.resolve("AGENTS.md"), instructions);
    }

    /**
     * (Re)starts the gateway.
     *
     * @param agentSettings more settings of agent {@code watcher}, indented as its own
     * @param topLevel      more top-level sections
     */
    void start(String agentSettings, String topLevel, Clock clock) throws Exception {
        stop();
        carapace = Carapace.start(ConfigLoader.load("""
                org: acme
                providers:
                  up: {kind: openai, base_url: %s, api_key_env: UP_KEY, read_timeout: 5s}
                models:
                  m-main:
                    tier: high
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: up, model: up-main}]
                  m-cheap:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 0.1, output: 0.2}
                    deployments: [{provider: up, model: up-cheap}]
                teams:
                  platform: {}
                agents:
                  watcher:
                    workspace: %s
                    model: m-main
                    tools: [read, list]
                    owner: {team: platform}
                %s
                %s
                """.formatted(up.openAiBaseUrl(), workspace, agentSettings.indent(4), topLevel), "gateway.yaml"),
                dir.resolve("data"), Map.of("UP_KEY", "k")::get, clock, 0);
    }

    void stop() {
        if (carapace != null) carapace.close();
        carapace = null;
    }

    @Override
    public void close() {
        stop();
        up.close();
    }
}
