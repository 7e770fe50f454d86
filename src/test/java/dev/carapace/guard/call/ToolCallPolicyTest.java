package dev.carapace.guard.call;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** The tool-call decision as the guard package owns it, without the agent runtime. */
class ToolCallPolicyTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path ws;
    final List<AuditEvent> audit = new CopyOnWriteArrayList<>();

    private ToolCallPolicy policy(String yaml) throws Exception {
        PolicyEngine engine = PolicyEngine.compile(List.of(new PolicyEngine.Attachment(
                PolicyLoader.parse(yaml, "p.yaml", "p"), Set.of("*"), Set.of())),
                List.of(new PolicyEngine.Subject("coder", "platform", ws)));
        Caller coder = new Caller("coder", "acme/platform", List.of("web_fetch", "read"), ws);
        return new ToolCallPolicy(id -> id.equals("coder") ? Optional.of(coder) : Optional.empty(),
                Map.of("read", new FileTarget("path", null, FileAccess.READ)), () -> engine, audit::add,
                Clock.systemUTC());
    }

    private static final String WEB = """
            network_policies:
              api:
                endpoints: [{host: api.example.com, port: 443, protocol: rest, access: full}]
            tools:
              allow: [web_fetch]
              rules: [{id: secret, tool: web_fetch, target: "https://api.example.com/secret/**", decision: deny}]
            """;

    @ParameterizedTest
    @ValueSource(strings = {"https://api.example.com/secret/x", "https://API.example.com/secret/x",
            "https://api.example.com:443/secret/x", "https://api.example.com/a/../secret/x",
            "https://api.example.com//secret/x", "https://api.example.com/%73ecret/x", "https://api.example.com/./secret/x#f",
            "https://api.example.com./secret/x", "https://API.EXAMPLE.COM.:443/secret/x"})
    void aToolRuleOnUrlsJudgesTheUrlAsTheProxyWill(String url) throws Exception {
        CallDecision d = policy(WEB).decide("coder", "s", "web_fetch", JSON.createObjectNode().put("url", url));
        assertThat(d.verdict()).as(url).isEqualTo(Verdict.DENY);
        assertThat(d.rule()).as(url).isEqualTo("p:secret");
        assertThat(d.target()).isEqualTo("https://api.example.com/secret/x");
    }

    @ParameterizedTest
    @ValueSource(strings = {"https://api.example.com/SECRET/x", "https://api.example.com/Secret/x",
            "https://api.example.com/secret", "https://api.example.com/secret/", "https://api.example.com/secret?x=1",
            "https://api.example.com/secret./x", "https://api.example.com/secret%20/x", "https://api.example.com/secret%2e/x",
            "HTTPS://API.EXAMPLE.COM/secret/x"})
    void aDenyRuleOnUrlsCatchesWhatOtherServersServeUnderThePath(String url) throws Exception {
        CallDecision d = policy(WEB).decide("coder", "s", "web_fetch", JSON.createObjectNode().put("url", url));
        assertThat(d.verdict()).as(url).isEqualTo(Verdict.DENY);
    }

    @Test
    void aRedirectIsJudgedAsACallNamingItWouldBeAndItsRefusalAudited() throws Exception {
        ToolCallPolicy p = policy(WEB);
        assertThat(p.urlRefusal("coder", "s", "web_fetch", "https://api.example.com/public/a")).isNull();
        assertThat(p.urlRefusal("coder", "s", "web_fetch", "https://api.example.com/secret/x")).contains("p:secret");
        assertThat(p.urlRefusal("coder", "s", "web_fetch", "https://elsewhere.example/x")).contains("elsewhere.example");
        assertThat(audit).extracting(AuditEvent::outcome).containsExactly("deny", "deny");
    }

    @Test
    void aHostAndPortTargetIsSpelledAsTheProxySpellsItsHostAndItsPortIsChecked() {
        assertThat(Targets.request("coder", "API.Example.COM.:443", null).host()).isEqualTo("api.example.com");
        assertThat(Targets.request("coder", "0x7f.1:8080", null).host()).isEqualTo("127.0.0.1");
        for (String bad : new String[] {"api.example.com:70000", "api.example.com:0", "api.example.com:x", ":443"}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Targets.request("coder", bad, null))
                    .as(bad).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("host:port");
        }
    }

    @Test
    void aSpellingTheProxyRefusesIsRefusedBeforeAnyRuleIsAsked() throws Exception {
        CallDecision d = policy(WEB).decide("coder", "s", "web_fetch",
                JSON.createObjectNode().put("url", "https://api.example.com/secret;a/x"));
        assertThat(d.verdict()).isEqualTo(Verdict.DENY);
        assertThat(d.rule()).isEqualTo("guard.url");
        assertThat(audit).singleElement().satisfies(e -> assertThat(e.outcome()).isEqualTo("deny"));
    }

    @Test
    void otherUrlsOnTheEndpointAreAllowedAndShownCanonically() throws Exception {
        CallDecision d = policy(WEB).decide("coder", "s", "web_fetch",
                JSON.createObjectNode().put("url", "https://api.example.com/public/./a?x=1"));
        assertThat(d.verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(d.target()).isEqualTo("https://api.example.com/public/a?x=1");
    }

    @Test
    void theAgentsOwnToolListIsTheFirstGateAndAnUnknownAgentIsRefused() throws Exception {
        ToolCallPolicy p = policy(WEB);
        CallDecision exec = p.decide("coder", "s", "exec", JSON.createObjectNode().put("command", "ls"));
        assertThat(exec.verdict()).isEqualTo(Verdict.DENY);
        assertThat(exec.rule()).isEqualTo(ToolCallPolicy.AGENT_TOOLS);
        assertThat(exec.reason()).contains("enabled tools: web_fetch, read");
        CallDecision ghost = p.decide("ghost", "s", "read", JSON.createObjectNode().put("path", "a"));
        assertThat(ghost.verdict()).isEqualTo(Verdict.DENY);
        assertThat(ghost.reason()).isEqualTo("unknown agent 'ghost'");
    }
}
