package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.model.TokenCounter;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.carapace.server.AgentHarness.text;
import static dev.carapace.server.AgentHarness.toolCall;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Skills through a real gateway: an agent with 50 eligible skills in its workspace (49 with the OpenClaw fixtures'
 * names, descriptions and bodies, one in .agents/skills), the {@code skill} tool, and a scripted upstream that
 * records every request as sent.
 */
class SkillsEndToEndTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path dir;
    GatewayHarness h;
    Path workspace;

    @BeforeEach
    void setUp() throws Exception {
        workspace = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(workspace.resolve("AGENTS.md"), "You help the platform team.");
        Path skills = Files.createDirectories(workspace.resolve("skills"));
        Path fixtures = Path.of(getClass().getResource("/openclaw-skills/LICENSE").toURI()).getParent();
        List<Path> folders;
        try (Stream<Path> s = Files.list(fixtures)) {
            // 49 of the 51 (all but xurl and visualize), and zz-project below: 50
            folders = s.filter(Files::isDirectory).filter(p -> !List.of("xurl", "visualize")
                    .contains(p.getFileName().toString())).sorted().toList();
        }
        assertThat(folders).hasSize(49);
        for (Path f : folders) {
            // The fixture's name, description and body, without its requirements: all 50 are eligible here.
            String text = Files.readString(f.resolve("SKILL.md"));
            String description = text.lines().filter(l -> l.startsWith("description:")).findFirst().orElseThrow();
            String body = text.substring(text.indexOf("\n---\n", 4) + 5);
            Path to = Files.createDirectories(skills.resolve(f.getFileName()));
            Files.writeString(to.resolve("SKILL.md"), "---\nname: " + f.getFileName() + "\n" + description
                    + "\n---\n" + body);
        }
        Files.createDirectories(skills.resolve("weather/references"));
        Files.writeString(skills.resolve("weather/references/cities.md"), "Paris: use lat 48.85, lon 2.35\n");
        Files.writeString(workspace.resolve("private.txt"), "the workspace secret is marmalade\n");
        // Two that must not be in the prompt: a mac-only one and one only a user may invoke.
        Files.createDirectories(skills.resolve("zz-mac"));
        Files.writeString(skills.resolve("zz-mac/SKILL.md"), "---\nname: zz-mac\ndescription: Mac only thing.\n"
                + "metadata: {\"openclaw\": {\"os\": [\"darwin\"]}}\n---\nbody\n");
        // OpenClaw's project skills folder counts too, after skills/ (whose weather wins).
        Path project = Files.createDirectories(workspace.resolve(".agents/skills/weather"));
        Files.writeString(project.resolve("SKILL.md"), "---\nname: weather\ndescription: Shadowed.\n---\nno\n");
        Files.createDirectories(workspace.resolve(".agents/skills/zz-project"));
        Files.writeString(workspace.resolve(".agents/skills/zz-project/SKILL.md"),
                "---\nname: zz-project\ndescription: From .agents/skills.\n---\nbody\n");
        Files.createDirectories(skills.resolve("zz-user"));
        Files.writeString(skills.resolve("zz-user/SKILL.md"), "---\nname: zz-user\ndescription: Only on request.\n"
                + "disable-model-invocation: true\n---\nbody\n");
        h = new GatewayHarness(dir.resolve("data"), """
                agents:
                  helper:
                    workspace: %s
                    model: m-solo
                    tools: [read, skill]
                    owner: {team: platform}
                skills:
                  prompt: {max_skill_tokens: 60}
                """.formatted(workspace));
    }

    @AfterEach
    void tearDown() {
        h.close();
    }

    private RunInfo run(String message) throws Exception {
        String runId = h.carapace.agentRuntime().start("helper", "main", message);
        RunInfo info = h.carapace.agentRuntime().await(runId, Duration.ofSeconds(20));
        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        return info;
    }

    private static JsonNode json(RecordedRequest r) throws Exception {
        return JSON.readTree(ScriptedUpstream.body(r));
    }

    private static String system(JsonNode request) {
        return request.path("messages").get(0).path("content").asText();
    }

    private static String lastToolResult(JsonNode request) {
        JsonNode messages = request.path("messages");
        for (int i = messages.size() - 1; i >= 0; i--) {
            if (messages.get(i).path("role").asText().equals("tool")) return messages.get(i).path("content").asText();
        }
        throw new AssertionError("no tool result in " + request);
    }

    @Test
    void fiftySkillsKeepTheFirstTurnUnder2000TokensAndLoadOnDemand() throws Exception {
        h.a.enqueue(toolCall("c1", "skill", "{\"name\":\"weather\"}"),
                toolCall("c2", "skill", "{\"name\":\"weather\",\"file\":\"references/cities.md\"}"),
                toolCall("c3", "skill", "{\"name\":\"weather\",\"file\":\"../../private.txt\"}"),
                text("Sunny in Paris.", 900, 5));
        run("What is the weather in Paris?");

        List<JsonNode> requests = new ArrayList<>();
        for (int i = 0; i < 4; i++) requests.add(json(h.a.take()));
        JsonNode first = requests.get(0);
        String body = first.toString();
        int tokens = TokenCounter.count(body);
        System.out.println("first turn of an agent with 50 skills: " + tokens + " tokens (o200k, whole request JSON), "
                + TokenCounter.count(system(first)) + " in the system prompt");
        assertThat(tokens).isLessThan(2000);

        String system = system(first);
        assertThat(system).contains("## Skills")
                .contains("- weather: Current weather and forecasts with web_fetch")
                .contains("- github: GitHub CLI for issues, PRs")
                .contains("- zz-project: From .agents/skills.")
                .doesNotContain("zz-mac").doesNotContain("zz-user").doesNotContain("Shadowed")
                .doesNotContain("wttr.in/London");   // a body line: bodies are not in the prompt
        long lines = system.lines().filter(l -> l.startsWith("- ")).count();
        assertThat(lines).isEqualTo(50);
        assertThat(first.path("tools").findValuesAsText("name")).contains("skill", "read");

        // Every turn of the run sends the same system prompt: the prefix providers cache.
        for (JsonNode r : requests) assertThat(system(r)).isEqualTo(system);

        assertThat(lastToolResult(requests.get(1))).startsWith("# Skill weather").contains("wttr.in")
                .contains("[Files of this skill, read with {\"name\":\"weather\",\"file\":\"PATH\"}: references/cities.md]");
        assertThat(lastToolResult(requests.get(2))).isEqualTo("Paris: use lat 48.85, lon 2.35\n");
        assertThat(lastToolResult(requests.get(3))).contains("'../../private.txt' refused")
                .contains("leaves the skill's folder").doesNotContain("marmalade");

        // The next run's first turn has the same system prompt too.
        h.a.enqueue(text("ok", 900, 1));
        run("Thanks.");
        assertThat(system(json(h.a.take()))).isEqualTo(system);
    }

    @Test
    void theListShowsUnavailableSkillsWithTheirReason() throws Exception {
        h.a.enqueue(toolCall("c1", "skill", "{\"action\":\"list\"}"), text("done", 900, 1));
        run("Which skills do you have?");
        h.a.take();
        String list = lastToolResult(json(h.a.take()));
        assertThat(list).contains("- zz-mac [unavailable: requires os darwin; this gateway runs linux]: Mac only thing.")
                .contains("- zz-user [only when the user asks for it]: Only on request.")
                .contains("- weather: Current weather")
                .contains("- zz-project: From .agents/skills.")
                .doesNotContain("Shadowed");
    }
}
