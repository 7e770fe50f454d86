package dev.carapace.agent.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.FileAccess;
import dev.carapace.agent.FileTarget;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * {@code list {path?}}: the entries of a directory, sorted, one per line; directories end with {@code /}; symlinks
 * show as {@code name@ -> target} when the target is inside the workspace and {@code name@ -> (link)} otherwise.
 * Symlinks are never followed.
 */
public final class ListTool extends FileTool {

    /** At most this many entries are shown. */
    static final int MAX_ENTRIES = 1000;
    private static final int MAX_READ = 100_000;

    private static final String SCHEMA = """
            {"type":"object","properties":{"path":{"type":"string","description":"directory, default ."}}}""";

    public ListTool() {
        super("list", "List a workspace directory; directories end with /.", SCHEMA,
                new FileTarget("path", ".", FileAccess.LIST));
    }

    @Override
    ToolResult execute(JsonNode arguments, Workspace workspace, ToolContext context)
            throws ArgumentException, WorkspaceException, IOException {
        Args args = Args.of(arguments, "path");
        Workspace.Target target = workspace.resolveForRead(args.string("path", "."));
        if (!Files.isDirectory(target.real(), LinkOption.NOFOLLOW_LINKS)) {
            return ToolResult.error(Workspace.quote(target.shown()) + " is not a directory");
        }
        String prefix = workspace.relative(target.real());
        prefix = prefix.equals(".") ? "" : prefix + "/";
        Output out = new Output(context.maxOutputBytes());
        try (SecureDirectoryStream<Path> dir = workspace.openDirectory(target)) {
            List<Path> names = new ArrayList<>();
            boolean more = false;
            for (Path p : dir) {
                if (names.size() == MAX_READ) {
                    more = true;
                    break;
                }
                names.add(p.getFileName());
            }
            names.sort(Comparator.comparing(Path::toString));
            int shown = 0;
            int denied = 0;
            for (Path entry : names) {
                if (shown == MAX_ENTRIES) break;
                String name = entry.toString();
                if (!workspace.admits(target.real().resolve(entry), FileAccess.LIST)) {
                    denied++; // a name under a denied path is not shown either
                    continue;
                }
                BasicFileAttributes attrs;
                try {
                    attrs = dir.getFileAttributeView(entry, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                            .readAttributes();
                } catch (IOException e) {
                    continue; // vanished
                }
                String line = Output.printable(name);
                if (attrs.isDirectory()) line += "/";
                else if (attrs.isSymbolicLink()) line += "@ -> " + linkTarget(workspace, prefix + name);
                if (!out.line(line)) break;
                shown++;
            }
            if (names.isEmpty()) return ToolResult.ok("(empty directory)");
            if (shown + denied < names.size() || more) {
                out.note("[truncated: " + (more ? "more than " + (MAX_READ - shown - denied)
                        : names.size() - shown - denied) + " more entries]");
            }
            if (denied > 0) out.note(Output.skippedByPolicy(denied, "entry", "entries"));
            return ToolResult.ok(out.toString());
        }
    }

    /** Where a symlink leads, when that is inside the workspace; never a path outside. */
    private static String linkTarget(Workspace workspace, String link) {
        try {
            Workspace.Target t = workspace.resolve(link);
            if (t.exists() && workspace.admits(t.real(), FileAccess.LIST)) {
                return Output.printable(workspace.relative(t.real()))
                        + (Files.isDirectory(t.real(), LinkOption.NOFOLLOW_LINKS) ? "/" : "");
            }
        } catch (WorkspaceException e) {
            // outside, dangling or a loop: do not say where
        }
        return "(link)";
    }
}
