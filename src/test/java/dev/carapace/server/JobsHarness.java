package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A {@link GatewayHarness} for the jobs' interfaces: the agents {@code helper} (team platform: alice and the admin
 * root) and {@code lab} (team research: rita), both on {@code m-solo} (upstream {@code a}), and a scheduler that
 * polls every 100 ms with a one-second minimum interval.
 */
final class JobsHarness implements AutoCloseable {

    static final String AGENTS_AND_SCHEDULER = """
            agents:
              helper:
                workspace: %s
                model: m-solo
                tools: [read, list]
                owner: {team: platform}
              lab:
                workspace: %s
                model: m-solo
                tools: [read]
                owner: {team: research}
            scheduler: {min_interval: 1s, poll: 100ms, heartbeat: 250ms}
            """;

    final GatewayHarness h;

    JobsHarness(Path dir) throws Exception {
        Path helper = Files.createDirectories(dir.resolve("helper"));
        Path lab = Files.createDirectories(dir.resolve("lab"));
        Files.writeString(helper.resolve("AGENTS.md"), "You help.");
        h = new GatewayHarness(dir.resolve("data"), AGENTS_AND_SCHEDULER.formatted(helper, lab));
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
            response = h.http.send(HttpRequest.newBuilder(URI.create(h.url("/api/jobs/events")))
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
        h.close();
    }
}
