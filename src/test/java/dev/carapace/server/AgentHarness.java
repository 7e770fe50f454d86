package dev.carapace.server;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunStatus;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.carapace.testing.ScriptedUpstream.chunk;
import static dev.carapace.testing.ScriptedUpstream.quote;
import static org.awaitility.Awaitility.await;

/**
 * A {@link GatewayHarness} with two configured agents: {@code helper} (team platform: alice and the admin root) with
 * {@code read} and {@code list}, and {@code lab} (team research: rita). Both call {@code m-solo} on upstream {@code a}.
 */
final class AgentHarness implements AutoCloseable {

    final GatewayHarness h;
    final Path workspace;

    /** The config's two agents; the workspaces of helper and lab go in the two {@code %s}. */
    static final String AGENTS = """
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
            """;

    AgentHarness(Path dir) throws Exception {
        this(dir, "");
    }

    /** @param moreConfig top-level sections added to the config (a {@code scheduler:}, say) */
    AgentHarness(Path dir, String moreConfig) throws Exception {
        workspace = Files.createDirectories(dir.resolve("ws"));
        Path lab = Files.createDirectories(dir.resolve("lab"));
        Files.writeString(workspace.resolve("AGENTS.md"), "You help.");
        Files.writeString(workspace.resolve("notes.txt"), "the secret word is kumquat\n");
        h = new GatewayHarness(dir.resolve("data"), AGENTS.formatted(workspace, lab) + moreConfig);
    }

    AgentRuntime runtime() { return h.carapace.agentRuntime(); }

    /** The model reads notes.txt, then answers "kumquat". */
    void scriptReadThenAnswer() {
        h.a.enqueue(toolCall("call_1", "read", "{\"path\":\"notes.txt\"}"), text("kumquat", 160, 3));
    }

    /** A streamed answer that asks for one tool call. */
    static MockResponse toolCall(String id, String name, String arguments) {
        return ScriptedUpstream.sse(ScriptedUpstream.openAiFrames(
                chunk("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"" + id
                        + "\",\"type\":\"function\",\"function\":{\"name\":\"" + name + "\",\"arguments\":\"\"}}]}", null),
                chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":" + quote(arguments) + "}}]}", null),
                chunk("{}", "tool_calls"),
                "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\",\"choices\":[],"
                        + "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":15,\"total_tokens\":135}}"), 0);
    }

    static MockResponse text(String text, int promptTokens, int completionTokens) {
        return ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of(text), promptTokens, completionTokens), 0);
    }

    /** A text answer in pieces, {@code gapMillis} apart: a run that stays running long enough to watch or cancel. */
    static MockResponse slowText(List<String> pieces, long gapMillis) {
        return ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(pieces, 10, 10), gapMillis);
    }

    void awaitStatus(String runId, RunStatus status) {
        await().atMost(Duration.ofSeconds(10)).until(() -> runtime().run(runId).status() == status);
    }

    private boolean closed;

    /** Once; a test may stop the gateway itself. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        h.close();
    }
}
