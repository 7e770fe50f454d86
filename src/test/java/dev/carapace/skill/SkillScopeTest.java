package dev.carapace.skill;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** What a set of followed skills allows together, and the spellings that must not widen it. */
class SkillScopeTest {

    static SkillScope.Declared skill(String name, List<String> tools, List<String> commands, List<String> hosts) {
        return new SkillScope.Declared(name, new SkillNeeds(tools, commands, hosts), true);
    }

    @Test
    void aSkillThatDeclaredNothingAllowsOnlyReadingSkillsAndMemory() {
        SkillScope s = new SkillScope(List.of(skill("notes", List.of(), List.of(), List.of())));
        assertThat(s.allowsTool("skill")).isTrue();
        assertThat(s.allowsTool("memory_write")).isTrue();
        assertThat(s.allowsTool("memory_search")).isTrue();
        assertThat(s.allowsTool("web_fetch")).isFalse();
        assertThat(s.allowsTool("exec")).isFalse();
        assertThat(s.allowsTool("read")).isFalse();
        assertThat(s.network()).isFalse();
        assertThat(s.allowsHost("example.com", 443)).isFalse();
    }

    @Test
    void agentSkillsToolNamesMapToCarapacesAndBashPatternsDeclareTheirProgram() {
        SkillScope s = new SkillScope(List.of(skill("git-helper", List.of("Bash(git:*)", "Read", "WebFetch"),
                List.of(), List.of())));
        assertThat(s.tools()).containsExactlyInAnyOrder("exec", "read", "web_fetch");
        assertThat(s.allowsCommand("git")).isTrue();
        assertThat(s.allowsCommand("/usr/bin/git")).isTrue();
        assertThat(s.allowsCommand("curl")).isFalse();
        assertThat(s.allowsCommand("Git")).as("programs are compared exactly").isFalse();
    }

    @Test
    void declaredCommandsImplyExecAndDeclaredHostsImplyWebFetch() {
        SkillScope s = new SkillScope(List.of(skill("weather", List.of(), List.of("curl"), List.of("wttr.in"))));
        assertThat(s.allowsTool("exec")).isTrue();
        assertThat(s.allowsTool("web_fetch")).isTrue();
        assertThat(s.allowsTool("write")).isFalse();
    }

    @Test
    void hostPatternsMatchExactlyTheirHostPortOrSubdomains() {
        SkillScope s = new SkillScope(List.of(skill("api", List.of(), List.of(),
                List.of("API.Example.com.", "files.example.org:8443", "*.cdn.example.net"))));
        assertThat(s.allowsHost("api.example.com", 443)).isTrue();
        assertThat(s.allowsHost("API.EXAMPLE.COM.", 80)).isTrue();
        assertThat(s.allowsHost("evil-api.example.com", 443)).isFalse();
        assertThat(s.allowsHost("api.example.com.evil.io", 443)).isFalse();
        assertThat(s.allowsHost("files.example.org", 8443)).isTrue();
        assertThat(s.allowsHost("files.example.org", 443)).as("the declared port only").isFalse();
        assertThat(s.allowsHost("a.cdn.example.net", 443)).isTrue();
        assertThat(s.allowsHost("cdn.example.net", 443)).as("*. names subdomains, not the domain").isFalse();
        assertThat(s.allowsHost("xcdn.example.net", 443)).isFalse();
    }

    @Test
    void lookAlikeAndInternationalizedHostsAreComparedInTheirAsciiForm() {
        SkillScope s = new SkillScope(List.of(skill("api", List.of(), List.of(), List.of("example.com", "bücher.de"))));
        // Cyrillic 'е' (U+0435) in place of 'e': another host entirely
        assertThat(s.allowsHost("\u0435xample.com", 443)).isFalse();
        assertThat(s.allowsHost("xn--xample-2of.com", 443)).isFalse();
        // the same internationalized name, written either way
        assertThat(s.allowsHost("xn--bcher-kva.de", 443)).isTrue();
        assertThat(s.allowsHost("BÜCHER.de", 443)).isTrue();
        assertThat(s.allowsHost("example.com\u0000.evil.io", 443)).isFalse();
    }

    @Test
    void severalSkillsAllowTheUnionOfWhatTheyDeclared() {
        SkillScope s = new SkillScope(List.of(
                skill("a", List.of("read"), List.of("jq"), List.of("a.example.com")),
                skill("b", List.of("write"), List.of(), List.of("b.example.com"))));
        assertThat(s.tools()).containsExactlyInAnyOrder("read", "write", "exec", "web_fetch");
        assertThat(s.allowsHost("a.example.com", 443)).isTrue();
        assertThat(s.allowsHost("b.example.com", 443)).isTrue();
        assertThat(s.allowsHost("c.example.com", 443)).isFalse();
        assertThat(s.describe()).isEqualTo("skills 'a', 'b'");
    }

    @Test
    void anUnknownSkillDeclaresNothingAndSaysSo() {
        SkillScope s = new SkillScope(List.of(new SkillScope.Declared("Weather", SkillNeeds.NOTHING, false)));
        assertThat(s.allowsTool("web_fetch")).isFalse();
        assertThat(s.describe()).contains("'Weather' (no such skill)");
    }
}
