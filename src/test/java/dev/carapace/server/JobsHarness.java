package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * An {@link AgentHarness} for the jobs' interfaces (agents {@code helper} of team platform: alice and the admin
 * root; {@code lab} of team research: rita; both on {@code m-solo}, upstream {@code a}) with a scheduler that polls
 * every 100 ms and a one-second minimum interval.
 */
final class JobsHarness implements AutoCloseable {

    /** Fast enough for tests: a due run starts within 100 ms; intervals down to a second. */
    static final String SCHEDULER = "scheduler: {min_interval: 1s, poll: 100ms, heartbeat: 250ms}\n";

    private final AgentHarness agents;
    final GatewayHarness h;

    JobsHarness(Path dir) throws Exception {
        agents = new AgentHarness(dir, SCHEDULER);
        h = agents.h;
    }

    /** The model's answer to one run: a streamed text with this usage. */
    static MockResponse answer(String text, int promptTokens, int completionTokens) {
        return ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of(text), promptTokens, completionTokens), 0);
    }

    /** A job of {@code agent} that fires every hour: it runs only when made to (run now). */
    static String hourly(String id, String agent) {
        return "{\"id\":\"" + id + "\",\"agent\":\"" + agent + "\",\"schedule\":{\"every\":\"1h\"},\"message\":\"report\"}";
    }

    HttpResponse<String> delete(String path, String key) {
        return h.send(HttpRequest.newBuilder(URI.create(h.url(path))).DELETE()
                .header("authorization", "Bearer " + key).build());
    }

    /** Polls the job's history until its newest run has ended. */
    JsonNode awaitEndedRun(String id, String key) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode runs = GatewayHarness.json(h.get("/api/jobs/" + id + "/runs", key).body()).path("data");
            if (!runs.isEmpty() && !runs.get(0).path("ended_at").isNull()) return runs.get(0);
            sleep(50);
        }
        throw new AssertionError("no run of " + id + " ended within 20 s");
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** {@code GET /api/jobs/events} read on a thread of its own, frame by frame, until closed. */
    final class Events implements AutoCloseable {
        final BlockingQueue<GatewayHarness.Frame> frames = new LinkedBlockingQueue<>();
        final HttpResponse<Stream<String>> response;
        private Thread reader;

        Events(String key) throws Exception {
            this(key, null);
        }

        /** @param job the one job to follow, or null for all the caller may see */
        Events(String key, String job) throws Exception {
            response = h.http.send(HttpRequest.newBuilder(URI.create(h.url("/api/jobs/events" + (job == null ? "" : "?job=" + job))))
                    .header("authorization", "Bearer " + key).build(), HttpResponse.BodyHandlers.ofLines());
            var lines = response.body().iterator();
            if (response.statusCode() != 200) return;
            String first = lines.next();
            if (!first.equals(": connected")) throw new AssertionError("the stream began with " + first);
            reader = Thread.ofVirtual().start(() -> {
                String event = null;
                StringBuilder data = new StringBuilder();
                try {
                    while (lines.hasNext()) {
                        String line = lines.next();
                        if (line.startsWith("event: ")) event = line.substring(7);
                        else if (line.startsWith("data: ")) data.append(line.substring(6));
                        else if (line.isEmpty() && !data.isEmpty()) {
                            frames.add(new GatewayHarness.Frame(event, data.toString()));
                            event = null;
                            data.setLength(0);
                        }
                    }
                } catch (RuntimeException closed) {
                    // the stream was closed by the test
                }
            });
        }

        /** The next frame, within 20 s. */
        GatewayHarness.Frame next() throws InterruptedException {
            GatewayHarness.Frame f = frames.poll(20, TimeUnit.SECONDS);
            if (f == null) throw new AssertionError("no job event within 20 s");
            return f;
        }

        @Override
        public void close() {
            response.body().close();
            if (reader != null) reader.interrupt();
        }
    }

    @Override
    public void close() {
        agents.close();
    }
}
