package dev.carapace.guard.call;

import java.nio.file.Path;
import java.util.List;

/**
 * The agent making a tool call, as the guard needs to know it. The identity comes from the run that made the call,
 * never from a path or an argument of the call.
 *
 * @param agent     the agent's id
 * @param principal who it acts for, as audit records name it (e.g. {@code acme/platform}); null if unknown
 * @param tools     the tools its definition enables, in its order
 * @param workspace its workspace, against which relative paths are resolved
 */
public record Caller(String agent, String principal, List<String> tools, Path workspace) {

    public Caller {
        tools = List.copyOf(tools);
    }
}
