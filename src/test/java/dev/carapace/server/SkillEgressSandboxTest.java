package dev.carapace.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Following;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.tools.ExecTool;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.egress.SecretStore;
import dev.carapace.guard.sandbox.Bubblewrap;
import dev.carapace.guard.sandbox.SandboxLimits;
import dev.carapace.guard.sandbox.SandboxUser;
import dev.carapace.server.adapter.BwrapExec;
import dev.carapace.server.adapter.EgressSockets;
import dev.carapace.server.adapter.SkillEgress;
import dev.carapace.skill.FolderSkillSource;
import dev.carapace.skill.FollowedSkills;
import dev.carapace.testing.SandboxDirs;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A followed skill's network declarations enforced at the root, for real: commands run in bubblewrap, their only way
 * out is the egress proxy, and the proxy judges a skill-following command's connections by what the skills
 * declared. Two names, {@code a.test} and {@code b.test}, resolve to a local echo server; the policy allows both.
 */
class SkillEgressSandboxTest {

    @TempDir
    Path dir;
    final ScriptedUpstream echo = new ScriptedUpstream();
    int port;
    final List<String> received = Collections.synchronizedList(new ArrayList<>());
    final List<AuditEvent> audited = new CopyOnWriteArrayList<>();
    EgressProxy proxy;
    EgressSockets sockets;
    Bubblewrap bwrap;
    ExecTool exec;
    Path ws;

    @BeforeEach
    void setUp() throws Exception {
        // The echo server: /redir?URL redirects to URL; anything else is echoed (and noted).
        echo.respond(r -> {
            String path = r.getUrl().encodedPath();
            if (path.equals("/redir")) {
                return new MockResponse.Builder().code(302).addHeader("Location", r.getUrl().encodedQuery()).build();
            }
            received.add(r.getHeaders().get("Host") + path);
            return new MockResponse.Builder().code(200).body("ECHO[" + path + "]").build();
        });
        port = URI.create(echo.openAiBaseUrl()).getPort();

        SandboxDirs.searchable(dir);
        ws = Files.createDirectories(dir.resolve("ws/main"));
        Path skills = Files.createDirectories(dir.resolve("skills"));
        skill(skills, "offline", "metadata:\n  openclaw: {requires: {bins: [curl]}}\n");
        skill(skills, "fetch-a", "metadata:\n  openclaw: {requires: {bins: [curl]}}\n  carapace: {hosts: [a.test]}\n");
        FollowedSkills followed = new FollowedSkills(new FolderSkillSource(
                id -> List.of(new FolderSkillSource.Root(skills, "dir"))));
        SkillEgress skillEgress = new SkillEgress(followed);
        // The policy: both names, on the echo server's port, may be reached (it is local: allowed_ips says so).
        NetworkRules policy = r -> new NetworkRules.NetworkDecision(
                r.port() == port && (r.host().equals("a.test") || r.host().equals("b.test"))
                        ? NetworkRules.Verdict.ALLOW : NetworkRules.Verdict.DENY,
                "test-policy", "the test's policy", false, List.of("127.0.0.0/8"), List.of());
        proxy = new EgressProxy(skillEgress.around(policy), this::resolve, SecretStore.empty(), audited::add,
                Clock.systemUTC(), EgressProxy.Options.defaults());
        AgentSpec main = new AgentSpec("main", ws, "m", List.of(), List.of("exec"), new AgentSpec.Owner(null, "t"),
                AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE, null);
        sockets = EgressSockets.open(proxy, List.of(main), SandboxUser.NOBODY);
        skillEgress.attach(sockets);
        bwrap = Bubblewrap.open(Path.of("/usr/bin/bwrap"), SandboxLimits.DEFAULT, sockets.any(), List.of());
        bwrap.handOver(ws);
        exec = new ExecTool(new BwrapExec(bwrap, Map.of("main",
                new BwrapExec.AgentSandbox(ws, sockets.byAgent().get("main"))), null, skillEgress));
    }

    @AfterEach
    void tearDown() {
        if (bwrap != null) bwrap.close();
        if (proxy != null) proxy.close();
        if (sockets != null) sockets.close();
        echo.close();
    }

    List<InetAddress> resolve(String name) throws UnknownHostException {
        if (name.equals("a.test") || name.equals("b.test")) return List.of(InetAddress.getByName("127.0.0.1"));
        throw new UnknownHostException(name);
    }

    static void skill(Path skills, String name, String frontMatter) throws Exception {
        Path d = Files.createDirectories(skills.resolve(name));
        Files.writeString(d.resolve("SKILL.md"), "---\nname: " + name + "\ndescription: the " + name + " skill\n"
                + frontMatter + "---\nUse curl.\n");
    }

    String run(String command, Following following) throws Exception {
        return exec.run(new ObjectMapper().createObjectNode().put("command", command),
                new ToolContext("main", "agent:main:s", ws, Duration.ofSeconds(30), 16_000, null, null, following, null))
                .content();
    }

    String curl(String host, String path) {
        return "curl -s -m 5 http://" + host + ":" + port + path + "; echo \" exit=$?\"";
    }

    static Following following(String... skills) {
        return new Following("main", "run-1", Set.of(skills), null);
    }

    long sockets() throws Exception {
        try (Stream<Path> s = Files.list(sockets.any().getParent())) {
            return s.count();
        }
    }

