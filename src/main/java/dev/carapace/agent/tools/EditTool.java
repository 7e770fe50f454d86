package dev.carapace.agent.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.FileAccess;
import dev.carapace.agent.FileTarget;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;

/**
 * {@code edit {path, old, new, all?}}: replaces exact text. {@code old} must occur exactly once unless {@code all}
 * is true. The file is rewritten atomically, and only if it did not change since it was read.
 */
public final class EditTool extends FileTool {

    /** The largest file edited, in bytes. */
    static final int MAX_BYTES = 16 * 1024 * 1024;

    private static final String SCHEMA = """
            {"type":"object","properties":{"path":{"type":"string"},\
            "old":{"type":"string","description":"exact text to replace"},"new":{"type":"string"},\
            "all":{"type":"boolean","description":"replace every occurrence"}},"required":["path","old","new"]}""";

    public EditTool() {
        super("edit", "Replace exact text in a workspace file; 'old' must occur once unless all is true.", SCHEMA,
                new FileTarget("path", null, FileAccess.WRITE));
    }

    @Override
    ToolResult execute(JsonNode arguments, Workspace workspace, ToolContext context)
            throws ArgumentException, WorkspaceException, IOException, InterruptedException {
        Args args = Args.of(arguments, "path", "old", "new", "all");
        String path = args.string("path");
        String old = args.string("old");
        String replacement = args.string("new");
        boolean all = args.bool("all", false);
        if (old.isEmpty()) return ToolResult.error("argument 'old' must not be empty");
        if (old.equals(replacement)) return ToolResult.error("'old' and 'new' are the same; nothing to change");

        Workspace.Target target = workspace.resolveForRead(path);
        String shown = Workspace.quote(target.shown());
        if (Files.isDirectory(target.real(), LinkOption.NOFOLLOW_LINKS)) return ToolResult.error(shown + " is a directory");
        byte[] bytes;
        Workspace.Version version;
        try (Workspace.OpenFile file = workspace.openRead(target)) {
            version = file.version();
            if (version.size() > MAX_BYTES) {
                return ToolResult.error(shown + " is too large to edit (" + version.size() + " bytes; limit " + MAX_BYTES + ")");
            }
            bytes = Channels.newInputStream(file.channel()).readNBytes(MAX_BYTES + 1);
        }
        if (bytes.length > MAX_BYTES || bytes.length != version.size()) {
            return ToolResult.error(shown + " changed while being read; try again");
        }
        if (ReadTool.hasNul(bytes, Math.min(bytes.length, ReadTool.BINARY_PROBE))) {
            return ToolResult.error(shown + " is a binary file");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return ToolResult.error(shown + " is not valid UTF-8 text; it cannot be edited safely");
        }
        int found = 0;
        for (int i = text.indexOf(old); i >= 0; i = text.indexOf(old, i + old.length())) found++;
        if (found == 0) return ToolResult.error("'old' text not found in " + shown);
        if (found > 1 && !all) {
            return ToolResult.error("'old' text found " + found + " times in " + shown
                    + "; include more context to make it unique, or set all=true");
        }
        String edited;
        if (all) {
            edited = text.replace(old, replacement);
        } else {
            int at = text.indexOf(old);
            edited = text.substring(0, at) + replacement + text.substring(at + old.length());
        }
        byte[] data = edited.getBytes(StandardCharsets.UTF_8);
        if (data.length > MAX_BYTES) return ToolResult.error("the edited file would exceed " + MAX_BYTES + " bytes");
        workspace.writeAtomically(target, data, version);
        return ToolResult.ok("replaced " + found + (found == 1 ? " occurrence" : " occurrences") + " in " + target.shown());
    }
}
