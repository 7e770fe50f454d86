package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.schedule.heartbeat.Beat;
import dev.carapace.schedule.heartbeat.HeartbeatRunner;
import dev.carapace.store.DueRuns;
import dev.carapace.store.Jobs;
import dev.carapace.testing.MutableClock;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 16's heartbeat targets on a real gateway in front of a scripted upstream: beats with nothing changed make no
 * upstream request at all, over a simulated day and more; a changed watched file makes exactly one model turn, in
 * the heartbeat's model, whose prompt (as the upstream received it) is under 2,000 tokens with a minimal AGENTS.md;
 * the heartbeat's state survives a restart, so nothing is reported twice; and the shared scheduler beats on its own.
 */
class HeartbeatEndToEndTest {

    /** Far from the real clock: the shared scheduler (on the real clock) never fires a beat the test drives itself. */
    private static final Instant START = Instant.parse("2030-03-04T00:00:00Z");

    private static final String HEARTBEAT = """
            heartbeat:
              every: 30m
              model: m-cheap
              watch_files: [notes.md]
            """;

    @TempDir
    Path dir;
    private final MutableClock clock = new MutableClock(START);
    private OneAgentGateway gw;
    private Path workspace;
    private ScriptedUpstream up;
    private Carapace carapace;

    @BeforeEach
    void setUp() throws Exception {
        gw = new OneAgentGateway(dir, "You keep an eye on notes.md for the team. Be brief.\n");
        workspace = gw.workspace;
        up = gw.up;
        Files.writeString(workspace.resolve("notes.md"), "nothing yet\n");
    }

    @AfterEach
    void tearDown() {
        gw.close();
    }

    private void start(String scheduler, Clock c) throws Exception {
        gw.start(HEARTBEAT, scheduler, c);
        carapace = gw.carapace;
    }

    private HeartbeatRunner.Tick beatIn(Duration later) {
        clock.advance(later);
        return carapace.heartbeats().beat("watcher");
    }

