package dev.carapace.memory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import dev.carapace.agent.tools.ArgumentException;
import dev.carapace.agent.tools.Args;

import java.util.List;

/**
 * {@code memory_search}: the agent looks through its own memory and its team's, by meaning and by keyword at once.
 * Answers with up to {@code k} passages as JSON: each note's path, whose memory it is in, a score and the passage.
 * Which memories are searched comes from the run's agent; a {@code scope} argument may only narrow it.
 */
public final class MemorySearchTool extends MemoryTool {

    public static final String NAME = "memory_search";
    private static final int DEFAULT_K = 5;
    private static final String SCHEMA = """
            {"type":"object","properties":{
              "query":{"type":"string","description":"what you are looking for, in words"},
              "k":{"type":"integer","minimum":1,"maximum":20,"description":"results, default 5"},
              "scope":{"type":"string","enum":["agent","team","both"],"description":"default both"}},
             "required":["query"]}""";

    public MemorySearchTool(Memory memory, MemoryScopes scopes) {
        super(memory, scopes, SCHEMA);
    }

    @Override
    public String name() { return NAME; }

    @Override
    public String description() {
        return "Search your long-term memory and your team's (by meaning and keywords); returns passages of notes.";
    }

    @Override
    public ToolResult run(JsonNode arguments, ToolContext context) {
        try {
            Args args = Args.of(arguments, "query", "k", "scope");
            String query = args.string("query");
            Integer k = args.positiveInt("k", "how many results, 1 to " + Memory.MAX_K);
            List<Scope> where = scopes.of(context.agentId()).select(args.string("scope", null));
            List<Memory.Hit> hits = memory.search(where, query, k == null ? DEFAULT_K : k);
            ObjectNode out = JSON.createObjectNode();
            ArrayNode results = out.putArray("results");
            for (Memory.Hit h : hits) {
                results.addObject().put("path", h.path()).put("memory", h.scope().kind() == Scope.Kind.AGENT ? "agent"
                                : "team " + h.scope().name())
                        .put("score", Math.round(h.score() * 1e5) / 1e5).put("updated", h.updatedAt().toString())
                        .put("text", h.snippet());
            }
            if (hits.isEmpty()) out.put("note", "nothing in memory matches");
            return ToolResult.ok(JSON.writeValueAsString(out));
        } catch (ArgumentException | MemoryException e) {
            return ToolResult.error(NAME + ": " + e.getMessage());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
