package dev.carapace.server.json;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.memory.Memory;
import dev.carapace.memory.NoteStore;
import dev.carapace.memory.Scope;

import static dev.carapace.server.json.AgentJson.JSON;

/** Agents' memory as {@code /api/memory} and {@code carapace memory --json} show it: notes and search results. */
public final class MemoryJson {

    private MemoryJson() {}

    /** {@code "memory": {"kind": "agent"|"team", "name": ...}} on {@code n}. */
    public static ObjectNode scope(ObjectNode n, Scope s) {
        n.putObject("memory").put("kind", s.kind().label()).put("name", s.name());
        return n;
    }

    /** A note without its text: path, whose memory, size, passages, author, times. */
    public static ObjectNode note(NoteStore.Note note) {
        ObjectNode n = JSON.createObjectNode().put("path", note.path());
        scope(n, note.scope());
        return n.put("bytes", note.bytes()).put("chunks", note.chunks()).put("author", note.author())
                .put("created_at", note.createdAt().toString()).put("updated_at", note.updatedAt().toString());
    }

    /** One search result: the note's path, whose memory, the score, when the note was written, the passage. */
    public static ObjectNode hit(Memory.Hit h) {
        ObjectNode n = JSON.createObjectNode().put("path", h.path());
        scope(n, h.scope());
        return n.put("score", h.score()).put("updated_at", h.updatedAt().toString()).put("snippet", h.snippet());
    }
}
