package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.server.JobsHarness.hourly;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code /api/jobs} over real HTTP on a real gateway: every route, who may see what, bad input, live events. */
class JobsApiTest {

    @TempDir Path dir;
    JobsHarness jobs;
    GatewayHarness h;

    @BeforeEach
    void start() throws Exception {
        jobs = new JobsHarness(dir);
        h = jobs.h;
    }

    @AfterEach
    void stop() {
        jobs.close();
    }

    @Test
    void aMemberAddsListsShowsPausesResumesAndRemovesTheirJob() {
        Instant before = Instant.now();
        HttpResponse<String> added = h.post("/api/jobs", h.memberKey, """
                {"id": "morning", "agent": "helper", "schedule": {"cron": "0 9 * * 1-5", "zone": "Europe/Paris"},
                 "message": "Summarise the inbox", "limits": {"tools": ["read"], "max_wall": "2m"},
                 "budget": {"amount": 0.1, "period": "day"}, "missed": "skip"}""");

        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        JsonNode j = json(added.body());
        assertThat(j.path("id").asText()).isEqualTo("morning");
        assertThat(j.path("owner").path("user").asText()).isEqualTo("alice");   // the caller, by default
        assertThat(j.path("owner").path("team").asText()).isEqualTo("platform");
        assertThat(j.path("agent").asText()).isEqualTo("helper");
        JsonNode s = j.path("schedule");
        assertThat(s.path("kind").asText()).isEqualTo("cron");
        assertThat(s.path("cron").asText()).isEqualTo("0 9 * * 1-5");
        assertThat(s.path("zone").asText()).isEqualTo("Europe/Paris");
        assertThat(s.path("description").asText()).contains("Europe/Paris");
        Instant next = Instant.parse(s.path("next_due_at").asText());
        assertThat(next).isAfter(before);
        assertThat(next.atZone(java.time.ZoneId.of("Europe/Paris")).getHour()).isEqualTo(9);
        assertThat(j.path("action").path("type").asText()).isEqualTo("agent_turn");
        assertThat(j.path("action").path("message").asText()).isEqualTo("Summarise the inbox");
        assertThat(j.path("limits").path("tools").toString()).isEqualTo("[\"read\"]");
        assertThat(j.path("limits").path("max_wall").asText()).isEqualTo("2m");
        assertThat(j.path("limits").path("max_model_calls").asInt()).isEqualTo(8);
        assertThat(j.path("budget").path("amount").asText()).isEqualTo("0.1");   // exact, not 0.1000000000000000055...
        assertThat(j.path("budget").path("period").asText()).isEqualTo("day");
        assertThat(j.path("missed").asText()).isEqualTo("skip");
        assertThat(j.path("state").asText()).isEqualTo("active");
        assertThat(j.path("paused_reason").isNull()).isTrue();
        assertThat(j.path("consecutive_failures").asInt()).isZero();
        assertThat(j.path("source").asText()).isEqualTo("api");
        assertThat(j.path("created_by").asText()).isEqualTo("alice");
        assertThat(Instant.parse(j.path("created_at").asText())).isBetween(before.minusSeconds(1), Instant.now());
        assertThat(j.path("last_run_at").isNull()).isTrue();

        JsonNode list = json(h.get("/api/jobs", h.memberKey).body()).path("data");
        assertThat(list.findValuesAsText("id")).containsExactly("morning");
        assertThat(json(h.get("/api/jobs/morning", h.memberKey).body())).isEqualTo(j);

        JsonNode paused = json(h.post("/api/jobs/morning/pause", h.memberKey, "").body());
        assertThat(paused.path("state").asText()).isEqualTo("paused");
        assertThat(paused.path("paused_reason").asText()).isEqualTo("paused by alice");
        assertThat(paused.path("schedule").path("next_due_at").isNull()).isTrue();
        HttpResponse<String> runPaused = h.post("/api/jobs/morning/run", h.memberKey, "");
        assertThat(runPaused.statusCode()).isEqualTo(400);
        assertThat(json(runPaused.body()).path("error").path("message").asText()).contains("paused").contains("resume it first");

        JsonNode resumed = json(h.post("/api/jobs/morning/resume", h.memberKey, "").body());
        assertThat(resumed.path("state").asText()).isEqualTo("active");
        assertThat(resumed.path("schedule").path("next_due_at").asText()).isEqualTo(next.toString());

        HttpResponse<String> removed = jobs.delete("/api/jobs/morning", h.memberKey);
        assertThat(removed.statusCode()).isEqualTo(200);
        assertThat(json(removed.body()).path("deleted").asBoolean()).isTrue();
        HttpResponse<String> gone = h.get("/api/jobs/morning", h.memberKey);
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(json(gone.body()).path("error").path("code").asText()).isEqualTo("job_not_found");
        assertThat(json(h.get("/api/jobs", h.memberKey).body()).path("data")).isEmpty();
    }

