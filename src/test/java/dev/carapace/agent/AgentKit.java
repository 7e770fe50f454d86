package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.tools.FileTools;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.server.Carapace;
import dev.carapace.server.adapter.AuditedSpawns;
import dev.carapace.server.adapter.StoreSessions;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.carapace.testing.ScriptedUpstream.chunk;
import static dev.carapace.testing.ScriptedUpstream.quote;

/**
 * A real Carapace (SQLite store, gateway, ledger) in front of two scripted OpenAI upstreams, and agent runtimes
 * built on its gateway and store with the file tools plus test tools. Model {@code m-mid} has deployments on
 * {@code a} and {@code b}; {@code m-solo} only on {@code a}; {@code m-b} only on {@code b}. Team: platform.
 */
final class AgentKit implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    final ScriptedUpstream a = new ScriptedUpstream();
    final ScriptedUpstream b = new ScriptedUpstream();
    /** An Anthropic upstream: model {@code m-claude}. */
    final ScriptedUpstream c = new ScriptedUpstream();
    final Carapace carapace;
    final String memberKey;
    final Path workspace;
    private final List<AgentRuntime> runtimes = new ArrayList<>();

    AgentKit(Path dir) throws Exception {
        workspace = Files.createDirectories(dir.resolve("ws"));
        String yaml = """
                org: acme
                providers:
                  a: {kind: openai, base_url: %s, api_key_env: A_KEY, read_timeout: 5s}
                  b: {kind: openai, base_url: %s, api_key_env: B_KEY, read_timeout: 5s}
                  c: {kind: anthropic, base_url: %s, api_key_env: C_KEY, read_timeout: 5s}
                models:
                  m-mid:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: a, model: up-model}, {provider: b, model: up-model}]
                  m-solo:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: a, model: up-model}]
                  m-b:
                    tier: high
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: b, model: up-model}]
                  m-small:
                    tier: mid
                    context_window: 4000
                    max_output_tokens: 1000
                    price: {input: 3, output: 6}
                    deployments: [{provider: a, model: up-model}]
                  m-cheap:
                    tier: free
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 1, output: 1}
                    deployments: [{provider: b, model: cheap-model}]
                  m-claude:
                    tier: high
                    context_window: 200000
                    max_output_tokens: 4096
                    price: {input: 3, output: 15}
                    deployments: [{provider: c, model: claude-up}]
                teams:
                  platform: {}
                routing:
                  max_attempts: 3
                  failure_threshold: 1
                  cooldown: 1s
                """.formatted(a.openAiBaseUrl(), b.openAiBaseUrl(), c.anthropicBaseUrl());
        CarapaceConfig config = ConfigLoader.load(yaml, "test.yaml");
        Map<String, String> env = Map.of("A_KEY", "secret-a", "B_KEY", "secret-b", "C_KEY", "secret-c");
        carapace = Carapace.start(config, dir.resolve("data"), env::get, Clock.systemUTC(), 0);
        memberKey = carapace.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null).secret();
    }

    /** An agent owned by alice of team platform, working in {@link #workspace}. */
    AgentSpec agent(String id, String model, List<String> tools, AgentSpec.Limits limits, AgentSpec.OnBusy onBusy) {
        return new AgentSpec(id, workspace, model, List.of(), tools, new AgentSpec.Owner("alice", "platform"),
                limits, onBusy, null);
    }

    /** An agent with sub-agent and compaction settings. */
    AgentSpec agent(String id, String model, List<String> tools, AgentSpec.Limits limits, AgentSpec.SubAgents subagents,
                    AgentSpec.Compaction compaction) {
        return new AgentSpec(id, workspace, model, List.of(), tools, new AgentSpec.Owner("alice", "platform"),
                limits, AgentSpec.OnBusy.QUEUE, null, subagents, compaction);
    }

    AgentSpec agent(String id, List<String> tools) {
        return agent(id, "m-solo", tools, AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE);
    }

    static AgentSpec.Limits limits(int steps, Duration wall, long tokens, Duration toolTimeout) {
        return new AgentSpec.Limits(steps, wall, tokens, toolTimeout, 32 * 1024);
    }

    /** A runtime over the kit's gateway and store with the file tools and {@code extra}. */
    AgentRuntime runtime(List<AgentTool> extra, AgentSpec... agents) {
        List<AgentTool> tools = new ArrayList<>(FileTools.all());
        tools.addAll(extra);
        Agents registry = new Agents(List.of(agents));
        AgentRuntime r = new AgentRuntime(registry, carapace.gateway(), new StoreSessions(carapace.store().sessions()),
                new WorkspaceGuard(registry), null, tools,
                spec -> Principal.agent("acme", spec.owner().team(), spec.owner().user(), spec.id()),
                new RunEvents(), Clock.systemUTC(), new AuditedSpawns(carapace.auditLog()));
        runtimes.add(r);
        return r;
    }

    /** Forgets a runtime without closing it: what a crash leaves behind. */
    void abandon(AgentRuntime r) { runtimes.remove(r); }

    @Override
    public void close() {
        runtimes.forEach(AgentRuntime::close);
        carapace.close();
        a.close();
        b.close();
        c.close();
    }

    // ---- scripted answers ----

    record Ask(String id, String name, String arguments) {}

    static Ask ask(String id, String name, String arguments) { return new Ask(id, name, arguments); }

    /** A streamed answer that asks for tool calls. */
    static MockResponse toolCalls(int promptTokens, int completionTokens, Ask... calls) {
        List<String> payloads = new ArrayList<>();
        for (int i = 0; i < calls.length; i++) {
            Ask c = calls[i];
            payloads.add(chunk("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":" + i + ",\"id\":\"" + c.id()
                    + "\",\"type\":\"function\",\"function\":{\"name\":\"" + c.name() + "\",\"arguments\":\"\"}}]}", null));
            payloads.add(chunk("{\"tool_calls\":[{\"index\":" + i + ",\"function\":{\"arguments\":" + quote(c.arguments()) + "}}]}", null));
        }
        payloads.add(chunk("{}", "tool_calls"));
        payloads.add(usageChunk(promptTokens, completionTokens));
        return ScriptedUpstream.sse(ScriptedUpstream.openAiFrames(payloads.toArray(String[]::new)), 0);
    }

    /** A streamed text answer. */
    static MockResponse text(String text, int promptTokens, int completionTokens) {
        return ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of(text), promptTokens, completionTokens), 0);
    }

    /** A streamed text answer in pieces, {@code gapMillis} apart. */
    static MockResponse slowText(List<String> pieces, long gapMillis) {
        return ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(pieces, 10, 10), gapMillis);
    }

    static String usageChunk(int prompt, int completion) {
        return "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":" + prompt + ",\"completion_tokens\":" + completion
                + ",\"total_tokens\":" + (prompt + completion) + "}}";
    }

    /** The first user message of an upstream request (a run's task), and how many tool results it carries. */
    static String firstUser(JsonNode request) {
        for (JsonNode m : request.path("messages")) {
            if ("user".equals(m.path("role").asText())) {
                JsonNode c = m.path("content");
                return c.isTextual() ? c.asText() : c.path(0).path("text").asText();
            }
        }
        return "";
    }

    /** The names of the tools an upstream request offers, in order. */
    static List<String> toolNames(JsonNode request) {
        List<String> names = new ArrayList<>();
        request.path("tools").forEach(t -> names.add(t.path("function").path("name").asText()));
        return names;
    }

    static JsonNode body(RecordedRequest r) {
        try {
            return JSON.readTree(ScriptedUpstream.body(r));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** The tool messages of an upstream request, as (tool_call_id, content) in order. */
    static List<String[]> toolMessages(JsonNode request) {
        List<String[]> out = new ArrayList<>();
        for (JsonNode m : request.path("messages")) {
            if ("tool".equals(m.path("role").asText())) out.add(new String[]{m.path("tool_call_id").asText(), m.path("content").asText()});
        }
        return out;
    }

    // ---- test tools ----

    /** {@code slow {tag, ms}}: sleeps, noting when each call started and ended. */
    static final class SlowTool implements AgentTool {
        final Map<String, long[]> spans = new ConcurrentHashMap<>();

        @Override public String name() { return "slow"; }

        @Override public String description() { return "Waits."; }

        @Override public ObjectNode parameters() { return JSON.createObjectNode().put("type", "object"); }

        @Override
        public ToolResult run(JsonNode arguments, ToolContext context) throws InterruptedException {
            long start = System.nanoTime();
            Thread.sleep(arguments.path("ms").asLong());
            spans.put(arguments.path("tag").asText(), new long[]{start, System.nanoTime()});
            return ToolResult.ok("done " + arguments.path("tag").asText());
        }
    }

    /** {@code block {}}: waits until released or interrupted, noting which. */
    static final class BlockTool implements AgentTool {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicBoolean interrupted = new AtomicBoolean();
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override public String name() { return "block"; }

        @Override public String description() { return "Blocks."; }

        @Override public ObjectNode parameters() { return JSON.createObjectNode().put("type", "object"); }

        @Override
        public ToolResult run(JsonNode arguments, ToolContext context) throws InterruptedException {
            calls.add(arguments.toString());
            entered.countDown();
            try {
                if (!release.await(30, TimeUnit.SECONDS)) return ToolResult.error("never released");
            } catch (InterruptedException e) {
                interrupted.set(true);
                throw e;
            }
            return ToolResult.ok("released");
        }

        void awaitEntered() throws InterruptedException {
            if (!entered.await(10, TimeUnit.SECONDS)) throw new AssertionError("the block tool was never called");
        }
    }
}
