package dev.carapace.config;

import dev.carapace.agent.AgentSpec;
import dev.carapace.config.ConfigLoader.Result;
import dev.carapace.schedule.JobAction;
import dev.carapace.schedule.JobSpec;
import dev.carapace.schedule.heartbeat.HeartbeatSpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Jobs in the config ({@code jobs:} and {@code agents/NAME/jobs.yaml}) and agents' heartbeats: read, defaulted, and
 * every bad input refused at its field with file:line:col and the key path, as the API would refuse it.
 */
class JobsConfigTest {

    @TempDir
    Path dir;
    private Path file;

    /** Lines 1-20: a model, two teams, agent {@code bot} (tools read, list; team platform). */
    private static final String BASE = """
            providers:
              openai: {kind: openai, base_url: https://api.openai.com/v1}
            models:
              m-mid:
                tier: mid
                context_window: 128000
                max_output_tokens: 4096
                price: {input: 3, output: 6}
                deployments: [{provider: openai}]
            teams:
              platform: {}
              research: {}
            tiers: [free, mid, high]
            org: acme
            agents:
              bot:
                workspace: ws/bot
                model: m-mid
                tools: [read, list]
                owner: {team: platform}
            """;

    @BeforeEach
    void setUp() throws Exception {
        Files.createDirectories(dir.resolve("ws/bot"));
        file = dir.resolve("carapace.yaml");
    }

    private Result check(String yaml) throws Exception {
        Files.writeString(file, BASE + yaml);
        return ConfigLoader.check(file, name -> "x");
    }

    private List<String> errors(String yaml) throws Exception {
        return check(yaml).errors().stream().map(Object::toString).toList();
    }

