package dev.carapace.schedule.heartbeat;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 16's target, on a fake clock: an idle agent with a 30-minute heartbeat asks for no model turn in a whole
 * day, and one change makes exactly one turn whose message holds that change alone, under 2,000 tokens.
 */
class HeartbeatDayTest {

    private static final String AGENT = "assistant";
    private static final Duration EVERY = Duration.ofMinutes(30);
    /** Midnight in Paris, a Saturday in December (UTC+1). */
    private static final Instant MIDNIGHT = Instant.parse("2026-12-04T23:00:00Z");
    private static final String URL = "https://status.example.test/api/health?key=s3cret";
    private static final String CHECKLIST = """
            # Heartbeat checklist

            Things to keep an eye on. Be brief.

            - [ ] Check whether the nightly build is green
            - [ ] Look for calendar conflicts in the next two hours
            - [ ] 2026-12-06 09:00 Call the bank about the mortgage
            - [x] 2026-12-01 Renew the domain
            """;

    @TempDir
    Path workspace;

    private HeartbeatFixture fx;
    private HeartbeatSpec spec;

    @BeforeEach
    void setUp() throws IOException {
        Files.writeString(workspace.resolve("HEARTBEAT.md"), CHECKLIST);
        Files.writeString(workspace.resolve("notes.md"), "first notes\n");
        fx = new HeartbeatFixture(workspace);
        fx.urls.bodies.put(URL, "{\"status\":\"ok\"}");
        spec = new HeartbeatSpec(EVERY, ActiveHours.parse("08:00-20:00 Europe/Paris"), "tier:cheap", null,
                List.of("notes.md"), List.of(URL));
    }

    private Beat beat(Instant now) {
        return fx.heartbeat.beat(AGENT, spec, now);
    }

    /** The idle day: 48 beats from midnight; returns the instant of the next beat. */
    private Instant idleDay() {
        int turns = 0;
        for (int i = 0; i < 48; i++) {
            if (beat(MIDNIGHT.plus(EVERY.multipliedBy(i))) instanceof Beat.Turn) turns++;
        }
        assertThat(turns).isZero();
        return MIDNIGHT.plus(EVERY.multipliedBy(48));
    }

    private static void assertOneChangeUnderTheBound(Beat.Turn turn, Change.Kind kind) {
        assertThat(turn.changes()).singleElement().extracting(Change::kind).isEqualTo(kind);
        assertThat(turn.leftOut()).isZero();
        assertThat(turn.model()).isEqualTo("tier:cheap");
        assertThat(HeartbeatFixture.tokens(turn.message())).isLessThan(2000);
        assertThat(turn.message()).contains(HeartbeatPrompt.NOTHING_TO_DO);
    }

    @Test
    void anIdleDayOf48BeatsStartsNoTurnAndProbesEveryBeatInsideTheHours() {
        int turns = 0, idle = 0, skipped = 0;
        for (int i = 0; i < 48; i++) {
            Beat beat = beat(MIDNIGHT.plus(EVERY.multipliedBy(i)));
            switch (beat) {
                case Beat.Turn t -> turns++;
                case Beat.Idle b -> idle++;
                case Beat.Skipped s -> skipped++;
            }
            assertThat(beat.problems()).isEmpty();
        }
        assertThat(turns).isZero();
        assertThat(idle).isEqualTo(24);      // 08:00, 08:30, ... 19:30 in Paris
        assertThat(skipped).isEqualTo(24);   // the rest of the day: nothing probed at all
        assertThat(fx.inbox.calls).hasValue(24);
        assertThat(fx.jobs.calls).hasValue(24);
        assertThat(fx.files.fingerprints).hasValue(24);
        assertThat(fx.files.heads).hasValue(24);  // the checklist
        assertThat(fx.urls.calls).hasValue(24);
        assertThat(fx.urls.bodiesSent).hasValue(1); // the baseline; every later check was a 304
    }

