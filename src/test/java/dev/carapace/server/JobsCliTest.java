package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.ConfigLoader;
import dev.carapace.server.cli.Main;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code carapace jobs ...} run through {@link Main#run} on a config file and its store: every subcommand, its
 * errors, and a job added by the command line that a gateway running on the same store picks up and runs.
 */
class JobsCliTest {

    @TempDir Path dir;
    Path config;
    Path data;
    final ScriptedUpstream upstream = new ScriptedUpstream();

    record Result(int code, String out, String err) {}

    @BeforeEach
    void writeConfig() throws Exception {
        Path helper = Files.createDirectories(dir.resolve("helper"));
        Path lab = Files.createDirectories(dir.resolve("lab"));
        Files.writeString(helper.resolve("AGENTS.md"), "You help.");
        data = dir.resolve("data");
        config = dir.resolve("carapace.yaml");
        Files.writeString(config, """
                org: acme
                providers:
                  a: {kind: openai, base_url: %s, api_key_env: A_KEY, read_timeout: 2s}
                models:
                  m-solo:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: a, model: up-model}]
                teams:
                  platform: {}
                  research: {}
                """.formatted(upstream.openAiBaseUrl()) + AgentHarness.AGENTS.formatted(helper, lab) + JobsHarness.SCHEDULER);
    }

    @AfterEach
    void stopUpstream() {
        upstream.close();
    }

    Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--config", config.toString(), "--data", data.toString()));
        int code = Main.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    Result ok(String... args) {
        Result r = run(args);
        assertThat(r.code()).as("exit code of %s; stderr: %s", List.of(args), r.err()).isZero();
        assertThat(r.err()).isEmpty();
        return r;
    }

    Result fails(int code, String... args) {
        Result r = run(args);
        assertThat(r.code()).as("exit code of %s; stdout: %s", List.of(args), r.out()).isEqualTo(code);
        assertThat(r.err()).startsWith("error: ");
        return r;
    }

    @Test
    void addListShowPauseResumeHistoryRemove() {
        JsonNode added = json(ok("jobs", "add", "--id", "morning", "--agent", "helper", "--cron", "0 9 * * 1-5",
                "--zone", "Europe/Paris", "--message", "Summarise the inbox", "--tools", "read,list",
                "--max-wall", "90s", "--max-model-calls", "4", "--budget-amount", "2.50", "--missed", "run_all",
                "--json").out());
        assertThat(added.path("id").asText()).isEqualTo("morning");
        assertThat(added.path("owner").path("team").asText()).isEqualTo("platform");   // the agent's owner pays
        assertThat(added.path("owner").path("user").isNull()).isTrue();
        assertThat(added.path("schedule").path("cron").asText()).isEqualTo("0 9 * * 1-5");
        assertThat(added.path("schedule").path("description").asText()).contains("Europe/Paris");
        assertThat(added.path("limits").path("tools").toString()).isEqualTo("[\"read\",\"list\"]");
        assertThat(added.path("limits").path("max_wall").asText()).isEqualTo("90s");
        assertThat(added.path("limits").path("max_model_calls").asInt()).isEqualTo(4);
        assertThat(added.path("budget").path("amount").asText()).isEqualTo("2.50");
        assertThat(added.path("missed").asText()).isEqualTo("run_all");
        assertThat(added.path("source").asText()).isEqualTo("api");
        assertThat(added.path("created_by").asText()).startsWith("cli:");
        Instant next = Instant.parse(added.path("schedule").path("next_due_at").asText());
        assertThat(next.atZone(java.time.ZoneId.of("Europe/Paris")).getHour()).isEqualTo(9);

        String plain = ok("jobs", "add", "--id", "ping", "--agent", "helper", "--every", "30m", "--message", "ping").out();
        assertThat(plain).startsWith("added job ping: every 30 minutes").contains("next run at ");

        JsonNode list = json(ok("jobs", "list", "--json").out());
        assertThat(list.findValuesAsText("id")).containsExactly("morning", "ping");
        String table = ok("jobs", "list").out();
        assertThat(table.lines().findFirst().orElseThrow()).startsWith("JOB").contains("STATE").contains("NEXT RUN");
        assertThat(table).contains("morning").contains("ping").contains("every 30 minutes");
        assertThat(json(ok("jobs", "show", "morning", "--json").out())).isEqualTo(added);
        assertThat(ok("jobs", "show", "morning").out()).contains("state                active")
                .contains("owner").contains("platform").contains("missed runs          run_all");

        String paused = ok("jobs", "pause", "morning").out();
        assertThat(paused).startsWith("job morning is paused (paused by cli:");
        JsonNode shown = json(ok("jobs", "show", "morning", "--json").out());
        assertThat(shown.path("state").asText()).isEqualTo("paused");
        assertThat(shown.path("schedule").path("next_due_at").isNull()).isTrue();
        Result runPaused = fails(1, "jobs", "run-now", "morning");
        assertThat(runPaused.err()).contains("paused").contains("resume it first");
        JsonNode resumed = json(ok("jobs", "resume", "morning", "--json").out());
        assertThat(resumed.path("state").asText()).isEqualTo("active");
        assertThat(resumed.path("schedule").path("next_due_at").asText()).isEqualTo(next.toString());

        assertThat(ok("jobs", "history", "ping").out()).isEqualTo("job ping has not run yet" + System.lineSeparator());
        assertThat(json(ok("jobs", "history", "ping", "--json").out())).isEmpty();

        assertThat(json(ok("jobs", "rm", "ping", "--json").out()).path("deleted").asBoolean()).isTrue();
        Result gone = fails(1, "jobs", "show", "ping");
        assertThat(gone.err()).contains("No job 'ping'");
        fails(1, "jobs", "rm", "ping");
        assertThat(json(ok("jobs", "list", "--json").out()).findValuesAsText("id")).containsExactly("morning");
    }

    @Test
    void aJobFileInYamlOrJson() throws Exception {
        Path yaml = Files.writeString(dir.resolve("job.yaml"), """
                id: weekly
                agent: helper
                schedule: {cron: "0 8 * * 1", zone: Europe/Paris, jitter: 5m}
                message: |
                  Plan the week.
                limits: {max_tokens: 20000}
                retry_interrupted: false
                """);
        JsonNode weekly = json(ok("jobs", "add", "--file", yaml.toString(), "--json").out());
        assertThat(weekly.path("schedule").path("jitter").asText()).isEqualTo("5m");
        assertThat(weekly.path("limits").path("max_tokens").asLong()).isEqualTo(20000);
        assertThat(weekly.path("retry_interrupted").asBoolean()).isFalse();
        assertThat(weekly.path("action").path("message").asText()).isEqualTo("Plan the week.\n");

        Path jsonFile = Files.writeString(dir.resolve("job.json"), """
                {"id": "hook", "owner": {"team": "platform"}, "schedule": {"every": "1h"},
                 "webhook": {"url": "https://hooks.example.com/x"}}""");
        JsonNode hook = json(ok("jobs", "add", "--file", jsonFile.toString(), "--json").out());
        assertThat(hook.path("action").path("type").asText()).isEqualTo("webhook");
        assertThat(hook.path("agent").isNull()).isTrue();

        Path broken = Files.writeString(dir.resolve("broken.yaml"), "id: x\nschedule: {every: 1h\nmessage: m\n");
        assertThat(fails(1, "jobs", "add", "--file", broken.toString()).err()).contains(broken + ":3:");
        Path list = Files.writeString(dir.resolve("list.yaml"), "- id: x\n");
        assertThat(fails(1, "jobs", "add", "--file", list.toString()).err()).contains("expected one job");
        Path unknown = Files.writeString(dir.resolve("unknown.yaml"), "id: x\nagent: helper\nschedule: {every: 1h}\nmessage: m\ncolour: red\n");
        assertThat(fails(1, "jobs", "add", "--file", unknown.toString()).err()).contains(unknown + ": 'colour' is not a field");
        assertThat(fails(1, "jobs", "add", "--file", dir.resolve("missing.yaml").toString()).err()).contains("missing.yaml");

        assertThat(fails(2, "jobs", "add", "--file", yaml.toString(), "--id", "other").err()).contains("either --file");
        assertThat(fails(2, "jobs", "add").err()).contains("either --file");
        assertThat(json(ok("jobs", "list", "--json").out()).findValuesAsText("id")).containsExactly("hook", "weekly");
    }

    @Test
    void badOptionsAreRefusedNamingTheOptionAndNothingIsStored() {
        ok("jobs", "add", "--id", "taken", "--agent", "helper", "--every", "1h", "--message", "m");
        Map<List<String>, String> cases = Map.of(
                List.of("--cron", "61 * * * *"), "error: --cron: ",
                List.of("--cron", "0 9 * * *", "--zone", "Mars/Olympus"), "error: --zone: ",
                List.of("--at", "2020-01-01T00:00:00Z"), "error: --at: ",
                List.of("--every", "500ms"), "error: --every: ",
                List.of("--every", "1h", "--max-model-calls", "many"), "error: --max-model-calls: ",
                List.of("--every", "1h", "--budget-tokens", "-1"), "error: --budget-tokens: ",
                List.of("--every", "1h", "--missed", "sometimes"), "error: --missed: ",
                List.of("--every", "1h", "--tools", "exec"), "error: --tools: ",
                List.of("--cron", "0 9 * * *", "--every", "1h"), "error: --cron, --at or --every: ");
        for (var c : cases.entrySet()) {
            List<String> args = new ArrayList<>(List.of("jobs", "add", "--id", "j", "--agent", "helper", "--message", "m"));
            args.addAll(c.getKey());
            Result r = fails(1, args.toArray(String[]::new));
            assertThat(r.err()).as(c.getKey().toString()).startsWith(c.getValue());
        }
        assertThat(fails(1, "jobs", "add", "--id", "j", "--agent", "nobody", "--every", "1h", "--message", "m").err())
                .startsWith("error: --agent: no agent 'nobody' (agents: helper, lab)");
        assertThat(fails(1, "jobs", "add", "--id", "taken", "--agent", "helper", "--every", "1h", "--message", "m").err())
                .startsWith("error: --id: a job 'taken' exists already");
        assertThat(fails(2, "jobs", "history", "taken", "--limit", "0").err()).contains("--limit");
        assertThat(fails(1, "jobs", "pause", "nothing").err()).contains("No job 'nothing'");
        assertThat(json(ok("jobs", "list", "--json").out()).findValuesAsText("id")).containsExactly("taken");
    }

    @Test
    void aRunningGatewayRunsWhatTheCommandLineAddsAndRunsNow() throws Exception {
        upstream.enqueue(JobsHarness.answer("first", 20, 2), JobsHarness.answer("second", 20, 2));
        try (Carapace gateway = Carapace.start(ConfigLoader.load(config), config, data, Map.of("A_KEY", "k")::get,
                Clock.systemUTC(), 0)) {
            // a one-shot two seconds from now: the gateway's scheduler finds it in the shared table
            ok("jobs", "add", "--id", "soon", "--agent", "helper", "--at", "2s", "--message", "first run");
            JsonNode soon = awaitRun("soon");
            assertThat(soon.path("status").asText()).as(soon.toString()).isEqualTo("succeeded");
            assertThat(soon.path("result").asText()).isEqualTo("first");
            assertThat(soon.path("gateway").asText()).isNotEmpty();
            assertThat(json(ok("jobs", "show", "soon", "--json").out()).path("state").asText()).isEqualTo("ended");
            // one run and nothing else: its fire time, kept to the millisecond, is not also taken for a missed one
            assertThat(json(ok("jobs", "history", "soon", "--json").out())).hasSize(1);

            ok("jobs", "add", "--id", "hourly", "--agent", "helper", "--every", "1h", "--message", "second run");
            assertThat(ok("jobs", "run-now", "hourly").out()).contains("due now");
            JsonNode hourly = awaitRun("hourly");
            assertThat(hourly.path("status").asText()).isEqualTo("succeeded");
            assertThat(hourly.path("result").asText()).isEqualTo("second");
            String table = ok("jobs", "history", "hourly").out();
            assertThat(table).startsWith("  RUN").contains("succeeded").contains("0.000072");   // 20 in, 2 out at $3/$6 per M
            assertThat(upstream.requestCount()).isEqualTo(2);
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "carapace {0} --help")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"jobs", "jobs add", "jobs list", "jobs show", "jobs pause",
            "jobs resume", "jobs rm", "jobs run-now", "jobs history"})
    void everyJobsCommandHasHelp(String command) {
        List<String> args = new ArrayList<>(List.of(command.split(" ")));
        args.add("--help");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString()).startsWith("Usage: carapace " + command).contains("--help");
        if (!command.equals("jobs")) assertThat(out.toString()).contains("--config");
    }

    /** The job's newest run, once it has ended, read through the command line. */
    private JsonNode awaitRun(String id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode runs = json(ok("jobs", "history", id, "--json").out());
            if (!runs.isEmpty() && !runs.get(0).path("ended_at").isNull()) return runs.get(0);
            JobsHarness.sleep(100);
        }
        throw new AssertionError("the gateway did not run " + id + " within 20 s");
    }
}
