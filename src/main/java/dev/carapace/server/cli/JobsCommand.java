package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.carapace.agent.AgentSpec;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.Money;
import dev.carapace.model.ApiException;
import dev.carapace.schedule.Job;
import dev.carapace.schedule.JobRun;
import dev.carapace.schedule.JobService;
import dev.carapace.schedule.JobSpec;
import dev.carapace.schedule.JobSpecReader;
import dev.carapace.server.Carapace;
import dev.carapace.server.json.JobsJson;
import dev.carapace.store.Store;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

import static dev.carapace.server.cli.Main.JSON;
import static dev.carapace.text.Excerpt.clip;

/**
 * {@code carapace jobs add|list|show|pause|resume|rm|run-now|history}: scheduled jobs, straight in the store. The
 * command schedules in the table every gateway on the store shares and runs nothing itself: a running gateway picks
 * up what it adds or runs now. It acts as an admin (whoever can open the store can change any job).
 */
@Command(name = "jobs", mixinStandardHelpOptions = true,
        description = "Add, list, show, pause, resume, remove, run now and see the history of scheduled jobs.",
        subcommands = {JobsCommand.Add.class, JobsCommand.List.class, JobsCommand.Show.class, JobsCommand.Pause.class,
                JobsCommand.Resume.class, JobsCommand.Remove.class, JobsCommand.RunNow.class, JobsCommand.History.class})
final class JobsCommand extends GroupCommand {

    /** A command on the jobs' service over the config's store. */
    abstract static class JobCommand extends StoreCommand {

        @Override
        int run(CarapaceConfig config, Store store) throws Exception {
            JobService jobs = Carapace.jobService(config, store, Clock.systemUTC());
            return run(config, jobs, admin(config), out());
        }

        abstract int run(CarapaceConfig config, JobService jobs, Principal admin, PrintWriter out) throws Exception;

        /** The command line's caller: an admin, named after the OS user in what it records ("paused by cli:alice"). */
        static Principal admin(CarapaceConfig config) {
            return new Principal(config.org(), null, "cli:" + System.getProperty("user.name", "unknown"),
                    Principal.Role.ADMIN, null);
        }
    }

    /** A command on one job, named by its id; prints it, or its JSON. */
    abstract static class OneJob extends JobCommand {
        @Parameters(paramLabel = "ID", description = "The job's id (see 'carapace jobs list').") String id;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, JobService jobs, Principal admin, PrintWriter out) throws Exception {
            Job j = act(jobs, admin);
            if (json) out.println(JSON.writeValueAsString(JobsJson.job(j)));
            else out.println(done(j));
            return 0;
        }

        abstract Job act(JobService jobs, Principal admin);

