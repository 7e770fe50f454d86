/**
 * The agent runtime: agents as configured ({@link dev.carapace.agent.AgentSpec}), their runs and transcripts, and the
 * loop that calls a model through the gateway and then the tools it asked for. Sub-agents
 * ({@link dev.carapace.agent.SubAgents}) and what a child may inherit ({@link dev.carapace.agent.SpawnRule}) live
 * here too.
 *
 * <p>It decides nothing about security itself: every tool call passes a {@link dev.carapace.agent.Guard} first, and
 * file tools ask a {@link dev.carapace.agent.FileGate} again at each file they touch. Both are seams the server fills
 * with the guard package's decisions.
 */
package dev.carapace.agent;
