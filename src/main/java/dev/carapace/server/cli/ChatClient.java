package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.server.json.AgentJson;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code carapace chat}'s side of the agent API: starts runs with {@code "stream": true}, prints the streamed text
 * as it arrives and tool calls one line each ({@code → read {"path":"a.txt"}}, {@code ✓ read: ...},
 * {@code ✗ read: ...}), and cancels the run in progress on request (Ctrl-C).
 */
public final class ChatClient {

    /** How a run ended: its final status, and why when it did not complete. */
    public record Outcome(String runId, String status, String reason) {
        boolean completed() { return "completed".equals(status); }
    }

    /** The server refused, or could not be reached; the message says which and why. */
    static final class Failure extends RuntimeException {
        Failure(String message) { super(message); }
    }

    private final HttpClient http;
    private final URI base;
    private final String key;
    private final PrintWriter out;
    private volatile String currentRun;
    /** A message is on its way: its run may already run on the server before its id reaches us. */
    private volatile boolean sending;
    /** Ctrl-C came while sending, before the run's id: the run is cancelled as soon as the id is known. */
    private volatile boolean cancelWhenKnown;
    private boolean atLineStart = true;

    public ChatClient(HttpClient http, URI base, String key, PrintWriter out) {
        this.http = http;
        this.base = base;
        this.key = key;
        this.out = out;
    }

