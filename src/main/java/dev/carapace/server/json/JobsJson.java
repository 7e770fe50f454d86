package dev.carapace.server.json;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.ledger.Money;
import dev.carapace.schedule.InvalidScheduleException;
import dev.carapace.schedule.Job;
import dev.carapace.schedule.JobAction;
import dev.carapace.schedule.JobEvent;
import dev.carapace.schedule.JobLimits;
import dev.carapace.schedule.JobRun;
import dev.carapace.schedule.JobSpec;
import dev.carapace.schedule.ScheduleSpec;
import dev.carapace.schedule.Schedules;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

import static dev.carapace.server.json.AgentJson.JSON;

/**
 * Scheduled jobs, their runs and their live events as {@code /api/jobs} and {@code carapace jobs --json} show them.
 * Field names are the ones a job is defined with ({@code schedule}, {@code limits.max_wall}, ...), so what a list
 * shows can be edited and posted back.
 */
public final class JobsJson {

    private JobsJson() {}

    /** A job: its definition, its schedule in words and when it is next due, and where it stands. */
    public static ObjectNode job(Job j) {
        JobSpec s = j.spec();
        ObjectNode n = JSON.createObjectNode().put("id", j.id());
        n.putObject("owner").put("user", s.owner().user()).put("team", s.owner().team());
        n.put("agent", s.agent());
        ObjectNode schedule = n.putObject("schedule");
        ScheduleSpec sc = s.schedule();
        schedule.put("kind", sc.cron() != null ? "cron" : sc.at() != null ? "at" : "every");
        putIf(schedule, "cron", sc.cron());
        putIf(schedule, "at", sc.at());
        putIf(schedule, "every", sc.every());
        putIf(schedule, "anchor", sc.anchor());
        putIf(schedule, "zone", sc.zone());
        putIf(schedule, "jitter", sc.jitter());
        schedule.put("description", describe(sc));
        schedule.put("next_due_at", time(j.nextDueAt()));
        ObjectNode action = n.putObject("action");
        switch (s.action()) {
            case JobAction.AgentTurn t -> action.put("type", "agent_turn").put("message", t.message()).put("session", t.session());
            case JobAction.Webhook w -> action.put("type", "webhook").put("url", w.url().toString()).put("body", w.body());
        }
        JobLimits l = s.limits();
        ObjectNode limits = n.putObject("limits");
        l.tools().forEach(limits.putArray("tools")::add);
        limits.put("max_wall", AgentJson.duration(l.maxWall())).put("max_model_calls", l.maxModelCalls())
                .put("max_tokens", l.maxTokens())
                .put("max_cost", l.maxCost() == null ? null : l.maxCost().toPlainString());
        if (s.budget() == null) {
            n.putNull("budget");
        } else {
            n.putObject("budget").put("amount", s.budget().amount() == null ? null : s.budget().amount().toPlainString())
                    .put("tokens", s.budget().tokens()).put("period", s.budget().period());
        }
        n.put("missed", s.missed().label()).put("max_run_all", s.maxRunAll()).put("max_failures", s.maxFailures())
                .put("retry_interrupted", s.retryInterrupted())
                .put("deliver_to", s.deliverTo() == null ? null : s.deliverTo().toString());
        return n.put("state", j.state().label()).put("paused_reason", j.pausedReason())
                .put("consecutive_failures", j.consecutiveFailures()).put("source", j.source())
                .put("created_by", j.createdBy()).put("created_at", time(j.createdAt()))
                .put("last_run_at", time(j.lastRunAt()));
    }

    /** One run of a job, from its history. */
    public static ObjectNode run(JobRun r) {
        return JSON.createObjectNode().put("job_id", r.jobId()).put("run_no", r.runNo())
                .put("scheduled_for", time(r.scheduledFor())).put("started_at", time(r.startedAt()))
                .put("ended_at", time(r.endedAt())).put("status", r.status()).put("reason", r.reason())
                .put("agent_run_id", r.agentRunId()).put("session_key", r.sessionKey()).put("gateway", r.gateway())
                .put("tokens", r.tokens()).put("cost_usd", Money.amount(r.costNanos()).toPlainString())
                .put("result", r.result());
    }

    /** One live event: {@code type} names it ({@code job_started}, ...), the rest is its record's fields in snake case. */
    public static ObjectNode event(JobEvent e) {
        ObjectNode n = JSON.createObjectNode().put("type", e.type()).put("job_id", e.jobId());
        switch (e) {
            case JobEvent.Started s -> n.put("run_no", s.runNo()).put("scheduled_for", time(s.scheduledFor()))
                    .put("lateness_ms", s.latenessMillis()).put("agent_run_id", s.agentRunId());
            case JobEvent.Finished f -> n.put("run_no", f.runNo()).put("status", f.status()).put("reason", f.reason())
                    .put("tokens", f.tokens()).put("cost_usd", Money.amount(f.costNanos()).toPlainString());
            case JobEvent.Missed m -> n.put("scheduled_for", time(m.scheduledFor())).put("reason", m.reason());
            case JobEvent.Paused p -> n.put("reason", p.reason());
        }
        return n;
    }

    /** The schedule in words; a stored schedule that no longer reads (a damaged store) says so instead. */
    public static String describe(ScheduleSpec spec) {
        try {
            return Schedules.restore(spec).describe();
        } catch (InvalidScheduleException e) {
            return "unreadable schedule: " + e.getMessage();
        }
    }

    private static void putIf(ObjectNode n, String key, String value) {
        if (value != null) n.put(key, value);
    }

    /** To the millisecond, as the store keeps times: a job shows the same just added as read back. */
    private static String time(Instant t) { return t == null ? null : t.truncatedTo(ChronoUnit.MILLIS).toString(); }
}
