package dev.carapace.agent;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What a tool call may use: the agent's workspace (the only directory file tools reach), who is calling, and the
 * limits of this call.
 *
 * @param workspace      absolute, real path of the agent's workspace
 * @param maxOutputBytes results longer than this are cut (and say so)
 */
public record ToolContext(String agentId, String sessionKey, Path workspace, Duration timeout, int maxOutputBytes) {}
