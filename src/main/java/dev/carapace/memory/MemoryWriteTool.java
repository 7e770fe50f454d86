package dev.carapace.memory;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import dev.carapace.agent.tools.ArgumentException;
import dev.carapace.agent.tools.Args;

import java.util.Locale;

/**
 * {@code memory_write}: the agent keeps a markdown note for later runs, in its own memory or its team's. Whose memory
 * is the run's agent's (from the tool context), never an argument; the path is a name inside it. The note is
 * screened by the privacy policy, capped in size, and rate-limited per agent (see {@link Memory#write}).
 */
public final class MemoryWriteTool extends MemoryTool {

    /** The name the agent runtime's memory flush before compaction looks for. */
    public static final String NAME = "memory_write";
    private static final String SCHEMA = """
            {"type":"object","properties":{
              "path":{"type":"string","description":"the note's name, e.g. projects/billing.md"},
              "text":{"type":"string","description":"markdown to keep"},
              "mode":{"type":"string","enum":["replace","append"],"description":"default replace"},
              "scope":{"type":"string","enum":["agent","team"],"description":"your memory (default) or your team's"}},
             "required":["path","text"]}""";

    public MemoryWriteTool(Memory memory, MemoryScopes scopes) {
        super(memory, scopes, SCHEMA);
    }

    @Override
    public String name() { return NAME; }

    @Override
    public String description() {
        return "Save a markdown note to your long-term memory (replace or append); find it later with memory_search."
                + " Never store secrets or card numbers.";
    }

    @Override
    public ToolResult run(JsonNode arguments, ToolContext context) {
        try {
            Args args = Args.of(arguments, "path", "text", "mode", "scope");
            String path = args.string("path", null);
            String text = args.string("text");
            // without a path the text goes to today's journal, added at its end: what a quick "remember this" (or the
            // memory flush before compaction) wants, and it never overwrites a note by accident
            String defaultMode = path == null ? "append" : "replace";
            if (path == null) path = memory.journalPath();
            Memory.Mode mode = switch (args.string("mode", defaultMode).strip().toLowerCase(Locale.ROOT)) {
                case "replace" -> Memory.Mode.REPLACE;
                case "append" -> Memory.Mode.APPEND;
                default -> throw new MemoryException(MemoryException.Reason.INVALID, "mode: replace or append");
            };
            MemoryScopes.Reach reach = scopes.of(context.agentId());
            Scope scope = reach.writeTo(args.string("scope", null));
            String team = reach.team() == null ? null : reach.team().name();
            Memory.Written w = memory.write(scope, path, text, mode, new Memory.Writer(reach.agent(), team));
            String where = scope.kind() == Scope.Kind.AGENT ? "your memory" : "team " + scope.name() + "'s memory";
            StringBuilder out = new StringBuilder(switch (w.outcome()) {
                case CREATED -> "saved new note '" + w.path() + "' in " + where;
                case REPLACED -> "updated note '" + w.path() + "' in " + where;
                default -> "note '" + w.path() + "' in " + where + " already says exactly this; nothing changed";
            });
            out.append(" (").append(w.bytes()).append(" bytes, ").append(w.chunks()).append(" passages; the memory holds ")
                    .append(w.scopeBytes()).append(" of ").append(memory.limits().maxScopeBytes()).append(" bytes)");
            if (!w.redacted().isEmpty()) {
                out.append(". Redacted by the privacy policy before saving: ").append(Memory.describe(w.redacted()));
            }
            return ToolResult.ok(out.toString());
        } catch (ArgumentException | MemoryException e) {
            return ToolResult.error(NAME + ": " + e.getMessage());
        }
    }
}