    @Test
    void withoutASkillTheCommandReachesWhatThePolicyAllows() throws Exception {
        assertThat(run(curl("a.test", "/plain"), null)).contains("ECHO[/plain]");
        assertThat(run(curl("b.test", "/plain-b"), following())).contains("ECHO[/plain-b]");
        assertThat(received).containsExactly("a.test:" + port + "/plain", "b.test:" + port + "/plain-b");
    }

    @Test
    void aSkillThatDeclaredNoNetworkLeavesTheCommandNoWayOut() throws Exception {
        String out = run(curl("a.test", "/offline"), following("offline"));
        assertThat(out).doesNotContain("ECHO[").doesNotContain("exit=0");
        // not even the proxy to ask: nothing was judged, nothing arrived
        assertThat(audited).isEmpty();
        assertThat(received).isEmpty();
    }

    @Test
    void aSkillThatDeclaredOneHostReachesItAndNoOtherNorByARedirect() throws Exception {
        long before = sockets();
        assertThat(run(curl("a.test", "/declared"), following("fetch-a"))).contains("ECHO[/declared]");
        String other = run(curl("b.test", "/undeclared"), following("fetch-a"));
        assertThat(other).doesNotContain("ECHO[").contains("skill 'fetch-a'").contains("b.test:" + port);
        String redirected = run("curl -s -L -m 5 'http://a.test:" + port + "/redir?http://b.test:" + port
                + "/via-redirect'; echo \" exit=$?\"", following("fetch-a"));
        assertThat(redirected).doesNotContain("ECHO[/via-redirect]");
        assertThat(received).containsExactly("a.test:" + port + "/declared");

        // The proxy judged those connections as the agent following the skill, and says so in its audit: the
        // redirect was followed as far as b.test, where it was refused like the direct request.
        assertThat(audited).filteredOn(e -> e.outcome().equals("deny")).hasSize(2).allSatisfy(e -> {
            assertThat(e.target()).contains("b.test");
            assertThat(e.agent()).startsWith("main (following skill 'fetch-a')");
            assertThat(e.rule()).isEqualTo("skill.needs:fetch-a");
        });
        // Each command's own socket is gone with it.
        assertThat(sockets()).isEqualTo(before);
    }

    /**
     * Commands that get past an argv matcher (or are allowed by a program's name only) asked to reach the echo
     * server: a copy of wget named curl, bash evaluating a quoted subscript, a substitution inside {@code ${...}},
     * python's urllib (which honours HTTP_PROXY), bash's {@code /dev/tcp} straight to the server's address, and
     * {@code sh -c} around wget. Run here without the guard's decision in front, as if the matcher had missed them
     * all: a skill that declared no network leaves every one of them no way out, and one that declared a.test lets
     * none of them reach b.test.
     */
    List<String> smuggled(String host, String tag) {
        String url = "http://" + host + ":" + port + "/" + tag;
        return List.of(
                "cp /usr/bin/wget ./curl && ./curl -q -T 5 -O- " + url + "-copy; echo \" exit=$?\"",
                "bash -c \"printf -v 'a[$(curl -s -m 5 " + url + "-printf >&2)]' x\"; echo \" exit=$?\"",
                "echo ${x:-$(curl -s -m 5 " + url + "-param)}",
                "python3 -c 'import urllib.request as u; print(u.urlopen(\"" + url + "-python\", timeout=5).read())'",
                "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + port + " && printf \"GET /" + tag + "-devtcp HTTP/1.0\\r\\n\\r\\n\" >&3"
                        + " && cat <&3'; echo \" exit=$?\"",
                "sh -c 'wget -q -T 5 -O- " + url + "-wget'; echo \" exit=$?\"");
    }

    @Test
    void whatACommandMatcherWouldMissStillHasNoWayOutAtTheRoot() throws Exception {
        // the control: with no skill followed, each one but /dev/tcp (the sandbox has no route but the proxy)
        // does reach the server through the proxy, so a refusal below is the skill's
        for (String c : smuggled("a.test", "control")) {
            if (!c.contains("/dev/tcp")) assertThat(run(c, null)).as(c).contains("ECHO[/control-");
        }
        assertThat(received).hasSize(5);
        received.clear();
        for (String c : smuggled("a.test", "offline")) {
            assertThat(run(c, following("offline"))).as(c).doesNotContain("ECHO[");
        }
        for (String c : smuggled("b.test", "other")) {
            assertThat(run(c, following("fetch-a"))).as(c).doesNotContain("ECHO[");
        }
        assertThat(received).isEmpty();
        // the proxy refused what reached it as the skill's, never as the agent's policy
        assertThat(audited).filteredOn(e -> e.outcome().equals("deny")).isNotEmpty()
                .allSatisfy(e -> assertThat(e.rule()).isEqualTo("skill.needs:fetch-a"));
    }

    @Test
    void aSubAgentOfARunFollowingAnOfflineSkillHasNoNetworkEither() throws Exception {
        Following child = new Following("main", "run-2", Set.of(), following("offline"));
        assertThat(run(curl("a.test", "/child"), child)).doesNotContain("ECHO[");
        Following childOfFetcher = new Following("main", "run-3", Set.of(), following("fetch-a"));
        assertThat(run(curl("a.test", "/child-a"), childOfFetcher)).contains("ECHO[/child-a]");
        assertThat(run(curl("b.test", "/child-b"), childOfFetcher)).doesNotContain("ECHO[");
        assertThat(received).containsExactly("a.test:" + port + "/child-a");
    }
}
