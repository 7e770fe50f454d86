package dev.carapace.schedule.heartbeat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HeartbeatSpecTest {

    private static HeartbeatSpec files(String... paths) {
        return new HeartbeatSpec(Duration.ofMinutes(30), null, null, null, List.of(paths), null);
    }

    private static HeartbeatSpec urls(String... urls) {
        return new HeartbeatSpec(Duration.ofMinutes(30), null, null, null, null, List.of(urls));
    }

    @Test
    void defaultsAreTheChecklistFileNothingWatchedAndUtc() {
        HeartbeatSpec spec = HeartbeatSpec.every(Duration.ofMinutes(30));
        assertThat(spec.checklist()).isEqualTo("HEARTBEAT.md");
        assertThat(spec.watchFiles()).isEmpty();
        assertThat(spec.watchUrls()).isEmpty();
        assertThat(spec.model()).isNull();
        assertThat(spec.zone()).isEqualTo(ZoneOffset.UTC);
        HeartbeatSpec paris = new HeartbeatSpec(Duration.ofHours(1), ActiveHours.parse("08:00-20:00 Europe/Paris"),
                "tier:cheap", "ops/CHECKS.md", List.of("notes/todo.md"), List.of("https://example.com/status?x=1"));
        assertThat(paris.zone()).isEqualTo(ZoneId.of("Europe/Paris"));
        assertThat(paris.model()).isEqualTo("tier:cheap");
    }

    @Test
    void theListsAreCopiedSoTheCallerCannotChangeThemLater() {
        List<String> paths = new ArrayList<>(List.of("a.md"));
        HeartbeatSpec spec = new HeartbeatSpec(Duration.ofMinutes(5), null, null, null, paths, null);
        paths.add("b.md");
        assertThat(spec.watchFiles()).containsExactly("a.md");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "PT30S  | heartbeat.every: 30s is under the minimum of 1 minute",
            "PT0S   | heartbeat.every: 0s is under the minimum of 1 minute",
            "PT-5M  | heartbeat.every: a negative duration is under the minimum",
            "P8D    | heartbeat.every: 192h is over the maximum of 7 days; for rarer work, use a job",
    })
    void anIntervalOutOfBoundsIsRefused(String every, String expected) {
        assertThatThrownBy(() -> HeartbeatSpec.every(Duration.parse(every)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(expected);
    }

    @Test
    void aMissingIntervalIsRefused() {
        assertThatThrownBy(() -> HeartbeatSpec.every(null)).hasMessageStartingWith("heartbeat.every: missing");
    }

    @Test
    void pathTraversalInWatchFilesIsRefusedNamingTheEntry() {
        assertThatThrownBy(() -> files("ok.md", "../../etc/passwd"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("heartbeat.watch_files[1]: '../../etc/passwd' contains '..', which could leave the "
                        + "workspace; expected a path inside it");
        assertThatThrownBy(() -> files("notes/../../x")).hasMessageStartingWith("heartbeat.watch_files[0]: ")
                .hasMessageContaining("contains '..'");
        assertThatThrownBy(() -> files("notes\\..\\..\\x")).hasMessageContaining("contains '..'");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/etc/passwd        | is absolute",
            "C:\\secrets.txt     | is absolute",
            "~/notes.md         | starts with '~'",
            "'   '              | empty; expected a path inside the agent's workspace",
            ".                  | names the workspace itself",
            "./                 | names the workspace itself",
    })
    void badWatchedPathsAreRefused(String path, String expected) {
        assertThatThrownBy(() -> files(path)).hasMessageStartingWith("heartbeat.watch_files[0]: ")
                .hasMessageContaining(expected);
    }

    @Test
    void aControlCharacterInAPathIsRefusedWithoutEchoingIt() {
        assertThatThrownBy(() -> files("a\u0000b")).hasMessageContaining("contains a control character")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\u0000"));
    }

    @Test
    void theChecklistPathIsCheckedLikeAWatchedFile() {
        assertThatThrownBy(() -> new HeartbeatSpec(Duration.ofMinutes(30), null, null, "../HEARTBEAT.md", null, null))
                .hasMessageStartingWith("heartbeat.checklist: '../HEARTBEAT.md' contains '..'");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "file:///etc/passwd          | 'file:' is not an http or https URL",
            "ftp://example.com/x         | 'ftp:' is not an http or https URL",
            "javascript:alert(1)         | 'javascript:' is not an http or https URL",
            "example.com/status          | is not an http or https URL",
            "https://                    | not a URL",
            "http:///path                | has no host",
            "https://exa mple.com/       | is not a URL",
    })
    void aNonHttpUrlIsRefused(String url, String expected) {
        assertThatThrownBy(() -> urls(url)).hasMessageStartingWith("heartbeat.watch_urls[0]: ")
                .hasMessageContaining(expected);
    }

    @Test
    void aUrlWithCredentialsIsRefusedWithoutQuotingThem() {
        assertThatThrownBy(() -> urls("https://alice:hunter2@example.com/feed"))
                .hasMessageStartingWith("heartbeat.watch_urls[0]: the URL carries credentials")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("hunter2").doesNotContain("alice"));
    }

    @Test
    void aDuplicateIsRefusedAndAQuerySecretIsNotEchoed() {
        assertThatThrownBy(() -> files("a.md", "a.md")).hasMessage("heartbeat.watch_files[1]: 'a.md' is listed twice");
        assertThatThrownBy(() -> urls("https://x.test/a?token=s3cret", "https://x.test/a?token=s3cret"))
                .hasMessage("heartbeat.watch_urls[1]: 'https://x.test/a?...' is listed twice");
    }

    @Test
    void tooManyEntriesAreRefused() {
        List<String> many = new ArrayList<>();
        for (int i = 0; i <= HeartbeatSpec.MAX_WATCH_FILES; i++) many.add("f" + i);
        assertThatThrownBy(() -> new HeartbeatSpec(Duration.ofMinutes(30), null, null, null, many, null))
                .hasMessage("heartbeat.watch_files: 51 entries; at most 50");
        List<String> urls = Collections.nCopies(HeartbeatSpec.MAX_WATCH_URLS + 1, "https://x.test/");
        assertThatThrownBy(() -> new HeartbeatSpec(Duration.ofMinutes(30), null, null, null, null, urls))
                .hasMessage("heartbeat.watch_urls: 21 entries; at most 20");
    }

    @Test
    void aBlankOrSpacedModelIsRefused() {
        assertThatThrownBy(() -> new HeartbeatSpec(Duration.ofMinutes(30), null, " ", null, null, null))
                .hasMessage("heartbeat.model: empty; leave it out to use the agent's model");
        assertThatThrownBy(() -> new HeartbeatSpec(Duration.ofMinutes(30), null, "gpt 4\nx", null, null, null))
                .hasMessageStartingWith("heartbeat.model: 'gpt 4 x' is not a model name");
    }
}
