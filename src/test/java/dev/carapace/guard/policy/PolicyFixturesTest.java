package dev.carapace.guard.policy;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/** Every real OpenShell and NemoClaw policy file either loads, or is refused naming the field and its line. */
class PolicyFixturesTest {

    static final Path FIXTURES = Path.of("/work/shared/fixtures");

    /** File -> number of network groups it loads with. */
    private static final Map<String, Integer> LOADS = new TreeMap<>(Map.ofEntries(
            Map.entry("openshell-policies/crates__openshell-prover__testdata__empty-policy.yaml", 0),
            Map.entry("openshell-policies/crates__openshell-prover__testdata__policy.yaml", 1),
            Map.entry("openshell-policies/crates__openshell-supervisor-network__testdata__sandbox-policy.yaml", 4),
            Map.entry("openshell-policies/e2e__policy-advisor__policy.template.yaml", 1),
            Map.entry("openshell-policies/examples__agent-driven-policy-management__policy.template.yaml", 3),
            Map.entry("openshell-policies/examples__governance-interceptor__policy.yaml", 1),
            Map.entry("openshell-policies/examples__local-inference__sandbox-policy.yaml", 2),
            Map.entry("openshell-policies/examples__multi-agent-notepad__policy.template.yaml", 3),
            Map.entry("openshell-policies/examples__policy-advisor__sandbox-policy.yaml", 1),
            Map.entry("openshell-policies/examples__sandbox-policy-quickstart__policy.yaml", 1),
            Map.entry("openshell-policies/examples__transparent-tcp-redis__policy.yaml", 1),
            Map.entry("openshell-policies/scripts__agents__gator__policy.yaml", 0),
            Map.entry("nemoclaw-policies/openclaw-sandbox.yaml", 9),
            Map.entry("nemoclaw-policies/presets-discord.yaml", 1),
            Map.entry("nemoclaw-policies/presets-docker.yaml", 1),
            Map.entry("nemoclaw-policies/presets-huggingface.yaml", 1),
            Map.entry("nemoclaw-policies/presets-jira.yaml", 1),
            Map.entry("nemoclaw-policies/presets-npm.yaml", 1),
            Map.entry("nemoclaw-policies/presets-outlook.yaml", 1),
            Map.entry("nemoclaw-policies/presets-pypi.yaml", 1),
            Map.entry("nemoclaw-policies/presets-slack.yaml", 1),
            Map.entry("nemoclaw-policies/presets-telegram.yaml", 1)));

    /** File -> the problems it is refused with (file name left out). */
    private static final Map<String, List<String>> REFUSED = Map.of(
            "openshell-policies/examples__supervisor-middleware-content-guard__policy.yaml", List.of(
                    ":6:1: network_middlewares: unsupported field 'network_middlewares': Carapace has no traffic "
                            + "middlewares (content guards that rewrite or block allowed traffic); remove the section, "
                            + "or scan content with the privacy router"),
            "openshell-policies/e2e__mcp-conformance__policy-template.yaml", List.of(
                    ":36:9: this looks like a template: placeholder ${host_spec} is not filled in; render the template "
                            + "before loading it",
                    ":38:13: YAML syntax error: could not find expected ':' (while scanning a simple key at line 37)"));

    @Test
    void everyFixtureHasAnExpectedOutcome() throws Exception {
        List<String> all;
        try (Stream<Path> s = Stream.concat(Files.list(FIXTURES.resolve("openshell-policies")),
                Files.list(FIXTURES.resolve("nemoclaw-policies")))) {
            all = s.filter(p -> p.toString().endsWith(".yaml")).map(p -> FIXTURES.relativize(p).toString()).sorted().toList();
        }
        assertThat(all).hasSize(LOADS.size() + REFUSED.size());
        for (String name : all) {
            Path file = FIXTURES.resolve(name);
            if (LOADS.containsKey(name)) {
                try {
                    Policy p = PolicyLoader.load(file);
                    assertThat(p.network()).as(name).hasSize(LOADS.get(name));
                } catch (PolicyException e) {
                    fail(name + " should load but was refused: " + e.getMessage());
                }
            } else {
                assertThat(REFUSED).as("outcome listed for " + name).containsKey(name);
                assertThatThrownBy(() -> PolicyLoader.load(file)).as(name).isInstanceOfSatisfying(PolicyException.class,
                        e -> assertThat(e.problems()).extracting(Object::toString)
                                .containsExactlyElementsOf(REFUSED.get(name).stream().map(m -> file + m).toList()));
            }
        }
    }

    @Test
    void theMcpTemplateFilledInIsRefusedForItsMcpFields() throws Exception {
        Path file = FIXTURES.resolve("openshell-policies/e2e__mcp-conformance__policy-template.yaml");
        String text = Files.readString(file).replace("- ${host_spec}\n${port_spec}\n", "- host: mcp.internal.example\n        port: 8443\n")
                .replace("${path}", "/mcp");
        assertThatThrownBy(() -> PolicyLoader.parse(text, "mcp.yaml", "mcp")).isInstanceOfSatisfying(PolicyException.class,
                e -> assertThat(e.problems()).extracting(Object::toString).containsExactly(
                        "mcp.yaml:39:19: network_policies.mcp_conformance.endpoints[0].protocol: unsupported protocol 'mcp': "
                                + "Carapace inspects HTTP requests (rest) or allows plain connections (tcp, or no protocol); "
                                + "websocket, graphql, json-rpc, mcp and sql inspection are not implemented",
                        "mcp.yaml:46:9: network_policies.mcp_conformance.endpoints[0].mcp: unsupported field 'mcp': MCP "
                                + "message inspection is not implemented; Carapace cannot enforce these limits",
                        "mcp.yaml:50:20: network_policies.mcp_conformance.endpoints[0].rules[0].allow: missing "
                                + "field 'method' (an HTTP method such as GET, or *)",
                        "mcp.yaml:50:20: network_policies.mcp_conformance.endpoints[0].rules[0].allow: missing "
                                + "field 'path' (a path glob such as /repos/** (use /** for every path))"));
    }

    @Test
    void fixtureSemanticsSurviveLoading() throws Exception {
        Policy sandbox = PolicyLoader.load(FIXTURES.resolve("nemoclaw-policies/openclaw-sandbox.yaml"));
        assertThat(sandbox.filesystem().includeWorkdir()).isTrue();
        assertThat(sandbox.filesystem().readOnly()).extracting(r -> r.path().toString()).contains("/sandbox/.openclaw");
        assertThat(sandbox.process()).isEqualTo(new Policy.Process("sandbox", "sandbox"));
        Policy.Endpoint statsig = sandbox.network().get("claude_code").endpoints().get(1);
        assertThat(statsig.protocol()).isNull();
        assertThat(statsig.l7()).isFalse();   // allow * /** restricts nothing, but is kept as a rule
        assertThat(statsig.allow()).extracting(Policy.HttpRule::method).containsExactly("*");
        Policy jira = PolicyLoader.load(FIXTURES.resolve("nemoclaw-policies/presets-jira.yaml"));
        assertThat(jira.network().get("atlassian").endpoints().getFirst().host()).isEqualTo("*.atlassian.net");
        Policy redis = PolicyLoader.load(FIXTURES.resolve("openshell-policies/examples__transparent-tcp-redis__policy.yaml"));
        assertThat(redis.network().get("redis").endpoints().getFirst().allowedIps())
                .containsExactly("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16");
    }
}
