package dev.carapace.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class JsonSpliceTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[][] MODEL = JsonSplice.path("model");

    private static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    private static String replaced(String json, String value, String... path) {
        return new String(JsonSplice.replaceString(utf8(json), value, JsonSplice.path(path)), StandardCharsets.UTF_8);
    }

    @Test
    void findsTheTopLevelKeyNotOneNestedOrQuotedInAString() {
        String json = """
                {"id":"x","note":"say \\"model\\":\\"fake\\" {[","choices":[{"model":"nested"}],"meta":{"model":"deep"},
                 "model" : "up-model","tail":1}""";
        assertThat(replaced(json, "m-mid", "model")).isEqualTo(json.replace("\"up-model\"", "\"m-mid\""));
    }

    @Test
    void followsAPathIntoNestedObjects() {
        String json = "{\"type\":\"message_start\",\"message\":{\"id\":\"msg\",\"model\":\"claude-up\",\"usage\":{}}}";
        assertThat(replaced(json, "m-claude", "message", "model")).isEqualTo(json.replace("claude-up", "m-claude"));
        assertThat(replaced(json, "m-claude", "model")).as("no top-level model").isEqualTo(json);
    }

    @Test
    void leavesTextAloneWhenTheValueIsNotAStringOrTheTextIsNotAnObject() {
        for (String json : new String[]{"{\"model\":null}", "{\"model\":7}", "{\"model\":{\"a\":1}}", "[{\"model\":\"x\"}]",
                "{\"model\"", "{\"model\":\"unterminated", "{\"a\":\"b\" \"model\":\"x\"}", "", "  ", "{\"a\":[1,2}"}) {
            assertThat(replaced(json, "m", "model")).as(json).isEqualTo(json);
        }
    }

    @Test
    void topLevelGivesEveryKeysSpanOrNullForTextThatIsNotAnObject() {
        byte[] json = utf8(" {\"usage\": {\"a\":[1,{\"b\":\"]}\"}]}, \"choices\":[] ,\"x\":null}\n");
        long[] at = JsonSplice.topLevel(json, JsonSplice.path("usage", "choices", "error"));
        assertThat(new String(json, JsonSplice.start(at[0]), JsonSplice.end(at[0]) - JsonSplice.start(at[0]), StandardCharsets.UTF_8))
                .isEqualTo("{\"a\":[1,{\"b\":\"]}\"}]}");
        assertThat(new String(json, JsonSplice.start(at[1]), 2, StandardCharsets.UTF_8)).isEqualTo("[]");
        assertThat(at[2]).isEqualTo(-1);
        for (String bad : new String[]{"{\"a\":[}]}", "{\"a\":1}x", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":}", "{\"a\":1",
                "[]", "{\"a\":{\"b\":1}", "{\"a\":\"b\\\"}"}) {
            assertThat(JsonSplice.topLevel(utf8(bad), MODEL)).as(bad).isNull();
        }
        assertThat(JsonSplice.topLevel(utf8("{ }"), MODEL)).containsExactly(-1L);
    }

    @Test
    void setTopLevelReplacesInPlaceAndAddsWhatIsMissingAtTheStart() {
        byte[][] keys = JsonSplice.path("model", "max_tokens", "stream_options");
        byte[][] values = {utf8("\"up\""), utf8("64"), null};
        assertThat(new String(JsonSplice.setTopLevel(utf8("{\"a\":1, \"model\" : \"m\",\"stream_options\":{\"x\":1}}"), keys, values),
                StandardCharsets.UTF_8)).isEqualTo("{\"max_tokens\":64,\"a\":1, \"model\" : \"up\",\"stream_options\":{\"x\":1}}");
        assertThat(new String(JsonSplice.setTopLevel(utf8(" { } "), keys, values), StandardCharsets.UTF_8))
                .isEqualTo(" {\"model\":\"up\",\"max_tokens\":64 } ");
        assertThat(JsonSplice.setTopLevel(utf8("{\"mod\\u0065l\":\"m\"}"), keys, values)).as("a key spelled with an escape").isNull();
        assertThat(JsonSplice.setTopLevel(utf8("{\"model\":\"m\""), keys, values)).isNull();
    }

    @Test
    void aValueWithCharactersToEscapeIsQuoted() throws Exception {
        String out = replaced("{\"model\":\"a\"}", "we\"ird\\\n", "model");
        assertThat(JSON.readTree(out).get("model").asText()).isEqualTo("we\"ird\\\n");
    }

    @Test
    void agreesWithJacksonOnRandomDocuments() throws Exception {
        Random random = new Random(42);
        int found = 0;
        for (int i = 0; i < 2_000; i++) {
            ObjectNode doc = randomObject(random, 0);
            String json = random.nextBoolean() ? JSON.writeValueAsString(doc) : JSON.writerWithDefaultPrettyPrinter().writeValueAsString(doc);
            JsonNode model = doc.get("model");
            String out = replaced(json, "carapace-model", "model");
            if (model != null && model.isTextual()) {
                found++;
                ObjectNode expected = doc.deepCopy();
                expected.put("model", "carapace-model");
                assertThat(JSON.readTree(out)).as(json).isEqualTo(expected);
            } else {
                assertThat(out).as(json).isEqualTo(json);
            }
        }
        assertThat(found).as("the documents exercise both cases").isBetween(200, 1_800);
    }

    private static final String[] KEYS = {"model", "id", "choices", "delta", "content", "usage", "mo\"del", "model\\"};
    private static final String[] TEXTS = {"", "plain", "quote \" inside", "back\\slash", "\"model\":\"x\"", "{[}]",
            "ünïcødé ✓ 😀", "new\nline\ttab", "\\\"", "\u0001ctrl"};

    private static ObjectNode randomObject(Random r, int depth) {
        ObjectNode o = JSON.createObjectNode();
        int n = r.nextInt(5);
        int modelAt = depth == 0 && r.nextBoolean() ? r.nextInt(n + 1) : -1;   // a top-level model, anywhere
        for (int i = 0; i <= n; i++) {
            if (i == modelAt) o.put("model", TEXTS[r.nextInt(TEXTS.length)]);
            if (i < n) o.set(KEYS[r.nextInt(KEYS.length)], randomValue(r, depth + 1));
        }
        return o;
    }

    private static JsonNode randomValue(Random r, int depth) {
        int kind = r.nextInt(depth > 3 ? 4 : 6);
        return switch (kind) {
            case 0 -> JSON.getNodeFactory().textNode(TEXTS[r.nextInt(TEXTS.length)]);
            case 1 -> JSON.getNodeFactory().numberNode(r.nextInt(1000) - 500);
            case 2 -> r.nextBoolean() ? JSON.getNodeFactory().booleanNode(r.nextBoolean()) : JSON.getNodeFactory().nullNode();
            case 3 -> JSON.getNodeFactory().numberNode(r.nextDouble());
            case 4 -> randomObject(r, depth);
            default -> {
                ArrayNode a = JSON.createArrayNode();
                for (int i = r.nextInt(4); i > 0; i--) a.add(randomValue(r, depth + 1));
                yield a;
            }
        };
    }
}
