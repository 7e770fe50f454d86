package dev.carapace.agent.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.FileAccess;
import dev.carapace.agent.FileTarget;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import dev.carapace.text.BoundedRegex;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * {@code glob {pattern, path?}}: workspace paths (relative to the workspace root) whose path relative to
 * {@code path} matches the glob. Walks without following symlinks; at most {@value #MAX_RESULTS} results.
 */
public final class GlobTool extends FileTool {

    static final int MAX_RESULTS = 1000;
    static final int MAX_VISITED = 200_000;
    /** Time one path may take to match; a glob over it is refused as too costly. */
    static final Duration MATCH_BUDGET = Duration.ofMillis(250);

    private static final String SCHEMA = """
            {"type":"object","properties":{"pattern":{"type":"string","description":"e.g. **/*.java"},\
            "path":{"type":"string","description":"base directory, default ."}},"required":["pattern"]}""";

    public GlobTool() {
        super("glob", "Find workspace paths matching a glob (* within a name, ** across directories).", SCHEMA,
                new FileTarget("path", ".", FileAccess.LIST));
    }

    @Override
    ToolResult execute(JsonNode arguments, Workspace workspace, ToolContext context)
            throws ArgumentException, WorkspaceException, IOException, InterruptedException {
        Args args = Args.of(arguments, "pattern", "path");
        Pattern glob = Glob.compile(args.string("pattern"), "pattern");
        Workspace.Target base = workspace.resolveForRead(args.string("path", "."));
        if (!Files.isDirectory(base.real(), LinkOption.NOFOLLOW_LINKS)) {
            return ToolResult.error(Workspace.quote(base.shown()) + " is not a directory");
        }
        Deadline deadline = Deadline.in(context.timeout());
        Workspace.Walk walk = new Workspace.Walk(deadline, MAX_VISITED);
        Output out = new Output(context.maxOutputBytes());
        int[] found = {0};
        boolean[] full = {false};
        workspace.walk(base, walk, (dir, name, abs, path, fromBase, attrs) -> {
            if (!matches(glob, fromBase, deadline)) return true;
            if (found[0] == MAX_RESULTS || !out.line(Output.printable(path) + (attrs.isDirectory() ? "/" : ""))) {
                full[0] = true;
                return false;
            }
            found[0]++;
            return true;
        });
        if (full[0]) out.note("[truncated: more than " + found[0] + " matches; narrow the pattern or path]");
        else if (walk.timedOut) out.note("[stopped: time limit; results are incomplete]");
        else if (walk.truncated) out.note("[stopped after " + walk.entries + " entries; results are incomplete]");
        else if (found[0] == 0 && walk.denied == 0) return ToolResult.ok("no matches");
        else if (found[0] == 0) out.note("no matches");
        if (walk.denied > 0) out.note(Output.skippedByPolicy(walk.denied, "file", "files"));
        return ToolResult.ok(out.toString());
    }

    /** Matches {@code subject} under {@link #MATCH_BUDGET}; a glob that needs longer is refused. */
    static boolean matches(Pattern glob, String subject, Deadline deadline)
            throws WorkspaceException, InterruptedException {
        try {
            return BoundedRegex.matches(BoundedRegex.matcher(glob, subject, BoundedRegex.UNLIMITED,
                    deadline.endWithin(MATCH_BUDGET)));
        } catch (BoundedRegex.TooCostly e) {
            throw new WorkspaceException("the glob is too costly to match (too many wildcards?); simplify it");
        }
    }
}
