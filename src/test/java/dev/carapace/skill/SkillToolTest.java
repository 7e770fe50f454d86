package dev.carapace.skill;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SkillToolTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path tmp;
    Path skills;
    SkillTool tool;
    ToolContext context;

    @BeforeEach
    void setUp() throws Exception {
        skills = Files.createDirectories(tmp.resolve("ws/skills"));
        Path deploy = Files.createDirectories(skills.resolve("deploy/references"));
        Files.writeString(deploy.getParent().resolve("SKILL.md"), "---\nname: deploy\ndescription: Deploys.\n---\n"
                + "# Deploy\nRun the steps in references/steps.md.\n\nRun python3 {baseDir}/scripts/go.py\n");
        Files.writeString(deploy.resolve("steps.md"), "1. build\n2. ship\n");
        Files.write(deploy.resolve("blob.bin"), new byte[]{(byte) 0xff, (byte) 0xfe, 0, 1});
        Files.writeString(deploy.resolve("big.md"), "x".repeat(SkillTool.MAX_FILE_BYTES + 1));
        Files.writeString(deploy.resolve("long.md"), "y".repeat(SkillTool.MAX_OUTPUT_CHARS + 10));
        Files.writeString(tmp.resolve("ws/secret.txt"), "the secret is marmalade");
        Files.createSymbolicLink(deploy.resolve("link.md"), tmp.resolve("ws/secret.txt"));
        Files.createSymbolicLink(deploy.resolve("inner.md"), deploy.resolve("steps.md"));
        Files.createDirectories(skills.resolve("mac"));
        Files.writeString(skills.resolve("mac/SKILL.md"), "---\nname: mac\ndescription: Mac.\n"
                + "metadata: {openclaw: {os: [darwin]}}\n---\nsecret mac body\n");
        FolderSkillSource source = new FolderSkillSource(id -> id.equals("a")
                ? List.of(new FolderSkillSource.Root(skills, "workspace")) : List.of());
        tool = new SkillTool(new SkillCatalog(source, new SkillHost("linux", k -> null), SkillSettings.DEFAULT));
        context = new ToolContext("a", "agent:a:main", tmp.resolve("ws").toRealPath(), Duration.ofSeconds(5), 64 * 1024);
    }

    private ToolResult call(String json) throws Exception {
        return tool.run(JSON.readTree(json), context);
    }

    @Test
    void readsTheBodyAndListsTheOtherFiles() throws Exception {
        ToolResult r = call("{\"name\":\"deploy\"}");
        assertThat(r.error()).isFalse();
        assertThat(r.content()).isEqualTo("# Skill deploy\n\n# Deploy\nRun the steps in references/steps.md.\n\n"
                + "Run python3 skills/deploy/scripts/go.py\n\n"
                + "[Files of this skill, read with {\"name\":\"deploy\",\"file\":\"PATH\"}: references/big.md,"
                + " references/blob.bin, references/long.md, references/steps.md]");
        assertThat(call("{\"name\":\"deploy\",\"file\":\"references/steps.md\"}"))
                .isEqualTo(ToolResult.ok("1. build\n2. ship\n"));
        assertThat(call("{\"name\":\"deploy\",\"file\":\"./references//steps.md\"}").content()).isEqualTo("1. build\n2. ship\n");
        assertThat(call("{\"name\":\"deploy\",\"file\":\"references/inner.md\"}").content()).isEqualTo("1. build\n2. ship\n");
    }

    @Test
    void hostilePathsAreRefusedAtTheRoot() throws Exception {
        String[][] cases = {
                {"../../secret.txt", "leaves the skill's folder"},
                {"references/../../../secret.txt", "leaves the skill's folder"},
                {"/etc/passwd", "the path is absolute"},
                {"~/.ssh/id_rsa", "the path is absolute"},
                {"C:/Windows/win.ini", "the path is absolute"},
                {"references\\\\..\\\\..\\\\secret.txt", "holds '\\'"},
                {"references/steps.md\\u0000.png", "NUL"},
                {"%2e%2e/%2e%2e/secret.txt", "percent-encoded"},
                {"references/link.md", "symlink to outside the skill's folder"},
                {"references/\\u202Esteps.md", "hidden character"},
                {"", "the path is empty"},
                {"references", "is not a file"},
                {"nope.md", "no such file in the skill"},
                {"references/blob.bin", "is not UTF-8 text"},
                {"references/big.md", "bytes; at most 262144 are read"},
        };
        for (String[] c : cases) {
            ToolResult r = call("{\"name\":\"deploy\",\"file\":\"" + c[0] + "\"}");
            assertThat(r.error()).as(c[0]).isTrue();
            assertThat(r.content()).as(c[0]).contains(c[1]).doesNotContain("marmalade").doesNotContain(tmp.toString());
        }
    }

    @Test
    void outputIsCapped() throws Exception {
        String content = call("{\"name\":\"deploy\",\"file\":\"references/long.md\"}").content();
        assertThat(content).hasSize(SkillTool.MAX_OUTPUT_CHARS + "\n[cut: 10 more characters]".length())
                .endsWith("\n[cut: 10 more characters]");
    }

    @Test
    void unavailableUnknownAndMalformedCallsAreErrors() throws Exception {
        assertThat(call("{\"name\":\"mac\"}")).isEqualTo(ToolResult.error(
                "skill mac is unavailable on this gateway: requires os darwin; this gateway runs linux"));
        assertThat(call("{\"name\":\"nope\"}")).isEqualTo(ToolResult.error(
                "no skill 'nope' for you; {\"action\":\"list\"} lists them"));
        assertThat(call("{\"name\":\"deploy\",\"extra\":1}").content())
                .isEqualTo("unknown argument 'extra'; expected action, name, file");
        assertThat(call("{\"name\":[\"deploy\"]}")).isEqualTo(ToolResult.error("argument 'name' must be a string"));
        assertThat(call("{\"action\":\"delete\"}").content())
                .isEqualTo("argument 'action' must be read or list, got 'delete'");
        assertThat(call("[]").content()).isEqualTo("arguments must be a JSON object");
        assertThat(tool.run(JSON.readTree("{\"action\":\"list\"}"),
                new ToolContext("other", "s", tmp, Duration.ofSeconds(1), 1000)).content())
                .isEqualTo("No skills are installed for you.");
        assertThat(call("{\"action\":\"list\"}").content()).isEqualTo(
                "- deploy: Deploys.\n- mac [unavailable: requires os darwin; this gateway runs linux]: Mac.");
    }
}