    /** The ids of the agents this key may use. */
    List<String> agents() {
        HttpResponse<String> r = send(request("/api/agents").GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw refused(r.statusCode(), r.body());
        List<String> ids = new ArrayList<>();
        json(r.body()).path("data").forEach(a -> ids.add(a.path("id").asText()));
        return ids;
    }

    /** Sends one message and prints the run's events until it ends. */
    public Outcome send(String agent, String session, String message) {
        ObjectNode body = AgentJson.JSON.createObjectNode().put("message", message).put("session", session).put("stream", true);
        HttpRequest req = request("/api/agents/" + agent + "/runs").header("content-type", "application/json")
                .header("accept", "text/event-stream").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        sending = true;
        cancelWhenKnown = false;
        try {
            HttpResponse<Stream<String>> r = send(req, HttpResponse.BodyHandlers.ofLines());
            try (Stream<String> lines = r.body()) {
                if (r.statusCode() != 200) throw refused(r.statusCode(), String.join("\n", lines.toList()));
                known(r.headers().firstValue("x-carapace-run-id").orElse(null));
                return follow(lines.iterator());
            }
        } finally {
            currentRun = null;
            sending = false;
        }
    }

    /** Whether a run is in progress, or a message on its way to start one (what Ctrl-C then cancels). */
    public boolean busy() { return sending || currentRun != null; }

    /** The run's id is known: a Ctrl-C that came before it cancels the run now. */
    private void known(String runId) {
        if (runId == null || currentRun != null) return;
        currentRun = runId;
        if (cancelWhenKnown) cancel();
    }

    /** Asks the server to cancel the run in progress, if any; the event stream then ends with its status. */
    public void cancel() {
        String run = currentRun;
        if (run == null && sending) {
            cancelWhenKnown = true;
            run = currentRun;   // its id may have come meanwhile, read by known() before the flag was set
        }
        if (run == null) return;
        try {
            send(request("/api/runs/" + run + "/cancel").POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.discarding());
        } catch (Failure e) {
            // the stream tells how the run ended either way
        }
    }

    private Outcome follow(Iterator<String> lines) {
        String event = null;
        StringBuilder data = new StringBuilder();
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.isEmpty()) {
                if (!data.isEmpty()) {
                    Outcome end = show(event, json(data.toString()));
                    if (end != null) return end;
                }
                event = null;
                data.setLength(0);
            } else if (line.startsWith("event:")) {
                event = line.substring(6).strip();
            } else if (line.startsWith("data:")) {
                data.append(line.substring(5).stripLeading());
            }   // ':' lines are heartbeats
        }
        endLine();
        throw new Failure("the server closed the event stream before the run ended"
                + (currentRun == null ? "" : " (run " + currentRun + ": see GET /api/runs/" + currentRun + ")"));
    }

    /** Prints one event; returns the outcome when it ends the run. */
    private Outcome show(String event, JsonNode e) {
        switch (event == null ? e.path("type").asText() : event) {
            case "text" -> {
                String t = e.path("text").asText();
                out.print(t);
                if (!t.isEmpty()) atLineStart = t.endsWith("\n");
            }
            case "tool_started" -> line("→ " + e.path("tool").asText() + " " + compact(e.path("arguments").asText()));
            case "tool_finished" -> line((e.path("ok").asBoolean() ? "✓ " : "✗ ") + printable(e.path("tool").asText()) + result(e));
            case "status" -> {
                known(e.path("run_id").asText(null));
                String status = e.path("status").asText();
                if (!status.equals("queued") && !status.equals("running")) {
                    endLine();
                    return new Outcome(e.path("run_id").asText(), status, e.path("reason").asText(null));
                }
            }
            case "approval_requested" -> line("… " + e.path("tool").asText() + " waits for an operator: approval "
                    + e.path("approval_id").asText() + (e.path("target").isTextual() ? " (" + e.path("target").asText() + ")" : "")
                    + "; carapace approvals approve|deny " + e.path("approval_id").asText());
            case "approval_resolved" -> line("… approval " + e.path("approval_id").asText() + " " + e.path("outcome").asText()
                    + (e.path("decided_by").isTextual() ? " by " + e.path("decided_by").asText() : ""));
            case "dropped" -> line("(" + e.path("count").asLong() + " events were lost: this terminal read too slowly)");
            case "memory_flushed" -> {
                // A compaction is routine; a flush that could not save anything before it is worth a line.
                if (e.path("status").asText().equals("failed")) {
                    line("… the memory flush before compaction failed: " + printable(e.path("reason").asText("")));
                }
            }
            default -> { }   // usage and error: the final status carries what matters
        }
        out.flush();
        return null;
    }

    private void line(String s) {
        endLine();
        out.println(s);
        out.flush();
    }

    private void endLine() {
        if (!atLineStart) out.println();
        atLineStart = true;
        out.flush();
    }

    /** Arguments on one line: re-serialized without the model's whitespace, cut at 120 characters. */
    private static String compact(String arguments) {
        String s;
        try {
            JsonNode n = AgentJson.JSON.readTree(arguments);
            s = n == null ? "" : n.toString();
        } catch (IOException e) {
            s = arguments.replaceAll("\\s+", " ");
        }
        return clip(s, 120);
    }

    /**
     * A result as the server bounded it (20 lines, 2,000 characters): an error's reason, else one line on the tool's
     * line, or several indented below it, and how much was cut.
     */
    static String result(JsonNode e) {
        String summary = e.path("summary").asText("");
        if (!e.path("ok").asBoolean()) {
            try {
                JsonNode err = AgentJson.JSON.readTree(summary);
                if (err != null && err.has("reason")) return ": " + printable(clip(err.path("reason").asText(), 120));
            } catch (IOException notJson) {
                // shown as it is
            }
        }
        List<String> lines = summary.strip().lines().map(ChatClient::printable).toList();
        long moreLines = e.path("more_lines").asLong();
        long moreChars = e.path("more_chars").asLong();
        String cut = moreLines > 0 ? "… (" + moreLines + " more line" + (moreLines == 1 ? "" : "s") + " cut)"
                : moreChars > 0 ? "… (" + moreChars + " more character" + (moreChars == 1 ? "" : "s") + " cut)" : null;
        if (lines.isEmpty()) return cut == null ? "" : ": " + cut;
        if (lines.size() == 1 && cut == null) return ": " + lines.get(0);
        StringBuilder b = new StringBuilder(":");
        for (String l : lines) b.append("\n  ").append(l);
        if (cut != null) b.append("\n  ").append(cut);
        return b.toString();
    }

    /**
     * What a tool read can hold anything, terminal escape sequences included: every control character but a tab is
     * shown as U+FFFD, so a file cannot move the cursor, retitle the window or hide lines on the user's terminal.
     */
    static String printable(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean control = (c < 0x20 && c != '\t') || (c >= 0x7f && c < 0xa0);
            if (control && b == null) b = new StringBuilder(s.length()).append(s, 0, i);
            if (b != null) b.append(control ? '\uFFFD' : c);
        }
        return b == null ? s : b.toString();
    }

    private static String clip(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path));   // no timeout: a run may take minutes
        if (key != null) b.header("authorization", "Bearer " + key);
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler) {
        try {
            return http.send(req, handler);
        } catch (ConnectException e) {
            throw new Failure("cannot reach Carapace at " + base + " (is 'carapace serve' running? set --url)");
        } catch (IOException e) {
            throw new Failure("the connection to " + base + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure("interrupted");
        }
    }

    /** The API's error message, with the status. */
    private static Failure refused(int status, String body) {
        String message = null;
        try {
            JsonNode n = AgentJson.JSON.readTree(body);
            if (n != null) message = n.path("error").path("message").asText(null);
        } catch (IOException notJson) {
            // below
        }
        return new Failure("HTTP " + status + ": " + (message != null ? message : clip(body.strip(), 200)));
    }

    private static JsonNode json(String s) {
        try {
            return AgentJson.JSON.readTree(s);
        } catch (IOException e) {
            throw new Failure("the server sent something that is not JSON: " + clip(s, 100));
        }
    }
}
