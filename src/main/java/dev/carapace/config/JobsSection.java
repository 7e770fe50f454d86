package dev.carapace.config;

import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.model.ApiException;
import dev.carapace.schedule.JobService;
import dev.carapace.schedule.JobSpec;
import dev.carapace.schedule.JobSpecReader;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the jobs: the config's {@code jobs:} mapping (job id: definition), then each {@code agents/NAME/jobs.yaml}
 * next to the config (the same mapping in a file of its own, reported as that file; a job there runs agent NAME
 * unless it names another). Each definition is read by the schedule's own {@link JobSpecReader}, so the config, the
 * API and the CLI take the same fields and say the same things, and checked as a gateway will add it
 * ({@link JobService#checkConfigJob}: the agent exists and the owner may use it, the tools are the agent's, the
 * schedule reads with {@code scheduler.min_interval}, an {@code at} is in the future). A problem is reported at the
 * field's node with its key path ({@code jobs.morning.schedule.cron}). The owner defaults to the agent's.
 */
final class JobsSection {

    /** Where an agent's jobs may also be defined: {@code agents/NAME/jobs.yaml} next to the config. */
    static final String JOBS_FILE = "jobs.yaml";
    /** The fields a job's definition starts with: a {@code jobs.yaml} holding only {@code jobs:} is not a job "jobs". */
    private static final List<String> JOB_FIELDS = List.of("agent", "schedule", "message", "webhook", "owner");

    private final Problems problems;
    private final Path agentsDir;
    private final WritableLayout layout;
    private final List<Problems> otherFiles;
    private final Map<String, AgentSpec> agents;
    private final Duration minInterval;
    private final Instant now;
    private final Map<String, JobSpec> jobs = new LinkedHashMap<>();
    /** Where each job id was first defined, for a duplicate's message. */
    private final Map<String, String> definedIn = new LinkedHashMap<>();

    /** @param now what {@code at} and relative times are checked against */
    JobsSection(Problems problems, Path agentsDir, WritableLayout layout, List<Problems> otherFiles,
                Map<String, AgentSpec> agents, Duration minInterval, Instant now) {
        this.problems = problems;
        this.agentsDir = agentsDir;
        this.layout = layout;
        this.otherFiles = otherFiles;
        this.agents = agents;
        this.minInterval = minInterval;
        this.now = now;
    }

    /** The {@code jobs:} section, then every {@code agents/NAME/jobs.yaml}; an id defined twice is an error. */
    List<JobSpec> jobs(MapReader root) {
        for (Entry e : root.entries("jobs")) job(e, "jobs", null, problems, "the config's jobs: section");
        if (agentsDir == null || !Files.isDirectory(agentsDir)) return List.copyOf(jobs.values());
        List<Path> files;
        try (var list = Files.list(agentsDir)) {
            files = list.map(d -> d.resolve(JOBS_FILE)).filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            problems.error(0, 0, "", "cannot list " + agentsDir + ": " + e.getClass().getSimpleName());
            return List.copyOf(jobs.values());
        }
        for (Path file : files) agentFile(file);
        return List.copyOf(jobs.values());
    }

    private void agentFile(Path file) {
        AgentSpec writer = agents.values().stream().filter(a -> AgentsSection.inside(file, a.workspace())).findFirst().orElse(null);
        if (writer != null) {
            // An agent that could write its own jobs could schedule itself forever, or stop the next start.
            problems.warning(0, 0, "jobs", "ignored " + file + ": it lies in the workspace of agent '" + writer.id()
                    + "', which could have written it; define jobs in the config or in folders no agent can write");
            return;
        }
        Problems fileProblems = new Problems(file.toString());
        otherFiles.add(fileProblems);
        layout.definition(file);
        String name = file.getParent().getFileName().toString();
        if (!agents.containsKey(name)) {
            fileProblems.error(1, 1, "", ConfigChecks.unknownReference(name, agents.keySet(), "agent")
                    + ": the jobs of agents/" + name + "/" + JOBS_FILE + " run agent '" + name + "'");
            return;
        }
        MapNode map = MapReader.readFile(file, fileProblems, "the agent's jobs (job id: definition lines)");
        if (map == null) return;
        String path = "";
        Entry wrapper = map.get("jobs");
        if (map.entries().size() == 1 && wrapper != null && wrapper.value() instanceof MapNode inner
                && JOB_FIELDS.stream().noneMatch(f -> inner.get(f) != null)) {
            map = inner;   // the file may hold its jobs under jobs:, as the config does
            path = "jobs";
        }
        SecretsSection secrets = new SecretsSection(fileProblems);
        for (Entry e : map.entries().values()) {
            secrets.refuseSecrets(e.value(), KeyPath.key(path, e.key()), null, false);
            job(e, path, name, fileProblems, file.toString());
        }
    }

    /** One job: read, defaulted, checked; kept when it has no problem. */
    private void job(Entry e, String parentPath, String defaultAgent, Problems p, String where) {
        String path = KeyPath.key(parentPath, e.key());
        if (!(e.value() instanceof MapNode m)) {
            Node v = e.value();
            p.error(v == null ? e.line() : v.line(), v == null ? e.column() : v.column(), path, "expected the job's "
                    + "definition (agent, schedule, message, ...), got " + (v == null ? "nothing" : YamlTree.describe(v)));
            return;
        }
        if (definedIn.containsKey(e.key())) {
            p.error(e.line(), e.column(), path, "job '" + e.key() + "' is also defined in " + definedIn.get(e.key()));
            return;
        }
        definedIn.put(e.key(), where);
        @SuppressWarnings("unchecked")
        Map<String, Object> definition = (Map<String, Object>) plain(m);
        if (defaultAgent != null) definition.putIfAbsent("agent", defaultAgent);
        Object named = definition.get("agent");
        AgentSpec agent = named instanceof String id ? agents.get(id) : null;
        // An unknown agent has no owner to default to: its error, from the check below, says more than "owner: required".
        AgentSpec.Owner owner = agent != null ? agent.owner() : named instanceof String ? new AgentSpec.Owner("config", null) : null;
        try {
            JobSpec spec = JobSpecReader.read(definition, e.key(), owner);
            JobService.checkConfigJob(spec, new Agents(agents.values()), now, minInterval);
            jobs.put(e.key(), spec);
        } catch (ApiException problem) {
            report(p, e, path, problem);
        }
    }

    /** The problem at the node its field names (as deep as the definition goes), with the field's key path. */
    private static void report(Problems p, Entry job, String path, ApiException problem) {
        String param = problem.param() == null ? "" : problem.param();
        String message = problem.getMessage();
        if (!param.isEmpty() && message.startsWith(param + ": ")) message = message.substring(param.length() + 2);
        Node at = null;
        int line = job.line(), column = job.column();
        Node current = job.value();
        for (String segment : param.isEmpty() ? new String[0] : param.split("\\.")) {
            path = KeyPath.key(path, segment);
            if (current instanceof MapNode map && map.get(segment) != null) {
                Entry found = map.get(segment);
                line = found.line();
                column = found.column();
                current = found.value();
                at = current;
            } else {
                current = null;
            }
        }
        if (at instanceof Scalar s && !s.isNull()) {
            line = s.line();
            column = s.column();
        } else if (at instanceof ListNode list) {
            // a list's item the message quotes (a tool the agent lacks), else the key
            for (int i = 0; i < list.items().size(); i++) {
                if (list.items().get(i) instanceof Scalar s && message.contains("'" + s.text() + "'")) {
                    line = s.line();
                    column = s.column();
                    path = KeyPath.index(path, i);
                    break;
                }
            }
        }
        p.error(line, column, path, message);
    }

    /** The node as the plain maps, lists and text that {@link JobSpecReader} reads (as from JSON). */
    static Object plain(Node node) {
        return switch (node) {
            case MapNode m -> {
                Map<String, Object> out = new LinkedHashMap<>();
                for (Entry e : m.entries().values()) out.put(e.key(), e.value() == null ? null : plain(e.value()));
                yield out;
            }
            case ListNode l -> {
                List<Object> out = new ArrayList<>();
                for (Node item : l.items()) out.add(plain(item));
                yield out;
            }
            case Scalar s -> s.isNull() ? null : s.text();
        };
    }
}