    @Test
    void readsJobsFromTheConfigAndFromAgentFoldersWithTheAgentsOwner() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("agents/bot"));
        Files.writeString(folder.resolve("jobs.yaml"), """
                inbox-triage:
                  message: Sort the inbox
                  schedule: {every: 2h}
                """);
        String morningJob = """
                jobs:
                  morning:
                    agent: bot
                    message: Write the morning report
                    schedule: {cron: "0 8 * * 1-5", zone: Europe/Paris}
                    limits: {tools: [read], max_wall: 5m}
                """;
        Result r = check(morningJob + "    owner: {team: research}\n");
        // research may not use bot (team platform's): refused as the API refuses it
        assertThat(r.errors()).extracting(Object::toString).containsExactly(file + ":23:12: jobs.morning.agent: the job's owner "
                + "team:research may not use the agent 'bot' (owned by team:platform)");
        r = check(morningJob);
        assertThat(r.errors()).isEmpty();
        List<JobSpec> jobs = r.config().jobs();
        assertThat(jobs).extracting(JobSpec::id).containsExactly("morning", "inbox-triage");
        JobSpec morning = jobs.get(0);
        assertThat(morning.owner()).isEqualTo(new AgentSpec.Owner(null, "platform"));
        assertThat(morning.schedule().cron()).isEqualTo("0 8 * * 1-5");
        assertThat(morning.limits().tools()).containsExactly("read");
        assertThat(morning.limits().maxWall()).isEqualTo(Duration.ofMinutes(5));
        JobSpec triage = jobs.get(1);
        assertThat(triage.agent()).isEqualTo("bot");
        assertThat(triage.owner()).isEqualTo(new AgentSpec.Owner(null, "platform"));
        assertThat(((JobAction.AgentTurn) triage.action()).message()).isEqualTo("Sort the inbox");
    }

    @Test
    void anInvalidCronIsReportedAtTheExpression() throws Exception {
        assertThat(errors("""
                jobs:
                  morning:
                    agent: bot
                    message: hi
                    schedule: {cron: "61 8 * * *"}
                """)).singleElement().asString()
                .startsWith(file + ":25:22: jobs.morning.schedule.cron: ")
                .contains("61");
    }

    @Test
    void anUnknownZoneIsReportedAtTheZone() throws Exception {
        assertThat(errors("""
                jobs:
                  morning:
                    agent: bot
                    message: hi
                    schedule:
                      cron: "0 8 * * *"
                      zone: Europe/Pariss
                """)).containsExactly(file + ":27:13: jobs.morning.schedule.zone: unknown time zone 'Europe/Pariss'; "
                + "expected an IANA zone like 'Europe/Paris', 'America/New_York' or 'UTC'");
    }

    @Test
    void anAtInThePastIsRefused() throws Exception {
        assertThat(errors("""
                jobs:
                  reminder:
                    agent: bot
                    message: call the bank
                    schedule: {at: "2020-01-01T09:00:00Z"}
                """)).singleElement().asString()
                .startsWith(file + ":25:20: jobs.reminder.schedule.at: 2020-01-01T09:00:00Z is in the past");
        // a duration from now is in the future
        assertThat(errors("""
                jobs:
                  reminder: {agent: bot, message: call the bank, schedule: {at: 3d}}
                """)).isEmpty();
    }

    @Test
    void anIntervalUnderTheMinimumIsRefusedAndTheMinimumIsTheConfigs() throws Exception {
        String job = """
                jobs:
                  poll:
                    agent: bot
                    message: look
                    schedule: {every: 30s}
                """;
        assertThat(errors(job)).containsExactly(file + ":25:23: jobs.poll.schedule.every: interval 30s is under the "
                + "minimum of 1m");
        assertThat(errors("scheduler: {min_interval: 10s}\n" + job)).isEmpty();
        assertThat(errors("""
                jobs:
                  hourly: {agent: bot, message: look, schedule: {cron: "*/20 * * * * *"}}
                """)).singleElement().asString().startsWith(file + ":22:56: jobs.hourly.schedule.cron: ")
                .contains("fires 20s apart, more often than the minimum interval of 1m");
    }

    @Test
    void anUnknownAgentAndAToolTheAgentLacksAreRefused() throws Exception {
        assertThat(errors("""
                jobs:
                  a:
                    agent: ghost
                    message: hi
                    schedule: {every: 1h}
                  b:
                    agent: bot
                    message: hi
                    schedule: {every: 1h}
                    limits: {tools: [read, exec]}
                """)).containsExactly(
                file + ":23:12: jobs.a.agent: no agent 'ghost' (agents: bot)",
                file + ":30:28: jobs.b.limits.tools[1]: the agent 'bot' has no tool 'exec' (its tools: read, list)");
    }

    @Test
    void unknownFieldsAndMissingOnesNameTheField() throws Exception {
        assertThat(errors("""
                jobs:
                  a:
                    agent: bot
                    message: hi
                    schedule: {every: 1h, evry: 2h}
                  b:
                    agent: bot
                    schedule: {every: 1h}
                  c:
                    agent: bot
                    message: hi
                    schedule: {every: 1h}
                    colour: red
                  d: every hour
                """)).containsExactly(
                file + ":25:33: jobs.a.schedule.evry: not a schedule field (cron, at, every, anchor, zone, jitter)",
                file + ":26:3: jobs.b.message: required",
                file + ":33:13: jobs.c.colour: 'colour' is not a field of a job (fields: agent, budget, deliver_to, id, "
                        + "limits, max_failures, max_run_all, message, missed, owner, retry_interrupted, schedule, session, webhook)",
                file + ":34:6: jobs.d: expected the job's definition (agent, schedule, message, ...), got 'every hour'");
    }

    @Test
    void aJobsFileReportsItsOwnProblemsAndAnUnknownAgentFolder() throws Exception {
        Path bot = Files.createDirectories(dir.resolve("agents/bot"));
        Files.writeString(bot.resolve("jobs.yaml"), """
                jobs:
                  nightly:
                    message: tidy up
                    schedule: {cron: "0 3 * * *", zone: Mars/Olympus}
                """);
        Path ghost = Files.createDirectories(dir.resolve("agents/ghost"));
        Files.writeString(ghost.resolve("jobs.yaml"), "x: {message: hi, schedule: {every: 1h}}\n");
        assertThat(errors("""
                jobs:
                  nightly: {agent: bot, message: hi, schedule: {every: 1h}}
                """)).containsExactly(
                bot.resolve("jobs.yaml") + ":2:3: jobs.nightly: job 'nightly' is also defined in the config's jobs: section",
                ghost.resolve("jobs.yaml") + ":1:1: unknown agent 'ghost' (known agents: bot): the jobs of "
                        + "agents/ghost/jobs.yaml run agent 'ghost'");
        Files.writeString(dir.resolve("carapace.yaml"), BASE);
        Files.delete(ghost.resolve("jobs.yaml"));
        assertThat(ConfigLoader.check(file, n -> "x").errors()).extracting(Object::toString).containsExactly(
                bot.resolve("jobs.yaml") + ":4:41: jobs.nightly.schedule.zone: unknown time zone 'Mars/Olympus'; "
                        + "expected an IANA zone like 'Europe/Paris', 'America/New_York' or 'UTC'");
    }

    @Test
    void aJobsFileAnAgentCouldWriteIsIgnoredWithAWarning() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("agents/scribe"));
        Files.writeString(ws.resolve("jobs.yaml"), "forever: {message: again, schedule: {every: 1m}}\n");
        Result r = check("""
                  scribe:
                    workspace: agents/scribe
                    model: m-mid
                    owner: {team: platform}
                """);
        assertThat(r.errors()).isEmpty();
        assertThat(r.config().jobs()).isEmpty();
        assertThat(r.warnings()).extracting(Object::toString).anySatisfy(w -> assertThat(w)
                .contains("ignored " + ws.resolve("jobs.yaml") + ": it lies in the workspace of agent 'scribe'"));
    }

    @Test
    void readsAHeartbeatInTheConfigAndInAnAgentFile() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("agents/scout/workspace"));
        Files.writeString(folder.getParent().resolve("agent.yaml"), """
                model: m-mid
                owner: {team: research}
                heartbeat: {every: 2h}
                """);
        Result r = check("""
                    heartbeat:
                      every: 30m
                      active_hours: "08:00-20:00 Europe/Paris"
                      model: tier:free
                      checklist: notes/HEARTBEAT.md
                      watch_files: [inbox.md, notes/todo.md]
                """);
        assertThat(r.errors()).isEmpty();
        HeartbeatSpec bot = r.config().heartbeats().get("bot");
        assertThat(bot.every()).isEqualTo(Duration.ofMinutes(30));
        assertThat(bot.activeHours().toString()).isEqualTo("08:00-20:00 Europe/Paris");
        assertThat(bot.model()).isEqualTo("tier:free");
        assertThat(bot.checklist()).isEqualTo("notes/HEARTBEAT.md");
        assertThat(bot.watchFiles()).containsExactly("inbox.md", "notes/todo.md");
        HeartbeatSpec scout = r.config().heartbeats().get("scout");
        assertThat(scout.every()).isEqualTo(Duration.ofHours(2));
        assertThat(scout.checklist()).isEqualTo(HeartbeatSpec.DEFAULT_CHECKLIST);
        assertThat(r.config().heartbeats()).hasSize(2);
    }

    @Test
    void badHeartbeatFieldsAreReportedWhereTheyAre() throws Exception {
        assertThat(errors("""
                    heartbeat: {every: 30s}
                """)).containsExactly(file + ":21:24: agents.bot.heartbeat.every: 30s is under the minimum of 1 minute");
        assertThat(errors("""
                    heartbeat:
                      every: 30m
                      active_hours: "08:00-20:00 Mars/Olympus"
                """)).containsExactly(file + ":23:21: agents.bot.heartbeat.active_hours: unknown time zone "
                + "'Mars/Olympus'; expected an IANA name such as Europe/Paris, or UTC, or an offset such as +01:00");
        assertThat(errors("""
                    heartbeat:
                      active_hours: 08:00-20:00
                      watch_files: [notes.md, ../../etc/passwd]
                      watch_urls: [ftp://example.com/x]
                      model: m-nope
                      colour: red
                """)).containsExactly(
                file + ":21:5: agents.bot.heartbeat: missing required key 'every' (how often it beats, a duration such as 30m)",
                file + ":22:21: agents.bot.heartbeat.active_hours: '08:00-20:00' has no time zone; add one, e.g. "
                        + "'08:00-20:00 Europe/Paris' or '08:00-20:00 UTC'",
                file + ":25:14: agents.bot.heartbeat.model: unknown model 'm-nope' (known models: m-mid); or use tier:NAME",
                file + ":26:7: agents.bot.heartbeat.colour: unknown key 'colour' (expected one of: model, every, "
                        + "active_hours, checklist, watch_files, watch_urls)");
        assertThat(errors("""
                    heartbeat:
                      every: 1h
                      watch_files: [notes.md, ../../etc/passwd]
                """)).singleElement().asString()
                .startsWith(file + ":23:31: agents.bot.heartbeat.watch_files[1]: ");
        assertThat(errors("""
                    heartbeat:
                      every: 1h
                      watch_urls: [ftp://example.com/x]
                """)).singleElement().asString()
                .startsWith(file + ":23:20: agents.bot.heartbeat.watch_urls[0]: ");
    }

    @Test
    void watchedUrlsWithoutTheEgressProxyAreAWarning() throws Exception {
        Result r = check("""
                    heartbeat: {every: 1h, watch_urls: ["https://status.example.com/api"]}
                """);
        assertThat(r.errors()).isEmpty();
        assertThat(r.warnings()).extracting(Object::toString).anySatisfy(w -> assertThat(w)
                .startsWith(file + ":21:41: agents.bot.heartbeat.watch_urls: URLs are checked through the egress proxy"));
    }
}
