package dev.carapace.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import dev.carapace.agent.tools.WebFetchTool;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.egress.SecretStore;
import dev.carapace.server.adapter.ProxyEgress;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** web_fetch through the egress proxy adapter: the agent's own rules, and a refusal the model can read. */
class ProxyEgressTest {

    @Test
    void webFetchIsJudgedAsItsAgentAndRefusalsAreStructured() throws Exception {
        List<NetworkRules.NetworkRequest> asked = new CopyOnWriteArrayList<>();
        List<AuditEvent> audit = new CopyOnWriteArrayList<>();
        NetworkRules rules = r -> {
            asked.add(r);
            return new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, "any", "ok", false, List.of(), List.of());
        };
        try (EgressProxy proxy = new EgressProxy(rules, name -> List.of(InetAddress.getByName("169.254.169.254")),
                SecretStore.empty(), audit::add, Clock.systemUTC(), EgressProxy.Options.defaults())) {
            WebFetchTool tool = new WebFetchTool(new ProxyEgress(proxy, null));
            ToolResult result = tool.run(new ObjectMapper().readTree("{\"url\": \"http://metadata.example/latest/\"}"),
                    new ToolContext("researcher", "s1", Path.of("/tmp"), Duration.ofSeconds(5), 10_000));
            assertThat(result.toString()).contains("refused", "egress:blocked-address", "cloud metadata", "allowed_ips");
            assertThat(asked).extracting(NetworkRules.NetworkRequest::agent).containsExactly("researcher");
            assertThat(asked.getFirst().path()).isEqualTo("/latest/");
            assertThat(audit).extracting(AuditEvent::outcome).containsExactly("deny");
        }
    }
}
