package dev.carapace.agent.tools;

import dev.carapace.agent.AgentTool;

import java.util.List;

/** The built-in file tools, all confined to the agent's workspace (see {@link Workspace}). */
public final class FileTools {

    private FileTools() {}

    /** read, write, edit, list, glob, grep. */
    public static List<AgentTool> all() {
        return List.of(new ReadTool(), new WriteTool(), new EditTool(), new ListTool(), new GlobTool(), new GrepTool());
    }
}
