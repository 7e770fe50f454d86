package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.policy.PolicyEngine.Attachment;
import dev.carapace.guard.policy.PolicyEngine.Subject;
import dev.carapace.guard.policy.PolicyEngine.TargetKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Command rules hold against other spellings of the same command (issue 12, class 9). */
class CommandRuleTest {

    private static final PolicyEngine ENGINE = engine("""
            tools:
              allow: [exec]
              rules:
                - {id: rm, tool: exec, target: "rm -rf *", decision: deny}
                - {id: push, tool: exec, target: "git push --force*", decision: deny}
                - {id: curl, tool: exec, target: "curl *", decision: ask}
            """);

    /** An engine for agent coder with the one policy {@code yaml}. */
    static PolicyEngine engine(String yaml) {
        try {
            return PolicyEngine.compile(List.of(new Attachment(PolicyLoader.parse(yaml, "p.yaml", "p"), Set.of("*"),
                    Set.of())), List.of(new Subject("coder", "platform", Path.of("/tmp"))));
        } catch (PolicyException e) {
            throw new AssertionError(e);
        }
    }

    static Verdict exec(PolicyEngine e, String command) {
        return e.tool("coder", "exec", command, TargetKind.COMMAND).verdict();
    }

    @ParameterizedTest
    @ValueSource(strings = {"rm -rf x", "rm -r -f x", "rm -fr x", "rm -f -r x", "rm x -rf", "rm -rfv x", "rm -v -r -f x",
            "/bin/rm -rf x", "\\rm -rf x", "'rm' -rf x", "\"r\"m -rf x", "r''m -rf x", "rm -rf -- x",
            "cd /tmp; rm -rf x", "true && rm -rf x", "false || rm -rf x", "echo hi | rm -rf x", "(rm -rf x)",
            "echo $(rm -rf x)", "echo `rm -rf x`", "echo \"$(rm -rf x)\"", "sh -c 'rm -rf x'", "bash -lc \"rm -r -f x\"",
            "env FOO=1 rm -rf x", "sudo -n rm -rf x", "timeout 5 rm -rf x", "nice -n 10 rm -fr x", "xargs rm -rf < list",
            "FOO=bar rm -rf x", "eval rm -rf x", "if true; then rm -rf x; fi", "rm -rf x > /dev/null 2>&1",
            "rm\t-rf\tx", "rm -rf x &", "x=rm; $x -rf y", "${CMD} -rf y", "`which rm` -rf y", "r? -rf y",
            "f() { rm -rf x; }; f", "function f { rm -rf x; }; f", "function f() { rm -rf x; }; f",
            "function f {\nrm -rf x\n}\nf"})
    void aDenyRuleStopsEverySpellingOfTheCommand(String command) {
        assertThat(exec(ENGINE, command)).as(command).isEqualTo(Verdict.DENY);
    }

    @ParameterizedTest
    @ValueSource(strings = {"rm x", "rm -r x", "rm -f x", "echo rm -rf x", "echo 'rm -rf x'", "grep -rf pattern x",
            "ls -la", "git push origin main", "mvn -q test", "printf '%s' '$(rm -rf x)'"})
    void otherCommandsAreNotCaught(String command) {
        assertThat(exec(ENGINE, command)).as(command).isEqualTo(Verdict.ALLOW);
    }

    @Test
    void aDenyRuleWithALongOptionMatchesItsLongSpellingOnly() {
        assertThat(exec(ENGINE, "git push --force origin main")).isEqualTo(Verdict.DENY);
        assertThat(exec(ENGINE, "git push origin main --force=yes")).isEqualTo(Verdict.DENY);
        assertThat(exec(ENGINE, "git push -f origin main")).as("-f is not known to be --force: documented")
                .isEqualTo(Verdict.ALLOW);
    }

    @Test
    void anAskRuleAsksForAWrappedOrChainedCommandToo() {
        assertThat(exec(ENGINE, "curl https://x.example")).isEqualTo(Verdict.ASK);
        assertThat(exec(ENGINE, "ls; /usr/bin/curl -s https://x.example")).isEqualTo(Verdict.ASK);
        assertThat(exec(ENGINE, "env curl https://x.example")).isEqualTo(Verdict.ASK);
    }

    @Test
    void anAllowRuleAllowsOnlyAPlainCommandWithExactlyItsFlagsUnlessItEndsInAStar() {
        PolicyEngine e = engine("""
                tools:
                  ask: [exec]
                  rules:
                    - {id: ls, tool: exec, target: "ls -la", decision: allow}
                    - {id: tests, tool: exec, target: "mvn test*", decision: allow}
                """);
        assertThat(exec(e, "ls -la")).isEqualTo(Verdict.ALLOW);
        assertThat(exec(e, "ls -al")).isEqualTo(Verdict.ALLOW);
        assertThat(exec(e, "ls -l -a")).isEqualTo(Verdict.ALLOW);
        assertThat(exec(e, "ls -la /etc")).isEqualTo(Verdict.ASK);
        assertThat(exec(e, "ls -laR")).isEqualTo(Verdict.ASK);
        assertThat(exec(e, "ls -la > out.txt")).isEqualTo(Verdict.ASK);
        assertThat(exec(e, "mvn test -q")).isEqualTo(Verdict.ALLOW);
        assertThat(exec(e, "mvn test -Dtest=A")).isEqualTo(Verdict.ALLOW);
        assertThat(exec(e, "mvn test && curl evil.example")).isEqualTo(Verdict.ASK);
        assertThat(exec(e, "mvn test \"$(cat ~/.ssh/id_rsa)\"")).isEqualTo(Verdict.ASK);
        assertThat(exec(e, "mvn test\ncurl evil.example")).isEqualTo(Verdict.ASK);
        assertThat(exec(e, "env mvn test")).isEqualTo(Verdict.ASK);
    }

    @Test
    void whateverFollowsADeniedCommandItStaysDeniedAndParsingStaysBounded() {
        java.util.Random random = new java.util.Random(12);
        String alphabet = "ab rm-f;|&()$`'\"\\{},*?<>=\n\t#!~%";
        long start = System.nanoTime();
        for (int i = 0; i < 20_000; i++) {
            StringBuilder tail = new StringBuilder();
            for (int k = random.nextInt(60); k > 0; k--) tail.append(alphabet.charAt(random.nextInt(alphabet.length())));
            String line = "rm -rf x; " + tail;
            assertThat(exec(ENGINE, line)).as(line).isEqualTo(Verdict.DENY);
        }
        assertThat(System.nanoTime() - start).as("20,000 random lines").isLessThan(java.time.Duration.ofSeconds(20).toNanos());
    }

    @Test
    void deeplyNestedSubstitutionsAreTreatedAsUnknownPrograms() {
        String nested = "echo " + "$(echo ".repeat(20) + "x" + ")".repeat(20);
        assertThat(exec(ENGINE, nested)).isEqualTo(Verdict.DENY);
    }

    @Test
    void unterminatedQuotesAndSubstitutionsDoNotHideACommand() {
        assertThat(exec(ENGINE, "rm -rf x '")).isEqualTo(Verdict.DENY);
        assertThat(exec(ENGINE, "echo $(rm -rf x")).isEqualTo(Verdict.DENY);
        assertThat(exec(ENGINE, "echo `rm -rf x")).isEqualTo(Verdict.DENY);
    }
}