    @Test
    void aChangedFileStartsExactlyOneTurnAboutThatFileAlone() throws IOException {
        Instant next = idleDay().plus(Duration.ofHours(10)); // Sunday 10:00 Paris (the bank item is due then too)
        Files.writeString(workspace.resolve("HEARTBEAT.md"), CHECKLIST.replace("- [ ] 2026-12-06", "- [x] 2026-12-06"));
        Files.writeString(workspace.resolve("notes.md"), "first notes\nsecond thought\n");
        Beat beat = beat(next);
        assertThat(beat).isInstanceOf(Beat.Turn.class);
        Beat.Turn turn = (Beat.Turn) beat;
        assertOneChangeUnderTheBound(turn, Change.Kind.FILE);
        assertThat(turn.message()).contains("notes.md").contains("changed: 27 bytes (was 12)")
                .doesNotContain("status.example").doesNotContain("bank").doesNotContain("nightly build");
        assertThat(beat(next.plus(EVERY))).isInstanceOf(Beat.Idle.class);
    }

    @Test
    void aChangedUrlStartsExactlyOneTurnAndShowsNoQuerySecret() {
        Instant next = idleDay().plus(Duration.ofHours(8));
        fx.urls.bodies.put(URL, "{\"status\":\"degraded\"}");
        Beat.Turn turn = (Beat.Turn) beat(next);
        assertOneChangeUnderTheBound(turn, Change.Kind.URL);
        assertThat(turn.message()).contains("https://status.example.test/api/health?...").contains("content changed")
                .doesNotContain("s3cret").doesNotContain("notes.md");
        assertThat(beat(next.plus(EVERY))).isInstanceOf(Beat.Idle.class);
    }

    @Test
    void aServerThatIgnoresValidatorsIsJudgedByTheContentHash() {
        fx.urls.noValidators.put(URL, true);
        Instant next = idleDay().plus(Duration.ofHours(8));
        assertThat(fx.urls.bodiesSent).hasValue(24); // every check fetched a body, and none was a change
        fx.urls.bodies.put(URL, "{\"status\":\"down\"}");
        assertThat(beat(next)).isInstanceOf(Beat.Turn.class);
    }

    @Test
    void aChecklistItemComingDueStartsExactlyOneTurnAndIsNotReportedAgain() {
        Instant sunday = idleDay();  // Sunday midnight in Paris
        int turns = 0;
        Beat.Turn first = null;
        for (int i = 0; i < 48; i++) {
            Instant now = sunday.plus(EVERY.multipliedBy(i));
            if (beat(now) instanceof Beat.Turn t) {
                turns++;
                if (first == null) {
                    first = t;
                    assertThat(now).isEqualTo(Instant.parse("2026-12-06T08:00:00Z")); // 09:00 in Paris
                }
            }
        }
        assertThat(turns).isEqualTo(1);
        assertOneChangeUnderTheBound(first, Change.Kind.CHECKLIST);
        assertThat(first.message()).contains("HEARTBEAT.md line 7").contains("due 2026-12-06 09:00: Call the bank")
                .contains("2 standing items").doesNotContain("nightly build").doesNotContain("Renew");
    }

    @Test
    void anInboundMessageStartsExactlyOneTurn() {
        Instant next = idleDay().plus(Duration.ofHours(8));
        fx.inbox.messages.add(new Inbox.Message("alice@example.test", "Can you move our call to 3pm?"));
        Beat.Turn turn = (Beat.Turn) beat(next);
        assertOneChangeUnderTheBound(turn, Change.Kind.INBOX);
        assertThat(turn.message()).contains("message from alice@example.test: Can you move our call to 3pm?");
        assertThat(beat(next.plus(EVERY))).isInstanceOf(Beat.Idle.class);
    }

