package dev.carapace.skill;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class SkillFoldersTest {

    @TempDir
    Path tmp;

    private static void skill(Path dir, String folder, String name, String description) throws Exception {
        Files.createDirectories(dir.resolve(folder));
        Files.writeString(dir.resolve(folder).resolve("SKILL.md"),
                "---\nname: " + name + "\ndescription: " + description + "\n---\n# " + name + "\n");
    }

    @Test
    void loadsEveryFixtureFolderWithAStableHash() {
        SkillFolders.Loaded loaded = SkillFolders.load(SkillFixtures.dir(), "workspace");
        assertThat(loaded.skipped()).isEmpty();
        assertThat(loaded.skills()).hasSize(51);
        assertThat(loaded.skills()).extracting(Skill::name).isSorted().contains("github", "weather", "1password");
        assertThat(loaded.skills()).allSatisfy(s -> {
            assertThat(s.origin()).isEqualTo("workspace");
            assertThat(s.contentHash()).matches("[0-9a-f]{64}");
        });
        Skill github = loaded.skills().stream().filter(s -> s.name().equals("github")).findFirst().orElseThrow();
        assertThat(SkillFolders.load(SkillFixtures.dir(), "x").skills()).filteredOn(s -> s.name().equals("github"))
                .singleElement().extracting(Skill::contentHash).isEqualTo(github.contentHash());
    }

    @Test
    void theHashIsOverPathsAndContentsInPathOrder() throws Exception {
        byte[] md = Files.readAllBytes(SkillFixtures.dir().resolve("github/SKILL.md"));
        Skill github = SkillFolders.load(SkillFixtures.dir(), "w").skills().stream()
                .filter(s -> s.name().equals("github")).findFirst().orElseThrow();
        assertThat(github.contentHash()).isEqualTo(SkillHash.of(Map.of("SKILL.md", md)));
        byte[] a = "a".getBytes(StandardCharsets.UTF_8);
        byte[] b = "b".getBytes(StandardCharsets.UTF_8);
        assertThat(SkillHash.of(Map.of("x", a, "y", b))).isEqualTo(SkillHash.of(new java.util.TreeMap<>(Map.of("y", b, "x", a))))
                .isNotEqualTo(SkillHash.of(Map.of("x", b, "y", a)))
                .isNotEqualTo(SkillHash.of(Map.of("x", "ab".getBytes(StandardCharsets.UTF_8), "y", new byte[0])));
        // SHA-256 of the empty input: no files
        assertThat(SkillHash.of(Map.of())).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    @Test
    void aMalformedSkillIsReportedAndItsSiblingsLoad() throws Exception {
        skill(tmp, "good", "good", "fine");
        Files.createDirectories(tmp.resolve("bad"));
        Files.writeString(tmp.resolve("bad/SKILL.md"), "no front matter\n");
        Files.createDirectories(tmp.resolve("empty"));
        Files.writeString(tmp.resolve("README.md"), "not a skill");
        SkillFolders.Loaded loaded = SkillFolders.load(tmp, "workspace");
        assertThat(loaded.skills()).extracting(Skill::name).containsExactly("good");
        assertThat(loaded.skipped()).hasSize(2);
        assertThat(loaded.skipped().get(0)).startsWith(tmp.toRealPath().resolve("bad/SKILL.md") + ":1:1: a SKILL.md must begin");
        assertThat(loaded.skipped().get(1)).endsWith("empty: no SKILL.md in the folder");
    }

    @Test
    void anOversizedOrNonUtf8SkillMdIsReported() throws Exception {
        Files.createDirectories(tmp.resolve("huge"));
        Files.writeString(tmp.resolve("huge/SKILL.md"), "---\nname: huge\ndescription: d\n---\n"
                + "x".repeat(SkillDocuments.MAX_BYTES));
        Files.createDirectories(tmp.resolve("latin1"));
        Files.write(tmp.resolve("latin1/SKILL.md"), "---\nname: latin1\ndescription: caf\u00e9\n---\n"
                .getBytes(StandardCharsets.ISO_8859_1));
        SkillFolders.Loaded loaded = SkillFolders.load(tmp, "workspace");
        assertThat(loaded.skills()).isEmpty();
        assertThat(loaded.skipped()).containsExactly(
                tmp.toRealPath().resolve("huge") + ": 'SKILL.md' is 262178 bytes; at most 262144 are read",
                tmp.toRealPath().resolve("latin1/SKILL.md") + ": is not UTF-8 text; a SKILL.md is UTF-8 markdown");
    }

    @Test
    void symlinksOutOfTheSkillsFolderAreNotFollowed() throws Exception {
        Path skills = Files.createDirectories(tmp.resolve("skills"));
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        skill(outside, "stolen", "stolen", "outside the skills folder");
        Files.writeString(outside.resolve("secret.md"), "---\nname: leak\ndescription: leaked\n---\n");
        // a skill folder that is a link out, and a SKILL.md that is a link out
        Files.createSymbolicLink(skills.resolve("linked"), outside.resolve("stolen"));
        Files.createDirectories(skills.resolve("mdlink"));
        Files.createSymbolicLink(skills.resolve("mdlink/SKILL.md"), outside.resolve("secret.md"));
        // a link inside the skills folder is fine
        skill(skills, "real", "real", "a real one");
        Files.createSymbolicLink(skills.resolve("alias"), skills.resolve("real"));
        SkillFolders.Loaded loaded = SkillFolders.load(skills, "workspace");
        assertThat(loaded.skills()).extracting(Skill::name).containsExactly("real");
        // a workspace whose skills folder is itself a link out (an agent with exec could make one) is not read
        Path ws = Files.createDirectories(tmp.resolve("ws"));
        Files.createSymbolicLink(ws.resolve("skills"), outside);
        SkillFolders.Loaded escaped = SkillFolders.load(ws.resolve("skills"), "workspace", null, ws.toRealPath());
        assertThat(escaped.skills()).isEmpty();
        assertThat(escaped.skipped()).containsExactly(ws.resolve("skills") + ": leads outside " + ws.toRealPath()
                + " (a symlink); not read");
        assertThat(SkillFolders.load(skills, "workspace", null, tmp.toRealPath()).skills()).hasSize(1);
        assertThat(loaded.skipped()).anySatisfy(s -> assertThat(s).contains("linked").contains("symlink to outside the skills folder"))
                .anySatisfy(s -> assertThat(s).contains("mdlink").contains("SKILL.md").contains("symlink to outside its skill folder"))
                .anySatisfy(s -> assertThat(s).contains("alias").contains("already used"));
    }

    @Test
    void theCacheReusesUnchangedSkillsAndReloadsEditedOnes() throws Exception {
        skill(tmp, "one", "one", "first");
        skill(tmp, "two", "two", "second");
        SkillCache cache = new SkillCache();
        List<Skill> first = SkillFolders.load(tmp, "workspace", cache, null).skills();
        List<Skill> again = SkillFolders.load(tmp, "workspace", cache, null).skills();
        assertThat(again.get(0)).isSameAs(first.get(0));
        assertThat(again.get(1)).isSameAs(first.get(1));
        Files.createDirectories(tmp.resolve("two/references"));
        Files.writeString(tmp.resolve("two/references/more.md"), "more");
        List<Skill> edited = SkillFolders.load(tmp, "workspace", cache, null).skills();
        assertThat(edited.get(0)).isSameAs(first.get(0));
        assertThat(edited.get(1)).isNotSameAs(first.get(1));
        assertThat(edited.get(1).contentHash()).isNotEqualTo(first.get(1).contentHash())
                .isEqualTo(SkillFolders.load(tmp, "workspace").skills().get(1).contentHash());
        Files.writeString(tmp.resolve("one/SKILL.md"), "---\nname: one\ndescription: changed text\n---\n");
        assertThat(SkillFolders.load(tmp, "workspace", cache, null).skills().get(0).doc().description()).isEqualTo("changed text");
    }

    @Test
    void twoFoldersNamingTheSameSkillKeepTheEarlierRoot() throws Exception {
        Path ws = tmp.resolve("ws/skills");
        Path extra = tmp.resolve("extra");
        skill(ws, "gh", "github", "workspace one");
        skill(extra, "github", "github", "extra one");
        skill(extra, "other", "other", "only in extra");
        FolderSkillSource source = new FolderSkillSource(agent -> agent.equals("a")
                ? List.of(new FolderSkillSource.Root(ws, "workspace"), new FolderSkillSource.Root(extra, "dir"))
                : List.of());
        assertThat(source.skillsFor("a")).extracting(s -> s.name() + "/" + s.origin() + "/" + s.doc().description())
                .containsExactly("github/workspace/workspace one", "other/dir/only in extra");
        assertThat(source.skillsFor("unknown")).isEmpty();

        List<Skill> orgSkills = List.of(
                new Skill(SkillDocuments.parse("---\nname: other\ndescription: org one\n---\n", "org"), "org",
                        new FolderSkillFiles(extra), SkillHash.of(Map.of())),
                new Skill(SkillDocuments.parse("---\nname: aardvark\ndescription: org only\n---\n", "org"), "org",
                        new FolderSkillFiles(extra), SkillHash.of(Map.of())));
        SkillSource org = agent -> orgSkills;
        assertThat(SkillSource.firstWins(List.of(source, org)).skillsFor("a"))
                .extracting(s -> s.name() + "/" + s.origin())
                .containsExactly("aardvark/org", "github/workspace", "other/dir");
    }
}