    @Test
    void anotherTeamsJobIsNotFoundOnEveryRouteAndAdminsSeeEveryJob() {
        assertThat(h.post("/api/jobs", h.memberKey, hourly("alices", "helper")).statusCode()).isEqualTo(201);
        assertThat(h.post("/api/jobs", h.researchKey, hourly("ritas", "lab")).statusCode()).isEqualTo(201);
        assertThat(h.post("/api/jobs", h.adminKey, """
                {"id": "team-job", "agent": "helper", "owner": {"team": "platform"}, "schedule": {"every": "1h"},
                 "message": "for the team"}""").statusCode()).isEqualTo(201);

        // rita (research) sees her own job only; each route on alice's answers as for a job that does not exist
        assertThat(json(h.get("/api/jobs", h.researchKey).body()).path("data").findValuesAsText("id")).containsExactly("ritas");
        List<HttpResponse<String>> probes = List.of(h.get("/api/jobs/alices", h.researchKey),
                h.post("/api/jobs/alices/pause", h.researchKey, ""), h.post("/api/jobs/alices/resume", h.researchKey, ""),
                h.post("/api/jobs/alices/run", h.researchKey, ""), h.get("/api/jobs/alices/runs", h.researchKey),
                jobs.delete("/api/jobs/alices", h.researchKey));
        for (HttpResponse<String> r : probes) {
            assertThat(r.statusCode()).as(r.request().method() + " " + r.request().uri()).isEqualTo(404);
            assertThat(json(r.body()).path("error").path("code").asText()).isEqualTo("job_not_found");
            assertThat(r.body()).isEqualTo(h.get("/api/jobs/no-such-job", h.researchKey).body()
                    .replace("no-such-job", "alices"));
        }
        // alice sees her own job and her team's; the admin sees all three and may pause anyone's
        assertThat(json(h.get("/api/jobs", h.memberKey).body()).path("data").findValuesAsText("id"))
                .containsExactly("alices", "team-job");
        assertThat(json(h.get("/api/jobs", h.adminKey).body()).path("data").findValuesAsText("id"))
                .containsExactly("alices", "ritas", "team-job");
        JsonNode paused = json(h.post("/api/jobs/ritas/pause", h.adminKey, "").body());
        assertThat(paused.path("state").asText()).isEqualTo("paused");
        assertThat(paused.path("paused_reason").asText()).isEqualTo("paused by root");
        assertThat(h.post("/api/jobs/team-job/pause", h.memberKey, "").statusCode()).isEqualTo(200);
        // and alice's job is still there and active after rita's attempts
        assertThat(json(h.get("/api/jobs/alices", h.memberKey).body()).path("state").asText()).isEqualTo("active");
    }

