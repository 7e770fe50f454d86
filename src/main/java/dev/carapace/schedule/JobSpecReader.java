package dev.carapace.schedule;

import dev.carapace.agent.AgentSpec;
import dev.carapace.model.ApiException;
import dev.carapace.text.Decimals;

import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import dev.carapace.text.Durations;

import static dev.carapace.text.Excerpt.clip;

/**
 * Reads a job's definition from the map a YAML file, a JSON body or the CLI gives, and writes it back the same way
 * ({@link #write}, how the store keeps it). Every mistake is an {@link ApiException} of kind invalid naming the field
 * ({@code schedule.cron}, {@code limits.max_wall}, ...) and what is expected; nothing is half-read. Whether the agent
 * exists, the owner may use it and the schedule's times make sense is {@link JobService}'s check, which knows them.
 */
public final class JobSpecReader {

    /** Ids are names a user types and a ledger subject: {@code job:ID}. */
    static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Set<String> FIELDS = Set.of("id", "agent", "owner", "schedule", "message", "session", "webhook",
            "limits", "budget", "missed", "max_run_all", "max_failures", "retry_interrupted", "deliver_to");
    private static final int MAX_MESSAGE = 100_000;

    private JobSpecReader() {}

    /**
     * @param id           the job's id when the map does not hold it (a config key), else null
     * @param defaultOwner the owner when the map names none: the agent's, or the caller
     */
    public static JobSpec read(Map<String, ?> m, String id, AgentSpec.Owner defaultOwner) {
        for (String k : m.keySet()) {
            if (!FIELDS.contains(k)) {
                throw ApiException.invalid(k, "'" + clip(k, 40) + "' is not a field of a job (fields: "
                        + String.join(", ", FIELDS.stream().sorted().toList()) + ")");
            }
        }
        String jobId = id != null ? id : string(m, "id", true);
        if (!ID.matcher(jobId).matches()) {
            throw ApiException.invalid("id", "id: expected 1-64 letters, digits, '.', '_' or '-', starting with a letter"
                    + " or digit; got '" + clip(jobId, 40) + "'");
        }
        String agent = string(m, "agent", false);
        Map<String, ?> webhook = map(m, "webhook");
        JobAction action;
        if (webhook != null) {
            if (m.containsKey("message")) throw ApiException.invalid("message", "message: a webhook job has no message (it calls no model)");
            action = new JobAction.Webhook(url(webhook, "webhook.url", webhook.get("url")),
                    within("webhook", () -> string(webhook, "body", false)));
        } else {
            if (agent == null) throw ApiException.invalid("agent", "agent: which agent the job runs (or give a webhook instead)");
            String message = string(m, "message", true);
            if (message.isBlank() || message.length() > MAX_MESSAGE) {
                throw ApiException.invalid("message", "message: 1 to " + MAX_MESSAGE + " characters; got " + message.length());
            }
            action = new JobAction.AgentTurn(message, string(m, "session", false));
        }
        Map<String, ?> s = map(m, "schedule");
        if (s == null) throw ApiException.invalid("schedule", "schedule: when the job runs, e.g. {cron: \"0 9 * * 1-5\", zone: Europe/Paris}, {at: 3d} or {every: 30m}");
        ScheduleSpec schedule = within("schedule", () -> new ScheduleSpec(string(s, "cron", false), string(s, "at", false),
                string(s, "every", false), string(s, "anchor", false), string(s, "zone", false), string(s, "jitter", false)));
        for (String k : s.keySet()) {
            if (!Set.of("cron", "at", "every", "anchor", "zone", "jitter").contains(k)) {
                throw ApiException.invalid("schedule." + clip(k, 40), "schedule." + clip(k, 40) + ": not a schedule field (cron, at, every, anchor, zone, jitter)");
            }
        }
        return new JobSpec(jobId, within("owner", () -> owner(m, defaultOwner)), agent, schedule, action,
                within("limits", () -> limits(map(m, "limits"))), within("budget", () -> budget(map(m, "budget"))), missed(m), integer(m, "max_run_all", 5, 1, 100),
                integer(m, "max_failures", 5, 1, 100), bool(m, "retry_interrupted", true),
                m.get("deliver_to") == null ? null : url(m, "deliver_to", m.get("deliver_to")));
    }

