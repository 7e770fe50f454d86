package dev.carapace.agent;

import dev.carapace.model.Part;

import java.util.List;

/**
 * What one run may do, narrower than its agent's own settings: how a scheduled job runs its agent with the smallest
 * tool set it needs, its own limits, and its own budget (an isolated run of a job does not get the agent's whole
 * toolbox).
 *
 * @param tools  the tools the run may use, each one of its agent's; null for the agent's own
 * @param limits the run's limits; each one the smaller of this and the agent's; null for the agent's own
 * @param job    the scheduled job the run's model calls are charged to (its budget {@code job:ID} applies on top of
 *               the agent's and its owner's), or null
 * @param model  the model every call of the run goes to instead of the agent's (and without its fallbacks): a
 *               heartbeat's cheaper model; null for the agent's own
 * @param via    the channel identity the message came from ({@code email:alice@corp.example}), recorded with it in
 *               the transcript beside the person it is bound to; null for the API and the CLI
 * @param images images sent with the message (a photo on a chat app), shown to the model with its text on every turn
 *               of the session; empty for none
 */
public record RunOptions(List<String> tools, AgentSpec.Limits limits, String job, String model, String via,
                         List<Part.Image> images) {

    /** The agent's own tools, limits and model, for no job. */
    public static final RunOptions NONE = new RunOptions(null, null, null, null, null, List.of());

    /** With the agent's own model. */
    public RunOptions(List<String> tools, AgentSpec.Limits limits, String job) {
        this(tools, limits, job, null, null, List.of());
    }

    /** Sent by no channel. */
    public RunOptions(List<String> tools, AgentSpec.Limits limits, String job, String model) {
        this(tools, limits, job, model, null, List.of());
    }

    /** The same options, for a message that came through a channel from {@code sender}, with {@code images}. */
    public RunOptions via(String sender, List<Part.Image> images) {
        return new RunOptions(tools, limits, job, model, sender, images);
    }

    public RunOptions {
        if (tools != null) tools = List.copyOf(tools);
        images = images == null ? List.of() : List.copyOf(images);
    }
}
