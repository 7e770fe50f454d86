package dev.carapace.model.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.Usage;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The streaming reading of upstream chunks against the tree reading it replaced: wherever the fast one answers, it
 * must answer exactly as the tree one, and it must answer for the shapes real servers send.
 */
class OpenAiChunkTest {

    private static OpenAiChunk fast(String json) { return OpenAiChunk.read(OpenAiFormat.JSON_FACTORY, TestJson.bytes(json), true); }

    private static OpenAiChunk reference(String json) { return OpenAiChunk.of(TestJson.tree(json)); }

    /** What OpenAI, vLLM, llama.cpp, Ollama, DeepSeek and the like send. */
    private static final List<String> REAL = List.of(
            """
            {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o","system_fingerprint":"fp_1",\
            "choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}""",
            """
            {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o",\
            "choices":[{"index":0,"delta":{"content":"Hel\\"lo\\n😀"},"logprobs":null,"finish_reason":null}]}""",
            """
            {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o","choices":[{"index":0,\
            "delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function",\
            "function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}""",
            """
            {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":\
            {"tool_calls":[{"index":1,"function":{"arguments":"{\\"city\\": \\"Pa"}}]},"finish_reason":null}]}""",
            """
            {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],\
            "usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}""",
            """
            {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":82,\
            "completion_tokens":51,"total_tokens":133,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},\
            "completion_tokens_details":{"reasoning_tokens":12,"audio_tokens":0}}}""",
            """
            {"id":"c","object":"chat.completion.chunk","model":"deepseek","choices":[{"index":0,"delta":{"reasoning_content":"hmm","content":null}}]}""",
            """
            {"id":"c","model":"qwen","choices":[{"index":0,"delta":{"reasoning":"so","content":""}}],\
            "usage":{"prompt_tokens":5,"completion_tokens":1,"prompt_tokens_details":null}}""",
            """
            {"choices":[{"index":1,"delta":{"content":"second choice"}},{"delta":{"content":"no index"}}],"error":null}""");

    @Test
    void readsRealChunksWithoutTheTreeAndAlike() {
        for (String json : REAL) {
            OpenAiChunk fast = fast(json);
            assertThat(fast).as(json).isNotNull().isEqualTo(reference(json));
        }
        OpenAiChunk usage = fast(REAL.get(5));
        assertThat(usage.usage).isEqualTo(new Usage(82, 51, 64, 0, 12, false));
        assertThat(usage.choices).isEmpty();
        OpenAiChunk two = fast(REAL.get(8));
        assertThat(two.choices).singleElement().satisfies(c -> assertThat(c.content).isEqualTo("no index"));
    }

