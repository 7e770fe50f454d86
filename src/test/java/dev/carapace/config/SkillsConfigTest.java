package dev.carapace.config;

import dev.carapace.skill.AutoApprove;
import dev.carapace.skill.SkillSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code skills:} section, and the {@code skill} tool in an agent's tools. */
class SkillsConfigTest {

    @TempDir Path dir;

    private String base() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        return """
                providers:
                  up: {kind: openai, base_url: "http://127.0.0.1:9/v1"}
                models:
                  m: {tier: mid, context_window: 1000, max_output_tokens: 100, price: {input: 1, output: 1}, deployments: [{provider: up, model: x}]}
                teams:
                  t: {}
                agents:
                  a: {workspace: %s, model: m, tools: [read, skill], owner: {team: t}}
                """.formatted(ws);
    }

    private List<String> errors(String skills) throws Exception {
        return ConfigLoader.check(base() + skills, "t.yaml", name -> null).errors().stream()
                .map(Object::toString).toList();
    }

    @Test
    void readsDirsBudgetsAndEntries() throws Exception {
        Path shared = Files.createDirectories(dir.resolve("shared-skills"));
        CarapaceConfig c = ConfigLoader.load(base() + """
                skills:
                  dirs: [%s]
                  prompt: {max_tokens: 900, max_skill_tokens: 40}
                  auto_approve: never
                  entries:
                    coding-agent: {enabled: true}
                    sag: {enabled: false}
                    image-lab:
                      config: {browser: {enabled: true}, model: nano}
                """.formatted(shared), "t.yaml");
        SkillSettings s = c.skills();
        assertThat(s.dirs()).containsExactly(shared.toAbsolutePath());
        assertThat(s.maxPromptTokens()).isEqualTo(900);
        assertThat(s.maxSkillTokens()).isEqualTo(40);
        assertThat(s.autoApprove()).isEqualTo(AutoApprove.NEVER);
        assertThat(s.entry("coding-agent").enabled()).isTrue();
        assertThat(s.entry("sag").enabled()).isFalse();
        assertThat(s.entry("image-lab").enabled()).isNull();
        assertThat(s.entry("image-lab").config()).isEqualTo(Map.of("browser", Map.of("enabled", "true"), "model", "nano"));
        assertThat(c.agents().get("a").tools()).containsExactly("read", "skill");
        assertThat(ConfigLoader.load(base(), "t.yaml").skills()).isEqualTo(SkillSettings.DEFAULT);
        assertThat(SkillSettings.DEFAULT.autoApprove()).as("the default review policy").isEqualTo(AutoApprove.CLEAN);
    }

    @Test
    void mistakesNameTheirLineAndKey() throws Exception {
        int line = base().split("\n").length + 1;
        assertThat(errors("skills:\n  dirs: [./nowhere]\n")).singleElement().asString()
                .startsWith("t.yaml:" + (line + 1) + ":10: skills.dirs: folder '")
                .endsWith("nowhere' does not exist (a skills folder holds one folder per skill, each with its SKILL.md)");
        assertThat(errors("skills:\n  dirz: []\n")).singleElement().asString()
                .isEqualTo("t.yaml:" + (line + 1) + ":3: skills.dirz: unknown key 'dirz' (expected one of: dirs, prompt, entries, auto_approve)");
        assertThat(errors("skills:\n  auto_approve: always\n")).singleElement().asString()
                .contains("skills.auto_approve: unknown value 'always' (expected one of: never, clean, unblocked)");
        assertThat(errors("skills:\n  prompt: {max_tokens: 5}\n")).singleElement().asString()
                .contains("skills.prompt.max_tokens").contains("between 100 and 100000");
        assertThat(errors("skills:\n  prompt: {max_tokens: 200, max_skill_tokens: 300}\n")).singleElement().asString()
                .contains("skills.prompt: max_skill_tokens (300) is more than max_tokens (200)");
        assertThat(errors("skills:\n  entries:\n    x: {enabled: maybe, config: 3, env: {}}\n"))
                .anySatisfy(e -> assertThat(e).startsWith("t.yaml:" + (line + 2) + ":").contains("skills.entries.x.enabled"))
                .anySatisfy(e -> assertThat(e).contains("skills.entries.x.config: expected a mapping of the skill's settings"))
                .anySatisfy(e -> assertThat(e).contains("skills.entries.x.env: unknown key 'env'"));
        assertThat(errors("skills:\n  entries:\n    x: {config: {api_key: abc}}\n")).singleElement().asString()
                .contains("secrets are not written in the config");
    }
}
