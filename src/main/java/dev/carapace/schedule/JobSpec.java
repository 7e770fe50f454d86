package dev.carapace.schedule;

import dev.carapace.agent.AgentSpec;

import java.net.URI;

/**
 * A job as its owner defines it (in the config, under {@code agents/NAME/jobs.yaml}, by API or CLI, or by an agent's
 * {@code schedule} tool). Read and checked by {@link JobSpecReader}.
 *
 * @param owner       who pays: a user (of a team) or a team; runs are charged to them within the agent's owner team
 * @param agent       the agent whose turn the job runs, or null for a webhook job
 * @param missed      what a run missed while no gateway was up does: run once, run all (at most {@code maxRunAll}),
 *                    or skip; each missed run is recorded either way
 * @param maxFailures consecutive failures after which the job is paused (with back-off between them)
 * @param retryInterrupted whether a run cut off by a gateway's death runs again at once
 * @param deliverTo   where each run's result is POSTed (through the egress proxy), or null
 */
public record JobSpec(String id, AgentSpec.Owner owner, String agent, ScheduleSpec schedule, JobAction action,
                      JobLimits limits, JobBudget budget, MissedRunPolicy missed, int maxRunAll, int maxFailures,
                      boolean retryInterrupted, URI deliverTo) {}
