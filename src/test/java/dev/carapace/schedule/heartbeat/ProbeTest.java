package dev.carapace.schedule.heartbeat;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class ProbeTest {

    private static final String AGENT = "a";
    private static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");
    private static final Duration STEP = Duration.ofMinutes(30);
    private static final String URL = "https://news.example.test/feed?token=s3cret";

    @TempDir
    Path ws;

    private HeartbeatFixture fx;
    private Probe probe;

    @BeforeEach
    void setUp() {
        fx = new HeartbeatFixture(ws);
        probe = new Probe(fx.inbox, fx.jobs, fx.files, fx.urls);
    }

    private static HeartbeatSpec watching(List<String> files, List<String> urls) {
        return new HeartbeatSpec(STEP, null, null, null, files, urls);
    }

    @Test
    void theFirstBeatTakesBaselinesAndReportsNothingAlreadyThere() throws IOException {
        Files.writeString(ws.resolve("notes.md"), "x");
        fx.urls.bodies.put(URL, "v1");
        fx.inbox.messages.add(new Inbox.Message("old", "old"));
        fx.jobs.events.add(new JobActivity.Event("j", JobActivity.Outcome.MISSED, T0, "down"));
        ProbeResult first = probe.probe(AGENT, watching(List.of("notes.md", "later.md"), List.of(URL)), null, T0);
        assertThat(first.changes()).isEmpty();
        assertThat(first.next().files()).containsKeys("notes.md", "later.md");
        assertThat(first.next().files().get("later.md").exists()).isFalse();
        assertThat(first.next().urls()).containsKey(URL);
        assertThat(first.next().inboxMarker()).isEqualTo("1");
        assertThat(first.next().jobMarker()).isEqualTo("1");
        assertThat(first.next().lastBeat()).isEqualTo(T0);
    }

    @Test
    void aFileIsReportedCreatedChangedAndDeleted() throws IOException {
        HeartbeatSpec spec = watching(List.of("f.md"), null);
        ProbeState state = probe.probe(AGENT, spec, null, T0).next();
        Files.writeString(ws.resolve("f.md"), "hello");
        ProbeResult created = probe.probe(AGENT, spec, state, T0.plus(STEP));
        assertThat(created.changes()).containsExactly(new Change(Change.Kind.FILE, "f.md", "created (5 bytes)"));
        Files.writeString(ws.resolve("f.md"), "hello world");
        ProbeResult changed = probe.probe(AGENT, spec, created.next(), T0.plus(STEP.multipliedBy(2)));
        assertThat(changed.changes()).containsExactly(new Change(Change.Kind.FILE, "f.md", "changed: 11 bytes (was 5)"));
        Files.delete(ws.resolve("f.md"));
        ProbeResult deleted = probe.probe(AGENT, spec, changed.next(), T0.plus(STEP.multipliedBy(3)));
        assertThat(deleted.changes()).containsExactly(new Change(Change.Kind.FILE, "f.md", "deleted"));
        assertThat(probe.probe(AGENT, spec, deleted.next(), T0.plus(STEP.multipliedBy(4))).changes()).isEmpty();
    }

    @Test
    void aFileNewlyWatchedIsABaselineAndOneNoLongerWatchedLeavesTheState() throws IOException {
        Files.writeString(ws.resolve("a.md"), "a");
        Files.writeString(ws.resolve("b.md"), "b");
        ProbeState state = probe.probe(AGENT, watching(List.of("a.md"), null), null, T0).next();
        ProbeResult later = probe.probe(AGENT, watching(List.of("b.md"), null), state, T0.plus(STEP));
        assertThat(later.changes()).isEmpty();
        assertThat(later.next().files()).containsOnlyKeys("b.md");
    }

    @Test
    void aUrlThatCannotBeCheckedIsAProblemNotAChangeAndLeaksNoQuery() {
        fx.urls.bodies.put(URL, "v1");
        HeartbeatSpec spec = watching(null, List.of(URL));
        ProbeState state = probe.probe(AGENT, spec, null, T0).next();
        fx.urls.failures.put(URL, new IOException("connect timed out"));
        ProbeResult down = probe.probe(AGENT, spec, state, T0.plus(STEP));
        assertThat(down.changes()).isEmpty();
        assertThat(down.problems()).singleElement().asString()
                .isEqualTo("url https://news.example.test/feed?...: IOException: connect timed out");
        assertThat(down.next().urls()).isEqualTo(state.urls());
        fx.urls.failures.clear();
        assertThat(probe.probe(AGENT, spec, down.next(), T0.plus(STEP.multipliedBy(2))).changes()).isEmpty();
        fx.urls.bodies.put(URL, "v2");
        assertThat(probe.probe(AGENT, spec, down.next(), T0.plus(STEP.multipliedBy(3))).changes())
                .containsExactly(new Change(Change.Kind.URL, "https://news.example.test/feed?...", "content changed"));
    }

    @Test
    void aFailingOrBrokenSourceKeepsItsMarkerSoNothingIsLost() {
        ProbeState state = probe.probe(AGENT, watching(null, null), null, T0).next();
        fx.inbox.messages.add(new Inbox.Message("eve", "while the inbox was down"));
        fx.inbox.failure = new IOException("store unavailable");
        ProbeResult failed = probe.probe(AGENT, watching(null, null), state, T0.plus(STEP));
        assertThat(failed.changes()).isEmpty();
        assertThat(failed.problems()).containsExactly("inbox: IOException: store unavailable");
        fx.inbox.failure = null;
        assertThat(probe.probe(AGENT, watching(null, null), failed.next(), T0.plus(STEP.multipliedBy(2))).changes())
                .extracting(Change::detail).containsExactly("while the inbox was down");

        Probe broken = new Probe(fx.inbox, (agent, marker, max) -> { throw new IllegalStateException("bug"); },
                fx.files, fx.urls);
        ProbeResult result = broken.probe(AGENT, watching(null, null), state, T0.plus(STEP));
        assertThat(result.problems()).containsExactly("jobs: IllegalStateException: bug");
        assertThat(result.next().jobMarker()).isEqualTo(state.jobMarker());
    }

    @Test
    void manyMessagesAreCountedBeyondTheSummaries() {
        ProbeState state = probe.probe(AGENT, watching(null, null), null, T0).next();
        for (int i = 0; i < 25; i++) fx.inbox.messages.add(new Inbox.Message("s" + i, "m" + i));
        ProbeResult result = probe.probe(AGENT, watching(null, null), state, T0.plus(STEP));
        assertThat(result.changes()).hasSize(Probe.MAX_PER_SOURCE + 1);
        assertThat(result.changes().getLast()).isEqualTo(
                new Change(Change.Kind.INBOX, "more messages", "15 more new messages"));
        assertThat(result.next().inboxMarker()).isEqualTo("25");
    }

    @Test
    void anUnreadableDateIsReportedOnceAndForgottenWhenFixed() throws IOException {
        Files.writeString(ws.resolve("HEARTBEAT.md"), "- [ ] 2026-13-01 09:00 Pay rent\n");
        HeartbeatSpec spec = watching(null, null);
        ProbeResult first = probe.probe(AGENT, spec, null, T0);
        assertThat(first.changes()).singleElement().satisfies(c -> {
            assertThat(c.kind()).isEqualTo(Change.Kind.CHECKLIST);
            assertThat(c.what()).isEqualTo("HEARTBEAT.md line 1");
            assertThat(c.detail()).isEqualTo("cannot read the date of '2026-13-01 09:00 Pay rent'; expected "
                    + "YYYY-MM-DD or YYYY-MM-DD HH:MM");
        });
        ProbeResult second = probe.probe(AGENT, spec, first.next(), T0.plus(STEP));
        assertThat(second.changes()).isEmpty();
        Files.writeString(ws.resolve("HEARTBEAT.md"), "- [ ] 2026-12-01 09:00 Pay rent\n");
        ProbeResult fixed = probe.probe(AGENT, spec, second.next(), T0.plus(STEP.multipliedBy(2)));
        assertThat(fixed.changes()).extracting(Change::detail).containsExactly("due 2026-12-01 09:00: Pay rent");
        assertThat(fixed.next().reportedItems()).hasSize(1); // the unreadable line's key is gone with it
    }

    @Test
    void anItemCheckedOffIsForgottenAndReportedAgainIfReopened() throws IOException {
        Path list = ws.resolve("HEARTBEAT.md");
        Files.writeString(list, "- [ ] 2026-12-05 09:00 Stretch\n");
        HeartbeatSpec spec = watching(null, null);
        ProbeResult due = probe.probe(AGENT, spec, null, T0);
        assertThat(due.changes()).hasSize(1);
        Files.writeString(list, "- [x] 2026-12-05 09:00 Stretch\n");
        ProbeResult done = probe.probe(AGENT, spec, due.next(), T0.plus(STEP));
        assertThat(done.next().reportedItems()).isEmpty();
        Files.writeString(list, "- [ ] 2026-12-05 09:00 Stretch\n");
        assertThat(probe.probe(AGENT, spec, done.next(), T0.plus(STEP.multipliedBy(2))).changes()).hasSize(1);
    }

    @Test
    void aChecklistThatVanishesAndComesBackDoesNotReportItsItemsAgain() throws IOException {
        // An editor that saves by delete-and-rename leaves a moment without the file; forgetting the reported items
        // then would report every due item again when it is back.
        Path list = ws.resolve("HEARTBEAT.md");
        Files.writeString(list, "- [ ] 2026-12-05 09:00 Stretch\n");
        HeartbeatSpec spec = watching(null, null);
        ProbeResult due = probe.probe(AGENT, spec, null, T0);
        Files.delete(list);
        ProbeResult gone = probe.probe(AGENT, spec, due.next(), T0.plus(STEP));
        assertThat(gone.next().reportedItems()).isEqualTo(due.next().reportedItems());
        Files.writeString(list, "- [ ] 2026-12-05 09:00 Stretch\n");
        assertThat(probe.probe(AGENT, spec, gone.next(), T0.plus(STEP.multipliedBy(2))).changes()).isEmpty();
    }

    @Test
    void aHugeChecklistIsReadOnlyToItsBoundAndSaidSoInTheProblems() throws IOException {
        StringBuilder text = new StringBuilder("- [ ] 2026-12-05 09:00 First\n");
        while (text.length() < 5 * 1024 * 1024) text.append("filler line with nothing to do\n");
        text.append("- [ ] 2026-12-05 09:00 Far beyond the bound\n");
        Files.writeString(ws.resolve("HEARTBEAT.md"), text);
        ProbeResult result = probe.probe(AGENT, watching(null, null), null, T0);
        assertThat(result.changes()).extracting(Change::detail).containsExactly("due 2026-12-05 09:00: First");
        assertThat(result.problems()).singleElement().asString().contains("over 65536 bytes");
    }

    @Test
    void aChecklistOutsideTheWorkspaceIsRefusedAsAProblem() throws IOException {
        Path outside = Files.writeString(ws.getParent().resolve("elsewhere-" + ws.getFileName() + ".md"),
                "- [ ] 2026-12-05 09:00 Secret\n");
        try {
            Files.createSymbolicLink(ws.resolve("HEARTBEAT.md"), outside);
            ProbeResult result = probe.probe(AGENT, watching(null, null), null, T0);
            assertThat(result.changes()).isEmpty();
            assertThat(result.problems()).singleElement().asString()
                    .startsWith("checklist HEARTBEAT.md: IOException: ").contains("symlink to outside the workspace");
        } finally {
            Files.deleteIfExists(outside);
        }
    }

    @Test
    void checklistItemsLeftOutOfAMessageComeAtTheNextBeatsEachExactlyOnce() throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 60; i++) text.append("- [ ] 2026-12-05 09:00 Reminder number ").append(i).append(" ")
                .append("with a longer description ".repeat(8)).append('\n');
        Files.writeString(ws.resolve("HEARTBEAT.md"), text);
        HeartbeatSpec spec = watching(null, null);
        Set<String> seen = new HashSet<>();
        int turns = 0;
        Instant now = T0;
        while (true) {
            Beat beat = fx.heartbeat.beat(AGENT, spec, now);
            if (!(beat instanceof Beat.Turn turn)) break;
            turns++;
            assertThat(HeartbeatFixture.tokens(turn.message())).isLessThan(2000);
            for (Change c : turn.changes()) assertThat(seen.add(c.detail())).as("reported twice: %s", c).isTrue();
            if (turn.leftOut() > 0) assertThat(turn.message()).contains(turn.leftOut() + " more changes were left out");
            now = now.plus(STEP);
            assertThat(turns).isLessThan(60);
        }
        assertThat(seen).hasSize(60);
        assertThat(turns).isGreaterThan(1);
    }
}
