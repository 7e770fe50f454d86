package dev.carapace.server.adapter;

import dev.carapace.ledger.Money;
import dev.carapace.schedule.JobEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The scheduled jobs in Prometheus, fed by the job events of this gateway's runs: {@code carapace_job_runs_total}
 * by job and status, {@code carapace_job_lateness_seconds} (how long after its fire time a run started, a histogram
 * over every job), {@code carapace_job_cost_usd_total} and {@code carapace_job_missed_total} by job. Each gateway
 * counts the runs it made; a sum over the gateways is the cluster's.
 */
public final class JobMetrics implements Consumer<JobEvent> {

    private final MeterRegistry registry;
    private final Timer lateness;
    // One lookup per event instead of the registry's find-by-sorted-tags, as in Metrics.
    private final Map<RunKey, Counter> runs = new ConcurrentHashMap<>();
    private final Map<String, Counter> cost = new ConcurrentHashMap<>();
    private final Map<String, Counter> missed = new ConcurrentHashMap<>();

    private record RunKey(String job, String status) {}

    public JobMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.lateness = Timer.builder("carapace.job.lateness")
                .description("How long after its fire time a job's run started")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofHours(1))
                .register(registry);
    }

    @Override
    public void accept(JobEvent event) {
        switch (event) {
            case JobEvent.Started s -> lateness.record(Math.max(0, s.latenessMillis()), TimeUnit.MILLISECONDS);
            case JobEvent.Finished f -> {
                runs.computeIfAbsent(new RunKey(f.jobId(), f.status()), k -> Counter.builder("carapace.job.runs")
                        .description("Job runs ended, by job and status").tags("job", k.job(), "status", k.status())
                        .register(registry)).increment();
                if (f.costNanos() > 0) {
                    cost.computeIfAbsent(f.jobId(), job -> Counter.builder("carapace.job.cost").baseUnit("usd")
                            .description("What job runs cost, in USD at the config's prices").tags("job", job)
                            .register(registry)).increment(Money.amount(f.costNanos()).doubleValue());
                }
            }
            case JobEvent.Missed m -> missed.computeIfAbsent(m.jobId(), job -> Counter.builder("carapace.job.missed")
                    .description("Fire times of a job that no run stood for (downtime, per its missed-run policy)")
                    .tags("job", job).register(registry)).increment();
            case JobEvent.Paused p -> { }   // a state, not a count: the job shows it (and its reason)
        }
    }
}
