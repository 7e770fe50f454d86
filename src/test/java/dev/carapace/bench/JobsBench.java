package dev.carapace.bench;

import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.schedule.JobRun;
import dev.carapace.schedule.JobService;
import dev.carapace.server.Carapace;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The scheduler with many jobs (issue 16): registers {@code jobs} jobs on a gateway (SQLite in {@code dataDir}, or
 * PostgreSQL), most of them due in one to seven hours (daily crons at random times and intervals of 1-24 h with
 * spread anchors) and {@code hot} of them every {@code hotEvery} (agent turns against the upstream at
 * {@code baseUrl}, so {@code hot / hotEvery} runs fall due each second); then measures the hot jobs' firing lateness
 * (the run's start minus its fire time, from the history) at steady state, the gateway's CPU and live heap at idle
 * (hot jobs paused) against the same gateway with no jobs, and its start-up time with them against without.
 *
 * <p>{@code JobsBench BASE_URL DATA_DIR JOBS HOT HOT_EVERY_S MEASURE_S POLL [JDBC_URL]}; prints one line per figure.
 * Everything runs in this process, so the CPU figures include the benchmark's own (it sleeps while measuring).
 */
public final class JobsBench {

    static final Principal ALICE = new Principal("acme", "platform", "alice", Principal.Role.MEMBER, null);

    private JobsBench() {}

    public static void main(String[] args) throws Exception {
        try {
            run(args);
        } catch (Exception | Error e) {
            e.printStackTrace();
            System.exit(1);   // a gateway's threads would keep the process alive
        }
        System.exit(0);
    }

    private static void run(String[] args) throws Exception {
        String baseUrl = args[0];
        Path data = Path.of(args[1]);
        int jobs = Integer.parseInt(args[2]);
        int hot = Integer.parseInt(args[3]);
        int hotEvery = Integer.parseInt(args[4]);
        int measure = Integer.parseInt(args[5]);
        String poll = args[6];
        boolean postgres = args.length > 7 && args[7].equals("postgres");
        Path ws = Files.createDirectories(data.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You run scheduled jobs.");
        java.util.function.Supplier<dev.carapace.config.CarapaceConfig> fresh = () -> config(postgres
                ? "store: {url: " + dev.carapace.store.PostgresForTests.createDatabase()
                        + ", user_env: PG_USER, password_env: PG_PASSWORD, pool_size: 8}" : "", baseUrl, ws, poll);
        var config = fresh.get();
        Map<String, String> env = Map.of("UP_KEY", "k", "PG_USER", "postgres", "PG_PASSWORD", "pw");
        Runtime jvm = Runtime.getRuntime();
        System.out.printf("jobs %d, hot %d every %d s (%.0f due per second), poll %s, store %s, max heap %d MiB, %d cpus%n",
                jobs, hot, hotEvery, hot / (double) hotEvery, poll, postgres ? "postgresql (embedded)" : "sqlite " + data,
                jvm.maxMemory() >> 20, jvm.availableProcessors());

        // ---- with no jobs: start-up (the second start: the first warms the JIT) and idle ----
        Path emptyDir = Files.createDirectories(data.resolve("empty"));
        Carapace.start(config, emptyDir, env::get, Clock.systemUTC(), 0).close();
        long t0 = System.nanoTime();
        Carapace empty = Carapace.start(config, emptyDir, env::get, Clock.systemUTC(), 0);
        System.out.printf("startup_no_jobs_ms %d%n", (System.nanoTime() - t0) / 1_000_000);
        idle("no_jobs", empty, 20);
        empty.close();

        // ---- registration ----
        Path dir = Files.createDirectories(data.resolve("jobs"));
        var jobsConfig = fresh.get();
        Carapace c = Carapace.start(jobsConfig, dir, env::get, Clock.systemUTC(), 0);
        c.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null);
        JobService service = c.jobs();
        Random random = new Random(16);
        Instant start = Instant.now();
        t0 = System.nanoTime();
        int idleJobs = jobs - hot;
        for (int i = 0; i < idleJobs; i++) {
            // first fire time between 1 h and 7 h from now
            Instant first = start.plus(Duration.ofMinutes(60 + random.nextInt(360))).plusSeconds(random.nextInt(60));
            Map<String, Object> schedule;
            if (i % 2 == 0) {
                ZonedDateTime at = first.atZone(ZoneOffset.UTC);
                schedule = Map.of("cron", at.getMinute() + " " + at.getHour() + " * * *", "zone", "UTC");
            } else {
                int hours = List.of(1, 2, 3, 6, 12, 24).get(random.nextInt(6));
                schedule = Map.of("every", hours + "h", "anchor", first.toString());
            }
            service.add(job("idle-" + i, schedule), ALICE, "api");
            if ((i + 1) % 10_000 == 0) {
                System.out.printf("  registered %d in %.1f s%n", i + 1, (System.nanoTime() - t0) / 1e9);
            }
        }
        Instant hotStart = Instant.now().plusSeconds(10);
        List<String> hotIds = new ArrayList<>();
        for (int i = 0; i < hot; i++) {
            Instant anchor = hotStart.plusMillis(random.nextInt(hotEvery * 1000));
            String id = "hot-" + i;
            service.add(job(id, Map.of("every", hotEvery + "s", "anchor", anchor.toString())), ALICE, "api");
            hotIds.add(id);
        }
        double registered = (System.nanoTime() - t0) / 1e9;
        System.out.printf("register_s %.1f (%.0f jobs/s)%n", registered, jobs / registered);

        // ---- steady state: the hot jobs fire; lateness from their history ----
        Thread.sleep(Duration.between(Instant.now(), hotStart).toMillis() + hotEvery * 1000L + 5_000);   // warm-up
        Instant from = Instant.now();
        long cpu0 = cpu();
        Thread.sleep(measure * 1000L);
        Instant to = Instant.now();
        long cpu1 = cpu();
        System.out.printf("steady_cpu_percent_of_one_core %.1f%n", (cpu1 - cpu0) / 1e7 / Duration.between(from, to).toSeconds());
        for (String id : hotIds) service.pause(id, ALICE);
        Thread.sleep(3_000);
        List<Long> lateness = new ArrayList<>();
        int missed = 0, failed = 0;
        for (String id : hotIds) {
            for (JobRun r : service.history(id, ALICE, 1000)) {
                if (r.scheduledFor().isBefore(from) || !r.scheduledFor().isBefore(to)) continue;
                if (r.startedAt() == null) missed++;
                else {
                    lateness.add(Duration.between(r.scheduledFor(), r.startedAt()).toMillis());
                    if (!r.status().equals("succeeded")) failed++;
                }
            }
        }
        lateness.sort(null);
        double expected = hot * (double) Duration.between(from, to).toMillis() / (hotEvery * 1000.0);
        System.out.printf("runs_in_window %d (expected ~%.0f), missed %d, not succeeded %d%n", lateness.size(), expected,
                missed, failed);
        System.out.printf("lateness_ms p50 %d p90 %d p99 %d max %d%n", pct(lateness, 50), pct(lateness, 90),
                pct(lateness, 99), lateness.isEmpty() ? -1 : lateness.getLast());

        // ---- idle with every job registered (the hot ones paused) ----
        idle("with_jobs", c, 30);
        c.close();

        // ---- start-up with them ----
        t0 = System.nanoTime();
        Carapace again = Carapace.start(jobsConfig, dir, env::get, Clock.systemUTC(), 0);
        System.out.printf("startup_with_jobs_ms %d%n", (System.nanoTime() - t0) / 1_000_000);
        System.out.printf("jobs_in_store %d%n", again.jobs().list(new Principal("acme", "platform", "root",
                Principal.Role.ADMIN, null)).size());
        again.close();
    }

    static dev.carapace.config.CarapaceConfig config(String store, String baseUrl, Path ws, String poll) {
        try {
            return ConfigLoader.load("""
                org: acme
                %s
                providers:
                  up: {kind: openai, base_url: %s, api_key_env: UP_KEY, read_timeout: 30s}
                models:
                  m-job: {tier: mid, context_window: 128000, max_output_tokens: 200, price: {input: 3, output: 6},
                          deployments: [{provider: up, model: up-model}]}
                teams:
                  platform: {}
                agents:
                  helper: {workspace: %s, model: m-job, tools: [read], owner: {team: platform}}
                scheduler: {min_interval: 1s, poll: %s}
                """.formatted(store, baseUrl, ws, poll), "bench.yaml");
        } catch (dev.carapace.config.ConfigException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, Object> job(String id, Map<String, Object> schedule) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("agent", "helper");
        m.put("message", "check " + id);
        m.put("schedule", schedule);
        return m;
    }

    /** CPU over {@code seconds} with nothing due, and the live heap after a full GC. */
    static void idle(String label, Carapace c, int seconds) throws InterruptedException {
        Thread.sleep(3_000);
        long cpu0 = cpu();
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        double cpuPct = (cpu() - cpu0) / (double) (System.nanoTime() - t0) * 100;
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        System.out.printf("idle_%s: cpu %.2f%% of one core, live heap after GC %d MiB, RSS %d MiB%n", label, cpuPct,
                heap >> 20, rssKib() >> 10);
    }

    static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static long rssKib() {
        try (var lines = Files.lines(Path.of("/proc/self/status"))) {
            return lines.filter(l -> l.startsWith("VmRSS:")).mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", "")))
                    .findFirst().orElse(-1);
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    static long pct(List<Long> sorted, int p) {
        if (sorted.isEmpty()) return -1;
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }
}
