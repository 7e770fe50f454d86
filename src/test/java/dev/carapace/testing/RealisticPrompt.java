package dev.carapace.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Random;

/**
 * A request shaped like an agent harness's turn (OpenClaw's, in issue 14: a 59.5 KB body of 14.6k tokens): a long
 * system prompt of prose and markdown, two dozen JSON tool schemas, and a conversation with tool calls and results.
 * Deterministic for a seed, built from English words, so its bytes per token are those of real prose and JSON.
 */
public final class RealisticPrompt {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = ("the agent should always read the workspace before it changes a file and"
            + " must never run a command that deletes data without asking the user first when a tool fails report the"
            + " error and try a different approach keep answers short and concrete use the memory file to remember"
            + " decisions across sessions the user prefers small commits with clear messages tests must pass before"
            + " anything is pushed a skill describes how to do one task well follow its steps in order search the"
            + " project for existing helpers instead of writing new ones explain what changed and why configuration"
            + " lives in the gateway channel session heartbeat schedule reminder calendar message browser screenshot"
            + " document summary translate research compare install update version permission sandbox network request"
            + " response timeout retry budget limit token context window model provider account billing daily weekly")
            .split(" ");
    private static final List<String> TOOLS = List.of("read", "write", "edit", "exec", "process", "web_search",
            "web_fetch", "browser", "canvas", "nodes", "cron", "message", "gateway", "sessions_list", "sessions_send",
            "sessions_history", "session_status", "memory_search", "memory_get", "image", "tts", "agents_list",
            "apply_patch", "subagents");

    private RealisticPrompt() {}

    /** An OpenAI chat body of about {@code bytes} bytes, for {@code model}, with {@code extra} top-level fields. */
    public static String openAiBody(String model, int bytes, long seed, String extra) {
        Random random = new Random(seed);
        ObjectNode body = JSON.createObjectNode().put("model", model);
        ArrayNode tools = body.putArray("tools");
        for (String name : TOOLS) tools.add(tool(name, random));
        ArrayNode messages = body.putArray("messages");
        int toolBytes = tools.toString().length();
        StringBuilder system = new StringBuilder("# Identity\nYou are a personal assistant running inside OpenClaw.\n\n");
        int systemBytes = Math.max(1000, (bytes - toolBytes) * 2 / 3);
        while (system.length() < systemBytes) {
            system.append("## ").append(sentence(random, 3)).append("\n");
            for (int i = 0; i < 4; i++) system.append("- ").append(sentence(random, 8 + random.nextInt(16))).append("\n");
            system.append(sentence(random, 30)).append(' ').append(sentence(random, 20)).append("\n\n");
        }
        messages.addObject().put("role", "system").put("content", system.toString());
        int turn = 0;
        while (body.toString().length() < bytes) {
            messages.addObject().put("role", "user").put("content", sentence(random, 10 + random.nextInt(40)));
            ObjectNode assistant = messages.addObject().put("role", "assistant");
            assistant.putNull("content");
            String id = "call_" + turn++;
            ObjectNode fn = assistant.putArray("tool_calls").addObject().put("id", id).put("type", "function")
                    .putObject("function").put("name", TOOLS.get(random.nextInt(TOOLS.size())));
            fn.put("arguments", JSON.createObjectNode().put("path", "notes/" + word(random) + ".md")
                    .put("query", sentence(random, 6)).toString());
            messages.addObject().put("role", "tool").put("tool_call_id", id).put("content", sentence(random, 60));
            messages.addObject().put("role", "assistant").put("content", sentence(random, 25));
        }
        messages.addObject().put("role", "user").put("content", "What should I do next?");
        String json = body.toString();
        return extra.isEmpty() ? json : json.substring(0, json.length() - 1) + "," + extra + "}";
    }

    private static ObjectNode tool(String name, Random random) {
        ObjectNode t = JSON.createObjectNode().put("type", "function");
        ObjectNode fn = t.putObject("function").put("name", name).put("description", sentence(random, 25 + random.nextInt(30)));
        ObjectNode params = fn.putObject("parameters").put("type", "object");
        ObjectNode props = params.putObject("properties");
        ArrayNode required = params.putArray("required");
        int n = 3 + random.nextInt(6);
        for (int i = 0; i < n; i++) {
            String prop = word(random) + "_" + word(random);
            ObjectNode p = props.putObject(prop).put("type", random.nextBoolean() ? "string" : "integer")
                    .put("description", sentence(random, 6 + random.nextInt(12)));
            if (random.nextInt(4) == 0) p.putArray("enum").add(word(random)).add(word(random)).add(word(random));
            if (i == 0) required.add(prop);
        }
        params.put("additionalProperties", false);
        return t;
    }

    private static String word(Random random) { return WORDS[random.nextInt(WORDS.length)]; }

    private static String sentence(Random random, int words) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words; i++) {
            String w = word(random);
            if (i == 0) w = Character.toUpperCase(w.charAt(0)) + w.substring(1);
            sb.append(w);
            sb.append(i == words - 1 ? "." : random.nextInt(9) == 0 ? ", " : " ");
        }
        return sb.toString();
    }
}
