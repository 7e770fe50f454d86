package dev.carapace.schedule;

import java.time.Duration;
import java.util.List;

/**
 * How far one run of a job may go; a run that reaches one ends with a status that says which.
 *
 * @param tools         the agent's tools a run may use; empty by default (a job names what it needs, it does not
 *                      inherit the agent's whole toolbox)
 * @param maxWall       wall-clock time per run
 * @param maxModelCalls model calls per run
 * @param maxTokens     input + output tokens per run
 */
public record JobLimits(List<String> tools, Duration maxWall, int maxModelCalls, long maxTokens) {

    public static final JobLimits DEFAULT = new JobLimits(List.of(), Duration.ofMinutes(10), 8, 50_000);

    public JobLimits {
        tools = List.copyOf(tools);
    }
}
