package dev.carapace.agent.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.FileAccess;
import dev.carapace.agent.FileTarget;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import dev.carapace.text.BoundedRegex;
import dev.carapace.text.Excerpt;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.time.Duration;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * {@code grep {pattern, path?, glob?}}: lines matching a Java regex, as {@code path:line: text}. Searches a file or
 * a directory tree (without following symlinks; skipping binary, hard-linked and very large files). Every line gets
 * a time budget, so a catastrophically backtracking regex fails fast instead of hanging the call.
 */
public final class GrepTool extends FileTool {

    static final int MAX_MATCHES = 500;
    static final int MAX_PATTERN = 2000;
    static final int MAX_LINE_SHOWN = 300;
    static final long MAX_FILE_BYTES = 16L * 1024 * 1024;
    static final int MAX_VISITED = 200_000;
    /** Time the regex may spend on one line. */
    static final Duration LINE_BUDGET = Duration.ofSeconds(1);

    private static final String SCHEMA = """
            {"type":"object","properties":{"pattern":{"type":"string","description":"Java regex"},\
            "path":{"type":"string","description":"file or directory, default ."},\
            "glob":{"type":"string","description":"file filter, e.g. *.java"}},"required":["pattern"]}""";

    public GrepTool() {
        super("grep", "Search workspace files for a Java regex; prints path:line: text.", SCHEMA,
                new FileTarget("path", ".", FileAccess.READ));
    }

    /** Counts and limits of one search. */
    private static final class Search {
        final Pattern regex;
        final Deadline deadline;
        final Output out;
        int matches;
        boolean full;
        boolean timedOut;
        int binary;
        int large;
        int refused;
        int denied;

        Search(Pattern regex, Deadline deadline, Output out) {
            this.regex = regex;
            this.deadline = deadline;
            this.out = out;
        }
    }

    @Override
    ToolResult execute(JsonNode arguments, Workspace workspace, ToolContext context)
            throws ArgumentException, WorkspaceException, IOException, InterruptedException {
        Args args = Args.of(arguments, "pattern", "path", "glob");
        String pattern = args.string("pattern");
        if (pattern.isEmpty()) return ToolResult.error("argument 'pattern' must not be empty");
        if (pattern.length() > MAX_PATTERN) {
            return ToolResult.error("argument 'pattern' is longer than " + MAX_PATTERN + " characters");
        }
        Pattern regex;
        try {
            regex = Pattern.compile(pattern);
        } catch (PatternSyntaxException e) {
            return ToolResult.error("argument 'pattern' is not a valid Java regex: " + e.getDescription()
                    + (e.getIndex() >= 0 ? " at index " + e.getIndex() : ""));
        } catch (StackOverflowError e) {
            return ToolResult.error("argument 'pattern' is too deeply nested");
        }
        String globText = args.string("glob", null);
        Pattern filter = globText == null ? null : Glob.compile(globText, "glob");
        boolean filterOnName = globText != null && globText.indexOf('/') < 0;
        Workspace.Target target = workspace.resolveForRead(args.string("path", "."));

        Deadline deadline = Deadline.in(context.timeout());
        Search search = new Search(regex, deadline, new Output(context.maxOutputBytes()));
        if (!Files.isDirectory(target.real(), LinkOption.NOFOLLOW_LINKS)) {
            try (Workspace.OpenFile file = workspace.openRead(target)) {
                if (file.version().size() > MAX_FILE_BYTES) {
                    return ToolResult.error(Workspace.quote(target.shown()) + " is larger than " + MAX_FILE_BYTES + " bytes");
                }
                scan(file, workspace.relative(target.real()), search);
                if (search.binary > 0) return ToolResult.error(Workspace.quote(target.shown()) + " is a binary file");
            }
        } else {
            Workspace.Walk walk = new Workspace.Walk(deadline, MAX_VISITED);
            workspace.walk(target, walk, (dir, name, abs, path, fromBase, attrs) -> {
                if (!attrs.isRegularFile()) return true; // directories are entered by the walk; symlinks never
                if (filter != null && !GlobTool.matches(filter, filterOnName ? name.toString() : fromBase, deadline)) {
                    return true;
                }
                if (attrs.size() > MAX_FILE_BYTES) {
                    search.large++;
                    return true;
                }
                Workspace.OpenFile file;
                try {
                    file = workspace.openIn(dir, name, abs, path);
                } catch (WorkspaceException e) {
                    if (e.byPolicy()) search.denied++;
                    else search.refused++; // hard-linked, replaced
                    return true;
                } catch (IOException e) {
                    search.refused++; // unreadable
                    return true;
                }
                try (file) {
                    return scan(file, path, search);
                }
            });
            if (walk.timedOut) search.timedOut = true;
            search.denied += walk.denied;
            if (walk.truncated) search.out.note("[stopped after " + walk.entries + " entries; results are incomplete]");
        }
        Output out = search.out;
        if (search.full) out.note("[truncated: more than " + search.matches + " matches; narrow the pattern or path]");
        if (search.timedOut) out.note("[stopped: time limit; results are incomplete]");
        if (search.binary + search.large + search.refused > 0) {
            out.note("[skipped: " + search.binary + " binary, " + search.large + " over " + MAX_FILE_BYTES
                    + " bytes, " + search.refused + " hard-linked or unreadable]");
        }
        if (search.denied > 0) out.note(Output.skippedByPolicy(search.denied, "file", "files"));
        if (out.isEmpty() && !search.full) {
            String notes = out.toString();
            return ToolResult.ok(notes.isEmpty() ? "no matches" : "no matches\n" + notes);
        }
        return ToolResult.ok(out.toString());
    }

    /** Searches one open file; false when the search must stop (output full or out of time). */
    private static boolean scan(Workspace.OpenFile file, String path, Search search)
            throws IOException, WorkspaceException, InterruptedException {
        InputStream in = new BufferedInputStream(Channels.newInputStream(file.channel()), 64 * 1024);
        in.mark(ReadTool.BINARY_PROBE);
        byte[] head = in.readNBytes(ReadTool.BINARY_PROBE);
        if (ReadTool.hasNul(head, head.length)) {
            search.binary++;
            return true;
        }
        in.reset();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        String shownPath = Output.printable(path);
        long number = 0;
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            number++;
            if (Thread.interrupted()) throw new InterruptedException();
            if (search.deadline.passed()) {
                search.timedOut = true;
                return false;
            }
            boolean found;
            try {
                found = BoundedRegex.find(BoundedRegex.matcher(search.regex, line, BoundedRegex.UNLIMITED,
                        search.deadline.endWithin(LINE_BUDGET)));
            } catch (BoundedRegex.TooCostly e) {
                if (!e.stack && search.deadline.passed()) {
                    search.timedOut = true;
                    return false;
                }
                throw new WorkspaceException(e.stack
                        ? "the regex is too complex for line " + number + " of " + Workspace.quote(shownPath)
                          + " (stack overflow); simplify it"
                        : "the regex took over " + LINE_BUDGET.toMillis() + " ms on line " + number + " of "
                          + Workspace.quote(shownPath) + " (catastrophic backtracking?); simplify it");
            }
            if (!found) continue;
            if (search.matches == MAX_MATCHES || !search.out.line(shownPath + ":" + number + ": " + shown(line))) {
                search.full = true;
                return false;
            }
            search.matches++;
        }
        return true;
    }

    private static String shown(String line) { return Output.printable(Excerpt.clip(line, MAX_LINE_SHOWN)); }
}
