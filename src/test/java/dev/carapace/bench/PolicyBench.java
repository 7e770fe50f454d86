package dev.carapace.bench;

import dev.carapace.guard.NetworkRules.NetworkDecision;
import dev.carapace.guard.NetworkRules.NetworkRequest;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyEngine.Attachment;
import dev.carapace.guard.policy.PolicyEngine.Decision;
import dev.carapace.guard.policy.PolicyEngine.Subject;
import dev.carapace.guard.policy.PolicyEngine.TargetKind;
import dev.carapace.guard.policy.PolicyLoader;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Policy decision latency on a realistic policy: NemoClaw's OpenClaw sandbox policy (9 groups, 15 endpoints, 26 L7
 * rules, 11 filesystem roots) plus a Carapace section of 5 tool lists entries and 8 target rules and 4 deny rules:
 * about 55 rules. Run with {@code bench/jmh PolicyBench -f 1 -bm sample -tu us}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PolicyBench {

    private static final String EXTRA = """
            tools:
              allow: [read, list, glob, grep, web_fetch]
              ask: [write, edit]
              deny: [spawn_agent]
              rules:
                - {tool: exec, target: "git push*", decision: ask}
                - {tool: exec, target: "rm -rf *", decision: deny}
                - {tool: exec, target: "mvn -q test*", decision: allow}
                - {tool: exec, target: "npm test*", decision: allow}
                - {tool: exec, target: "curl *", decision: deny}
                - {tool: read, target: "/**/.env", decision: deny}
                - {tool: read, target: "/**/*.pem", decision: deny}
                - {tool: write, target: "/sandbox/notes/**", decision: allow}
            network_policies:
              github_rw:
                endpoints:
                  - host: api.github.com
                    port: 443
                    protocol: rest
                    access: read-write
                    deny_rules:
                      - {method: "*", path: "/repos/*/*/actions/secrets/**"}
                      - {method: DELETE, path: "/repos/**"}
                      - {method: PUT, path: "/repos/*/*/branches/*/protection"}
                      - {method: POST, path: "/repos/*/*/pulls/*/reviews"}
            """;

    private PolicyEngine engine;
    private NetworkRequest allowedDeepRule, deniedByDenyRule, unknownHost, wildcardTunnel;

    @Setup
    public void setup() throws Exception {
        String sandbox = Files.readString(Path.of("/work/shared/fixtures/nemoclaw-policies/openclaw-sandbox.yaml"));
        engine = PolicyEngine.compile(List.of(
                        new Attachment(PolicyLoader.parse(sandbox, "sandbox.yaml", "sandbox"), Set.of("*"), Set.of()),
                        new Attachment(PolicyLoader.parse(EXTRA, "extra.yaml", "extra"), Set.of("*"), Set.of())),
                List.of(new Subject("coder", "platform", Path.of("/sandbox/work"))));
        allowedDeepRule = new NetworkRequest("coder", "api.telegram.org", 443, "POST", "/bot123:abc/sendMessage", null);
        deniedByDenyRule = new NetworkRequest("coder", "api.github.com", 443, "PUT", "/repos/acme/app/branches/main/protection", null);
        unknownHost = new NetworkRequest("coder", "exfil.evil.example", 443, "GET", "/x", null);
        wildcardTunnel = new NetworkRequest("coder", "github.com", 443, null, null, "/usr/bin/git");
        if (!engine.decide(allowedDeepRule).allowed() || engine.decide(deniedByDenyRule).allowed()) {
            throw new IllegalStateException("the benchmark policy does not decide as expected");
        }
    }

    @Benchmark
    public NetworkDecision networkAllowedByPathRule() { return engine.decide(allowedDeepRule); }

    @Benchmark
    public NetworkDecision networkDeniedByDenyRule() { return engine.decide(deniedByDenyRule); }

    @Benchmark
    public NetworkDecision networkUnknownHost() { return engine.decide(unknownHost); }

    @Benchmark
    public NetworkDecision networkTunnelWithBinary() { return engine.decide(wildcardTunnel); }

    @Benchmark
    public Decision toolExecThroughRules() { return engine.tool("coder", "exec", "mvn -q test -Dtest=Foo", TargetKind.COMMAND); }

    @Benchmark
    public Decision toolReadPathRules() { return engine.tool("coder", "read", "/sandbox/work/src/main/App.java", TargetKind.PATH); }

    @Benchmark
    public Decision filesystemWrite() {
        return engine.filesystem("coder", Path.of("/sandbox/.openclaw/config.json"), PolicyEngine.Mode.WRITE);
    }
}
