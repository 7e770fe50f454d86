package dev.carapace.skill;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class SkillGateTest {

    static Map<String, Skill> fixtures;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        fixtures = SkillFolders.load(SkillFixtures.dir(), "workspace").skills().stream()
                .collect(Collectors.toMap(Skill::name, s -> s));
    }

    /** A linux host whose PATH is one folder holding {@code programs}, with {@code env}. */
    private SkillHost linux(Map<String, String> env, String... programs) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        for (String p : programs) {
            Path f = Files.writeString(bin.resolve(p), "#!/bin/sh\n");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.writeString(bin.resolve("notexec"), "x");
        Map<String, String> all = new HashMap<>(env);
        all.put("PATH", "/nonexistent:" + bin);
        return new SkillHost("linux", all::get);
    }

    private static SkillGate.Eligibility check(SkillHost host, SkillSettings settings, String skill) {
        return new SkillGate(host, settings).check(fixtures.get(skill));
    }

    @Test
    void macOnlySkillsAreUnavailableOnLinuxWithTheReason() throws Exception {
        SkillHost host = linux(Map.of(), "peekaboo", "memo");
        for (String mac : List.of("peekaboo", "apple-notes", "things-mac", "bear-notes", "apple-reminders")) {
            assertThat(check(host, SkillSettings.DEFAULT, mac)).as(mac)
                    .isEqualTo(new SkillGate.Eligibility(false, "requires os darwin; this gateway runs linux"));
        }
        assertThat(check(new SkillHost("darwin", Map.of("PATH", tmp.resolve("bin").toString())::get),
                SkillSettings.DEFAULT, "peekaboo").available()).isTrue();
    }

    @Test
    void requiredCommandsMustAllBeExecutablesOnPath() throws Exception {
        SkillHost none = linux(Map.of(), "notexec-only");
        assertThat(check(none, SkillSettings.DEFAULT, "github").reason())
                .isEqualTo("requires command not on this gateway's PATH: gh");
        assertThat(check(none, SkillSettings.DEFAULT, "trello").reason())
                .isEqualTo("requires commands not on this gateway's PATH: curl, jq");
        assertThat(check(linux(Map.of(), "gh"), SkillSettings.DEFAULT, "github").available()).isTrue();
    }

    @Test
    void anyBinsNeedsOneOfThem() throws Exception {
        assertThat(check(linux(Map.of()), SkillSettings.DEFAULT, "notion").reason())
                .isEqualTo("requires one of the commands ntn, curl on this gateway's PATH; none is there");
        assertThat(check(linux(Map.of(), "curl"), SkillSettings.DEFAULT, "notion").available()).isTrue();
    }

    @Test
    void requiredEnvironmentComesFromTheGatewayOrTheSkillsEntryAndValuesAreNeverShown() throws Exception {
        SkillHost host = linux(Map.of("TRELLO_API_KEY", "sekrit-value-1"), "curl", "jq");
        SkillGate.Eligibility e = check(host, SkillSettings.DEFAULT, "trello");
        assertThat(e.reason()).isEqualTo("requires the environment variable TRELLO_TOKEN, set neither in the"
                + " gateway's environment nor as a secret of that name in the config's secrets:");
        assertThat(e.reason()).doesNotContain("sekrit");

        SkillHost withOther = linux(Map.of("TRELLO_API_KEY", "v", "MY_TRELLO", "t"), "curl", "jq");
        SkillHost viaEnv = new SkillHost("linux", withOther.env(), Map.of("TRELLO_TOKEN", "env:MY_TRELLO"));
        assertThat(check(viaEnv, SkillSettings.DEFAULT, "trello").available()).isTrue();
        SkillHost unsetRef = new SkillHost("linux", withOther.env(), Map.of("TRELLO_TOKEN", "env:UNSET_ONE"));
        assertThat(check(unsetRef, SkillSettings.DEFAULT, "trello").available()).isFalse();
        Path secret = Files.writeString(tmp.resolve("token"), "t");
        SkillHost viaFile = new SkillHost("linux", withOther.env(), Map.of("TRELLO_TOKEN", "file:" + secret));
        assertThat(check(viaFile, SkillSettings.DEFAULT, "trello").available()).isTrue();
    }

    @Test
    void requiredConfigPathsMustBeTruthy() throws Exception {
        SkillHost host = linux(Map.of(), "codex");
        assertThat(check(host, SkillSettings.DEFAULT, "coding-agent").reason())
                .isEqualTo("requires the config setting skills.entries.coding-agent.enabled to be set (and not false)");
        SkillSettings on = settings(Map.of("coding-agent", new SkillSettings.Entry(true, Map.of())));
        assertThat(check(host, on, "coding-agent").available()).isTrue();
    }

    @Test
    void otherConfigPathsAreReadInTheSkillsOwnConfigAndAlwaysBypassesRequirementsButNotOs() throws Exception {
        Skill img = skill("""
                ---
                name: image-lab
                description: Images.
                metadata: {"openclaw": {"requires": {"bins": ["uv"], "config": ["browser.enabled"]}}}
                ---
                """);
        SkillHost host = linux(Map.of(), "uv");
        assertThat(new SkillGate(host, SkillSettings.DEFAULT).check(img).reason())
                .isEqualTo("requires the config setting browser.enabled to be set (and not false); other than skills.*"
                        + " paths are read in skills.entries.image-lab.config");
        SkillSettings on = settings(Map.of("image-lab",
                new SkillSettings.Entry(null, Map.of("browser", Map.of("enabled", true)))));
        assertThat(new SkillGate(host, on).check(img).available()).isTrue();
        SkillSettings zero = settings(Map.of("image-lab",
                new SkillSettings.Entry(null, Map.of("browser", Map.of("enabled", 0)))));
        assertThat(new SkillGate(host, zero).check(img).available()).isFalse();

        Skill always = skill("""
                ---
                name: always
                description: Always.
                metadata: {"openclaw": {"always": true, "os": ["linux"], "requires": {"bins": ["nope"], "env": ["NOPE"]}}}
                ---
                """);
        assertThat(new SkillGate(host, SkillSettings.DEFAULT).check(always).available()).isTrue();
        assertThat(new SkillGate(new SkillHost("darwin", k -> null), SkillSettings.DEFAULT).check(always).reason())
                .isEqualTo("requires os linux; this gateway runs darwin");
    }

    @Test
    void aSkillTurnedOffInTheConfigIsUnavailable() throws Exception {
        SkillSettings off = settings(Map.of("weather", new SkillSettings.Entry(false, Map.of())));
        assertThat(check(linux(Map.of(), "curl"), off, "weather").reason())
                .isEqualTo("turned off in the config (skills.entries.weather.enabled: false)");
    }

    @Test
    void programNamesWithPathsAreNeverLookedUp() throws Exception {
        SkillHost host = linux(Map.of(), "gh");
        assertThat(host.onPath("gh")).isTrue();
        assertThat(host.onPath("../bin/gh")).isFalse();
        assertThat(host.onPath("/usr/bin/env")).isFalse();
        assertThat(host.onPath("notexec")).isFalse();
        assertThat(SkillHost.osName("Mac OS X")).isEqualTo("darwin");
        assertThat(SkillHost.osName("Windows 11")).isEqualTo("win32");
        assertThat(SkillHost.osName("Linux")).isEqualTo("linux");
    }

    static SkillSettings settings(Map<String, SkillSettings.Entry> entries) {
        return new SkillSettings(List.of(), SkillSettings.DEFAULT_PROMPT_TOKENS, SkillSettings.DEFAULT_SKILL_TOKENS, entries);
    }

    static Skill skill(String text) throws Exception {
        SkillDocument doc = SkillDocuments.parse(text, "t/SKILL.md");
        return new Skill(doc, "workspace", new FolderSkillFiles(Path.of("/nonexistent")), SkillHash.of(Map.of()));
    }
}