    @Test
    void nothingChangedMeansNoUpstreamRequestAChangeOneSmallTurnAndARestartReportsNothingAgain() throws Exception {
        start("", clock);
        HeartbeatRunner heartbeats = carapace.heartbeats();
        assertThat(heartbeats.beat("watcher").beat()).isInstanceOf(Beat.Idle.class);   // the baseline
        // two simulated days, a beat every 30 minutes: nothing changed, nothing asked of any model
        for (int i = 0; i < 96; i++) {
            HeartbeatRunner.Tick tick = beatIn(Duration.ofMinutes(30));
            assertThat(tick.beat()).isInstanceOf(Beat.Idle.class);
            assertThat(tick.runId()).isNull();
            assertThat(tick.next()).isEqualTo(clock.instant().plus(Duration.ofMinutes(30)));
        }
        assertThat(up.requestCount()).isZero();

        Files.writeString(workspace.resolve("notes.md"), "the build server is down since 09:00\n");
        up.enqueue(AgentHarness.text("HEARTBEAT_OK", 180, 4));
        HeartbeatRunner.Tick turn = beatIn(Duration.ofMinutes(30));
        assertThat(turn.beat()).isInstanceOf(Beat.Turn.class);
        RunInfo run = carapace.agentRuntime().await(turn.runId(), Duration.ofSeconds(20));
        assertThat(run.status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(run.sessionKey()).startsWith("agent:watcher:heartbeat-");
        assertThat(up.requestCount()).isEqualTo(1);
        RecordedRequest request = up.take();
        String body = ScriptedUpstream.body(request);
        JsonNode json = GatewayHarness.json(body);
        assertThat(json.path("model").asText()).isEqualTo("up-cheap");    // the heartbeat's model, not the agent's
        assertThat(body).contains("notes.md").contains("changed");
        // the whole request the model saw (instructions, the changes, tool schemas, JSON syntax and all)
        int promptTokens = com.knuddels.jtokkit.Encodings.newLazyEncodingRegistry()
                .getEncoding(com.knuddels.jtokkit.api.EncodingType.CL100K_BASE).countTokens(body);
        assertThat(promptTokens).isLessThan(2000);
        System.out.println("heartbeat turn: whole upstream request body = " + promptTokens + " cl100k tokens");

        for (int i = 0; i < 10; i++) assertThat(beatIn(Duration.ofMinutes(30)).beat()).isInstanceOf(Beat.Idle.class);
        assertThat(up.requestCount()).isEqualTo(1);

        // a restart: the state is in the store, so the change already handled is not reported again
        gw.stop();
        clock.advance(Duration.ofHours(3));
        start("", clock);
        for (int i = 0; i < 5; i++) assertThat(beatIn(Duration.ofMinutes(30)).beat()).isInstanceOf(Beat.Idle.class);
        assertThat(up.requestCount()).isEqualTo(1);
        // while a change made while it was down is
        Files.writeString(workspace.resolve("notes.md"), "the build server is back\n");
        up.enqueue(AgentHarness.text("Noted: the build server is back.", 180, 8));
        HeartbeatRunner.Tick second = beatIn(Duration.ofMinutes(30));
        assertThat(second.beat()).isInstanceOf(Beat.Turn.class);
        assertThat(carapace.agentRuntime().await(second.runId(), Duration.ofSeconds(20)).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(up.requestCount()).isEqualTo(2);
    }

    @Test
    void aFailedRunOfTheAgentsJobIsReportedOnceAtTheNextBeat() throws Exception {
        start("", clock);
        assertThat(carapace.heartbeats().beat("watcher").beat()).isInstanceOf(Beat.Idle.class);
        Jobs jobs = carapace.store().jobs();
        jobs.insert(new Jobs.JobRow("nightly", null, "platform", "watcher", "{}", "active", "api", "x",
                clock.instant(), clock.instant(), 0, null, null, null));
        Jobs.JobRunRow run = jobs.startRun("nightly", clock.instant(), clock.instant(), "g", null);
        jobs.endRun("nightly", run.runNo(), "failed", "the report server answered 500", 0, 0, null, null,
                clock.instant().plusSeconds(5));
        up.enqueue(AgentHarness.text("HEARTBEAT_OK", 150, 4));
        HeartbeatRunner.Tick tick = beatIn(Duration.ofMinutes(30));
        assertThat(tick.beat()).isInstanceOf(Beat.Turn.class);
        assertThat(carapace.agentRuntime().await(tick.runId(), Duration.ofSeconds(20)).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(ScriptedUpstream.body(up.take())).contains("job nightly failed")
                .contains("the report server answered 500");
        assertThat(beatIn(Duration.ofMinutes(30)).beat()).isInstanceOf(Beat.Idle.class);
        assertThat(up.requestCount()).isEqualTo(1);
    }

    @Test
    void aTurnThatCannotStartIsReportedAgainAtTheNextBeat() throws Exception {
        start("", clock);
        assertThat(carapace.heartbeats().beat("watcher").beat()).isInstanceOf(Beat.Idle.class);
        carapace.agentRuntime().close();   // every start is refused now (503: shutting down)
        Files.writeString(workspace.resolve("notes.md"), "a change nobody has seen\n");
        HeartbeatRunner.Tick refused = beatIn(Duration.ofMinutes(30));
        assertThat(refused.beat()).isInstanceOf(Beat.Turn.class);
        assertThat(refused.runId()).isNull();
        assertThat(refused.next()).isEqualTo(clock.instant().plus(Duration.ofMinutes(30)));   // not at once
        HeartbeatRunner.Tick again = beatIn(Duration.ofMinutes(30));
        assertThat(again.beat()).isInstanceOfSatisfying(Beat.Turn.class, t -> assertThat(t.changes())
                .singleElement().satisfies(c -> assertThat(c.what()).isEqualTo("notes.md")));
        assertThat(up.requestCount()).isZero();
    }

    @Test
    void theSharedSchedulerBeatsEachHeartbeatOnceAndSchedulesTheNext() throws Exception {
        start("scheduler: {min_interval: 1s, poll: 100ms, heartbeat: 250ms}", Clock.systemUTC());
        Instant started = Instant.now();
        // the first beat is due at once (no state yet): it takes the baselines, with no model call
        await().atMost(Duration.ofSeconds(10)).until(() -> carapace.store().heartbeatStates().get("watcher").isPresent());
        DueRuns due = new DueRuns(carapace.store(), "test-client", DueRuns.Settings.fast());
        await().atMost(Duration.ofSeconds(5)).until(() -> due.dueAt(HeartbeatRunner.instanceOf("watcher"))
                .filter(t -> t.isAfter(started.plus(Duration.ofMinutes(29)))).isPresent());
        assertThat(due.dueAt(HeartbeatRunner.instanceOf("watcher")).orElseThrow())
                .isBefore(Instant.now().plus(Duration.ofMinutes(30)).plusSeconds(1));
        assertThat(up.requestCount()).isZero();
    }
}