    @Test
    void aFailedJobStartsExactlyOneTurn() {
        Instant next = idleDay().plus(Duration.ofHours(8));
        fx.jobs.events.add(new JobActivity.Event("morning-report", JobActivity.Outcome.FAILED, next.minusSeconds(60),
                "upstream answered 503"));
        Beat.Turn turn = (Beat.Turn) beat(next);
        assertOneChangeUnderTheBound(turn, Change.Kind.JOB);
        assertThat(turn.message()).contains("job morning-report failed: upstream answered 503");
        assertThat(beat(next.plus(EVERY))).isInstanceOf(Beat.Idle.class);
    }

    @Test
    void anEmptyInboxAtTheFirstBeatStillReportsItsFirstMessage() {
        // The first beat takes the inbox's marker as a baseline; an empty inbox has none (null). Taking "no marker"
        // for "never looked" would make the first message ever a baseline too, and it would never be reported.
        Instant first = MIDNIGHT.plus(Duration.ofHours(8));
        assertThat(beat(first)).isInstanceOf(Beat.Idle.class);
        assertThat(fx.states.load(AGENT).inboxMarker()).isNull();
        fx.inbox.messages.add(new Inbox.Message("bob", "hello"));
        assertThat(beat(first.plus(EVERY))).isInstanceOf(Beat.Turn.class);
    }

    @Test
    void messagesThatWereThereBeforeTheFirstBeatAreTheBaseline() {
        fx.inbox.messages.add(new Inbox.Message("old", "from last week"));
        assertThat(beat(MIDNIGHT.plus(Duration.ofHours(8)))).isInstanceOf(Beat.Idle.class);
    }

    @Test
    void aTurnThatCouldNotStartIsFoundAgainAtTheNextBeat() {
        Instant next = idleDay().plus(Duration.ofHours(7)).plus(EVERY); // Sunday 07:30, before the bank item's 09:00
        spec = new HeartbeatSpec(EVERY, ActiveHours.parse("07:00-20:00 Europe/Paris"), "tier:cheap", null,
                List.of("notes.md"), List.of(URL));
        fx.inbox.messages.add(new Inbox.Message("carol", "urgent: the server is down"));
        Beat.Turn turn = (Beat.Turn) beat(next);
        fx.heartbeat.turnNotStarted(AGENT, turn);
        Beat again = beat(next.plus(EVERY));
        assertThat(again).isInstanceOfSatisfying(Beat.Turn.class,
                t -> assertThat(t.message()).contains("urgent: the server is down"));
        assertThat(beat(next.plus(EVERY.multipliedBy(2)))).isInstanceOf(Beat.Idle.class);
    }

    @Test
    void outsideTheActiveHoursNothingIsProbedAndTheStateIsKept() {
        Instant evening = MIDNIGHT.plus(Duration.ofHours(21));
        fx.inbox.messages.add(new Inbox.Message("dave", "late"));
        Beat beat = beat(evening);
        assertThat(beat).isInstanceOfSatisfying(Beat.Skipped.class,
                s -> assertThat(s.resumesAt()).isEqualTo(Instant.parse("2026-12-06T07:00:00Z")));
        assertThat(fx.inbox.calls).hasValue(0);
        assertThat(fx.states.json).isEmpty();
        assertThat(Heartbeat.nextBeat(spec, ProbeState.EMPTY, evening)).isEqualTo(Instant.parse("2026-12-06T07:00:00Z"));
    }

    @Test
    void theNextBeatIsAnIntervalAfterTheLastAndInsideTheHours() {
        Instant ten = MIDNIGHT.plus(Duration.ofHours(10));
        beat(ten);
        ProbeState state = fx.states.load(AGENT);
        assertThat(Heartbeat.nextBeat(spec, state, ten)).isEqualTo(ten.plus(EVERY));
        assertThat(Heartbeat.nextBeat(spec, state, ten.plus(Duration.ofHours(2)))).isEqualTo(ten.plus(Duration.ofHours(2)));
        Instant late = MIDNIGHT.plus(Duration.ofMinutes(19 * 60 + 45));
        beat(late);
        assertThat(Heartbeat.nextBeat(spec, fx.states.load(AGENT), late))
                .isEqualTo(Instant.parse("2026-12-06T07:00:00Z"));
    }
}
