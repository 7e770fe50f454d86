package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.policy.PolicyEngine.Attachment;
import dev.carapace.guard.policy.PolicyEngine.Decision;
import dev.carapace.guard.policy.PolicyEngine.Mode;
import dev.carapace.guard.policy.PolicyEngine.Subject;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link PolicyEngine#touch}: the file rules as the file gate applies them to each real path a tool opens. */
class PolicyEngineTouchTest {

    private static final Path W = Path.of("/w");

    private final PolicyEngine e;

    PolicyEngineTouchTest() throws PolicyException {
        e = PolicyEngine.compile(List.of(new Attachment(PolicyLoader.parse("""
            version: 1
            filesystem_policy:
              read_write: [/w]
              read_only: [/w/ro]
            tools:
              allow: [read, grep]
              rules:
                - {id: env, tool: read, target: "/**/.env", decision: deny}
                - {id: grep-logs, tool: grep, target: "/w/logs/**", decision: deny}
                - {id: ask-docs, tool: read, target: "/w/docs/**", decision: ask}
            """, "p.yaml", "p"), Set.of("*"), Set.of())), List.of(new Subject("coder", "platform", W)));
    }

    @Test
    void aReadRuleHoldsForAnotherToolWhenReadIsNamedAmongTheTools() {
        Decision d = e.touch("coder", List.of("grep", "read"), W.resolve("sub/.env"), Mode.READ, false);
        assertThat(d.verdict()).isEqualTo(Verdict.DENY);
        assertThat(d.rule()).isEqualTo("p:env");
        assertThat(d.reason()).isEqualTo("read '/w/sub/.env' is denied by p:env (target /**/.env)");
        // a rule for one tool only binds that tool
        assertThat(e.touch("coder", List.of("grep", "read"), W.resolve("logs/a.log"), Mode.READ, false).rule())
                .isEqualTo("p:grep-logs");
        assertThat(e.touch("coder", List.of("list", "read"), W.resolve("logs/a.log"), Mode.READ, false)).isNull();
    }

    @Test
    void theFilesystemRootsDecideFirst() {
        Decision ro = e.touch("coder", List.of("write"), W.resolve("ro/f.txt"), Mode.WRITE, false);
        assertThat(ro.layer()).isEqualTo("filesystem");
        assertThat(ro.reason()).startsWith("'/w/ro/f.txt' is under the read-only root /w/ro");
        assertThat(e.touch("coder", List.of("read"), Path.of("/etc/passwd"), Mode.READ, false).rule())
                .isEqualTo("coder:default-deny");
        assertThat(e.touch("coder", List.of("read"), W.resolve("src/a.java"), Mode.READ, false)).isNull();
        assertThat(e.touch("stranger", List.of("read"), W.resolve("src/a.java"), Mode.READ, false).reason())
                .isEqualTo("no policy is attached to agent 'stranger'");
    }

    @Test
    void anAskRuleRefusesEveryPathButTheOneTheCallNamedAndHadDecided() {
        Decision walked = e.touch("coder", List.of("grep", "read"), W.resolve("docs/a.md"), Mode.READ, false);
        assertThat(walked.verdict()).isEqualTo(Verdict.DENY);
        assertThat(walked.rule()).isEqualTo("p:ask-docs");
        assertThat(walked.reason()).contains("needs an operator's approval");
        assertThat(walked.remedy()).contains("name the file in a call of its own");
        assertThat(e.touch("coder", List.of("read"), W.resolve("docs/a.md"), Mode.READ, true)).isNull();
        // a deny rule holds even for the named path
        assertThat(e.touch("coder", List.of("read"), W.resolve("sub/.env"), Mode.READ, true).rule()).isEqualTo("p:env");
    }
}
