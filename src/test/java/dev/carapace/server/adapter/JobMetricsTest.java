package dev.carapace.server.adapter;

import dev.carapace.schedule.JobEvent;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** The job events as Prometheus shows them: names, tags and values an operator's alerts rely on. */
class JobMetricsTest {

    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final JobMetrics metrics = new JobMetrics(registry);

    @Test
    void runsByJobAndStatusCostByJobMissedByJobAndLatenessOverAll() {
        Instant t = Instant.parse("2026-12-05T09:00:00Z");
        metrics.accept(new JobEvent.Started("report", 1, t, 250, "run_1"));
        metrics.accept(new JobEvent.Finished("report", 1, "succeeded", null, 100, 1_500_000));   // $0.0015
        metrics.accept(new JobEvent.Started("report", 2, t, 1_750, "run_2"));
        metrics.accept(new JobEvent.Finished("report", 2, "budget_exhausted", "over budget", 0, 0));
        metrics.accept(new JobEvent.Finished("ping", 1, "succeeded", null, 0, 0));
        metrics.accept(new JobEvent.Missed("report", t.minusSeconds(3600), "no gateway ran it"));
        metrics.accept(new JobEvent.Missed("report", t.minusSeconds(7200), "no gateway ran it"));
        metrics.accept(new JobEvent.Paused("report", "paused by alice"));

        String s = registry.scrape();
        assertThat(s).contains("carapace_job_runs_total{job=\"report\",status=\"succeeded\"} 1.0")
                .contains("carapace_job_runs_total{job=\"report\",status=\"budget_exhausted\"} 1.0")
                .contains("carapace_job_runs_total{job=\"ping\",status=\"succeeded\"} 1.0")
                .contains("carapace_job_cost_usd_total{job=\"report\"} 0.0015")
                .contains("carapace_job_missed_total{job=\"report\"} 2.0")
                .contains("carapace_job_lateness_seconds_count 2")
                .contains("carapace_job_lateness_seconds_sum 2.0")
                .contains("carapace_job_lateness_seconds_max 1.75");
        assertThat(s).doesNotContain("carapace_job_cost_usd_total{job=\"ping\"}");   // a free job has no cost series
    }
}
