package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.RunStatus;
import dev.carapace.server.GatewayHarness.Frame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.carapace.server.GatewayHarness.frames;
import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;

/** The agent routes of the native API over real HTTP, against a scripted upstream. */
class AgentApiTest {

    @TempDir Path dir;
    AgentHarness x;
    GatewayHarness h;

    @BeforeEach
    void setUp() throws Exception {
        x = new AgentHarness(dir);
        h = x.h;
    }

    @AfterEach
    void tearDown() {
        x.close();
    }

    @Test
    void aStreamedRunSendsItsEventsInOrderAndEndsWithItsFinalStatus() {
        x.scriptReadThenAnswer();

        HttpResponse<String> r = h.post("/api/agents/helper/runs", h.memberKey,
                "{\"message\":\"What is the secret word?\",\"stream\":true}");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        assertThat(r.headers().firstValue("x-request-id")).isPresent();
        List<Frame> f = frames(r.body());
        List<String> seen = new ArrayList<>();
        for (Frame e : f) {
            JsonNode j = e.json();
            assertThat(j.path("type").asText()).isEqualTo(e.event());
            seen.add(switch (e.event()) {
                case "status" -> "status:" + j.path("status").asText();
                case "tool_started" -> "tool_started:" + j.path("tool").asText() + " " + j.path("arguments").asText();
                case "tool_finished" -> "tool_finished:" + j.path("tool").asText() + " ok=" + j.path("ok").asBoolean();
                case "text" -> "text:" + j.path("text").asText();
                case "usage" -> "usage:" + j.path("step").asInt() + " in=" + j.path("input_tokens").asLong();
                default -> e.event();
            });
        }
        assertThat(seen).containsExactly("status:queued", "status:running", "usage:1 in=120",
                "tool_started:read {\"path\":\"notes.txt\"}", "tool_finished:read ok=true", "text:kumquat",
                "usage:2 in=160", "status:completed");
        String runId = f.get(0).json().path("run_id").asText();
        assertThat(runId).startsWith("run_").isEqualTo(r.headers().firstValue("x-carapace-run-id").orElseThrow());
        assertThat(f).allSatisfy(e -> assertThat(e.json().path("session_key").asText()).isEqualTo("agent:helper:main"));
        assertThat(f.get(4).json().path("summary").asText()).contains("kumquat");

        // The transcript and the runs of the session.
        HttpResponse<String> s = h.get("/api/sessions/agent:helper:main", h.memberKey);
        assertThat(s.statusCode()).isEqualTo(200);
        JsonNode session = json(s.body());
        assertThat(session.path("agent").asText()).isEqualTo("helper");
        List<String> roles = new ArrayList<>();
        session.path("transcript").forEach(e -> roles.add(e.path("role").asText()));
        assertThat(roles).containsExactly("user", "assistant", "tool", "assistant");
        JsonNode t = session.path("transcript");
        assertThat(t.get(0).path("content").path("text").asText()).isEqualTo("What is the secret word?");
        assertThat(t.get(1).path("content").path("tool_calls").get(0).path("name").asText()).isEqualTo("read");
        assertThat(t.get(1).path("usage").path("input_tokens").asLong()).isEqualTo(120);
        assertThat(t.get(3).path("content").path("text").asText()).isEqualTo("kumquat");
        assertThat(t.get(3).path("model").asText()).isEqualTo("m-solo");
        assertThat(session.path("runs")).singleElement().satisfies(run -> {
            assertThat(run.path("id").asText()).isEqualTo(runId);
            assertThat(run.path("status").asText()).isEqualTo("completed");
            assertThat(run.path("steps").asInt()).isEqualTo(2);
            assertThat(run.path("tokens").asLong()).isEqualTo(120 + 15 + 160 + 3);
        });
        assertThat(s.body()).doesNotContain("secret-a");
    }

    @Test
    void aRunStartsWith202AndItsEventStreamFollowsItToTheEnd() {
        h.a.enqueue(AgentHarness.slowText(List.of("one ", "two ", "three"), 300));

        HttpResponse<String> started = h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":\"count\",\"session\":\"s1\"}");

        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode a = json(started.body());
        String runId = a.path("run_id").asText();
        assertThat(a.path("session_key").asText()).isEqualTo("agent:helper:s1");
        assertThat(a.path("status").asText()).isIn("queued", "running");
        x.awaitStatus(runId, RunStatus.RUNNING);