    /** The definition as a map {@link #read} reads back to an equal spec. */
    public static Map<String, Object> write(JobSpec j) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", j.id());
        if (j.agent() != null) m.put("agent", j.agent());
        Map<String, Object> owner = new LinkedHashMap<>();
        if (j.owner().user() != null) owner.put("user", j.owner().user());
        if (j.owner().team() != null) owner.put("team", j.owner().team());
        m.put("owner", owner);
        Map<String, Object> s = new LinkedHashMap<>();
        ScheduleSpec sc = j.schedule();
        putIf(s, "cron", sc.cron());
        putIf(s, "at", sc.at());
        putIf(s, "every", sc.every());
        putIf(s, "anchor", sc.anchor());
        putIf(s, "zone", sc.zone());
        putIf(s, "jitter", sc.jitter());
        m.put("schedule", s);
        switch (j.action()) {
            case JobAction.AgentTurn t -> {
                m.put("message", t.message());
                putIf(m, "session", t.session());
            }
            case JobAction.Webhook w -> {
                Map<String, Object> h = new LinkedHashMap<>();
                h.put("url", w.url().toString());
                putIf(h, "body", w.body());
                m.put("webhook", h);
            }
        }
        JobLimits l = j.limits();
        Map<String, Object> limits = new LinkedHashMap<>();
        limits.put("tools", l.tools());
        limits.put("max_wall", l.maxWall().toSeconds() + "s");
        limits.put("max_model_calls", l.maxModelCalls());
        limits.put("max_tokens", l.maxTokens());
        if (l.maxCost() != null) limits.put("max_cost", l.maxCost().toPlainString());
        m.put("limits", limits);
        if (j.budget() != null) {
            Map<String, Object> b = new LinkedHashMap<>();
            if (j.budget().amount() != null) b.put("amount", j.budget().amount().toPlainString());
            if (j.budget().tokens() != null) b.put("tokens", j.budget().tokens());
            b.put("period", j.budget().period());
            m.put("budget", b);
        }
        m.put("missed", j.missed().label());
        m.put("max_run_all", j.maxRunAll());
        m.put("max_failures", j.maxFailures());
        m.put("retry_interrupted", j.retryInterrupted());
        if (j.deliverTo() != null) m.put("deliver_to", j.deliverTo().toString());
        return m;
    }

    /**
     * Reads a part nested under {@code prefix}; a mistake in it is named by its whole path ({@code limits.max_tokens},
     * not {@code max_tokens}), as the API's {@code param} and the message's first word.
     */
    private static <T> T within(String prefix, java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (ApiException e) {
            String p = e.param();
            if (p == null || p.equals(prefix) || p.startsWith(prefix + ".")) throw e;
            String m = e.getMessage();
            throw ApiException.invalid(prefix + "." + p, prefix + "." + (m.startsWith(p + ":") ? m : p + ": " + m));
        }
    }

    private static void putIf(Map<String, Object> m, String k, Object v) {
        if (v != null) m.put(k, v);
    }

    private static AgentSpec.Owner owner(Map<String, ?> m, AgentSpec.Owner defaultOwner) {
        Map<String, ?> o = map(m, "owner");
        if (o == null) {
            if (defaultOwner == null) throw ApiException.invalid("owner", "owner: who pays for the job, {user: NAME} or {team: NAME}");
            return defaultOwner;
        }
        for (String k : o.keySet()) {
            if (!k.equals("user") && !k.equals("team")) throw ApiException.invalid("owner." + clip(k, 40), "owner: expected user and/or team");
        }
        String user = string(o, "user", false), team = string(o, "team", false);
        if (user == null && team == null) throw ApiException.invalid("owner", "owner: expected {user: NAME} or {team: NAME}");
        return new AgentSpec.Owner(user, team);
    }

    private static JobLimits limits(Map<String, ?> l) {
        JobLimits d = JobLimits.DEFAULT;
        if (l == null) return d;
        for (String k : l.keySet()) {
            if (!Set.of("tools", "max_wall", "max_model_calls", "max_tokens", "max_cost").contains(k)) {
                throw ApiException.invalid("limits." + clip(k, 40), "limits." + clip(k, 40) + ": not a limit (tools, max_wall, max_model_calls, max_tokens)");
            }
        }
        List<String> tools = d.tools();
        Object t = l.get("tools");
        if (t != null) {
            if (!(t instanceof List<?> list) || list.size() > 64) throw ApiException.invalid("limits.tools", "limits.tools: a list of tool names");
            List<String> names = new ArrayList<>();
            for (Object o : list) {
                if (!(o instanceof String n) || n.isEmpty() || n.length() > 64) throw ApiException.invalid("limits.tools", "limits.tools: each a tool name");
                names.add(n);
            }
            tools = names;
        }
        Duration wall = l.get("max_wall") == null ? d.maxWall() : Durations.parse(String.valueOf(l.get("max_wall")))
                .orElseThrow(() -> ApiException.invalid("limits.max_wall", "limits.max_wall: a duration like 90s, 5m or 1h"));
        if (wall.compareTo(Duration.ofSeconds(1)) < 0 || wall.compareTo(Duration.ofHours(24)) > 0) {
            throw ApiException.invalid("limits.max_wall", "limits.max_wall: between 1s and 24h");
        }
        return new JobLimits(tools, wall, integer(l, "max_model_calls", d.maxModelCalls(), 1, 1000),
                longValue(l, "max_tokens", d.maxTokens(), 1, 100_000_000), usd(l, "max_cost"));
    }

    private static JobBudget budget(Map<String, ?> b) {
        if (b == null) return null;
        for (String k : b.keySet()) {
            if (!Set.of("amount", "tokens", "period").contains(k)) {
                throw ApiException.invalid("budget." + clip(k, 40), "budget." + clip(k, 40) + ": not a budget field (amount, tokens, period)");
            }
        }
        BigDecimal amount = usd(b, "amount");
        Long tokens = b.get("tokens") == null ? null : longValue(b, "tokens", 0, 0, Long.MAX_VALUE / 2);
        if (amount == null && tokens == null) throw ApiException.invalid("budget", "budget: give amount, tokens or both");
        String period = b.get("period") == null ? "month" : String.valueOf(b.get("period"));
        if (!Set.of("day", "week", "month").contains(period)) throw ApiException.invalid("budget.period", "budget.period: day, week or month; got '" + clip(period, 20) + "'");
        return new JobBudget(amount, tokens, period);
    }

    /** An amount of USD, 0 to 1,000,000, given as a number or its text; null when absent. */
    private static BigDecimal usd(Map<String, ?> m, String key) {
        Object v = m.get(key);
        if (v == null) return null;
        BigDecimal amount = v instanceof Number || v instanceof String ? Decimals.parse(String.valueOf(v)) : null;
        if (amount == null) throw ApiException.invalid(key, key + ": a decimal amount of USD, like 5 or 0.25");
        if (amount.signum() < 0 || amount.compareTo(BigDecimal.valueOf(1_000_000)) > 0) {
            throw ApiException.invalid(key, key + ": between 0 and 1000000 USD");
        }
        return amount;
    }

    private static MissedRunPolicy missed(Map<String, ?> m) {
        Object v = m.get("missed");
        if (v == null) return MissedRunPolicy.RUN_ONCE;
        try {
            return MissedRunPolicy.of(String.valueOf(v));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("missed", "missed: run_once, run_all or skip; got '" + clip(String.valueOf(v), 20) + "'");
        }
    }

    private static URI url(Map<String, ?> m, String field, Object v) {
        if (!(v instanceof String s) || s.isEmpty() || s.length() > 2048) throw ApiException.invalid(field, field + ": an http or https URL");
        try {
            URI u = new URI(s);
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || u.getHost() == null || u.getRawUserInfo() != null) {
                throw ApiException.invalid(field, field + ": an http or https URL with a host and no user info; got '" + clip(s, 80) + "'");
            }
            return u;
        } catch (URISyntaxException e) {
            throw ApiException.invalid(field, field + ": not a URL: " + clip(s, 80));
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, ?> map(Map<String, ?> m, String key) {
        Object v = m.get(key);
        if (v == null) return null;
        if (!(v instanceof Map<?, ?> map)) throw ApiException.invalid(key, key + ": expected a mapping");
        for (Object k : map.keySet()) if (!(k instanceof String)) throw ApiException.invalid(key, key + ": keys must be names");
        return (Map<String, ?>) map;
    }

    private static String string(Map<String, ?> m, String key, boolean required) {
        Object v = m.get(key);
        if (v == null) {
            if (required) throw ApiException.invalid(key, key + ": required");
            return null;
        }
        if (v instanceof Map || v instanceof List) throw ApiException.invalid(key, key + ": expected text");
        String s = String.valueOf(v);
        if (s.length() > MAX_MESSAGE) throw ApiException.invalid(key, key + ": at most " + MAX_MESSAGE + " characters");
        return s;
    }

    private static int integer(Map<String, ?> m, String key, int dflt, int min, int max) {
        return (int) longValue(m, key, dflt, min, max);
    }

    private static long longValue(Map<String, ?> m, String key, long dflt, long min, long max) {
        Object v = m.get(key);
        if (v == null) return dflt;
        long n;
        if (v instanceof Integer || v instanceof Long) n = ((Number) v).longValue();
        else {
            try {
                n = Long.parseLong(String.valueOf(v).trim());
            } catch (NumberFormatException e) {
                throw ApiException.invalid(key, key + ": a whole number from " + min + " to " + max);
            }
        }
        if (n < min || n > max) throw ApiException.invalid(key, key + ": a whole number from " + min + " to " + max + "; got " + n);
        return n;
    }

    private static boolean bool(Map<String, ?> m, String key, boolean dflt) {
        Object v = m.get(key);
        if (v == null) return dflt;
        if (v instanceof Boolean b) return b;
        if ("true".equals(v) || "false".equals(v)) return Boolean.parseBoolean((String) v);
        throw ApiException.invalid(key, key + ": true or false");
    }
}
