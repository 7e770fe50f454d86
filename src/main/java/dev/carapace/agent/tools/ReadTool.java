package dev.carapace.agent.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.FileAccess;
import dev.carapace.agent.FileTarget;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.util.Arrays;

/**
 * {@code read {path, offset?, limit?}}: the text of a file, or of lines {@code offset} .. {@code offset+limit-1}.
 * Output over the call's byte cap is cut (at a line end when possible) and says how much is left.
 */
public final class ReadTool extends FileTool {

    /** A file with a NUL byte in its first this-many bytes is binary. */
    static final int BINARY_PROBE = 8192;

    private static final String SCHEMA = """
            {"type":"object","properties":{"path":{"type":"string"},\
            "offset":{"type":"integer","description":"first line, 1-based"},\
            "limit":{"type":"integer","description":"max lines"}},"required":["path"]}""";

    public ReadTool() {
        super("read", "Read a text file in the workspace (paths are relative to it). Long output is cut; "
                + "continue with offset/limit.", SCHEMA,
                new FileTarget("path", null, FileAccess.READ));
    }

    @Override
    ToolResult execute(JsonNode arguments, Workspace workspace, ToolContext context)
            throws ArgumentException, WorkspaceException, IOException, InterruptedException {
        Args args = Args.of(arguments, "path", "offset", "limit");
        String path = args.string("path");
        Integer offset = args.positiveInt("offset", "first line to read, 1-based");
        Integer limit = args.positiveInt("limit", "number of lines");
        Workspace.Target target = workspace.resolveForRead(path);
        if (Files.isDirectory(target.real(), LinkOption.NOFOLLOW_LINKS)) {
            return ToolResult.error(Workspace.quote(target.shown()) + " is a directory; use list");
        }
        try (Workspace.OpenFile file = workspace.openRead(target)) {
            InputStream in = Channels.newInputStream(file.channel());
            byte[] head = in.readNBytes(BINARY_PROBE);
            if (hasNul(head, head.length)) return ToolResult.error(Workspace.quote(target.shown()) + " is a binary file");
            int first = offset == null ? 1 : offset;
            long last = limit == null ? Long.MAX_VALUE : (long) first + limit - 1;
            Cutter cut = new Cutter(Output.budget(context.maxOutputBytes()), first, last);
            boolean more = cut.feed(head, head.length);
            byte[] buffer = new byte[64 * 1024];
            while (more) {
                if (Thread.interrupted()) throw new InterruptedException();
                int n = in.read(buffer);
                if (n < 0) break;
                more = cut.feed(buffer, n);
            }
            if (!cut.selectedAny) {
                if (first > 1) {
                    return ToolResult.error("offset " + first + " is past the end of " + Workspace.quote(target.shown())
                            + " (" + cut.lines() + " lines)");
                }
                return ToolResult.ok("(empty file)");
            }
            String text = new String(cut.out, 0, cut.count, StandardCharsets.UTF_8);
            if (!cut.truncated) return ToolResult.ok(text);
            long remaining = Math.max(0, file.version().size() - cut.cutAt);
            return ToolResult.ok(text + (text.endsWith("\n") ? "" : "\n") + "[truncated: " + remaining
                    + " more bytes; use offset/limit" + (cut.nextLine > 0 ? ", next offset " + cut.nextLine : "") + "]");
        }
    }

    static boolean hasNul(byte[] bytes, int length) {
        for (int i = 0; i < length; i++) if (bytes[i] == 0) return true;
        return false;
    }

    /** Streams bytes, keeping the selected lines up to a byte budget. */
    private static final class Cutter {
        final int budget;
        byte[] out;
        final long first;
        final long last;
        int count;
        int lineStartCount;
        long line = 1;
        long pos;
        long lineStartPos;
        byte previous = '\n';
        boolean selectedAny;
        boolean truncated;
        long cutAt;
        long nextLine = -1;

        Cutter(int budget, long first, long last) {
            this.budget = budget;
            this.out = new byte[Math.min(budget, 64 * 1024)];
            this.first = first;
            this.last = last;
        }

        /** @return false once nothing more is wanted */
        boolean feed(byte[] bytes, int length) {
            for (int i = 0; i < length; i++, pos++) {
                if (line > last) return false;
                byte c = bytes[i];
                if (line >= first) {
                    if (count == out.length) {
                        if (out.length == budget) {
                            cut(c);
                            return false;
                        }
                        out = Arrays.copyOf(out, (int) Math.min(budget, 2L * out.length));
                    }
                    out[count++] = c;
                    selectedAny = true;
                }
                previous = c;
                if (c == '\n') {
                    line++;
                    lineStartCount = count;
                    lineStartPos = pos + 1;
                }
            }
            return true;
        }

        /** The budget is full and {@code next} does not fit: cut at the line start, or else at a character start. */
        private void cut(byte next) {
            truncated = true;
            if (lineStartCount > 0) {
                count = lineStartCount;
                cutAt = lineStartPos;
                nextLine = line;
                return;
            }
            int k = count;
            while (k > 0 && ((k < count ? out[k] : next) & 0xC0) == 0x80) k--;
            cutAt = pos - (count - k);
            count = k;
        }

        long lines() {
            return previous == '\n' ? line - 1 : line;
        }
    }
}