        HttpResponse<String> events = h.get("/api/runs/" + runId + "/events", h.memberKey);

        assertThat(events.statusCode()).isEqualTo(200);
        List<Frame> f = frames(events.body());
        Frame lastFrame = f.get(f.size() - 1);
        assertThat(lastFrame.event()).isEqualTo("status");
        assertThat(lastFrame.json().path("status").asText()).isEqualTo("completed");
        StringBuilder text = new StringBuilder();
        f.stream().filter(e -> "text".equals(e.event())).forEach(e -> text.append(e.json().path("text").asText()));
        assertThat(text.toString()).endsWith("three");   // the stream joined mid-run: at least the last pieces

        JsonNode run = json(h.get("/api/runs/" + runId, h.memberKey).body());
        assertThat(run.path("status").asText()).isEqualTo("completed");
        assertThat(run.path("agent").asText()).isEqualTo("helper");
        assertThat(run.path("ended_at").isTextual()).isTrue();

        // An ended run's event stream answers at once with its final status.
        List<Frame> again = frames(h.get("/api/runs/" + runId + "/events", h.memberKey).body());
        assertThat(again).singleElement().satisfies(e -> assertThat(e.json().path("status").asText()).isEqualTo("completed"));
    }

    @Test
    void aSessionStreamCarriesEveryRunOfTheSessionAndEndsWhenTheGatewayStops() throws Exception {
        HttpResponse<java.util.stream.Stream<String>> r = h.http.send(HttpRequest.newBuilder(
                        URI.create(h.url("/api/sessions/agent:helper:main/events")))
                .header("authorization", "Bearer " + h.memberKey).build(), HttpResponse.BodyHandlers.ofLines());
        assertThat(r.statusCode()).isEqualTo(200);
        var lines = r.body().iterator();
        assertThat(lines.next()).isEqualTo(": connected");   // the stream is open before the first run
        h.a.enqueue(AgentHarness.text("first", 10, 1), AgentHarness.text("second", 10, 1));
        String one = json(h.post("/api/agents/helper/runs?wait=true", h.memberKey, "{\"message\":\"1\"}").body()).path("run_id").asText();
        String two = json(h.post("/api/agents/helper/runs?wait=true", h.memberKey, "{\"message\":\"2\"}").body()).path("run_id").asText();
        h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":\"elsewhere\",\"session\":\"other\"}");

        List<String> completed = new ArrayList<>();
        StringBuilder texts = new StringBuilder();
        while (completed.size() < 2) {
            String line = lines.next();
            if (!line.startsWith("data: ")) continue;
            JsonNode e = json(line.substring(6));
            assertThat(e.path("session_key").asText()).isEqualTo("agent:helper:main");
            if (e.path("type").asText().equals("text")) texts.append(e.path("text").asText()).append(' ');
            if (e.path("status").asText().equals("completed")) completed.add(e.path("run_id").asText());
        }
        assertThat(completed).containsExactly(one, two);
        assertThat(texts.toString()).isEqualTo("first second ");

        long t0 = System.nanoTime();
        x.close();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("an open stream does not hold up the shutdown")
                .isLessThan(Duration.ofSeconds(10));
        while (lines.hasNext()) lines.next();   // ends: the server closed the connection
    }

    @Test
    void agentRunsWereChargedToUserDashInSpendByUser() {
        // helper is owned by team platform, with no user: its runs used to be charged to nobody ("-")
        x.scriptReadThenAnswer();
        JsonNode run = json(h.post("/api/agents/helper/runs?wait=true", h.memberKey, "{\"message\":\"secret?\"}").body());
        assertThat(run.path("status").asText()).isEqualTo("completed");

        List<dev.carapace.store.UsageLog.UsageRecord> records = h.carapace.store().usageLog().recent(10);
        assertThat(records).hasSize(2).allSatisfy(r -> {
            assertThat(r.user()).isEqualTo("alice");
            assertThat(r.agent()).isEqualTo("helper");
            assertThat(r.team()).isEqualTo("platform");
            assertThat(r.status()).isEqualTo(200);
            assertThat(h.memberKey).startsWith(r.keyPrefix());
        });
        JsonNode byUser = json(h.get("/api/spend?by=user", h.adminKey).body()).path("data");
        assertThat(byUser).hasSize(1);
        assertThat(byUser.get(0).path("user").asText()).isEqualTo("alice");
        assertThat(byUser.get(0).path("requests").asLong()).isEqualTo(2);
        JsonNode byAgent = json(h.get("/api/spend?by=agent", h.adminKey).body()).path("data");
        assertThat(byAgent).hasSize(1);
        assertThat(byAgent.get(0).path("agent").asText()).isEqualTo("helper");
        // and alice sees it as her own spend
        assertThat(json(h.get("/api/spend?by=agent", h.memberKey).body()).path("data").get(0).path("requests").asLong()).isEqualTo(2);

        // the admin root starts the next one: charged to root, not to alice
        h.a.enqueue(AgentHarness.text("again", 10, 2));
        h.post("/api/agents/helper/runs?wait=true", h.adminKey, "{\"message\":\"again\"}");
        assertThat(h.carapace.store().usageLog().recent(1).get(0).user()).isEqualTo("root");
    }

    @Test
    void waitTrueAnswersWhenTheRunHasEnded() {
        h.a.enqueue(AgentHarness.text("done", 10, 1));

        HttpResponse<String> r = h.post("/api/agents/helper/runs?wait=true", h.memberKey, "{\"message\":\"go\"}");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r.body()).path("status").asText()).isEqualTo("completed");
    }

    @Test
    void cancelEndsARunningRunAndIsHarmlessOnAnEndedOne() {
        h.a.enqueue(AgentHarness.slowText(List.of("a", "b", "c", "d", "e", "f", "g", "h"), 1000));
        String runId = json(h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":\"slow\"}").body()).path("run_id").asText();
        x.awaitStatus(runId, RunStatus.RUNNING);

        HttpResponse<String> c = h.post("/api/runs/" + runId + "/cancel", h.memberKey, "");

        assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
        JsonNode body = json(c.body());
        assertThat(body.path("cancelled").asBoolean()).isTrue();
        assertThat(body.path("status").asText()).isEqualTo("cancelled");
        assertThat(x.runtime().run(runId).status()).isEqualTo(RunStatus.CANCELLED);

        HttpResponse<String> again = h.send(HttpRequest.newBuilder(URI.create(h.url("/api/runs/" + runId)))
                .header("authorization", "Bearer " + h.memberKey).DELETE().build());
        assertThat(again.statusCode()).isEqualTo(200);
        assertThat(json(again.body()).path("cancelled").asBoolean()).isFalse();
        assertThat(json(again.body()).path("status").asText()).isEqualTo("cancelled");
    }

    @Test
    void membersUseTheAgentsOfTheirTeamAndAdminsUseAll() {
        assertThat(ids(h.get("/api/agents", h.adminKey))).containsExactly("helper", "lab");
        assertThat(ids(h.get("/api/agents", h.memberKey))).containsExactly("helper");
        assertThat(ids(h.get("/api/agents", h.researchKey))).containsExactly("lab");

        JsonNode helper = json(h.get("/api/agents/helper", h.memberKey).body());
        assertThat(helper.path("model").asText()).isEqualTo("m-solo");
        assertThat(helper.path("tools").toString()).isEqualTo("[\"read\",\"list\"]");
        assertThat(helper.path("owner").path("team").asText()).isEqualTo("platform");
        assertThat(helper.path("limits").path("max_steps").asInt()).isEqualTo(32);
        assertThat(helper.has("workspace")).as("no server paths").isFalse();

        HttpResponse<String> other = h.get("/api/agents/helper", h.researchKey);
        assertError(other, 403, "permission_error", "may not use agent 'helper' (owned by team:platform)");
        assertError(h.post("/api/agents/helper/runs", h.researchKey, "{\"message\":\"hi\"}"), 403, "permission_error",
                "members use the agents owned by themselves or their team");

        h.a.enqueue(AgentHarness.text("hello", 10, 1));
        String runId = json(h.post("/api/agents/helper/runs?wait=true", h.memberKey, "{\"message\":\"hi\"}").body())
                .path("run_id").asText();
        assertError(h.get("/api/runs/" + runId, h.researchKey), 403, "permission_error", "run '" + runId + "' of agent 'helper'");
        assertError(h.post("/api/runs/" + runId + "/cancel", h.researchKey, ""), 403, "permission_error", "may not use run");
        assertError(h.get("/api/runs/" + runId + "/events", h.researchKey), 403, "permission_error", "may not use run");
        assertError(h.get("/api/sessions/agent:helper:main", h.researchKey), 403, "permission_error",
                "may not use session 'agent:helper:main'");
        assertError(h.get("/api/sessions/agent:helper:main/events", h.researchKey), 403, "permission_error", "may not use session");
        assertThat(h.get("/api/runs/" + runId, h.adminKey).statusCode()).isEqualTo(200);
        assertThat(h.get("/api/sessions/agent:helper:main", h.adminKey).statusCode()).isEqualTo(200);
        // A hidden agent is not named to a member who asks for one that does not exist.
        HttpResponse<String> unknown = h.get("/api/agents/nope", h.researchKey);
        assertError(unknown, 404, "not_found_error", "No agent 'nope' (agents: lab)");
    }

    @Test
    void clientMistakesAreAnsweredWithAStatusAndAMessage() {
        assertError(h.post("/api/agents/helper/runs", h.memberKey, "{\"session\":\"main\"}"), 400, "invalid_request_error",
                "message: required");
        assertError(h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":"), 400, "invalid_request_error",
                "Request body is not valid JSON: ");
        // Regression (found from outside): what followed the object was ignored ({"amount":"5"} {"amount":"999"})
        assertError(h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":\"x\"} trailing"), 400,
                "invalid_request_error", "Request body is not valid JSON: ");
        assertError(h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":\"x\"} {\"message\":\"y\"}"), 400,
                "invalid_request_error", "unexpected content after the end of the JSON value");
        assertError(h.post("/api/agents/helper/runs", h.memberKey, "[1]"), 400, "invalid_request_error", "must be a JSON object");
        assertError(h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":\"   \"}"), 400, "invalid_request_error",
                "message: must not be empty");
        assertError(h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":3}"), 400, "invalid_request_error",
                "message: expected a string");
        assertError(h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":\"hi\",\"mesage\":1}"), 400,
                "invalid_request_error", "mesage: unknown field");
        // a proxy that reads the first copy would see another request than Carapace (found by a tester: it ran "b")
        assertError(h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":\"a\",\"message\":\"b\"}"), 400,
                "invalid_request_error", "gives a field twice");
        assertError(h.post("/api/agents/helper/runs", h.memberKey, "{\"message\":\"hi\",\"session\":\"../x\"}"), 400,
                "invalid_request_error", "session: expected a name");
        assertError(h.post("/api/agents/helper/runs?wait=soon", h.memberKey, "{\"message\":\"hi\"}"), 400,
                "invalid_request_error", "wait: expected true or false");
        assertError(h.post("/api/agents/nope/runs", h.memberKey, "{\"message\":\"hi\"}"), 404, "not_found_error",
                "No agent 'nope' (agents: helper)");
        assertError(h.get("/api/runs/run_nope", h.memberKey), 404, "not_found_error", "No run 'run_nope'");
        assertError(h.post("/api/runs/run_nope/cancel", h.memberKey, ""), 404, "not_found_error", "No run 'run_nope'");
        assertError(h.get("/api/sessions/agent:helper:never", h.memberKey), 404, "not_found_error", "agent:helper:never");
        assertError(h.get("/api/sessions/bogus", h.memberKey), 404, "not_found_error", "session keys look like agent:AGENT:NAME");
        assertError(h.post("/api/sessions/agent:helper:never/resume", h.memberKey, ""), 404, "not_found_error", "agent:helper:never");
        assertError(h.get("/api/sessions/agent:helper:main/ws", h.memberKey), 400, "invalid_request_error", "is a WebSocket");
        assertError(h.get("/api/agents", null), 401, "authentication_error", "");
        assertError(h.get("/api/agents", "cpk_nope"), 401, "authentication_error", "");

        // Nothing to resume in a session whose last run completed.
        h.a.enqueue(AgentHarness.text("ok", 10, 1));
        h.post("/api/agents/helper/runs?wait=true", h.memberKey, "{\"message\":\"hi\"}");
        assertError(h.post("/api/sessions/agent:helper:main/resume", h.memberKey, ""), 400, "invalid_request_error",
                "has no interrupted run to resume (its last run is completed)");
    }

    private static List<String> ids(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        json(r.body()).path("data").forEach(a -> ids.add(a.path("id").asText()));
        return ids;
    }

    static void assertError(HttpResponse<String> r, int status, String type, String message) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode e = json(r.body()).path("error");
        assertThat(e.path("type").asText()).isEqualTo(type);
        assertThat(e.path("message").asText()).contains(message);
    }
}
