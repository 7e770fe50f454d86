package dev.carapace.server.api;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.schedule.Job;
import dev.carapace.schedule.JobEvent;
import dev.carapace.schedule.JobEvents;
import dev.carapace.schedule.JobService;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.server.json.JobsJson;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;

import static dev.carapace.server.api.AgentApi.noQuery;
import static dev.carapace.server.api.HttpApi.parseJsonObject;
import static dev.carapace.server.api.HttpApi.sendJson;
import static dev.carapace.server.json.AgentJson.JSON;
import static dev.carapace.text.Excerpt.clip;

/**
 * Scheduled jobs ({@code /api/jobs}): add, list, show, pause, resume, remove, run now, history, and their live
 * events over SSE. Who may touch which job is {@link JobService}'s call (members their own and their team's jobs,
 * admins every job; a job the caller may not see is answered 404 like one that does not exist). Framed like every
 * {@code /api} route by {@link HttpApi#handleApi}.
 */
public final class JobsApi {

    /** A job's definition as {@code JobSpecReader} reads it; decimals kept exact (a budget of 0.1 stays 0.1). */
    private static final ObjectMapper DEFINITION = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    private static final int DEFAULT_HISTORY = 20;
    private static final int MAX_HISTORY = 1000;

    private final HttpApi api;
    private final JobService jobs;
    private final JobEvents events;
    private final Duration heartbeat;

    /** @param heartbeat how often an idle event stream sends a comment line */
    public JobsApi(HttpApi api, JobService jobs, JobEvents events, Duration heartbeat) {
        this.api = api;
        this.jobs = jobs;
        this.events = events;
        this.heartbeat = heartbeat;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.get("/api/jobs", x -> api.handleApi("jobs", x, () -> list(x)))
         .post("/api/jobs", x -> api.handleApi("jobs", x, () -> add(x)))
         // before /api/jobs/{id}: the first matching template wins
         .get("/api/jobs/events", x -> api.handleApi("jobs", x, () -> stream(x)))
         .get("/api/jobs/{id}", x -> api.handleApi("jobs", x, () -> oneJob(x, 200, jobs::get)))
         .delete("/api/jobs/{id}", x -> api.handleApi("jobs", x, () -> remove(x)))
         .post("/api/jobs/{id}/pause", x -> api.handleApi("jobs", x, () -> oneJob(x, 200, jobs::pause)))
         .post("/api/jobs/{id}/resume", x -> api.handleApi("jobs", x, () -> oneJob(x, 200, jobs::resume)))
         // 202: the run is due now and starts on whichever gateway picks it; its events and history follow
         .post("/api/jobs/{id}/run", x -> api.handleApi("jobs", x, () -> oneJob(x, 202, jobs::runNow)))
         .get("/api/jobs/{id}/runs", x -> api.handleApi("jobs", x, () -> history(x)));
    }

    private void list(Exchange x) {
        Principal p = api.authenticate(x);
        noQuery(x);
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        jobs.list(p).forEach(j -> data.add(JobsJson.job(j)));
        sendJson(x, 200, body);
    }

    /** The body is a job's definition; the owner defaults to the caller. */
    private void add(Exchange x) throws IOException {
        Principal p = api.authenticate(x);
        noQuery(x);
        JsonNode in = parseJsonObject(api.body(x));
        Map<String, Object> definition = DEFINITION.convertValue(in, new TypeReference<>() {});
        sendJson(x, 201, JobsJson.job(jobs.add(definition, p, "api")));
    }

    /** A route on one job: its id from the path, the caller, no query; answers with the job as the action left it. */
    private void oneJob(Exchange x, int status, OnJob action) {
        Principal p = api.authenticate(x);
        noQuery(x);
        sendJson(x, status, JobsJson.job(action.on(x.pathParam("id"), p)));
    }

    @FunctionalInterface
    private interface OnJob {
        Job on(String id, Principal caller);
    }

    private void remove(Exchange x) {
        Principal p = api.authenticate(x);
        noQuery(x);
        String id = x.pathParam("id");
        jobs.remove(id, p);
        sendJson(x, 200, JSON.createObjectNode().put("id", id).put("deleted", true));
    }

    /** Newest first; {@code ?limit=N}, 1 to 1000, default 20. */
    private void history(Exchange x) {
        Principal p = api.authenticate(x);
        int limit = limit(x);
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        jobs.history(x.pathParam("id"), p, limit).forEach(r -> data.add(JobsJson.run(r)));
        sendJson(x, 200, body);
    }

    /**
     * Every job event the caller may see, or those of one job ({@code ?job=ID}), until the client leaves. The events
     * are this gateway's: on several gateways sharing PostgreSQL, each streams the runs it makes (the history, read
     * from the store, has every gateway's). They are published on the thread running the job, so this stream never
     * makes it wait: a client that reads too slowly misses events, the job does not.
     */
    private void stream(Exchange x) {
        Principal p = api.authenticate(x);
        for (String name : x.queryNames()) {
            if (!name.equals("job")) throw ApiException.invalid(name, name + ": unknown parameter (expected job)");
        }
        String only = x.query("job");
        if (only != null) jobs.get(only, p);   // 404 for a job the caller may not see, as on every route
        EventStream<JobEvent> stream = new EventStream<>(heartbeat,
                e -> EventStream.frame(e.type(), JobsJson.event(e).toString()));
        AutoCloseable sub = events.subscribe(stream::offer);
        try {
            stream.pump(x, api.standing(p), e -> (only == null || only.equals(e.jobId())) && visible(p, e.jobId()), e -> false);
        } finally {
            try {
                sub.close();
            } catch (Exception e) {
                throw new IllegalStateException("could not unsubscribe a job event stream", e);
            }
        }
    }

    /** Asked on the stream's own thread, so the runner's thread never reads the store for a listener. */
    private boolean visible(Principal p, String jobId) {
        if (p.isAdmin()) return true;
        try {
            jobs.get(jobId, p);
            return true;
        } catch (ApiException hiddenOrGone) {
            return false;
        }
    }

    private static int limit(Exchange x) {
        for (String name : x.queryNames()) {
            if (!name.equals("limit")) throw ApiException.invalid(name, name + ": unknown parameter (expected limit)");
        }
        String v = x.query("limit");
        if (v == null) return DEFAULT_HISTORY;
        try {
            int n = Integer.parseInt(v);
            if (n >= 1 && n <= MAX_HISTORY) return n;
        } catch (NumberFormatException e) {
            // below
        }
        throw ApiException.invalid("limit", "limit: a whole number from 1 to " + MAX_HISTORY + "; got '" + clip(v, 40) + "'");
    }
}
