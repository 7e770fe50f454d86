package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.identity.Principal;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static dev.carapace.server.AgentHarness.text;
import static dev.carapace.server.AgentHarness.toolCall;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The org repository's installs reach the agents: a skill installed for an agent is in its prompt and readable
 * through the {@code skill} tool from the stored version; a member installs only for the agents their team owns; a
 * rejected version disappears from the agent at once; the org's reviewed install wins over a workspace skill of the same name (which the agent could have written).
 */
class SkillRepoAgentTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path dir;
    GatewayHarness h;
    Path workspace;

    @BeforeEach
    void setUp() throws Exception {
        workspace = Files.createDirectories(dir.resolve("ws"));
        Path lab = Files.createDirectories(dir.resolve("lab"));
        Files.writeString(workspace.resolve("AGENTS.md"), "You help.");
        h = new GatewayHarness(dir.resolve("data"), """
                agents:
                  helper:
                    workspace: %s
                    model: m-solo
                    tools: [read, skill]
                    owner: {team: platform}
                  lab:
                    workspace: %s
                    model: m-solo
                    tools: [skill]
                    owner: {team: research}
                """.formatted(workspace, lab));
    }

    @AfterEach
    void tearDown() { h.close(); }

    private static String publishBody(String name, String description, String body) {
        return JSON.createObjectNode().set("files", JSON.createObjectNode()
                .put("SKILL.md", "---\nname: " + name + "\ndescription: \"" + description + "\"\n---\n" + body)
                .put("references/howto.md", "Step one: breathe.\n")).toString();
    }

    private RunInfo run(String agent, String message) throws Exception {
        String runId = h.carapace.agentRuntime().start(agent, "main", message);
        RunInfo info = h.carapace.agentRuntime().await(runId, Duration.ofSeconds(20));
        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        return info;
    }

    @Test
    void anInstalledSkillIsInTheAgentsPromptAndItsFilesAreServedFromTheStore() throws Exception {
        JsonNode v = JSON.readTree(h.post("/api/skills", h.memberKey, publishBody("release-notes",
                "Write release notes from merged pull requests.", "# Release notes\nGroup by label.\n")).body());
        assertThat(v.get("state").asText()).isEqualTo("approved");
        // alice (platform) may install for helper (owned by platform), not for lab (research); rita not for helper
        HttpResponse<String> mine = h.post("/api/skills/installs", h.memberKey, "{\"name\":\"release-notes\",\"scope\":\"agent:helper\"}");
        assertThat(mine.statusCode()).as(mine.body()).isEqualTo(201);
        HttpResponse<String> theirs = h.post("/api/skills/installs", h.memberKey, "{\"name\":\"release-notes\",\"scope\":\"agent:lab\"}");
        assertThat(theirs.statusCode()).isEqualTo(403);
        assertThat(theirs.body()).contains("agents they or their team own");
        assertThat(h.post("/api/skills/installs", h.researchKey, "{\"name\":\"release-notes\",\"scope\":\"agent:helper\"}").statusCode())
                .isEqualTo(403);
        assertThat(h.post("/api/skills/installs", h.memberKey, "{\"name\":\"release-notes\",\"scope\":\"agent:ghost\"}").body())
                .contains("no agent 'ghost'");

        h.a.enqueue(toolCall("c1", "skill", "{\"name\":\"release-notes\",\"file\":\"references/howto.md\"}"), text("Done.", 100, 2));
        run("helper", "Write the notes.");
        JsonNode first = JSON.readTree(ScriptedUpstream.body(h.a.take()));
        assertThat(first.path("messages").get(0).path("content").asText())
                .contains("release-notes: Write release notes from merged pull requests.");
        JsonNode second = JSON.readTree(ScriptedUpstream.body(h.a.take()));
        assertThat(second.toString()).contains("Step one: breathe.");

        // lab has no install: the skill is not in its prompt
        h.a.enqueue(text("Hi.", 50, 1));
        run("lab", "Hello.");
        assertThat(ScriptedUpstream.body(h.a.take())).doesNotContain("release-notes");

        // rejected: gone from helper's prompt at once
        String admin = h.adminKey;
        assertThat(h.post("/api/skills/release-notes/" + v.get("hash").asText() + "/review", admin,
                "{\"decision\":\"reject\",\"note\":\"withdrawn\"}").statusCode()).isEqualTo(200);
        h.a.enqueue(text("Ok.", 50, 1));
        run("helper", "Again.");
        assertThat(JSON.readTree(ScriptedUpstream.body(h.a.take())).path("messages").get(0).path("content").asText())
                .doesNotContain("release-notes");
    }

    @Test
    void aWorkspaceSkillNoLongerShadowsTheOrgsReviewedInstall() throws Exception {
        Files.createDirectories(workspace.resolve("skills/release-notes"));
        Files.writeString(workspace.resolve("skills/release-notes/SKILL.md"),
                "---\nname: release-notes\ndescription: \"The team's own way.\"\n---\nbody\n");
        String key = h.carapace.keyAdmin().create("boss", "platform", Principal.Role.ADMIN, null).secret();
        h.post("/api/skills", key, publishBody("release-notes", "The org's way.", "body\n"));
        assertThat(h.post("/api/skills/installs", key, "{\"name\":\"release-notes\",\"scope\":\"org\"}").statusCode()).isEqualTo(201);
        h.a.enqueue(text("Ok.", 50, 1));
        run("helper", "Notes?");
        String system = JSON.readTree(ScriptedUpstream.body(h.a.take())).path("messages").get(0).path("content").asText();
        assertThat(system).contains("release-notes: The org's way.").doesNotContain("The team's own way.");
    }
}
