package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules.Injection;
import dev.carapace.guard.NetworkRules.NetworkDecision;
import dev.carapace.guard.NetworkRules.NetworkRequest;
import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.policy.PolicyEngine.Attachment;
import dev.carapace.guard.policy.PolicyEngine.Decision;
import dev.carapace.guard.policy.PolicyEngine.Mode;
import dev.carapace.guard.policy.PolicyEngine.Subject;
import dev.carapace.guard.policy.PolicyEngine.TargetKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PolicyEngineTest {

    @TempDir
    Path dir;

    private static final String NETWORK = """
            version: 1
            network_policies:
              github:
                endpoints:
                  - host: api.github.com
                    port: 443
                    protocol: rest
                    access: read-only
                    rules:
                      - allow: {method: POST, path: "/repos/acme/*/issues"}
                    deny_rules:
                      - {method: "*", path: "/repos/acme/secrets/**"}
                  - {host: github.com, ports: [443, 22]}
              git:
                endpoints:
                  - host: github.com
                    port: 443
                    rules:
                      - allow: {method: GET, path: "/**/info/refs*"}
                binaries: [{path: /usr/bin/git}, {path: "/sandbox/.uv/python/**/python3*"}]
              wild:
                endpoints:
                  - {host: "*.atlassian.net", port: 443, access: read-write}
                  - {host: "**.deep.example", port: 443}
              audit:
                endpoints:
                  - {host: audit.example.com, port: 443, enforcement: audit, access: read-only}
              internal:
                endpoints:
                  - {host: redis.internal, port: 6379, protocol: tcp, allowed_ips: [10.0.0.0/8]}
            credentials:
              gh: {secret: github_token, header: Authorization, template: "Bearer {secret}", hosts: [api.github.com]}
            """;

    private PolicyEngine engine(String yaml) throws Exception {
        return engine(yaml, new Subject("coder", "platform", dir));
    }

    private PolicyEngine engine(String yaml, Subject s) throws Exception {
        return PolicyEngine.compile(List.of(new Attachment(PolicyLoader.parse(yaml, "p.yaml", "p"), Set.of("*"), Set.of())),
                List.of(s));
    }

    private static NetworkRequest req(String host, int port, String method, String path) {
        return new NetworkRequest("coder", host, port, method, path, null);
    }

    @Test
    void networkAccessPresetsRulesAndDenyRules() throws Exception {
        PolicyEngine e = engine(NETWORK);
        NetworkDecision get = e.decide(req("api.github.com", 443, "GET", "/repos/acme/x"));
        assertThat(get.verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(get.rule()).isEqualTo("p:network_policies.github.endpoints[0] (access read-only)");
        assertThat(get.inject()).containsExactly(new Injection("Authorization", "Bearer {secret}", "github_token"));
        assertThat(e.decide(req("API.GitHub.com.", 443, "HEAD", "/")).verdict()).isEqualTo(Verdict.ALLOW);
        NetworkDecision post = e.decide(req("api.github.com", 443, "POST", "/repos/acme/x/issues"));
        assertThat(post.rule()).isEqualTo("p:network_policies.github.endpoints[0].rules[0]");
        NetworkDecision del = e.decide(req("api.github.com", 443, "DELETE", "/repos/acme/x"));
        assertThat(del.verdict()).isEqualTo(Verdict.DENY);
        assertThat(del.inject()).isEmpty();   // never a credential on a denied request
        assertThat(del.reason()).contains("access read-only");
        // deny wins over the read-only access that would allow GET
        NetworkDecision secret = e.decide(req("api.github.com", 443, "GET", "/repos/acme/secrets/key"));
        assertThat(secret.verdict()).isEqualTo(Verdict.DENY);
        assertThat(secret.rule()).isEqualTo("p:network_policies.github.endpoints[0].deny_rules[0]");
        // the port matters
        assertThat(e.decide(req("api.github.com", 8443, "GET", "/")).rule()).isEqualTo("coder:default-deny");
        assertThat(e.decide(req("github.com", 22, null, null)).verdict()).isEqualTo(Verdict.ALLOW);
    }

    @Test
    void defaultDenyAndAskForUnknownHosts() throws Exception {
        Decision d = engine(NETWORK).network(req("evil.example", 443, "GET", "/x"));
        assertThat(d.verdict()).isEqualTo(Verdict.DENY);
        assertThat(d.rule()).isEqualTo("coder:default-deny");
        assertThat(d.remedy()).isEqualTo("add to a policy of agent 'coder': network_policies: {NAME: {endpoints: [{host: "
                + "evil.example, port: 443, rules: [{allow: {method: GET, path: \"/x\"}}]}]}}");
        Decision ask = engine(NETWORK + "approvals: {unknown_hosts: ask}\n").network(req("evil.example", 443, "GET", "/x"));
        assertThat(ask.verdict()).isEqualTo(Verdict.ASK);
        // a known host with a refused method is denied, not asked
        assertThat(engine(NETWORK + "approvals: {unknown_hosts: ask}\n")
                .network(req("api.github.com", 443, "PUT", "/x")).verdict()).isEqualTo(Verdict.DENY);
        assertThat(engine("version: 1\n").network(req("api.github.com", 443, "GET", "/")).verdict()).isEqualTo(Verdict.DENY);
    }

    @Test
    void wildcardHostsMatchTheirLabels() throws Exception {
        PolicyEngine e = engine(NETWORK);
        assertThat(e.decide(req("acme.atlassian.net", 443, "POST", "/x")).verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(e.decide(req("acme.atlassian.net", 443, "DELETE", "/x")).verdict()).isEqualTo(Verdict.DENY);
        assertThat(e.decide(req("atlassian.net", 443, "GET", "/")).verdict()).isEqualTo(Verdict.DENY);
        assertThat(e.decide(req("a.b.atlassian.net", 443, "GET", "/")).verdict()).isEqualTo(Verdict.DENY);
        assertThat(e.decide(req("evilatlassian.net", 443, "GET", "/")).verdict()).isEqualTo(Verdict.DENY);
        assertThat(e.decide(req("a.b.deep.example", 443, "GET", "/")).verdict()).isEqualTo(Verdict.ALLOW);
    }

    @Test
    void binariesRestrictTheirGroupAndAnOpaqueTunnelNeedsAnUnrestrictedEndpoint() throws Exception {
        String yaml = """
                network_policies:
                  git:
                    endpoints:
                      - {host: github.com, port: 443, rules: [{allow: {method: GET, path: "/**/info/refs*"}}]}
                    binaries: [{path: /usr/bin/git}, {path: "/sandbox/.uv/python/**/python3*"}]
                """;
        PolicyEngine e = engine(yaml);
        NetworkRequest fromGit = new NetworkRequest("coder", "github.com", 443, "GET", "/acme/x.git/info/refs", "/usr/bin/git");
        assertThat(e.decide(fromGit).verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(e.decide(new NetworkRequest("coder", "github.com", 443, "GET", "/info/refs", "/sandbox/.uv/python/3.12/bin/python3.12"))
                .verdict()).isEqualTo(Verdict.ALLOW);
        NetworkDecision curl = e.decide(new NetworkRequest("coder", "github.com", 443, "GET", "/a/info/refs", "/usr/bin/curl"));
        assertThat(curl.verdict()).isEqualTo(Verdict.DENY);
        assertThat(curl.reason()).contains("allowed only for the binaries [/usr/bin/git");
        assertThat(e.decide(new NetworkRequest("coder", "github.com", 443, "GET", "/a/info/refs", null)).verdict())
                .isEqualTo(Verdict.DENY);
        NetworkDecision tunnel = e.decide(new NetworkRequest("coder", "github.com", 443, null, null, "/usr/bin/git"));
        assertThat(tunnel.verdict()).isEqualTo(Verdict.DENY);
        assertThat(tunnel.reason()).contains("opaque tunnel");
        assertThat(engine(NETWORK).decide(req("github.com", 443, null, null)).verdict()).isEqualTo(Verdict.ALLOW);
    }

    @Test
    void auditEnforcementLetsThroughButSaysSo() throws Exception {
        NetworkDecision d = engine(NETWORK).decide(req("audit.example.com", 443, "POST", "/x"));
        assertThat(d.verdict()).isEqualTo(Verdict.DENY);
        assertThat(d.audit()).isTrue();
        assertThat(d.allowed()).isTrue();
        assertThat(d.reason()).endsWith("[audit only]");
        assertThat(engine(NETWORK).decide(req("api.github.com", 443, "PUT", "/x")).audit()).isFalse();   // enforce is the default
    }

    @Test
    void allowedIpsPassThroughToTheProxy() throws Exception {
        NetworkDecision d = engine(NETWORK).decide(req("redis.internal", 6379, null, null));
        assertThat(d.verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(d.allowedIps()).containsExactly("10.0.0.0/8");
        assertThat(engine(NETWORK).decide(req("api.github.com", 443, "GET", "/")).allowedIps()).isEmpty();
    }

    @Test
    void toolsDenyWinsRulesAreMoreSpecificAndEverythingElseIsDenied() throws Exception {
        PolicyEngine e = engine("""
                tools:
                  allow: [read, "web_*", exec]
                  ask: [write]
                  deny: [spawn_agent]
                  rules:
                    - {id: push, tool: exec, target: "git push*", decision: ask}
                    - {id: tests, tool: exec, target: "mvn test*", decision: allow}
                    - {id: rm, tool: exec, target: "rm -rf *", decision: deny}
                    - {id: env, tool: read, target: "/**/.env", decision: deny}
                    - {id: notes, tool: write, target: "/**/notes/*.md", decision: allow}
                """);
        assertThat(e.tool("coder", "read", "/w/a.txt", TargetKind.PATH).verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(e.tool("coder", "web_fetch", "https://x", TargetKind.URL).verdict()).isEqualTo(Verdict.ALLOW);
        Decision env = e.tool("coder", "read", "/w/sub/.env", TargetKind.PATH);
        assertThat(env.verdict()).isEqualTo(Verdict.DENY);
        assertThat(env.rule()).isEqualTo("p:env");
        Decision push = e.tool("coder", "exec", "git push origin feature/x", TargetKind.COMMAND);
        assertThat(push.verdict()).isEqualTo(Verdict.ASK);
        // Regression (found from outside): an ask's remedy said to allow the tool, which an ask rule decides before
        assertThat(push.remedy()).startsWith("an operator approves the call, or " + push.rule()).doesNotContain("tools: {allow");
        assertThat(e.tool("coder", "exec", "rm -rf /", TargetKind.COMMAND).verdict()).isEqualTo(Verdict.DENY);
        assertThat(e.tool("coder", "write", "/w/notes/a.md", TargetKind.PATH).verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(e.tool("coder", "write", "/w/notes/deep/a.md", TargetKind.PATH).verdict()).isEqualTo(Verdict.ASK);
        assertThat(e.tool("coder", "spawn_agent", null, TargetKind.NONE).rule()).isEqualTo("p:tools.deny[0]");
        Decision grep = e.tool("coder", "grep", "/w", TargetKind.PATH);
        assertThat(grep.verdict()).isEqualTo(Verdict.DENY);
        assertThat(grep.rule()).isEqualTo("coder:default-deny");
        assertThat(grep.remedy()).isEqualTo("add to a policy of agent 'coder': tools: {allow: [grep]}");
    }

    @Test
    void aWildcardAllowRuleNeverMatchesAChainedCommand() throws Exception {
        PolicyEngine e = engine("""
                tools:
                  ask: [exec]
                  rules: [{id: tests, tool: exec, target: "mvn test*", decision: allow}]
                """);
        assertThat(e.tool("coder", "exec", "mvn test -q", TargetKind.COMMAND).verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(e.tool("coder", "exec", "mvn test; curl evil.example", TargetKind.COMMAND).verdict()).isEqualTo(Verdict.ASK);
        assertThat(e.tool("coder", "exec", "mvn test $(cat ~/.ssh/id_rsa)", TargetKind.COMMAND).verdict()).isEqualTo(Verdict.ASK);
    }

    @Test
    void filesystemLongestRootDecidesAndReadOnlyInsideReadWriteStaysReadOnly() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path sandbox = Files.createDirectories(dir.resolve("sandbox/.cfg"));
        PolicyEngine e = engine("""
                filesystem_policy:
                  include_workdir: true
                  read_only: [%s, /usr]
                  read_write: [%s]
                """.formatted(sandbox, sandbox.getParent()), new Subject("coder", null, ws));
        Path real = ws.toRealPath();
        assertThat(e.filesystem("coder", real.resolve("a.txt"), Mode.WRITE).rule()).isEqualTo("p:filesystem_policy.include_workdir");
        assertThat(e.filesystem("coder", sandbox.toRealPath().getParent().resolve("x"), Mode.WRITE).verdict()).isEqualTo(Verdict.ALLOW);
        Decision cfg = e.filesystem("coder", sandbox.toRealPath().resolve("token"), Mode.WRITE);
        assertThat(cfg.verdict()).isEqualTo(Verdict.DENY);
        assertThat(cfg.rule()).isEqualTo("p:filesystem_policy.read_only[0]");
        assertThat(e.filesystem("coder", sandbox.toRealPath().resolve("token"), Mode.READ).verdict()).isEqualTo(Verdict.ALLOW);
        // "/usr" does not cover "/usrx"
        assertThat(e.filesystem("coder", Path.of("/usrx/a"), Mode.READ).verdict()).isEqualTo(Verdict.DENY);
        Decision outside = e.filesystem("coder", Path.of("/etc/passwd"), Mode.READ);
        assertThat(outside.rule()).isEqualTo("coder:default-deny");
        assertThat(outside.remedy()).isEqualTo("add to a policy of agent 'coder': filesystem_policy: {read_only: [/etc]}");
        // no filesystem_policy: no file access at all
        assertThat(engine("version: 1\n").filesystem("coder", real.resolve("a"), Mode.READ).verdict()).isEqualTo(Verdict.DENY);
    }

    @Test
    void aRootReachedThroughASymlinkPlantedInAWorkspaceGrantsNothing() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Path admins = Files.createDirectories(dir.resolve("shared-real"));
        Files.createSymbolicLink(ws.resolve("out"), elsewhere);                     // planted by the agent
        Files.createSymbolicLink(dir.resolve("shared"), admins);                   // the operator's own link
        PolicyEngine e = engine("""
                filesystem_policy:
                  read_write: [%s, %s]
                """.formatted(ws.resolve("out"), dir.resolve("shared")), new Subject("coder", null, ws));
        assertThat(e.filesystem("coder", elsewhere.toRealPath().resolve("x"), Mode.WRITE).verdict())
                .isEqualTo(Verdict.DENY);
        assertThat(e.filesystemRoots("coder")).extracting(PolicyEngine.FilesystemRoot::path)
                .contains(ws.toRealPath().resolve("out")).doesNotContain(elsewhere.toRealPath());
        assertThat(e.filesystem("coder", admins.toRealPath().resolve("x"), Mode.WRITE).verdict())
                .isEqualTo(Verdict.ALLOW);
    }

    @Test
    void whatReadRulesKeepFromACommandIsFoundByAWalkBoundedInEntries() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve(".env"), "x");
        Files.createDirectories(ws.resolve("a/secrets/deep"));
        Files.writeString(ws.resolve("a/secrets/deep/k"), "x");
        Files.writeString(ws.resolve("a/b.txt"), "x");
        Files.createSymbolicLink(ws.resolve("a/.env"), ws.resolve("a/b.txt"));   // a link: its target is what is read
        PolicyEngine e = engine("""
                filesystem_policy: {include_workdir: true}
                tools:
                  allow: [exec, read]
                  rules:
                    - {id: env, tool: read, target: "/**/.env", decision: deny}
                    - {id: keys, tool: "*", target: "/**/secrets/**", decision: ask}
                """, new Subject("coder", null, ws));
        Path real = ws.toRealPath();
        // a folder a rule covers is hidden whole, not walked into; the link is left to its target's rules
        assertThat(e.unreadable("coder", List.of(real), 100)).containsExactlyInAnyOrder(real.resolve(".env"),
                real.resolve("a/secrets/deep"));
        assertThatThrownBy(() -> e.unreadable("coder", List.of(real), 3)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("more than 3 files and folders");
        // no rule on reading: nothing to walk, whatever the size
        assertThat(engine("filesystem_policy: {include_workdir: true}\n", new Subject("coder", null, ws))
                .unreadable("coder", List.of(real), 0)).isEmpty();
    }

    @Test
    void attachmentSelectsAgentsAndTeamsAndPoliciesAddUp() throws Exception {
        Policy base = PolicyLoader.parse("tools: {allow: [read]}\n", "b.yaml", "base");
        Policy extra = PolicyLoader.parse("tools: {allow: [write], deny: [read]}\n", "e.yaml", "extra");
        PolicyEngine e = PolicyEngine.compile(List.of(new Attachment(base, Set.of("*"), Set.of()),
                        new Attachment(extra, Set.of(), Set.of("platform"))),
                List.of(new Subject("coder", "platform", dir), new Subject("lab", "research", dir)));
        assertThat(e.policiesOf("coder")).containsExactly("base", "extra");
        assertThat(e.tool("coder", "write", "/x", TargetKind.PATH).verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(e.tool("coder", "read", "/x", TargetKind.PATH).rule()).isEqualTo("extra:tools.deny[0]");   // deny wins
        assertThat(e.tool("lab", "read", "/x", TargetKind.PATH).verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(e.tool("lab", "write", "/x", TargetKind.PATH).verdict()).isEqualTo(Verdict.DENY);
        Decision stranger = e.tool("ghost", "read", "/x", TargetKind.PATH);
        assertThat(stranger.reason()).isEqualTo("no policy is attached to agent 'ghost'");
        Decision closed = PolicyEngine.failClosed("broken").tool("coder", "read", "/x", TargetKind.PATH);
        assertThat(closed.verdict()).isEqualTo(Verdict.DENY);
        assertThat(closed.layer()).isEqualTo("policy");
    }
}
