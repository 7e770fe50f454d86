package dev.carapace.schedule;

import java.net.URI;

/** What a job does when it runs: a turn of its agent, or a webhook call with no model at all. */
public sealed interface JobAction {

    /**
     * A message to the job's agent.
     *
     * @param session the agent's session to use every time, or null for a fresh one per run ({@code job:ID:RUN}),
     *                so that no run sees another's transcript
     */
    record AgentTurn(String message, String session) implements JobAction {}

    /** A POST of {@code body} (JSON text, or null for the run's description) to {@code url}, through the egress proxy. */
    record Webhook(URI url, String body) implements JobAction {}
}
