package dev.carapace.model.responses;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;
import java.util.Set;

/**
 * What a Responses client asked for that the neutral {@link dev.carapace.model.ChatRequest} does not say, and that
 * its answer must reflect: which flattened tool names stand for a function of a {@code namespace} tool or for a
 * {@code custom} (freeform) tool, whether the answer is stored and after which response, and the request fields a
 * response object echoes.
 *
 * @param namespaced         flattened tool name ({@code ns__name}) to its namespace and name
 * @param customTools        names of the {@code custom} tools, whose calls carry one {@code input} string
 * @param store              whether Carapace keeps this response for {@code previous_response_id} and {@code GET}
 * @param previousResponseId the response this one continues, or null
 * @param input              the client's own input items, as it sent them (a string input as one user message)
 * @param echo               the request fields a response object repeats (instructions, tools, tool_choice, ...)
 */
public record ResponsesContext(Map<String, String[]> namespaced, Set<String> customTools, boolean store,
                               String previousResponseId, ArrayNode input, ObjectNode echo) {

    public ResponsesContext {
        namespaced = Map.copyOf(namespaced);
        customTools = Set.copyOf(customTools);
    }

    /** Separates a namespace from a function's name in the flattened name translated upstreams see. */
    public static final String NAMESPACE_SEPARATOR = "__";

    /** The context of a request that no Responses client sent (a translated one): nothing stored, nothing echoed. */
    public static ResponsesContext none() {
        return new ResponsesContext(Map.of(), Set.of(), false, null, ResponsesJson.MAPPER.createArrayNode(),
                ResponsesJson.object());
    }
}
