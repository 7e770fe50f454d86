package dev.carapace.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The config a channel kind's config test starts from: one model, team {@code t}, one agent, the kind's secrets. */
final class ChannelConfigs {

    private ChannelConfigs() {}

    /**
     * @param dir     the test's temporary folder (the agent's workspace is made in it)
     * @param agent   the agent's line under {@code agents:}, {@code %s} standing for its workspace
     * @param secrets the lines under {@code secrets:}
     */
    static String base(Path dir, String agent, String... secrets) throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        StringBuilder yaml = new StringBuilder("""
                providers:
                  up: {kind: openai, base_url: "http://127.0.0.1:9/v1"}
                models:
                  m: {tier: mid, context_window: 1000, max_output_tokens: 100, price: {input: 1, output: 1}, deployments: [{provider: up, model: x}]}
                teams:
                  t: {}
                agents:
                """).append("  ").append(agent.formatted(ws)).append("\nsecrets:\n");
        for (String s : secrets) yaml.append("  ").append(s).append('\n');
        return yaml.toString();
    }

    /** What the config check says of {@code yaml}, one line per error. */
    static List<String> errors(String yaml) {
        return ConfigLoader.check(yaml, "t.yaml", name -> null).errors().stream().map(Object::toString).toList();
    }
}