    @Test
    void aMemberMayNotAddAJobForAnotherTeamOrWithAnAgentTheOwnerMayNotUse() {
        record Case(String key, String body, String param) {}
        List<Case> cases = List.of(
                // rita's job for an agent of platform
                new Case(h.researchKey, hourly("x1", "helper"), "agent"),
                // alice's job with the research team's agent
                new Case(h.memberKey, hourly("x2", "lab"), "agent"),
                // paid by another team
                new Case(h.researchKey, "{\"id\":\"x3\",\"agent\":\"helper\",\"owner\":{\"team\":\"platform\"},"
                        + "\"schedule\":{\"every\":\"1h\"},\"message\":\"m\"}", "owner"),
                // alice's own, but charged to research
                new Case(h.memberKey, "{\"id\":\"x4\",\"agent\":\"lab\",\"owner\":{\"user\":\"alice\",\"team\":\"research\"},"
                        + "\"schedule\":{\"every\":\"1h\"},\"message\":\"m\"}", "owner"),
                // another user's
                new Case(h.memberKey, "{\"id\":\"x5\",\"agent\":\"helper\",\"owner\":{\"user\":\"bob\"},"
                        + "\"schedule\":{\"every\":\"1h\"},\"message\":\"m\"}", "owner"),
                // regression: her own team's, which ran as the team alone and so outside alice's own budget
                new Case(h.memberKey, "{\"id\":\"x6\",\"agent\":\"helper\",\"owner\":{\"team\":\"platform\"},"
                        + "\"schedule\":{\"every\":\"1h\"},\"message\":\"m\"}", "owner"));
        for (Case c : cases) {
            HttpResponse<String> r = h.post("/api/jobs", c.key(), c.body());
            assertThat(r.statusCode()).as(c.body() + " -> " + r.body()).isEqualTo(403);
            JsonNode e = json(r.body()).path("error");
            assertThat(e.path("param").asText()).as(r.body()).isEqualTo(c.param());
            assertThat(e.path("code").asText()).isEqualTo("permission_denied");
        }
        assertThat(json(h.get("/api/jobs", h.adminKey).body()).path("data")).isEmpty();   // nothing stored
    }

