package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Something an agent's model can ask to do: read a file, run a command, fetch a page, start a sub-agent. The
 * runtime sends {@link #name}, {@link #description} and {@link #parameters} to the model, checks every call with
 * the {@link Guard} first, and runs it with a timeout and an output cap.
 */
public interface AgentTool {

    /** The name the model calls it by: {@code ^[a-z][a-z0-9_]{0,63}$}. */
    String name();

    /** One or two sentences for the model. Kept short: it is sent on every turn. */
    String description();

    /** JSON Schema of the arguments object. Kept compact for the same reason. */
    ObjectNode parameters();

    /**
     * The workspace path a call names and what the tool does there, for the guard's up-front decision; null for a
     * tool that names no file. The file rules do not depend on this being right: tools reach files only through
     * the workspace, which asks the {@link FileGate} at every file it touches.
     */
    default FileTarget fileTarget() {
        return null;
    }

    /**
     * Runs one call. Failures the model can reason about (a missing file, a bad argument) are returned as
     * {@link ToolResult#error}; an exception means the tool itself is broken.
     */
    ToolResult run(JsonNode arguments, ToolContext context) throws InterruptedException;
}
