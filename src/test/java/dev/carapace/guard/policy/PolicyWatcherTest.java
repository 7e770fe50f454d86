package dev.carapace.guard.policy;

import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.policy.PolicyEngine.Subject;
import dev.carapace.guard.policy.PolicyEngine.TargetKind;
import dev.carapace.yaml.Problem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class PolicyWatcherTest {

    @TempDir
    Path dir;

    private final List<AuditEvent> events = new CopyOnWriteArrayList<>();

    private PolicyWatcher watcher(Path policy, PolicyWatcher.OnInvalid onInvalid) throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        return new PolicyWatcher(List.of(new PolicyWatcher.Source("base", policy, Set.of("*"), Set.of())),
                List.of(new Subject("coder", null, ws)), List.of(), onInvalid, events::add, Clock.systemUTC());
    }

    private static Verdict exec(PolicyWatcher w) {
        return w.current().tool("coder", "exec", "ls", TargetKind.COMMAND).verdict();
    }

    @Test
    void aValidEditTakesEffectAndAnInvalidOneKeepsTheLastValidPolicy() throws Exception {
        Path policies = Files.createDirectories(dir.resolve("policies"));
        Path file = policies.resolve("base.yaml");
        Files.writeString(file, "tools: {allow: [read]}\n");
        try (PolicyWatcher w = watcher(file, PolicyWatcher.OnInvalid.KEEP)) {
            w.start();
            assertThat(exec(w)).isEqualTo(Verdict.DENY);
            PolicyEngine before = w.current();

            Files.writeString(file, "tools: {allow: [read, exec]}\n");
            await().atMost(Duration.ofSeconds(10)).until(() -> exec(w) == Verdict.ALLOW);
            assertThat(w.current()).isNotSameAs(before);
            assertThat(events).extracting(AuditEvent::outcome).contains("allow");

            Files.writeString(file, "tools: {allow: [read, exec]\n");   // broken YAML
            await().atMost(Duration.ofSeconds(10)).until(() -> w.reloadFailures() == 1);
            assertThat(exec(w)).isEqualTo(Verdict.ALLOW);   // the last valid policy stays
            AuditEvent alert = events.getLast();
            assertThat(alert.layer()).isEqualTo("policy");
            assertThat(alert.outcome()).isEqualTo("deny");
            assertThat(alert.target()).isEqualTo(file.toString());
            assertThat(alert.reason()).startsWith("invalid policy edit refused (last valid policy kept): " + file + ":2:1: YAML syntax error");
        }
    }

    @Test
    void failClosedDeniesEverythingUntilTheFileIsFixed() throws Exception {
        Path file = Files.createDirectories(dir.resolve("policies")).resolve("base.yaml");
        Files.writeString(file, "tools: {allow: [exec]}\n");
        try (PolicyWatcher w = watcher(file, PolicyWatcher.OnInvalid.FAIL_CLOSED)) {
            assertThat(exec(w)).isEqualTo(Verdict.ALLOW);
            Files.writeString(file, "tools: {allow: [exec], colour: red}\n");
            assertThat(w.reload()).isFalse();
            PolicyEngine.Decision d = w.current().tool("coder", "exec", "ls", TargetKind.COMMAND);
            assertThat(d.verdict()).isEqualTo(Verdict.DENY);
            assertThat(d.layer()).isEqualTo("policy");
            assertThat(d.reason()).contains("fails closed").contains("unknown field 'colour'");
            assertThat(w.current().network(new dev.carapace.guard.NetworkRules.NetworkRequest("coder", "a.example", 443,
                    "GET", "/", null)).verdict()).isEqualTo(Verdict.DENY);
            Files.writeString(file, "tools: {allow: [exec]}\n");
            assertThat(w.reload()).isTrue();
            assertThat(exec(w)).isEqualTo(Verdict.ALLOW);
        }
    }

    @Test
    void aPolicyOrConfigFileInsideAWritableRootIsRefused() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path inside = ws.resolve("policy.yaml");
        Files.writeString(inside, "tools: {allow: [read]}\n");
        assertThatThrownBy(() -> new PolicyWatcher(List.of(new PolicyWatcher.Source("base", inside, Set.of("*"), Set.of())),
                List.of(new Subject("coder", null, ws)), List.of(), PolicyWatcher.OnInvalid.KEEP, events::add, Clock.systemUTC()))
                .isInstanceOf(PolicyException.class)
                .hasMessage(inside + ": lies inside the workspace of agent 'coder', so an agent could rewrite it; move "
                        + "policy and config files outside every writable root");

        Path outside = Files.createDirectories(dir.resolve("etc")).resolve("policy.yaml");
        Path config = dir.resolve("etc/carapace.yaml");
        Files.writeString(config, "org: acme\n");
        Files.writeString(outside, "filesystem_policy: {read_write: [" + dir.resolve("etc") + "]}\n");
        assertThatThrownBy(() -> new PolicyWatcher(List.of(new PolicyWatcher.Source("base", outside, Set.of("*"), Set.of())),
                List.of(new Subject("coder", null, ws)), List.of(config), PolicyWatcher.OnInvalid.KEEP, events::add,
                Clock.systemUTC()))
                .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.problems()).extracting(Problem::file)
                        .containsExactly(outside.toString(), config.toString()));
    }

    /**
     * A protected file that does not exist yet (a secret file the secret manager writes later) is guarded where it
     * will really be: through a symlinked folder, a policy edit making that folder writable is refused, as the config
     * loader refuses it at start-up.
     */
    @Test
    void aProtectedFileNotYetWrittenBehindASymlinkIsGuardedWhereItWillReallyBe() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path secrets = Files.createDirectories(dir.resolve("secrets"));
        Path token = Files.createSymbolicLink(dir.resolve("secrets-link"), secrets).resolve("token");
        Path policy = Files.createDirectories(dir.resolve("etc")).resolve("policy.yaml");
        Files.writeString(policy, "filesystem_policy: {read_write: [" + secrets + "]}\n");
        assertThatThrownBy(() -> new PolicyWatcher(List.of(new PolicyWatcher.Source("base", policy, Set.of("*"), Set.of())),
                List.of(new Subject("coder", null, ws)), List.of(token), PolicyWatcher.OnInvalid.KEEP, events::add,
                Clock.systemUTC()))
                .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.problems()).extracting(Problem::file)
                        .containsExactly(token.toString()));
    }
}