    @Test
    void everyMistakeIsA4xxNamingTheFieldAndNothingIsStored() {
        assertThat(h.post("/api/jobs", h.memberKey, hourly("taken", "helper")).statusCode()).isEqualTo(201);
        Map<String, String> cases = new LinkedHashMap<>();   // body -> the param the error names
        cases.put(job("\"cron\":\"61 * * * *\""), "schedule.cron");
        cases.put(job("\"cron\":\"every morning\""), "schedule.cron");
        cases.put(job("\"cron\":\"0 9 * * *\",\"zone\":\"Mars/Olympus\""), "schedule.zone");
        cases.put(job("\"at\":\"2020-01-01T00:00:00Z\""), "schedule.at");
        cases.put(job("\"at\":\"next tuesday\""), "schedule.at");
        cases.put(job("\"every\":\"500ms\""), "schedule.every");
        cases.put(job("\"every\":\"1h\",\"cron\":\"0 9 * * *\""), "schedule");
        cases.put(job("\"every\":\"1h\",\"jitter\":\"2h\""), "schedule.jitter");
        cases.put(job("\"every\":\"1h\",\"colour\":\"red\""), "schedule.colour");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"message\":\"m\"}", "schedule");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"colour\":\"red\"}", "colour");
        cases.put(hourly("taken", "helper"), "id");
        cases.put(hourly("../etc", "helper"), "id");
        cases.put(hourly("j", "nobody"), "agent");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"limits\":{\"tools\":[\"exec\"]}}", "limits.tools");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"limits\":{\"max_wall\":\"forever\"}}", "limits.max_wall");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"missed\":\"sometimes\"}", "missed");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"limits\":{\"max_model_calls\":\"many\"}}", "limits.max_model_calls");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"limits\":{\"max_tokens\":0}}", "limits.max_tokens");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"budget\":{\"tokens\":-5}}", "budget.tokens");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"cron\":{\"minute\":0}},\"message\":\"m\"}", "schedule.cron");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"owner\":{\"user\":[\"alice\"]},\"schedule\":{\"every\":\"1h\"},\"message\":\"m\"}", "owner.user");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"max_failures\":0}", "max_failures");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"retry_interrupted\":\"maybe\"}", "retry_interrupted");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"budget\":{\"amount\":\"lots\"}}", "budget.amount");
        // a billion digits written out, from 12 characters: refused, not an out-of-memory 500 (found by a tester)
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"budget\":{\"amount\":\"1e-999999999\"}}", "budget.amount");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"m\",\"limits\":{\"max_cost\":1e-999999999}}", "limits.max_cost");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"\"}", "message");
        cases.put("{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":\"hourly\",\"message\":\"m\"}", "schedule");
        cases.put("{\"id\":\"j\",\"schedule\":{\"every\":\"1h\"},\"webhook\":{\"url\":\"file:///etc/passwd\"}}", "webhook.url");
        for (var c : cases.entrySet()) {
            HttpResponse<String> r = h.post("/api/jobs", h.memberKey, c.getKey());
            assertThat(r.statusCode()).as(c.getKey() + " -> " + r.body()).isEqualTo(400);
            JsonNode e = json(r.body()).path("error");
            assertThat(e.path("param").asText()).as(c.getKey() + " -> " + r.body()).isEqualTo(c.getValue());
            assertThat(e.path("type").asText()).isEqualTo("invalid_request_error");
            assertThat(e.path("message").asText()).as(r.body()).startsWith(c.getValue().equals("colour") ? "'colour'" : c.getValue());
        }
        // the body itself
        assertThat(h.post("/api/jobs", h.memberKey, "{\"id\": ").statusCode()).isEqualTo(400);
        assertThat(json(h.post("/api/jobs", h.memberKey, "[1, 2]").body()).path("error").path("message").asText())
                .contains("JSON object");
        assertThat(h.post("/api/jobs", h.memberKey, "").statusCode()).isEqualTo(400);
        HttpResponse<String> notJson = h.send(HttpRequest.newBuilder(URI.create(h.url("/api/jobs")))
                .header("authorization", "Bearer " + h.memberKey).header("content-type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(hourly("j", "helper"))).build());
        assertThat(notJson.statusCode()).isEqualTo(415);
        String huge = "{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{\"every\":\"1h\"},\"message\":\"" + "x".repeat(11 << 20) + "\"}";
        HttpResponse<String> tooLarge = h.post("/api/jobs", h.memberKey, huge);
        assertThat(tooLarge.statusCode()).isEqualTo(413);
        assertThat(json(tooLarge.body()).path("error").path("code").asText()).isEqualTo("request_too_large");
        // the query
        assertThat(json(h.get("/api/jobs?owner=me", h.memberKey).body()).path("error").path("param").asText()).isEqualTo("owner");
        for (String limit : List.of("0", "1001", "ten", "")) {
            HttpResponse<String> r = h.get("/api/jobs/taken/runs?limit=" + limit, h.memberKey);
            assertThat(r.statusCode()).as(limit).isEqualTo(400);
            assertThat(json(r.body()).path("error").path("param").asText()).isEqualTo("limit");
        }
        // no key
        assertThat(h.get("/api/jobs", null).statusCode()).isEqualTo(401);
        assertThat(h.post("/api/jobs", null, hourly("j", "helper")).statusCode()).isEqualTo(401);

        assertThat(json(h.get("/api/jobs", h.adminKey).body()).path("data").findValuesAsText("id")).containsExactly("taken");
    }

    private static String job(String schedule) {
        return "{\"id\":\"j\",\"agent\":\"helper\",\"schedule\":{" + schedule + "},\"message\":\"m\"}";
    }

    @Test
    void runNowStreamsStartedAndFinishedToWhoMaySeeTheJobAndTheHistoryKeepsTheRun() throws Exception {
        h.a.enqueue(JobsHarness.answer("all quiet", 40, 5), JobsHarness.answer("lab report", 30, 4));
        assertThat(h.post("/api/jobs", h.memberKey, hourly("report", "helper")).statusCode()).isEqualTo(201);
        assertThat(h.post("/api/jobs", h.researchKey, hourly("lab-report", "lab")).statusCode()).isEqualTo(201);

        try (JobsHarness.Events alice = jobs.new Events(h.memberKey);
             JobsHarness.Events rita = jobs.new Events(h.researchKey);
             JobsHarness.Events admin = jobs.new Events(h.adminKey)) {
            Instant asked = Instant.now();
            HttpResponse<String> run = h.post("/api/jobs/report/run", h.memberKey, "");
            assertThat(run.statusCode()).as(run.body()).isEqualTo(202);
            assertThat(Instant.parse(json(run.body()).path("schedule").path("next_due_at").asText()))
                    .isBetween(asked.minusSeconds(1), Instant.now());

            GatewayHarness.Frame started = alice.next();
            assertThat(started.event()).isEqualTo("job_started");
            JsonNode s = started.json();
            assertThat(s.path("type").asText()).isEqualTo("job_started");
            assertThat(s.path("job_id").asText()).isEqualTo("report");
            assertThat(s.path("run_no").asLong()).isEqualTo(1);
            assertThat(s.path("lateness_ms").asLong()).isBetween(0L, 5_000L);
            assertThat(s.path("agent_run_id").asText()).startsWith("run_");
            GatewayHarness.Frame finished = alice.next();
            assertThat(finished.event()).isEqualTo("job_finished");
            JsonNode f = finished.json();
            assertThat(f.path("run_no").asLong()).isEqualTo(1);
            assertThat(f.path("status").asText()).as(finished.data()).isEqualTo("succeeded");
            assertThat(f.path("tokens").asLong()).isEqualTo(45);
            assertThat(new java.math.BigDecimal(f.path("cost_usd").asText())).isEqualByComparingTo("0.00015");   // 40 in at $3/M, 5 out at $6/M
            assertThat(admin.next().event()).isEqualTo("job_started");
            assertThat(admin.next().event()).isEqualTo("job_finished");

            // rita's stream carried none of alice's events: its first is her own job's run
            assertThat(h.post("/api/jobs/lab-report/run", h.researchKey, "").statusCode()).isEqualTo(202);
            GatewayHarness.Frame ritas = rita.next();
            assertThat(ritas.json().path("job_id").asText()).isEqualTo("lab-report");
            assertThat(ritas.event()).isEqualTo("job_started");
            assertThat(rita.next().json().path("status").asText()).isEqualTo("succeeded");
            assertThat(admin.next().json().path("job_id").asText()).isEqualTo("lab-report");
            // nor did alice's carry rita's
            jobs.awaitEndedRun("lab-report", h.researchKey);
            JobsHarness.sleep(300);
            assertThat(alice.frames).isEmpty();
        }

        JsonNode runs = json(h.get("/api/jobs/report/runs?limit=5", h.memberKey).body()).path("data");
        assertThat(runs).hasSize(1);
        JsonNode r = runs.get(0);
        assertThat(r.path("job_id").asText()).isEqualTo("report");
        assertThat(r.path("run_no").asLong()).isEqualTo(1);
        assertThat(r.path("status").asText()).isEqualTo("succeeded");
        assertThat(r.path("reason").isNull()).isTrue();
        assertThat(r.path("result").asText()).isEqualTo("all quiet");
        assertThat(r.path("tokens").asLong()).isEqualTo(45);
        assertThat(new java.math.BigDecimal(r.path("cost_usd").asText())).isEqualByComparingTo("0.00015");
        assertThat(r.path("agent_run_id").asText()).startsWith("run_");
        Instant scheduled = Instant.parse(r.path("scheduled_for").asText());
        assertThat(Instant.parse(r.path("started_at").asText())).isAfterOrEqualTo(scheduled);
        assertThat(Instant.parse(r.path("ended_at").asText())).isAfterOrEqualTo(Instant.parse(r.path("started_at").asText()));
        JsonNode job = json(h.get("/api/jobs/report", h.memberKey).body());
        assertThat(job.path("last_run_at").asText()).isEqualTo(r.path("started_at").asText());
        assertThat(Instant.parse(job.path("schedule").path("next_due_at").asText())).isAfter(Instant.now().plus(Duration.ofMinutes(50)));
        // the run's own session, not the agent's main one
        String session = json(h.get("/api/runs/" + r.path("agent_run_id").asText(), h.memberKey).body()).path("session_key").asText();
        assertThat(session).isEqualTo("agent:helper:job:report:1");
    }

    /** Regression: the jobs of a user whose every key was revoked went on running (and spending) as that user. */
    @Test
    void revokingEveryKeyOfAJobsOwnerStopsTheJobWithoutAModelCall() {
        assertThat(h.post("/api/jobs", h.memberKey, hourly("report", "helper")).statusCode()).isEqualTo(201);
        String prefix = h.carapace.keyAdmin().list().stream().filter(k -> k.user().equals("alice")).findFirst().orElseThrow().prefix();
        HttpResponse<String> revoked = jobs.delete("/api/keys/" + prefix, h.adminKey);
        assertThat(revoked.statusCode()).as(revoked.body()).isEqualTo(200);
        int upstreamBefore = h.a.requestCount();

        runNow("report");
        JsonNode run = endedRun("report", 1);
        assertThat(run.path("status").asText()).isEqualTo("failed");
        assertThat(run.path("reason").asText()).contains("user 'alice'", "every API key revoked").doesNotContain(prefix);
        assertThat(run.path("tokens").asLong()).isZero();
        JsonNode job = paused("report");   // at once, not after max_failures
        assertThat(job.path("paused_reason").asText()).contains("every API key revoked");
        assertThat(h.a.requestCount()).as("no model call as the revoked user").isEqualTo(upstreamBefore);

        // resumed with the owner still revoked, its next run stops it again; a new key for the user lets it run
        assertThat(h.post("/api/jobs/report/resume", h.adminKey, "").statusCode()).isEqualTo(200);
        runNow("report");
        assertThat(endedRun("report", 2).path("status").asText()).isEqualTo("failed");
        paused("report");

        h.carapace.keyAdmin().create("alice", "platform", dev.carapace.identity.Principal.Role.MEMBER, null);
        h.a.enqueue(JobsHarness.answer("back again", 10, 2));
        assertThat(h.post("/api/jobs/report/resume", h.adminKey, "").statusCode()).isEqualTo(200);
        runNow("report");
        JsonNode third = endedRun("report", 3);
        assertThat(third.path("status").asText()).as(third.toString()).isEqualTo("succeeded");
        assertThat(h.a.requestCount()).isEqualTo(upstreamBefore + 1);
    }

    /** Regression: an admin's budget for a job outlived the job, and would have held a later job of that id. */
    @Test
    void removingAJobRemovesTheBudgetAnAdminGaveIt() {
        assertThat(h.post("/api/jobs", h.memberKey, hourly("report", "helper")).statusCode()).isEqualTo(201);
        HttpResponse<String> set = h.send(HttpRequest.newBuilder(URI.create(h.url("/api/budgets/job:report")))
                .header("authorization", "Bearer " + h.adminKey).header("content-type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"amount\": \"1\"}")).build());
        assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
        assertThat(jobs.delete("/api/jobs/report", h.memberKey).statusCode()).isEqualTo(200);
        assertThat(h.get("/api/budgets/job:report", h.adminKey).statusCode()).isEqualTo(404);
        assertThat(json(h.get("/api/budgets", h.adminKey).body()).path("data").findValuesAsText("id")).doesNotContain("job:report");
    }

    /** The job, once its runner has paused it (a run's end is recorded a moment before the pause). */
    private JsonNode paused(String id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        JsonNode job;
        do {
            job = json(h.get("/api/jobs/" + id, h.adminKey).body());
            if (job.path("state").asText().equals("paused")) return job;
            JobsHarness.sleep(50);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("job " + id + " was not paused within 20 s: " + job);
    }

    /** Runs the job now, once the scheduler has let go of its last run (until then run-now says it is running). */
    private void runNow(String id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        HttpResponse<String> r;
        do {
            r = h.post("/api/jobs/" + id + "/run", h.adminKey, "");
            if (r.statusCode() == 202) return;
            assertThat(r.body()).as("only a run still held may refuse it").contains("is running now");
            JobsHarness.sleep(50);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("run-now of " + id + " refused for 20 s: " + r.body());
    }

    /** Run {@code runNo} of job {@code id}, once it has ended. */
    private JsonNode endedRun(String id, long runNo) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode r : json(h.get("/api/jobs/" + id + "/runs?limit=5", h.adminKey).body()).path("data")) {
                if (r.path("run_no").asLong() == runNo && !r.path("ended_at").isNull()) return r;
            }
            JobsHarness.sleep(50);
        }
        throw new AssertionError("run " + runNo + " of " + id + " did not end within 20 s");
    }

    @Test
    void pausingAJobIsAnEventOnTheStream() throws Exception {
        assertThat(h.post("/api/jobs", h.memberKey, hourly("quiet", "helper")).statusCode()).isEqualTo(201);
        try (JobsHarness.Events alice = jobs.new Events(h.memberKey)) {
            h.post("/api/jobs/quiet/pause", h.memberKey, "");
            GatewayHarness.Frame p = alice.next();
            assertThat(p.event()).isEqualTo("job_paused");
            assertThat(p.json().path("job_id").asText()).isEqualTo("quiet");
            assertThat(p.json().path("reason").asText()).isEqualTo("paused by alice");
        }
        HttpResponse<String> noKey = h.get("/api/jobs/events", null);
        assertThat(noKey.statusCode()).isEqualTo(401);
        HttpResponse<String> query = h.get("/api/jobs/events?jobs=quiet", h.memberKey);
        assertThat(query.statusCode()).isEqualTo(400);
        assertThat(json(query.body()).path("error").path("param").asText()).isEqualTo("jobs");
        assertThat(h.get("/api/jobs/events?job=quiet", h.researchKey).statusCode()).isEqualTo(404);   // not rita's
    }

    @Test
    void aStreamOfOneJobCarriesThatJobsEventsOnly() throws Exception {
        assertThat(h.post("/api/jobs", h.memberKey, hourly("one", "helper")).statusCode()).isEqualTo(201);
        assertThat(h.post("/api/jobs", h.memberKey, hourly("two", "helper")).statusCode()).isEqualTo(201);
        try (JobsHarness.Events two = jobs.new Events(h.memberKey, "two")) {
            h.post("/api/jobs/one/pause", h.memberKey, "");
            h.post("/api/jobs/two/pause", h.memberKey, "");
            GatewayHarness.Frame first = two.next();
            assertThat(first.event()).isEqualTo("job_paused");
            assertThat(first.json().path("job_id").asText()).isEqualTo("two");
        }
    }

    @Test
    void prometheusCountsTheRunsTheirLatenessAndCostByJob() throws Exception {
        h.a.enqueue(JobsHarness.answer("ok", 1000, 100));
        assertThat(h.post("/api/jobs", h.memberKey, hourly("metered", "helper")).statusCode()).isEqualTo(201);
        assertThat(h.post("/api/jobs/metered/run", h.memberKey, "").statusCode()).isEqualTo(202);
        assertThat(jobs.awaitEndedRun("metered", h.memberKey).path("status").asText()).isEqualTo("succeeded");

        String metrics = h.get("/metrics", h.adminKey).body();
        assertThat(metrics).contains("carapace_job_runs_total{job=\"metered\",status=\"succeeded\"} 1.0");
        assertThat(metrics).containsPattern("carapace_job_lateness_seconds_count 1(\\.0)?\\n");
        assertThat(metrics).contains("carapace_job_lateness_seconds_bucket{le=");
        // m-solo costs $3 per million input tokens and $6 per million output: 1000 in, 100 out
        assertThat(metrics).contains("carapace_job_cost_usd_total{job=\"metered\"} 0.0036");
        assertThat(metrics).doesNotContain("carapace_job_missed_total{job=\"metered\"}");
    }
}