        abstract String done(Job j);
    }

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = {"Add a job, from a file (one definition, YAML or JSON, as under 'jobs:' in the config) or "
                    + "from options. The owner defaults to the agent's owner; a webhook job names its owner.",
                    "Example: carapace jobs add --id morning --agent helper --cron '0 9 * * 1-5' --zone Europe/Paris "
                            + "--message 'Summarise the inbox'"})
    static final class Add extends JobCommand {
        @Option(names = "--file", paramLabel = "FILE", description = "A job definition in YAML or JSON.") Path file;
        @picocli.CommandLine.ArgGroup(exclusive = false) JobOptions options;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, JobService jobs, Principal admin, PrintWriter out) throws Exception {
            if ((file == null) == (options == null)) {
                throw usageError("give either --file or the job's options (--id, --agent, --cron|--at|--every, --message, ...)");
            }
            Map<String, Object> definition = file != null ? JobFiles.read(file) : options.definition();
            Job j;
            try {
                JobSpec spec = JobSpecReader.read(definition, null, defaultOwner(config, definition.get("agent")));
                j = jobs.add(spec, admin, "api");   // the store knows config, api and agent: the CLI is the run-time API, its created_by says cli
            } catch (ApiException e) {
                if (file != null) throw new ApiException(e.kind(), file + ": " + e.getMessage(), e.param(), e.code(), null, false);
                throw new ApiException(e.kind(), JobOptions.forCli(e), e.param(), e.code(), null, false);
            }
            if (json) out.println(JSON.writeValueAsString(JobsJson.job(j)));
            else out.println("added job " + j.id() + ": " + JobsJson.describe(j.spec().schedule()) + "; " + next(j));
            return 0;
        }

        /** The agent's owner pays unless the definition says otherwise. */
        private static AgentSpec.Owner defaultOwner(CarapaceConfig config, Object agent) {
            if (agent == null) return null;
            AgentSpec a = config.agents().get(String.valueOf(agent));
            if (a == null) {
                throw ApiException.invalid("agent", "agent: no agent '" + clip(String.valueOf(agent), 64) + "' (agents: "
                        + (config.agents().isEmpty() ? "none are configured" : String.join(", ", config.agents().keySet())) + ")");
            }
            return a.owner();
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the jobs: state, schedule, next run.")
    static final class List extends JobCommand {
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, JobService jobs, Principal admin, PrintWriter out) throws Exception {
            java.util.List<Job> all = jobs.list(admin);
            if (json) return printArray(out, all, JobsJson::job);
            if (all.isEmpty()) {
                out.println("No jobs (add one with 'carapace jobs add', under 'jobs:' in the config, or POST /api/jobs).");
                return 0;
            }
            String row = "%-24s %-7s %-14s %-20s %-24s %s%n";
            out.printf(row, "JOB", "STATE", "AGENT", "OWNER", "NEXT RUN", "SCHEDULE");
            for (Job j : all) {
                out.printf(row, j.id(), j.state().label(), j.spec().agent() == null ? "(webhook)" : j.spec().agent(),
                        j.spec().owner(), j.nextDueAt() == null ? "-" : j.nextDueAt(), JobsJson.describe(j.spec().schedule()));
            }
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one job: its definition and state.")
    static final class Show extends OneJob {
        @Override
        Job act(JobService jobs, Principal admin) { return jobs.get(id, admin); }

        @Override
        String done(Job j) {
            StringBuilder b = new StringBuilder();
            String row = "%-20s %s%n";
            b.append(String.format(row, "job", j.id()));
            b.append(String.format(row, "state", j.state().label() + (j.pausedReason() == null ? "" : " (" + j.pausedReason() + ")")));
            b.append(String.format(row, "owner", j.spec().owner()));
            b.append(String.format(row, "schedule", JobsJson.describe(j.spec().schedule())));
            b.append(String.format(row, "next run", j.nextDueAt() == null ? "none" : j.nextDueAt()));
            b.append(String.format(row, "last run", j.lastRunAt() == null ? "never" : j.lastRunAt()));
            var n = JobsJson.job(j);
            b.append(String.format(row, "action", n.get("action")));
            b.append(String.format(row, "limits", n.get("limits")));
            b.append(String.format(row, "budget", n.get("budget").isNull() ? "none" : n.get("budget")));
            b.append(String.format(row, "missed runs", j.spec().missed().label()));
            b.append(String.format(row, "failures in a row", j.consecutiveFailures() + " (paused at " + j.spec().maxFailures() + ")"));
            b.append(String.format(row, "added", j.createdAt() + " by " + j.createdBy() + " (" + j.source() + ")"));
            return b.toString().stripTrailing();
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Pause a job: it runs no more until resumed.")
    static final class Pause extends OneJob {
        @Override
        Job act(JobService jobs, Principal admin) { return jobs.pause(id, admin); }

        @Override
        String done(Job j) { return "job " + j.id() + " is " + j.state().label() + (j.pausedReason() == null ? "" : " (" + j.pausedReason() + ")"); }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = "Resume a paused job from its next fire time (runs missed while paused are not made up).")
    static final class Resume extends OneJob {
        @Override
        Job act(JobService jobs, Principal admin) { return jobs.resume(id, admin); }

        @Override
        String done(Job j) { return "job " + j.id() + " is " + j.state().label() + "; " + next(j); }
    }

    @Command(name = "run-now", mixinStandardHelpOptions = true,
            description = "Make a run of the job due now; a running gateway starts it (see 'carapace jobs history').")
    static final class RunNow extends OneJob {
        @Override
        Job act(JobService jobs, Principal admin) { return jobs.runNow(id, admin); }

        @Override
        String done(Job j) { return "job " + j.id() + " is due now; a running gateway starts it within its poll interval"; }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a job and its history.")
    static final class Remove extends JobCommand {
        @Parameters(paramLabel = "ID", description = "The job's id.") String id;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, JobService jobs, Principal admin, PrintWriter out) throws Exception {
            jobs.remove(id, admin);
            if (json) out.println(JSON.writeValueAsString(JSON.createObjectNode().put("id", id).put("deleted", true)));
            else out.println("removed job " + id);
            return 0;
        }
    }

    @Command(name = "history", mixinStandardHelpOptions = true, description = "A job's runs, newest first, missed ones included.")
    static final class History extends JobCommand {
        @Parameters(paramLabel = "ID", description = "The job's id.") String id;
        @Option(names = "--limit", paramLabel = "N", description = "How many runs, 1 to 1000 (default: 20).") int limit = 20;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, JobService jobs, Principal admin, PrintWriter out) throws Exception {
            if (limit < 1 || limit > 1000) throw usageError("--limit: a whole number from 1 to 1000; got " + limit);
            java.util.List<JobRun> runs = jobs.history(id, admin, limit);
            if (json) return printArray(out, runs, JobsJson::run);
            if (runs.isEmpty()) {
                out.println("job " + id + " has not run yet");
                return 0;
            }
            String row = "%5s  %-24s %-24s %-16s %9s %12s  %s%n";
            out.printf(row, "RUN", "SCHEDULED FOR", "STARTED", "STATUS", "TOKENS", "COST USD", "REASON");
            for (JobRun r : runs) {
                out.printf(row, r.runNo(), r.scheduledFor(), r.startedAt() == null ? "-" : r.startedAt(), r.status(),
                        r.tokens(), Money.amount(r.costNanos()).toPlainString(), r.reason() == null ? "" : r.reason());
            }
            return 0;
        }
    }

    /** Prints the items as one JSON array; exit code 0. */
    private static <T> int printArray(PrintWriter out, java.util.List<T> items,
                                      java.util.function.Function<T, com.fasterxml.jackson.databind.JsonNode> json) throws Exception {
        ArrayNode a = JSON.createArrayNode();
        items.forEach(i -> a.add(json.apply(i)));
        out.println(JSON.writeValueAsString(a));
        return 0;
    }

    private static String next(Job j) {
        return j.nextDueAt() == null ? "no run left in its schedule" : "next run at " + j.nextDueAt();
    }
}
