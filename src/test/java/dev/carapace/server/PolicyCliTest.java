package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.server.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class PolicyCliTest {

    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void checkPrintsASummaryOrEveryProblem() throws Exception {
        Run ok = run("policy", "check", Path.of("policies/example.yaml").toString());
        assertThat(ok.code()).isZero();
        assertThat(ok.out()).startsWith("ok: 2 network groups, 2 endpoints");

        Path bad = Files.writeString(dir.resolve("bad.yaml"), "version: 1\nnetwork_middlewares: {}\nfilesystem_policy: {read_only: [usr]}\n");
        Run refused = run("policy", "check", bad.toString());
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).isEqualTo(bad + ":2:1: network_middlewares: unsupported field 'network_middlewares': "
                + "Carapace has no traffic middlewares (content guards that rewrite or block allowed traffic); remove the "
                + "section, or scan content with the privacy router\n"
                + bad + ":3:33: filesystem_policy.read_only[0]: expected an absolute path, got 'usr'\n2 errors\n");

        Run json = run("policy", "check", bad.toString(), "--json");
        assertThat(json.code()).isEqualTo(1);
        JsonNode n = new ObjectMapper().readTree(json.out());
        assertThat(n.path("ok").asBoolean()).isFalse();
        assertThat(n.path("errors").get(1).path("line").asInt()).isEqualTo(3);
        assertThat(n.path("errors").get(1).path("path").asText()).isEqualTo("filesystem_policy.read_only[0]");

        assertThat(run("policy", "check", dir.resolve("missing.yaml").toString()).err()).contains("file not found");
    }

    @Test
    void explainNamesTheDecidingRuleLayerByLayer() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path policy = Files.writeString(Files.createDirectories(dir.resolve("etc")).resolve("base.yaml"), """
                filesystem_policy: {include_workdir: true}
                network_policies:
                  github:
                    endpoints: [{host: api.github.com, port: 443, access: read-only}]
                tools:
                  allow: [read, web_fetch]
                """);
        Path config = Files.writeString(dir.resolve("etc/carapace.yaml"), """
                providers:
                  openai: {kind: openai, base_url: https://api.openai.com/v1}
                models:
                  m:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: openai}]
                teams:
                  platform: {}
                tools: {web_fetch: direct}
                guard:
                  policies:
                    base: {file: %s, agents: [coder]}
                agents:
                  coder: {workspace: %s, model: m, tools: [read, web_fetch], owner: {team: platform}}
                """.formatted(policy, ws));
        Run web = run("policy", "explain", "--config", config.toString(), "--agent", "coder", "--tool", "web_fetch",
                "--target", "https://api.github.com/repos/x");
        assertThat(web.code()).as(web.err()).isZero();
        assertThat(web.out()).contains("tool       allow by base:tools.allow[1]")
                .contains("network    allow by base:network_policies.github.endpoints[0] (access read-only)")
                .contains("decision   allow (base:network_policies.github.endpoints[0] (access read-only))");

        Run connect = run("policy", "explain", "--config", config.toString(), "--agent", "coder", "--target", "api.github.com:443");
        assertThat(connect.out()).contains("network    deny by base:network_policies.github.endpoints[0]: CONNECT api.github.com:443 would be an opaque tunnel");

        Run post = run("policy", "explain", "--config", config.toString(), "--agent", "coder", "--target",
                "https://api.github.com/repos/x", "--method", "POST");
        assertThat(post.out()).contains("remedy: add to base:network_policies.github.endpoints[0]: rules: [{allow: {method: POST, path: \"/repos/x\"}}]");

        Run read = run("policy", "explain", "--config", config.toString(), "--agent", "coder", "--tool", "read",
                "--target", "../etc/base.yaml", "--json");
        JsonNode n = new ObjectMapper().readTree(read.out());
        assertThat(n.path("decision").asText()).isEqualTo("deny");
        assertThat(n.path("rule").asText()).isEqualTo("coder:default-deny");
        assertThat(n.path("steps").get(1).path("layer").asText()).isEqualTo("filesystem");
        assertThat(n.path("steps").get(1).path("remedy").asText()).startsWith("add to a policy of agent 'coder': filesystem_policy: {read_only: [");

        Run unknown = run("policy", "explain", "--config", config.toString(), "--agent", "nobody", "--tool", "read");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).isEqualTo("error: no agent 'nobody' (agents: coder)\n");
    }
}
