package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules.Verdict;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class PolicyLoaderTest {

    private static List<String> errors(String yaml) {
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> PolicyLoader.parse(yaml, "p.yaml", "p"));
        assertThat(e).as("expected the policy to be refused").isNotNull();
        return e.problems().stream().map(Object::toString).toList();
    }

    @Test
    void readsTheCarapaceExtensions() throws Exception {
        Policy p = PolicyLoader.parse("""
                version: 1
                tools:
                  allow: [read, "web_*"]
                  ask: [exec]
                  deny: [spawn_agent]
                  rules:
                    - {id: push, tool: exec, target: "git push*", decision: ask}
                    - {tool: read, target: "/**/.env", decision: deny}
                approvals: {unknown_hosts: ask}
                credentials:
                  gh: {secret: github_token, header: Authorization, template: "Bearer {secret}", hosts: [API.GitHub.com]}
                """, "p.yaml", "base");
        assertThat(p.tools().allow()).extracting(Policy.NameRule::glob).containsExactly("read", "web_*");
        assertThat(p.tools().rules()).extracting(Policy.ToolRule::rule).containsExactly("base:push", "base:tools.rules[1]");
        assertThat(p.tools().rules().get(1).decision()).isEqualTo(Verdict.DENY);
        assertThat(p.approvals().unknownHosts()).isEqualTo(Verdict.ASK);
        assertThat(p.credentials().get("gh")).isEqualTo(new Policy.Credential("base:credentials.gh", "github_token",
                "Authorization", "Bearer {secret}", List.of("api.github.com")));
        assertThat(p.filesystem()).isNull();
    }

    @Test
    void unknownAndUnsupportedFieldsAreNamedWithTheirLine() {
        assertThat(errors("""
                version: 1
                filesystem_policy:
                  read_only: [/usr]
                  read_writ: [/tmp]
                network_policies:
                  g:
                    endpoints:
                      - host: api.example.com
                        port: 443
                        protocol: websocket
                        query_rules: []
                process: {run_as_user: root}
                inference: {}
                """)).containsExactly(
                "p.yaml:4:3: filesystem_policy.read_writ: unknown field 'read_writ' (expected one of: include_workdir, "
                        + "read_only, read_write)",
                "p.yaml:10:19: network_policies.g.endpoints[0].protocol: unsupported protocol 'websocket': Carapace "
                        + "inspects HTTP requests (rest) or allows plain connections (tcp, or no protocol); websocket, "
                        + "graphql, json-rpc, mcp and sql inspection are not implemented",
                "p.yaml:11:9: network_policies.g.endpoints[0].query_rules: unknown field 'query_rules' (expected one of: "
                        + "host, port, ports, path, protocol, tls, enforcement, access, rules, deny_rules, allowed_ips)",
                "p.yaml:12:24: process.run_as_user: unsupported value 'root' for 'run_as_user': Carapace runs exec as the "
                        + "unprivileged sandbox identity (no capabilities, no_new_privs) and cannot switch to other "
                        + "users; write 'sandbox' or leave the field out",
                "p.yaml:13:1: inference: unsupported field 'inference': inference routing is configured in Carapace's "
                        + "own config (models, tiers), not in a policy");
    }

    @Test
    void malformedValuesSayWhatIsExpected() {
        assertThat(errors("""
                version: 2
                filesystem_policy:
                  read_write: [/, tmp, /a/../b]
                network_policies:
                  g:
                    endpoints:
                      - {host: "*.com", port: 443}
                      - {host: "api.*.example.com", port: 443}
                      - {host: a.example.com, port: 70000}
                      - {host: b.example.com}
                      - {host: c.example.com, port: 443, protocol: tcp, access: read-only}
                      - {host: d.example.com, port: 443, protocol: rest}
                      - {host: e.example.com, port: 443, enforcement: strict, access: write}
                      - {host: f.example.com, port: 443, allowed_ips: [10.0.0.0/33]}
                      - {host: g.example.com, port: 443, rules: [{allow: {method: "GE T", path: "x"}}]}
                """)).containsExactly(
                "p.yaml:1:10: version: expected 1 (the only policy schema version), got '2'",
                "p.yaml:3:16: filesystem_policy.read_write[0]: '/' is too broad to be writable; name the directories the agent may write",
                "p.yaml:3:19: filesystem_policy.read_write[1]: expected an absolute path, got 'tmp'",
                "p.yaml:3:24: filesystem_policy.read_write[2]: a root must not contain '.' or '..' segments, got '/a/../b'",
                "p.yaml:7:16: network_policies.g.endpoints[0].host: a wildcard needs at least two labels after it (not a "
                        + "whole top-level domain), got '*.com'",
                "p.yaml:8:16: network_policies.g.endpoints[1].host: a wildcard may only be the whole first label "
                        + "('*.example.com' for one label, '**.example.com' for any number), got 'api.*.example.com'",
                "p.yaml:9:37: network_policies.g.endpoints[2].port: expected a port between 1 and 65535, got '70000'",
                "p.yaml:10:9: network_policies.g.endpoints[3]: missing field 'port' (the TCP port, e.g. 443) or 'ports' (a list)",
                "p.yaml:11:9: network_policies.g.endpoints[4]: protocol tcp allows plain connections: access, rules, "
                        + "deny_rules and path need protocol rest (or no protocol)",
                "p.yaml:12:9: network_policies.g.endpoints[5]: protocol rest inspects requests, but nothing is allowed: "
                        + "give access (read-only, read-write, full) or rules, or leave protocol out for connection-level access",
                "p.yaml:13:55: network_policies.g.endpoints[6].enforcement: expected enforce or audit, got 'strict'",
                "p.yaml:13:71: network_policies.g.endpoints[6].access: expected read-only, read-write or full, got 'write'",
                "p.yaml:14:56: network_policies.g.endpoints[7].allowed_ips[0]: expected a CIDR block such as 10.0.0.0/8 "
                        + "or fc00::/7, got '10.0.0.0/33'",
                "p.yaml:15:67: network_policies.g.endpoints[8].rules[0].allow.method: expected an HTTP method such as "
                        + "GET, or *, got 'GE T'");
    }

    @Test
    void extensionMistakesAreRefused() {
        assertThat(errors("""
                tools:
                  allow: [Read]
                  rules:
                    - {tool: exec, target: "x", decision: maybe}
                approvals: {unknown_hosts: allow}
                credentials:
                  gh: {secret: "ghp_abc def", header: Host, template: "Bearer", hosts: []}
                """)).containsExactly(
                "p.yaml:2:11: tools.allow[0]: expected a tool name or glob (such as read or web_*), got 'Read'",
                "p.yaml:4:43: tools.rules[0].decision: expected allow, ask or deny, got 'maybe'",
                "p.yaml:5:28: approvals.unknown_hosts: expected deny or ask, got 'allow'",
                "p.yaml:7:3: credentials.gh: missing field 'hosts' (where the credential may be sent)",
                "p.yaml:7:16: credentials.gh.secret: expected a secret's name (letters, digits, '_', '.', '-'); the value "
                        + "itself never goes in a policy",
                "p.yaml:7:39: credentials.gh.header: expected an HTTP header name the proxy may set, got 'Host'",
                "p.yaml:7:55: credentials.gh.template: the template must hold {secret} exactly once, on one line (e.g. "
                        + "\"Bearer {secret}\")");
    }

    @Test
    void syntaxErrorsAndEmptyFilesAreReportedAtTheirLine() {
        assertThat(errors("version: 1\nnetwork_policies:\n  g: {endpoints: [\n")).singleElement().asString()
                .startsWith("p.yaml:4:1: YAML syntax error:");
        assertThat(errors("")).containsExactly("p.yaml:1:1: the file is empty (expected at least 'version: 1')");
        assertThat(errors("- a\n- b\n")).containsExactly(
                "p.yaml:1:1: expected policy fields (key: value lines) at the top level, got a list");
        assertThat(errors("version: 1\nversion: 1\n")).containsExactly(
                "p.yaml:2:1: version: duplicate field 'version' (first given at line 1)");
    }
}
