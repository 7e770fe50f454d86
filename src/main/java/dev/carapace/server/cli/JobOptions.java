package dev.carapace.server.cli;

import dev.carapace.model.ApiException;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code carapace jobs add}'s options: a job's definition on the command line, turned into the same map a YAML file
 * or an API body gives, so one reader checks all three. Values stay text here; the reader says what is wrong with
 * them, and {@link #forCli} names the option rather than the field.
 */
final class JobOptions {

    @Option(names = "--id", paramLabel = "ID", description = "The job's id: letters, digits, '.', '_' or '-'.") String id;
    @Option(names = "--agent", paramLabel = "AGENT", description = "The agent whose turn the job runs.") String agent;
    @Option(names = "--message", paramLabel = "TEXT", description = "What the agent is told at each run.") String message;
    @Option(names = "--session", paramLabel = "NAME",
            description = "Use this session of the agent every time (default: a fresh one per run).") String session;
    @Option(names = "--webhook", paramLabel = "URL",
            description = "Instead of an agent: POST to this URL (through the egress proxy) at each run.") String webhook;
    @Option(names = "--webhook-body", paramLabel = "JSON", description = "The webhook's body (default: the run's description).") String webhookBody;
    @Option(names = "--cron", paramLabel = "EXPR", description = "A 5- or 6-field cron expression, e.g. '0 9 * * 1-5'.") String cron;
    @Option(names = "--at", paramLabel = "WHEN",
            description = "Once: an ISO instant, a local date-time in --zone, or a delay such as 3d or 2h30m.") String at;
    @Option(names = "--every", paramLabel = "INTERVAL", description = "An interval, e.g. 30m or 1h.") String every;
    @Option(names = "--anchor", paramLabel = "WHEN", description = "With --every: the first run and the phase (default: now).") String anchor;
    @Option(names = "--zone", paramLabel = "ZONE", description = "An IANA time zone, e.g. Europe/Paris (default: UTC).") String zone;
    @Option(names = "--jitter", paramLabel = "DURATION", description = "Spread the runs by up to this much, e.g. 5m.") String jitter;
    @Option(names = "--owner-user", paramLabel = "USER", description = "Who pays: a user (default: the agent's owner).") String ownerUser;
    @Option(names = "--owner-team", paramLabel = "TEAM", description = "Who pays: a team, or the team of --owner-user.") String ownerTeam;
    @Option(names = "--tools", paramLabel = "TOOL", split = ",",
            description = "The agent's tools a run may use, comma-separated (default: none).") List<String> tools;
    @Option(names = "--max-wall", paramLabel = "DURATION", description = "Wall time per run (default: 10m).") String maxWall;
    @Option(names = "--max-model-calls", paramLabel = "N", description = "Model calls per run (default: 8).") String maxModelCalls;
    @Option(names = "--max-tokens", paramLabel = "N", description = "Tokens per run (default: 50000).") String maxTokens;
    @Option(names = "--max-cost", paramLabel = "USD", description = "What one run may cost (default: no limit).") String maxCost;
    @Option(names = "--budget-amount", paramLabel = "USD", description = "The job's own budget per period, in USD.") String budgetAmount;
    @Option(names = "--budget-tokens", paramLabel = "N", description = "The job's own budget per period, in tokens.") String budgetTokens;
    @Option(names = "--budget-period", paramLabel = "PERIOD", description = "day, week or month (default: month).") String budgetPeriod;
    @Option(names = "--missed", paramLabel = "POLICY",
            description = "Runs missed while no gateway ran: run_once (default), run_all or skip.") String missed;
    @Option(names = "--max-failures", paramLabel = "N",
            description = "Failed runs in a row after which the job is paused (default: 5).") String maxFailures;
    @Option(names = "--deliver-to", paramLabel = "URL", description = "POST each run's result to this URL.") String deliverTo;

    /** The definition, with only what was given: the reader's defaults apply to the rest. */
    Map<String, Object> definition() {
        Map<String, Object> m = new LinkedHashMap<>();
        put(m, "id", id);
        put(m, "agent", agent);
        put(m, "message", message);
        put(m, "session", session);
        if (webhook != null || webhookBody != null) {
            Map<String, Object> w = new LinkedHashMap<>();
            put(w, "url", webhook);
            put(w, "body", webhookBody);
            m.put("webhook", w);
        }
        Map<String, Object> s = new LinkedHashMap<>();
        put(s, "cron", cron);
        put(s, "at", at);
        put(s, "every", every);
        put(s, "anchor", anchor);
        put(s, "zone", zone);
        put(s, "jitter", jitter);
        if (!s.isEmpty()) m.put("schedule", s);
        if (ownerUser != null || ownerTeam != null) {
            Map<String, Object> o = new LinkedHashMap<>();
            put(o, "user", ownerUser);
            put(o, "team", ownerTeam);
            m.put("owner", o);
        }
        Map<String, Object> l = new LinkedHashMap<>();
        if (tools != null) l.put("tools", tools.stream().map(String::strip).filter(t -> !t.isEmpty()).toList());
        put(l, "max_wall", maxWall);
        put(l, "max_model_calls", maxModelCalls);
        put(l, "max_tokens", maxTokens);
        put(l, "max_cost", maxCost);
        if (!l.isEmpty()) m.put("limits", l);
        Map<String, Object> b = new LinkedHashMap<>();
        put(b, "amount", budgetAmount);
        put(b, "tokens", budgetTokens);
        put(b, "period", budgetPeriod);
        if (!b.isEmpty()) m.put("budget", b);
        put(m, "missed", missed);
        put(m, "max_failures", maxFailures);
        put(m, "deliver_to", deliverTo);
        return m;
    }

    private static void put(Map<String, Object> m, String key, String value) {
        if (value != null) m.put(key, value);
    }

    /** The field each option fills, as the reader and the service name it in their errors. */
    private static final Map<String, String> OPTION = Map.ofEntries(Map.entry("id", "--id"),
            Map.entry("agent", "--agent"), Map.entry("message", "--message"), Map.entry("session", "--session"),
            Map.entry("webhook.url", "--webhook"), Map.entry("webhook.body", "--webhook-body"),
            Map.entry("schedule", "--cron, --at or --every"), Map.entry("schedule.cron", "--cron"),
            Map.entry("schedule.at", "--at"), Map.entry("schedule.every", "--every"),
            Map.entry("schedule.anchor", "--anchor"), Map.entry("schedule.zone", "--zone"),
            Map.entry("schedule.jitter", "--jitter"), Map.entry("owner", "--owner-user/--owner-team"),
            Map.entry("owner.user", "--owner-user"), Map.entry("owner.team", "--owner-team"),
            Map.entry("limits.tools", "--tools"), Map.entry("limits.max_wall", "--max-wall"),
            Map.entry("limits.max_model_calls", "--max-model-calls"), Map.entry("limits.max_tokens", "--max-tokens"),
            Map.entry("limits.max_cost", "--max-cost"),
            Map.entry("budget", "--budget-amount/--budget-tokens"), Map.entry("budget.amount", "--budget-amount"),
            Map.entry("budget.tokens", "--budget-tokens"), Map.entry("budget.period", "--budget-period"),
            Map.entry("missed", "--missed"), Map.entry("max_failures", "--max-failures"),
            Map.entry("deliver_to", "--deliver-to"));

    /** The error's message with the option in place of the field it starts with ("schedule.cron: ..." -> "--cron: ..."). */
    static String forCli(ApiException e) {
        String param = e.param(), m = e.getMessage();
        String option = param == null ? null : OPTION.get(param);
        if (option == null) return m;
        return option + ": " + (m.startsWith(param + ": ") ? m.substring(param.length() + 2) : m);
    }
}
