package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.carapace.testing.ScriptedUpstream.chunk;
import static dev.carapace.testing.ScriptedUpstream.quote;

/**
 * A scripted OpenAI upstream for job runs, answering by the job's message (the run's first user message) and logging
 * each request: a message with {@code LOOP} asks for a {@code read} tool call every time; the first request of a
 * message with {@code SLOW} streams its answer over a minute (a run that is still running when its gateway is
 * killed), with {@code BRIEF} over 3 s; any other gets a short answer of 160 prompt and 3 completion tokens.
 */
final class JobUpstream implements AutoCloseable {

    /** One request as the upstream got it. */
    record Request(Instant at, String message, List<String> tools, boolean carriesToolResults) {}

    final ScriptedUpstream server = new ScriptedUpstream();
    final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();

    JobUpstream() {
        server.respond(this::answer);
    }

    String baseUrl() { return server.openAiBaseUrl(); }

    private MockResponse answer(RecordedRequest r) {
        JsonNode body = GatewayHarness.json(ScriptedUpstream.body(r));
        String message = "";
        boolean toolResults = false;
        for (JsonNode m : body.path("messages")) {
            String role = m.path("role").asText();
            if (role.equals("user") && message.isEmpty()) {
                JsonNode c = m.path("content");
                message = c.isTextual() ? c.asText() : c.path(0).path("text").asText();
            }
            if (role.equals("tool")) toolResults = true;
        }
        List<String> tools = new ArrayList<>();
        for (JsonNode t : body.path("tools")) tools.add(t.path("function").path("name").asText());
        requests.add(new Request(Instant.now(), message, List.copyOf(tools), toolResults));
        int nth = seen.computeIfAbsent(message, k -> new AtomicInteger()).incrementAndGet();
        if (message.contains("LOOP") || (message.contains("STEP") && nth == 1)) {
            return ScriptedUpstream.sse(ScriptedUpstream.openAiFrames(
                    chunk("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_" + nth
                            + "\",\"type\":\"function\",\"function\":{\"name\":\"read\",\"arguments\":"
                            + quote("{\"path\":\"notes.txt\"}") + "}}]}", null),
                    chunk("{}", "tool_calls"), usage(120, 15)), 0);
        }
        if ((message.contains("SLOW") || message.contains("BRIEF")) && (nth == 1 || message.contains("STEP"))) {
            List<String> pieces = new ArrayList<>();
            int n = message.contains("SLOW") ? 60 : 6;
            for (int i = 0; i < n; i++) pieces.add("slow " + i + " ");
            return ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(pieces, 160, 3), message.contains("SLOW") ? 1000 : 500);
        }
        return ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("done: " + message), 160, 3), 0);
    }

    private static String usage(int prompt, int completion) {
        return "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":" + prompt + ",\"completion_tokens\":" + completion
                + ",\"total_tokens\":" + (prompt + completion) + "}}";
    }

    /** The requests whose run's message is {@code message}. */
    List<Request> of(String message) {
        return requests.stream().filter(r -> r.message().equals(message)).toList();
    }

    @Override
    public void close() { server.close(); }
}
