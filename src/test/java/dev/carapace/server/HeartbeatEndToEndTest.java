package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigLoader;
import dev.carapace.schedule.heartbeat.Beat;
import dev.carapace.schedule.heartbeat.HeartbeatRunner;
import dev.carapace.store.DueRuns;
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
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;

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

    @TempDir
    Path dir;
    private Path workspace;
    private final ScriptedUpstream up = new ScriptedUpstream();
    private final MutableClock clock = new MutableClock(START);
    private Carapace carapace;

    @BeforeEach
    void setUp() throws Exception {
        workspace = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(workspace.resolve("AGENTS.md"), "You keep an eye on notes.md for the team. Be brief.\n");
        Files.writeString(workspace.resolve("notes.md"), "nothing yet\n");
    }

    @AfterEach
    void tearDown() {
        if (carapace != null) carapace.close();
        up.close();
    }

    private CarapaceConfig config(String scheduler) throws Exception {
        return ConfigLoader.load("""
                org: acme
                providers:
                  up: {kind: openai, base_url: %s, api_key_env: UP_KEY, read_timeout: 5s}
                models:
                  m-main:
                    tier: high
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: up, model: up-main}]
                  m-cheap:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 0.1, output: 0.2}
                    deployments: [{provider: up, model: up-cheap}]
                teams:
                  platform: {}
                agents:
                  watcher:
                    workspace: %s
                    model: m-main
                    tools: [read, list]
                    owner: {team: platform}
                    heartbeat:
                      every: 30m
                      model: m-cheap
                      watch_files: [notes.md]
                %s
                """.formatted(up.openAiBaseUrl(), workspace, scheduler), "heartbeat.yaml");
    }

    private void start(String scheduler, Clock c) throws Exception {
        carapace = Carapace.start(config(scheduler), dir.resolve("data"), Map.of("UP_KEY", "k")::get, c, 0);
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
        carapace.close();
        carapace = null;
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

    /** A clock the test moves. */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant now) { this.now = now; }

        void advance(Duration d) { now = now.plus(d); }

        @Override
        public ZoneId getZone() { return ZoneOffset.UTC; }

        @Override
        public Clock withZone(ZoneId zone) { return this; }

        @Override
        public Instant instant() { return now; }
    }
}
