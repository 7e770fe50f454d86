package dev.carapace.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigLoader;
import dev.carapace.model.TokenCounter;
import dev.carapace.server.Carapace;
import dev.carapace.testing.ScriptedUpstream;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Agent runtime benchmarks (issue 4), run by {@code bench/agents}:
 * <ul>
 *   <li>{@code prompt}: the first request the default agent (every built-in tool that needs no sandbox or egress,
 *       sub-agents on, no AGENTS.md) sends to a scripted upstream, measured in o200k tokens.</li>
 *   <li>{@code sessions N BASE_URL}: N sessions, each with one run streaming from the slow upstream at BASE_URL
 *       ({@link SlowUpstream}), in this process: how many ran at once, heap, RSS, and whether every run completed.</li>
 * </ul>
 */
public final class AgentBench {

    /** The default agent's tools: the built-in ones that need nothing the config must switch on. */
    static final String TOOLS = "[read, write, edit, list, glob, grep, spawn_agent]";

    private AgentBench() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "prompt" -> prompt();
            case "sessions" -> sessions(Integer.parseInt(args[1]), args[2]);
            default -> throw new IllegalArgumentException("modes: prompt | sessions N BASE_URL");
        }
        System.exit(0);
    }

    static String config(String baseUrl, Path workspace) {
        return """
                org: acme
                providers:
                  up: {kind: openai, base_url: %s, api_key_env: UP_KEY, read_timeout: 30s}
                models:
                  m:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 1, output: 2}
                    deployments: [{provider: up, model: up-model}]
                teams:
                  platform: {}
                agents:
                  assistant:
                    workspace: %s
                    model: m
                    tools: %s
                    owner: {team: platform}
                    limits: {max_wall: 30m}
                """.formatted(baseUrl, workspace, TOOLS);
    }

    private static Carapace carapace(String baseUrl) throws Exception {
        // AGENT_BENCH_DIR: where the store goes (a tmpfs such as /dev/shm takes the disk's fsyncs out of the figures).
        String base = System.getenv("AGENT_BENCH_DIR");
        Path dir = base == null ? Files.createTempDirectory("agent-bench") : Files.createTempDirectory(Path.of(base), "agent-bench");
        Path ws = Files.createDirectories(dir.resolve("ws"));
        CarapaceConfig config = ConfigLoader.load(config(baseUrl, ws), "bench.yaml");
        return Carapace.start(config, dir.resolve("data"), Map.of("UP_KEY", "k")::get, Clock.systemUTC(), 0);
    }

    private static void prompt() throws Exception {
        try (ScriptedUpstream up = new ScriptedUpstream(); Carapace c = carapace(up.openAiBaseUrl())) {
            up.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("hi"), 10, 1), 0));
            AgentRuntime rt = c.agentRuntime();
            RunInfo run = rt.await(rt.start("assistant", "main", "hello"), Duration.ofSeconds(30));
            if (run.status() != RunStatus.COMPLETED) throw new IllegalStateException("run ended " + run.status());
            String raw = ScriptedUpstream.body(up.take());
            JsonNode body = new ObjectMapper().readTree(raw);
            String system = body.path("messages").get(0).path("content").asText();
            String tools = body.path("tools").toString();
            int systemTokens = TokenCounter.count(system);
            int toolTokens = TokenCounter.count(tools);
            System.out.printf("tools %s%n", TOOLS);
            System.out.printf("system_prompt_tokens %d%n", systemTokens);
            System.out.printf("system_prompt_bytes %d%n", system.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
            System.out.printf("tool_schemas_tokens %d%n", toolTokens);
            System.out.printf("tool_schemas_bytes %d%n", tools.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
            System.out.printf("first_turn_tokens %d%n", systemTokens + toolTokens + TokenCounter.count("hello"));
            System.out.printf("request_body_bytes %d%n", raw.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
            System.out.printf("request_body_tokens %d%n", TokenCounter.count(raw));
        }
    }

    private static void sessions(int n, String baseUrl) throws Exception {
        try (Carapace c = carapace(baseUrl)) {
            AgentRuntime rt = c.agentRuntime();
            Runtime jvm = Runtime.getRuntime();
            System.out.printf("sessions %d, max heap %d MiB, %d cpus%n", n, jvm.maxMemory() >> 20, jvm.availableProcessors());
            Sampler sampler = new Sampler(c);
            Thread sampling = Thread.ofPlatform().daemon().start(sampler);
            long t0 = System.nanoTime();
            List<String> runs = new ArrayList<>(n);
            for (int i = 0; i < n; i++) runs.add(rt.start("assistant", "s" + i, "hello " + i));
            double started = seconds(t0);
            System.out.printf("started %d runs in %.1f s%n", n, started);
            // Live heap with every run in flight: a full GC first, so garbage does not count.
            Thread.sleep(3000);
            System.gc();
            long live = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            System.out.printf("in flight: running %d, live heap after GC %d MiB, RSS %d MiB%n", sampler.running(),
                    live >> 20, Sampler.rss("VmRSS") >> 10);
            Map<RunStatus, Integer> statuses = new EnumMap<>(RunStatus.class);
            for (String id : runs) statuses.merge(rt.await(id, Duration.ofMinutes(30)).status(), 1, Integer::sum);
            double done = seconds(t0);
            sampler.stop = true;
            sampling.join();
            System.out.printf("all ended in %.1f s: %s%n", done, statuses);
            System.out.printf("peak running at once %d%n", sampler.peakRunning);
            System.out.printf("peak heap used (incl. garbage) %d MiB; peak RSS (VmHWM) %d MiB%n",
                    sampler.peakHeap >> 20, Sampler.rss("VmHWM") >> 10);
            System.out.printf("completed %d of %d%n", statuses.getOrDefault(RunStatus.COMPLETED, 0), n);
        }
    }

    private static double seconds(long t0) { return (System.nanoTime() - t0) / 1e9; }

    /** Every second: runs running now (from the store), heap used, and the peaks. */
    private static final class Sampler implements Runnable {
        private final Carapace c;
        volatile boolean stop;
        volatile int peakRunning;
        volatile long peakHeap;
        private volatile int running;

        Sampler(Carapace c) { this.c = c; }

        int running() { return running; }

        @Override
        public void run() {
            long t0 = System.nanoTime();
            while (!stop) {
                running = c.store().jdbi().withHandle(h -> h.createQuery(
                        "SELECT COUNT(*) FROM agent_runs WHERE status = 'running'").mapTo(Integer.class).one());
                long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
                peakRunning = Math.max(peakRunning, running);
                peakHeap = Math.max(peakHeap, heap);
                System.out.printf("  t=%5.1fs running %5d heap %5d MiB rss %5d MiB%n", seconds(t0), running, heap >> 20,
                        rss("VmRSS") >> 10);
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        /** A /proc/self/status figure in KiB. */
        static long rss(String field) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            } catch (Exception e) {
                return -1;
            }
            return -1;
        }
    }
}
