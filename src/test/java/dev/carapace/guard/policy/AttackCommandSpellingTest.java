package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules.Verdict;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Spellings that run {@code rm -rf} under a deny rule {@code rm -rf *}, from the attack on issue 12's guard: each case
 * runs the deletion in /bin/sh (dash) or bash. Command rules are not a boundary against a hostile model (the sandbox
 * is, README "The guard"), but every spelling here is one the parser can see through, so it must.
 */
class AttackCommandSpellingTest {

    private static final PolicyEngine ENGINE = CommandRuleTest.engine("""
            tools:
              allow: [exec]
              rules:
                - {id: rm, tool: exec, target: "rm -rf *", decision: deny}
            """);

    private static Verdict exec(String command) {
        return CommandRuleTest.exec(ENGINE, command);
    }

    /** Wrappers/prefixes of the kind the README lists ("behind env, sudo, xargs, timeout..."). */
    @ParameterizedTest
    @ValueSource(strings = {"command rm -rf x", "command -p rm -rf x", "exec rm -rf x", "nohup rm -rf x",
            "builtin command rm -rf x", "time rm -rf x", "stdbuf -o0 rm -rf x", "setsid rm -rf x", "ionice rm -rf x",
            "chroot / rm -rf x", "busybox rm -rf x", "doas rm -rf x", "env -i rm -rf x", "env -u HOME rm -rf x",
            "sudo -u root rm -rf x", "timeout -s KILL 5 rm -rf x", "xargs -0 rm -rf < list", "xargs -I{} rm -rf {} < l",
            "find . -maxdepth 0 -exec rm -rf x \\;", "nice rm -rf x", "dash -c 'rm -rf x'", "sh -ec 'rm -rf x'",
            "bash -c -- 'rm -rf x'", "sh -c \"cd /; rm -rf x\"", "! rm -rf x", "{ rm -rf x; }", "rm -rf x;",
            "while true; do rm -rf x; break; done", "for i in 1; do rm -rf x; done", "case a in a) rm -rf x;; esac",
            "f() { rm -rf x; }; f", "echo x | xargs rm -rf", "rm -rf x\n", "true\nrm -rf x", "rm -r\\\n-f x",
            "rm -$(echo rf) x", "rm -\"rf\" x", "rm '-rf' x", "rm -r'f' x", "rm \"-r\" '-f' x", "rm ${X:--rf} x",
            "rm -rf$IFS x", "rm${IFS}-rf${IFS}x", "{rm,-rf,x}", "r\\m -rf x", "$(printf rm) -rf x", "\"$(echo rm)\" -rf x",
            "cat <<E | sh\nrm -rf x\nE", "sh <<< 'rm -rf x'", "echo 'rm -rf x' | sh", "printf 'rm -rf x' | bash",
            "sh -c \"$(echo rm -rf x)\"", ". /dev/stdin <<< 'rm -rf x'", "eval \"rm -rf x\"", "alias d='rm -rf'; d x",
            "/usr/bin/env rm -rf x", "./rm -rf x", "/usr/bin/../bin/rm -rf x", "echo ${X:-$(rm -rf x)}",
            "echo \"${X:=`rm -rf x`}\"", ": ${X#$(rm -rf x)}", "[ -n \"${X:-$(rm -rf x)}\" ]"})
    void aDenyRuleStopsEverySpelling(String command) {
        assertThat(exec(command)).as(command).isIn(Verdict.DENY);
    }

    /**
     * What the README says a command rule cannot promise: it does not know that two spellings of an option are one
     * (rm's -R is its -r), nor what a script the agent wrote will run. Pinned so that a change is noticed.
     */
    @ParameterizedTest
    @ValueSource(strings = {"rm -Rf x", "rm --recursive --force x", "sh ./cleanup.sh"})
    void documentedLimitsOfCommandRules(String command) {
        assertThat(exec(command)).as(command).isEqualTo(Verdict.ALLOW);
    }
}
