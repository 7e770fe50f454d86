package dev.carapace.agent;

/**
 * One part of an agent's system prompt. The {@link PromptAssembler} asks each source once per run, in order, and
 * joins their texts with a blank line; today {@link Instructions} (the runtime's preamble and the agent's
 * {@code AGENTS.md}) is the only one, and skills and memory add theirs here.
 *
 * <p>A source's text must be the same on every turn of a run: the system prompt is the prefix providers cache.
 */
@FunctionalInterface
public interface ContextSource {

    /** This source's text for a run of {@code agent}, or null when it has nothing to add. Must not throw. */
    String text(AgentSpec agent);
}
