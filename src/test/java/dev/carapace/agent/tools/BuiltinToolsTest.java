package dev.carapace.agent.tools;

import dev.carapace.agent.AgentTool;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Which tools a configuration gets, and that the two new schemas stay as compact as the file tools'. */
class BuiltinToolsTest {

    @Test
    void execAndWebFetchExistOnlyWhenTheirSeamIsGiven() {
        assertThat(BuiltinTools.all(null, null)).extracting(AgentTool::name)
                .containsExactly("read", "write", "edit", "list", "glob", "grep");
        assertThat(BuiltinTools.all(new LocalRunner(), null)).extracting(AgentTool::name).contains("exec")
                .doesNotContain("web_fetch");
        try (DirectEgress egress = new DirectEgress()) {
            assertThat(BuiltinTools.all(null, egress)).extracting(AgentTool::name).contains("web_fetch")
                    .doesNotContain("exec");
            assertThat(BuiltinTools.all(new LocalRunner(), egress)).extracting(AgentTool::name)
                    .containsExactly("read", "write", "edit", "list", "glob", "grep", "exec", "web_fetch")
                    .as("every name the config accepts is a tool the composition root can build")
                    .containsExactlyInAnyOrderElementsOf(BuiltinTools.NAMES);
        }
    }

    @Test
    void schemasAreCompactAndValid() {
        try (DirectEgress egress = new DirectEgress()) {
            List<AgentTool> tools = List.of(new ExecTool(new LocalRunner()), new WebFetchTool(egress));
            for (AgentTool t : tools) {
                assertThat(t.name()).matches("^[a-z][a-z0-9_]{0,63}$");
                assertThat(t.description()).hasSizeLessThan(120);
                assertThat(t.parameters().get("type").asText()).isEqualTo("object");
                assertThat(t.parameters().get("required").get(0).asText()).isIn("command", "url");
                int size = t.description().length() + t.parameters().toString().length();
                System.out.println(t.name() + ": description+parameters " + size + " chars");
                assertThat(size).isLessThan(320);
                t.parameters().put("type", "broken");
                assertThat(t.parameters().get("type").asText()).isEqualTo("object");
            }
        }
    }
}
