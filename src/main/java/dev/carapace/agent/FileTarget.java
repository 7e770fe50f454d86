package dev.carapace.agent;

/**
 * What a file tool declares about its calls ({@link AgentTool#fileTarget}), so a {@link Guard} can judge one up
 * front without a list of tool names: the argument that names the workspace path, the path meant when it is
 * absent, and what the tool does there.
 *
 * @param argument   the argument holding the path, e.g. {@code path}
 * @param whenAbsent the path meant without that argument (e.g. {@code .} for grep), or null if it is required
 * @param access     what the tool does at that path
 */
public record FileTarget(String argument, String whenAbsent, FileAccess access) {}
