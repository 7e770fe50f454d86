package dev.carapace.agent.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.FileAccess;
import dev.carapace.agent.FileTarget;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code write {path, content}}: creates or replaces a file atomically (temporary file + rename), creating parent
 * directories inside the workspace. Refuses symlinks to outside, dangling symlinks and hard-linked files.
 */
public final class WriteTool extends FileTool {

    /** The largest content accepted, in UTF-8 bytes. */
    static final int MAX_BYTES = 16 * 1024 * 1024;

    private static final String SCHEMA = """
            {"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},\
            "required":["path","content"]}""";

    public WriteTool() {
        super("write", "Create or overwrite a file in the workspace; parent directories are created.", SCHEMA,
                new FileTarget("path", null, FileAccess.WRITE));
    }

    @Override
    ToolResult execute(JsonNode arguments, Workspace workspace, ToolContext context)
            throws ArgumentException, WorkspaceException, IOException {
        Args args = Args.of(arguments, "path", "content");
        String path = args.string("path");
        String content = args.string("content");
        byte[] data = content.getBytes(StandardCharsets.UTF_8);
        if (data.length > MAX_BYTES) {
            return ToolResult.error("content is " + data.length + " bytes; the limit is " + MAX_BYTES);
        }
        Workspace.Target target = workspace.resolveForWrite(path);
        workspace.writeAtomically(target, data, null);
        return ToolResult.ok("wrote " + data.length + " bytes to " + target.shown());
    }
}
