package dev.carapace.skill;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SkillDocumentsTest {

    private static SkillDocument fixture(String name) throws Exception {
        return SkillDocuments.parse(SkillFixtures.text(name), name + "/SKILL.md");
    }

    @Test
    void everyOpenClawFixtureParsesWithItsFolderName() throws Exception {
        List<Path> folders = SkillFixtures.folders();
        assertThat(folders).hasSize(51);   // with their LICENSE, the fixtures folder's 52 files
        for (Path folder : folders) {
            String name = folder.getFileName().toString();
            SkillDocument doc = fixture(name);
            assertThat(doc.name()).as(name).isEqualTo(name);
            assertThat(doc.description()).as(name).isNotBlank().doesNotContain("\n");
            assertThat(doc.body()).as(name).startsWith("#").doesNotStartWith("---");
        }
    }

    @Test
    void readsOpenClawMetadataOfRealSkills() throws Exception {
        SkillDocument github = fixture("github");
        assertThat(github.description()).isEqualTo(
                "GitHub CLI for issues, PRs, CI/check logs, comments, reviews, releases, repos, and gh api queries.");
        assertThat(github.openclaw().emoji()).isEqualTo("🐙");
        assertThat(github.openclaw().requires().bins()).containsExactly("gh");
        assertThat(github.openclaw().install()).singleElement().satisfies(i -> {
            assertThat(i.kind()).isEqualTo("brew");
            assertThat(i.bins()).containsExactly("gh");
            assertThat(i.fields()).containsEntry("formula", "gh");
        });
        assertThat(github.needs().commands()).containsExactly("gh");
        assertThat(github.needs().network()).isFalse();
        assertThat(github.userInvocable()).isTrue();
        assertThat(github.disableModelInvocation()).isFalse();

        SkillDocument trello = fixture("trello");
        assertThat(trello.openclaw().requires().bins()).containsExactly("curl", "jq");
        assertThat(trello.openclaw().requires().env()).containsExactly("TRELLO_API_KEY", "TRELLO_TOKEN");
        assertThat(trello.homepage()).isEqualTo("https://developer.atlassian.com/cloud/trello/rest/");

        SkillDocument notion = fixture("notion");
        assertThat(notion.openclaw().requires().anyBins()).containsExactly("ntn", "curl");
        assertThat(notion.openclaw().primaryEnv()).isEqualTo("NOTION_API_TOKEN");
        assertThat(notion.needs().commands()).containsExactly("ntn", "curl");

        SkillDocument coding = fixture("coding-agent");
        assertThat(coding.openclaw().requires().anyBins()).containsExactly("claude", "codex", "opencode");
        assertThat(coding.openclaw().requires().config()).containsExactly("skills.entries.coding-agent.enabled");

        SkillDocument tts = fixture("sherpa-onnx-tts");
        assertThat(tts.openclaw().os()).containsExactly("darwin", "linux", "win32");
        assertThat(tts.openclaw().install()).anySatisfy(i -> assertThat(i.os()).containsExactly("darwin"));
    }

    @Test
    void macOnlySkillsSayDarwin() throws Exception {
        for (String mac : List.of("apple-notes", "apple-reminders", "bear-notes", "peekaboo", "things-mac")) {
            assertThat(fixture(mac).openclaw().os()).as(mac).containsExactly("darwin");
        }
        assertThat(fixture("tmux").openclaw().os()).containsExactly("darwin", "linux");
        assertThat(fixture("weather").openclaw() == null || fixture("weather").openclaw().os().isEmpty()).isTrue();
    }

    @Test
    void keepsTheRawFrontMatterUnmodifiable() throws Exception {
        Map<String, Object> fm = fixture("github").frontMatter();
        assertThat(fm).containsKeys("name", "description", "metadata");
        assertThat(fm.get("metadata")).isInstanceOf(Map.class);
        assertThatThrownBy(() -> fm.put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void readsTheOptionalFields() throws Exception {
        SkillDocument doc = SkillDocuments.parse("""
                ---
                name: deploy
                description: Deploys the site.
                user-invocable: false
                disable-model-invocation: true
                license: Apache-2.0
                allowed-tools: Bash(git add:*) read, exec
                metadata:
                  carapace:
                    hosts: [api.github.com, "*.example.com", "Example.org:8443"]
                ---
                Do it.
                """, "deploy/SKILL.md");
        assertThat(doc.userInvocable()).isFalse();
        assertThat(doc.disableModelInvocation()).isTrue();
        assertThat(doc.modelInvocable()).isFalse();
        assertThat(doc.license()).isEqualTo("Apache-2.0");
        assertThat(doc.needs().tools()).containsExactly("Bash(git add:*)", "read", "exec");
        assertThat(doc.needs().hosts()).containsExactly("api.github.com", "*.example.com", "example.org:8443");
        assertThat(doc.needs().network()).isTrue();
        assertThat(doc.openclaw()).isNull();
        assertThat(doc.body()).isEqualTo("Do it.\n");
    }

    @Test
    void metadataAsAJson5StringWithCommentsSingleQuotesAndTrailingCommas() throws Exception {
        SkillDocument doc = SkillDocuments.parse("""
                ---
                name: img
                description: Makes images.
                metadata: |
                  { openclaw: { /* gates */ requires: { bins: ['uv',], env: ["GEMINI_API_KEY"], },
                    always: true, "primaryEnv": "GEMINI_API_KEY", skillKey: "image-lab", }, // done
                  }
                ---
                body
                """, "img/SKILL.md");
        assertThat(doc.openclaw().requires().bins()).containsExactly("uv");
        assertThat(doc.openclaw().always()).isTrue();
        assertThat(doc.openclaw().skillKey()).isEqualTo("image-lab");
        assertThat(doc.configKey()).isEqualTo("image-lab");
        assertThat(((Map<?, ?>) doc.frontMatter().get("metadata")).get("openclaw")).isInstanceOf(Map.class);
    }

    @Test
    void frontMatterYamlCannotReadIsReadAsOpenClawReadsItLineByLineWithJson5Values() throws Exception {
        SkillDocument doc = SkillDocuments.parse("""
                ---
                name: commented
                description: "Uses: colons, and a comment below."
                homepage: https://example.com/x
                metadata:
                  {
                    // OpenClaw's examples put comments here, which YAML refuses
                    openclaw: { requires: { bins: ['jq'] }, emoji: "🧪", },
                  }
                user-invocable: false
                ---
                Body.
                """, "c/SKILL.md");
        assertThat(doc.name()).isEqualTo("commented");
        assertThat(doc.description()).isEqualTo("Uses: colons, and a comment below.");
        assertThat(doc.homepage()).isEqualTo("https://example.com/x");
        assertThat(doc.openclaw().requires().bins()).containsExactly("jq");
        assertThat(doc.userInvocable()).isFalse();
        assertThat(doc.body()).isEqualTo("Body.\n");
        // When that fails too, the YAML error is the one reported.
        assertThat(error("---\nname: a\ndescription: b\nmetadata:\n  { // x\n    openclaw: {\n---\n"))
                .startsWith("evil/SKILL.md:").contains("YAML syntax error");
    }

    @Test
    void legacyClawdbotBlockIsReadWhenOpenclawIsAbsent() throws Exception {
        SkillDocument doc = SkillDocuments.parse("""
                ---
                name: old
                description: An older skill.
                metadata: {"clawdbot": {"requires": {"bins": ["jq"]}, "os": ["Linux"]}}
                ---
                """, "old/SKILL.md");
        assertThat(doc.openclaw().requires().bins()).containsExactly("jq");
        assertThat(doc.openclaw().os()).containsExactly("linux");
        assertThat(doc.body()).isEmpty();
    }

    @Test
    void aByteOrderMarkAndCrlfLineEndsReadTheSameAsPlainText() throws Exception {
        String plain = SkillFixtures.text("trello");
        SkillDocument expected = SkillDocuments.parse(plain, "t");
        SkillDocument crlf = SkillDocuments.parse("\uFEFF" + plain.replace("\n", "\r\n"), "t");
        assertThat(crlf).isEqualTo(expected);
    }

    @Test
    void aMissingNameFallsBackToTheFolderOnlyWhenOneIsGiven() throws Exception {
        String text = "---\ndescription: d\n---\nbody\n";
        assertThat(SkillDocuments.parse(text, "x/SKILL.md", "x").name()).isEqualTo("x");
        assertThatThrownBy(() -> SkillDocuments.parse(text, "x/SKILL.md"))
                .isInstanceOf(SkillFormatException.class)
                .hasMessageStartingWith("x/SKILL.md:")
                .hasMessageContaining("name: missing");
    }

    // ---- hostile front matter ---------------------------------------------------------------------------------

    private static String error(String text) {
        try {
            SkillDocuments.parse(text, "evil/SKILL.md");
        } catch (SkillFormatException e) {
            return e.getMessage();
        }
        throw new AssertionError("accepted: " + text);
    }

    @Test
    void noOpeningLineIsRefused() {
        assertThat(error("# Just markdown\n")).isEqualTo("evil/SKILL.md:1:1: a SKILL.md must begin with a '---' line "
                + "opening its YAML front matter (name:, description:), then a closing '---' line and the markdown"
                + " body; it begins with '# Just markdown'");
    }

    @Test
    void noClosingLineIsRefused() {
        assertThat(error("---\nname: a\ndescription: b\n# body\n"))
                .isEqualTo("evil/SKILL.md:1:1: the front matter opened by '---' on line 1 is never closed; expected a"
                        + " '---' line after its keys, then the markdown body");
    }

    @Test
    void duplicateKeysAreRefusedWithBothLines() {
        assertThat(error("---\nname: a\ndescription: b\nname: c\n---\n"))
                .isEqualTo("evil/SKILL.md:4:1: name: duplicate key 'name' (first given at line 2)");
    }

    @Test
    void duplicateKeysInsideJson5MetadataAreRefused() {
        assertThat(error("---\nname: a\ndescription: b\nmetadata: '{openclaw: {os: [\"linux\"], os: [\"darwin\"]}}'\n---\n"))
                .contains("evil/SKILL.md:4:").contains("duplicate key 'os'");
    }

    @Test
    void aFileOver256KiBIsRefusedBeforeParsing() {
        String big = "---\nname: a\ndescription: b\n---\n" + "x".repeat(SkillDocuments.MAX_BYTES);
        assertThat(error(big)).startsWith("evil/SKILL.md: the file is ").contains("at most 262144 bytes (256 KiB)");
        // multi-byte characters count as bytes: 100,000 three-byte characters are 300,000 bytes
        assertThat(error("---\nname: a\ndescription: b\n---\n" + "€".repeat(100_000))).contains("at most 262144 bytes");
    }

    @Test
    void yamlAliasBombsAreNeverExpanded() {
        StringBuilder bomb = new StringBuilder("---\nname: a\ndescription: b\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (int i = 1; i < 10; i++) {
            bomb.append("x").append(i).append(": &a").append(i).append(" [");
            for (int j = 0; j < 9; j++) bomb.append(j == 0 ? "" : ", ").append("*a").append(i - 1);
            bomb.append("]\n");
        }
        bomb.append("---\n");
        long start = System.nanoTime();
        String message = error(bomb.toString());
        assertThat(System.nanoTime() - start).isLessThan(2_000_000_000L);
        assertThat(message).startsWith("evil/SKILL.md:5:").contains("YAML aliases (*a0) are not allowed");
    }

    @Test
    void aNameThatIsNotTextIsRefused() {
        assertThat(error("---\nname: 42\ndescription: b\n---\n"))
                .isEqualTo("evil/SKILL.md:2:7: name: expected text, got '42' (a number)");
        assertThat(error("---\nname: [a, b]\ndescription: b\n---\n"))
                .isEqualTo("evil/SKILL.md:2:7: name: expected text, got a list");
    }

    @Test
    void aNameWithPathCharactersIsRefused() {
        assertThat(error("---\nname: ../../etc\ndescription: b\n---\n"))
                .isEqualTo("evil/SKILL.md:2:7: name: '../../etc' holds a path character ('/'); a skill name is one"
                        + " folder name: letters, digits, '-', '_' and '.'");
        assertThat(error("---\nname: \"a\\\\b\"\ndescription: b\n---\n")).contains("holds a path character ('\\')");
        assertThat(error("---\nname: \"..\"\ndescription: b\n---\n")).contains("holds a path character ('..')");
        assertThat(error("---\nname: \"x\\u202Egnp.exe\"\ndescription: b\n---\n"))
                .contains("'x\\u202Egnp.exe' may hold only letters, digits");
        assertThat(error("---\nname: " + "a".repeat(65) + "\ndescription: b\n---\n"))
                .contains("name: is 65 characters long; at most 64");
    }

    @Test
    void aDescriptionOverItsBoundIsRefused() {
        assertThat(error("---\nname: a\ndescription: " + "word ".repeat(300) + "\n---\n"))
                .isEqualTo("evil/SKILL.md:3:14: description: is 1499 characters long; at most 1024 (it goes into every"
                        + " prompt; put the details in the body)");
        assertThat(error("---\nname: a\n---\n")).contains("description: missing");
        assertThat(error("---\nname: a\ndescription: \"  \"\n---\n")).contains("description: is empty");
    }

    @Test
    void wrongTypesInOpenClawMetadataNameTheirPath() {
        assertThat(error("---\nname: a\ndescription: b\nmetadata: {openclaw: {requires: {bins: gh, env: [1]}, always: maybe}}\n---\n"))
                .startsWith("evil/SKILL.md:4:")
                .contains("metadata.openclaw.requires.env[0]: expected text, got '1' (a number)")
                .contains("(and 1 more)");
        assertThat(error("---\nname: a\ndescription: b\nmetadata: '{openclaw: {os: [\"linux\"}'\n---\n"))
                .startsWith("evil/SKILL.md:4:").contains("metadata: invalid JSON5");
        assertThat(error("---\nname: a\ndescription: b\nmetadata: {openclaw: {requires: {bins: [\"gh\\nIgnore all\"]}}}\n---\n"))
                .isEqualTo("evil/SKILL.md:4:41: metadata.openclaw.requires.bins[0]: the item 'gh\\u000AIgnore all' holds a"
                        + " control or hidden character; expected a plain name");
        assertThat(error("---\nname: a\ndescription: b\nmetadata: {carapace: {hosts: [\"http://x.com/\"]}}\n---\n"))
                .contains("metadata.carapace.hosts[0]: host 'http://x.com/' is not a host name or host:port");
    }

    /**
     * Bug: {@code *.com} was a valid declared host, so a skill could "declare" every .com host: a run following it
     * was held to nothing on the network, and the scanner took any .com download for the skill's own.
     */
    @Test
    void aWildcardOverATopLevelDomainIsNoDeclaration() {
        for (String broad : new String[]{"*.com", "*.io:443", "*.Dev"}) {
            assertThat(error("---\nname: a\ndescription: b\nmetadata: {carapace: {hosts: [\"" + broad + "\"]}}\n---\n"))
                    .as(broad).contains("metadata.carapace.hosts[0]").contains("covers a whole top-level domain");
        }
    }

    @Test
    void deepJson5NestingIsRefused() {
        String deep = "{a:".repeat(200) + "1" + "}".repeat(200);
        assertThat(error("---\nname: a\ndescription: b\nmetadata: '" + deep + "'\n---\n"))
                .contains("metadata: invalid JSON5").contains("depth");
    }

    @Test
    void frontMatterThatIsNotAMappingIsRefused() {
        assertThat(error("---\n- a\n- b\n---\n")).isEqualTo("evil/SKILL.md:2: the front matter must be key: value lines"
                + " (at least name: and description:), got a list");
        assertThat(error("---\n---\nbody")).contains("the front matter must be key: value lines");
    }

    @Test
    void yamlSyntaxErrorsGiveTheirLine() {
        assertThat(error("---\nname: a\ndescription: b\nmetadata: { openclaw: [\n---\n")).startsWith("evil/SKILL.md:")
                .contains("YAML syntax error");
    }
}
