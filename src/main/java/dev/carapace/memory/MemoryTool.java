package dev.carapace.memory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentTool;

/** What the memory tools share: the memory, who reaches which of it, and their argument schema. */
abstract class MemoryTool implements AgentTool {

    static final ObjectMapper JSON = new ObjectMapper();

    final Memory memory;
    final MemoryScopes scopes;
    private final ObjectNode parameters;

    /** @param schema the arguments' JSON Schema, as text (a constant of the tool: a mistake in it is a bug) */
    MemoryTool(Memory memory, MemoryScopes scopes, String schema) {
        this.memory = memory;
        this.scopes = scopes;
        try {
            this.parameters = (ObjectNode) JSON.readTree(schema);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the schema of a memory tool is not JSON", e);
        }
    }

    @Override
    public final ObjectNode parameters() { return parameters.deepCopy(); }
}
