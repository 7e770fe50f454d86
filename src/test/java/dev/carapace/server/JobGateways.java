package dev.carapace.server;

import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.schedule.JobRun;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Gateways for the jobs' end-to-end tests: one model {@code m-job} on a {@link JobUpstream}, team platform, agent
 * {@code helper} (tools read and list, owned by the team), and a fast scheduler (runs may be 1 s apart, the due
 * table read every 100 ms, heartbeats every 250 ms, so a dead gateway's run is taken over after 1.5 s).
 */
final class JobGateways {

    static final Principal ALICE = new Principal("acme", "platform", "alice", Principal.Role.MEMBER, null);
    static final Map<String, String> ENV = Map.of("UP_KEY", "secret-up", "PG_USER", "postgres", "PG_PASSWORD", "pw");

    private JobGateways() {}

    /** @param store the {@code store:} section's lines (indented two spaces), or "" for SQLite in the data dir */
    static String yaml(String upstreamUrl, Path workspace, String store) {
        return """
                org: acme
                %s
                providers:
                  up: {kind: openai, base_url: %s, api_key_env: UP_KEY, read_timeout: 90s}
                models:
                  m-job:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 1000
                    price: {input: 3, output: 6}
                    deployments: [{provider: up, model: up-model}]
                teams:
                  platform: {}
                agents:
                  helper:
                    workspace: %s
                    model: m-job
                    tools: [read, list]
                    owner: {team: platform}
                scheduler: {min_interval: 1s, poll: 100ms, heartbeat: 250ms}
                """.formatted(store, upstreamUrl, workspace);
    }

    static String postgres(String url) {
        return "store:\n  url: " + url + "\n  user_env: PG_USER\n  password_env: PG_PASSWORD\n  pool_size: 6";
    }

    /** A workspace for agent helper, with the file its LOOP jobs read. */
    static Path workspace(Path dir) throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You run scheduled jobs.");
        Files.writeString(ws.resolve("notes.txt"), "nothing new\n");
        return ws;
    }

    /** Starts a gateway and gives alice a key (her runs are charged to her team through it). */
    static Carapace start(String yaml, Path dataDir) throws Exception {
        Carapace c = Carapace.start(ConfigLoader.load(yaml, "jobs.yaml"), dataDir, ENV::get, Clock.systemUTC(), 0);
        if (c.store().apiKeys().list().stream().noneMatch(k -> "alice".equals(k.user()))) {
            c.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null);
        }
        return c;
    }

    /** An agent job of helper's, owned by alice; {@code extra} adds or replaces fields. */
    static Map<String, Object> job(String id, String message, Map<String, Object> schedule, Object... extra) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("agent", "helper");
        m.put("message", message);
        m.put("schedule", schedule);
        for (int i = 0; i < extra.length; i += 2) m.put((String) extra[i], extra[i + 1]);
        return m;
    }

    /** A job's whole history, oldest first. */
    static List<JobRun> history(Carapace c, String id) {
        return c.jobs().history(id, ALICE, 1000).reversed();
    }
}
