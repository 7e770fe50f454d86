package dev.carapace.agent.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.FileTarget;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.DirectoryIteratorException;

/** What the file tools share: name, description, schema, and turning refusals and I/O failures into error results. */
abstract sealed class FileTool implements AgentTool
        permits ReadTool, WriteTool, EditTool, ListTool, GlobTool, GrepTool {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final String description;
    private final ObjectNode parameters;
    private final FileTarget target;

    FileTool(String name, String description, String schema, FileTarget target) {
        this.name = name;
        this.description = description;
        this.target = target;
        try {
            this.parameters = (ObjectNode) JSON.readTree(schema);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("bad schema for " + name, e);
        }
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final String description() {
        return description;
    }

    @Override
    public final ObjectNode parameters() {
        return parameters.deepCopy();
    }

    @Override
    public final FileTarget fileTarget() {
        return target;
    }

    @Override
    public final ToolResult run(JsonNode arguments, ToolContext context) throws InterruptedException {
        if (context == null || context.workspace() == null) return ToolResult.error("no workspace for this agent");
        Workspace workspace;
        try {
            workspace = new Workspace(context.workspace(), context.files(), name);
        } catch (IOException e) {
            return ToolResult.error("the workspace is not available");
        }
        try {
            return execute(arguments, workspace, context);
        } catch (ArgumentException | WorkspaceException e) {
            return ToolResult.error(e.getMessage());
        } catch (ClosedByInterruptException e) {
            Thread.interrupted();
            throw new InterruptedException();
        } catch (IOException e) {
            return ToolResult.error(name + " failed: " + Workspace.describe(e));
        } catch (UncheckedIOException e) {
            return ToolResult.error(name + " failed: " + Workspace.describe(e.getCause()));
        } catch (DirectoryIteratorException e) {
            return ToolResult.error(name + " failed: " + Workspace.describe(e.getCause()));
        }
    }

    abstract ToolResult execute(JsonNode arguments, Workspace workspace, ToolContext context)
            throws ArgumentException, WorkspaceException, IOException, InterruptedException;
}