    @Test
    void leavesToTheTreeWhatOnlyItReadsRight() {
        for (String json : List.of(
                "{\"error\":{\"message\":\"boom\"}}",                                      // an error body
                "{\"object\":\"error\",\"message\":\"bad\"}",                              // vLLM's error body
                "{\"choices\":[],\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}", // the tree keeps the last
                "{\"choices\":[{\"index\":0.0,\"delta\":{}}]}",                           // asInt truncates
                "{\"choices\":[{\"index\":\"0\",\"delta\":{}}]}",                          // asInt parses text
                "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":{\"a\":1}}}]}}]}",
                "{\"usage\":{\"prompt_tokens\":1.5}}",
                "{\"usage\":{\"prompt_tokens\":99999999999999999999999}}",
                "{\"id\":\"x\"} {}",                                                       // trailing tokens
                "{\"choices\": [",                                                          // not JSON
                "[1]")) {
            assertThat(fast(json)).as(json).isNull();
        }
    }

    @Test
    void agreesWithTheTreeOnRandomlyMangledChunks() {
        Random random = new Random(3);
        int fastOnes = 0;
        for (int i = 0; i < 20_000; i++) {
            String json = new Mangler(random).chunk();
            OpenAiChunk fast = fast(json);
            if (fast == null) continue;
            fastOnes++;
            JsonNode tree = TestJson.tree(json);
            assertThat(tree.isObject()).as(json).isTrue();
            assertThat(fast).as(json).isEqualTo(OpenAiChunk.of(tree));
        }
        assertThat(fastOnes).as("chunks the fast reading took").isGreaterThan(5_000);
    }

    @Test
    void skipsIdAndModelWhenNotAsked() {
        OpenAiChunk c = OpenAiChunk.read(OpenAiFormat.JSON_FACTORY, TestJson.bytes(REAL.get(1)), false);
        assertThat(c.id).isNull();
        assertThat(c.model).isNull();
        assertThat(c.choices).singleElement().satisfies(choice -> assertThat(choice.content).isEqualTo("Hel\"lo\n😀"));
    }

    /** Chunks with fields left out, repeated, reordered, of the wrong type, and extra ones. */
    private record Mangler(Random random) {
        String pick(String... options) { return options[random.nextInt(options.length)]; }

        String text() { return pick("\"\"", "\"a\"", "\"x\\\"y\\n\"", "\"\\ud83d\\ude00\"", "null", "1", "true", "{}", "[]"); }

        String number() { return pick("0", "1", "2", "null", "\"0\"", "1.5", "5000000000", "true", "{}", "-1"); }

        String object(String... pairs) {
            List<String> fields = new ArrayList<>();
            for (int i = 0; i < pairs.length; i += 2) {
                if (random.nextInt(5) != 0) fields.add("\"" + pairs[i] + "\":" + pairs[i + 1]);
            }
            if (random.nextInt(8) == 0) {
                int i = 2 * random.nextInt(pairs.length / 2);
                fields.add("\"" + pairs[i] + "\":" + pairs[i + 1]);
            }
            if (random.nextInt(4) == 0) fields.add("\"extra\":" + pick("1", "[1,{\"a\":[]}]", "{\"b\":null}", "\"s\""));
            Collections.shuffle(fields, random);
            return "{" + String.join(",", fields) + "}";
        }

        String array(Supplier<String> element) {
            List<String> items = new ArrayList<>();
            for (int n = random.nextInt(3); n > 0; n--) items.add(random.nextInt(8) == 0 ? pick("1", "null", "[]") : element.get());
            return "[" + String.join(",", items) + "]";
        }

        String toolCall() {
            return object("index", number(), "id", text(), "type", "\"function\"", "function",
                    random.nextInt(6) == 0 ? pick("null", "\"f\"", "[]")
                            : object("name", text(), "arguments", random.nextInt(6) == 0 ? pick("{\"a\":1}", "null", "3") : text()));
        }

        String delta() {
            return object("role", "\"assistant\"", "content", text(), "reasoning_content", text(), "reasoning", text(),
                    "tool_calls", random.nextInt(5) == 0 ? pick("null", "{}", "1") : array(this::toolCall));
        }

        String choice() {
            return object("index", random.nextInt(3) == 0 ? number() : "0",
                    "delta", random.nextInt(6) == 0 ? pick("null", "1", "[]") : delta(),
                    "finish_reason", pick("null", "\"stop\"", "\"tool_calls\"", "1"));
        }

        String details(String name) { return random.nextInt(4) == 0 ? pick("null", "1", "[]") : object(name, number()); }

        String usage() {
            return object("prompt_tokens", number(), "completion_tokens", number(), "total_tokens", number(),
                    "prompt_tokens_details", details("cached_tokens"), "completion_tokens_details", details("reasoning_tokens"));
        }

        String chunk() {
            return object("id", text(), "object", random.nextInt(30) == 0 ? pick("\"error\"", "null") : "\"chat.completion.chunk\"",
                    "created", "1", "model", text(),
                    "choices", random.nextInt(6) == 0 ? pick("null", "{}", "1") : array(this::choice),
                    "usage", random.nextInt(5) == 0 ? pick("null", "1", "[]") : usage(),
                    "error", random.nextInt(30) == 0 ? pick("{\"message\":\"e\"}", "\"e\"") : "null");
        }
    }
}
