package dev.carapace.model.responses;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.WireApi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every field of a Responses request, read into the neutral request and the answer's context; and hostile input refused. */
class ResponsesRequestParserTest {

    private static ResponsesFormat.Parsed parse(String json) {
        return new ResponsesFormat().parse(json.getBytes(StandardCharsets.UTF_8), ResponsesFormat.DEFAULT_OPTIONAL_TOOLS);
    }

    /** What Codex 0.171.0 sends on a tool round (as captured), shortened. */
    private static final String CODEX = """
            {"model":"m","instructions":"top rules","stream":true,"store":false,"include":["reasoning.encrypted_content"],
             "reasoning":{"effort":"high","summary":"auto"},"prompt_cache_key":"sess-1","tool_choice":"auto",
             "parallel_tool_calls":true,"max_output_tokens":2000,"client_metadata":{"turn_id":"t1"},
             "input":[
              {"type":"message","id":"msg_1","role":"developer","content":[{"type":"input_text","text":"dev rules"}]},
              {"type":"message","role":"user","content":[{"type":"input_text","text":"make it"},
                                                         {"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"auto"}]},
              {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"think"}],"encrypted_content":"gAAA"},
              {"type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"on it","annotations":[]}]},
              {"type":"function_call","id":"fc_1","call_id":"c1","name":"exec_command","arguments":"{\\"cmd\\":\\"ls\\"}","status":"completed"},
              {"type":"function_call","call_id":"c2","namespace":"multi_agent_v1","name":"spawn_agent","arguments":"{}"},
              {"type":"function_call_output","id":"fco_1","call_id":"c1","output":"a.txt"},
              {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"spawned"}]},
              {"type":"custom_tool_call","call_id":"c3","name":"apply_patch","input":"*** Begin Patch"},
              {"type":"custom_tool_call_output","call_id":"c3","output":"ok"}],
             "tools":[
              {"type":"function","name":"exec_command","description":"run","strict":false,
               "parameters":{"type":"object","properties":{"cmd":{"type":"string"}}}},
              {"type":"namespace","name":"multi_agent_v1","description":"agents",
               "tools":[{"type":"function","name":"spawn_agent","strict":false,"parameters":{"type":"object","properties":{}}}]},
              {"type":"custom","name":"apply_patch","description":"patch","format":{"type":"grammar","syntax":"lark","definition":"x"}},
              {"type":"web_search","external_web_access":true}]}""";

    @Test
    void codexRequestReadsIntoTheNeutralForm() {
        ResponsesFormat.Parsed p = parse(CODEX);
        ChatRequest r = p.chat();
        assertThat(r.model()).isEqualTo("m");
        assertThat(r.stream()).isTrue();
        assertThat(r.maxTokens()).isEqualTo(2000);
        assertThat(r.parallelToolCalls()).isTrue();
        assertThat(r.toolChoice()).isEqualTo(ToolChoice.AUTO);
        assertThat(r.relaysTo(WireApi.RESPONSES)).isTrue();
        assertThat(r.passthrough().isEmpty()).as("web_search is optional by default: nothing to refuse").isTrue();

        assertThat(r.messages()).extracting(Message::role).containsExactly(Role.SYSTEM, Role.SYSTEM, Role.USER,
                Role.ASSISTANT, Role.TOOL, Role.TOOL, Role.ASSISTANT, Role.TOOL);
        assertThat(r.messages().get(0).text()).isEqualTo("top rules");
        assertThat(r.messages().get(1).text()).isEqualTo("dev rules");
        assertThat(r.messages().get(2).content()).hasSize(2);
        assertThat(r.messages().get(2).content().get(1)).isEqualTo(new Part.Image("data:image/png;base64,AAAA", null, null));
        Message assistant = r.messages().get(3);
        assertThat(assistant.text()).isEqualTo("on it");   // the reasoning item before it is not in the neutral view
        assertThat(assistant.toolCalls()).extracting(c -> c.id() + ":" + c.name())
                .containsExactly("c1:exec_command", "c2:multi_agent_v1__spawn_agent");
        assertThat(r.messages().get(4).toolCallId()).isEqualTo("c1");
        assertThat(r.messages().get(5).text()).isEqualTo("spawned");
        assertThat(r.messages().get(6).toolCalls().get(0).arguments()).isEqualTo("{\"input\":\"*** Begin Patch\"}");

        assertThat(r.tools()).extracting(Tool::name).containsExactly("exec_command", "multi_agent_v1__spawn_agent", "apply_patch");
        assertThat(r.tools().get(2).parameters().at("/properties/input/type").asText()).isEqualTo("string");

        ResponsesContext c = p.context();
        assertThat(c.store()).isFalse();
        assertThat(c.previousResponseId()).isNull();
        assertThat(c.namespaced().get("multi_agent_v1__spawn_agent")).containsExactly("multi_agent_v1", "spawn_agent");
        assertThat(c.customTools()).containsExactly("apply_patch");
        assertThat(c.input()).hasSize(10);
        assertThat(c.echo().get("prompt_cache_key").asText()).isEqualTo("sess-1");
        assertThat(c.echo().has("input")).isFalse();
    }

    @Test
    void hostedToolItemsAreKeptForAResponsesUpstreamAndLeftOutOfTheNeutralView() {
        ResponsesFormat.Parsed p = parse("""
                {"model":"m","input":[{"role":"user","content":"find"},
                 {"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q"}},
                 {"type":"compaction","id":"cmp_1","encrypted_content":"gAAA"},
                 {"role":"assistant","content":"found"}]}""");
        assertThat(p.chat().messages()).extracting(Message::role).containsExactly(Role.USER, Role.ASSISTANT);
        assertThat(p.chat().original().body().get("input")).hasSize(4);
    }

    @Test
    void aStringInputIsOneUserMessageAndStoreIsTheDefault() {
        ResponsesFormat.Parsed p = parse("{\"model\":\"m\",\"input\":\"hello\",\"previous_response_id\":\"resp_1\"}");
        assertThat(p.chat().messages()).singleElement().satisfies(m -> {
            assertThat(m.role()).isEqualTo(Role.USER);
            assertThat(m.text()).isEqualTo("hello");
        });
        assertThat(p.context().store()).isTrue();
        assertThat(p.context().previousResponseId()).isEqualTo("resp_1");
        assertThat(p.context().input().get(0).get("role").asText()).isEqualTo("user");
        assertThat(p.chat().stream()).isFalse();
    }

    @Test
    void structuredOutputAndRequiredHostedToolsAreParametersOnlyTheResponsesApiHas() {
        ResponsesFormat.Parsed p = parse("""
                {"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object"}},"verbosity":"low"},
                 "tools":[{"type":"file_search","vector_store_ids":["v"]}],"tool_choice":"required"}""");
        ChatRequest.Passthrough pt = p.chat().passthrough();
        assertThat(pt.api()).isEqualTo(WireApi.RESPONSES);
        assertThat(pt.fields().get(ResponsesFormat.TEXT_FORMAT).get("name").asText()).isEqualTo("n");
        assertThat(pt.fields().fieldNames()).toIterable().anyMatch(k -> k.startsWith("tools[0] (the hosted file_search tool"));
        assertThat(p.chat().toolChoice().mode()).isEqualTo(ToolChoice.Mode.REQUIRED);

        // translated to Chat Completions: the format maps, the hosted tool is refused by name
        assertThatThrownBy(() -> ResponsesFormat.chatPassthrough(pt)).isInstanceOf(ApiException.class)
                .hasMessageContaining("file_search").hasMessageContaining("Chat Completions");
        ResponsesFormat.Parsed formatOnly = parse("""
                {"model":"m","input":"x","text":{"format":{"type":"json_object"}}}""");
        JsonNode mapped = ResponsesFormat.chatPassthrough(formatOnly.chat().passthrough()).fields();
        assertThat(mapped.at("/response_format/type").asText()).isEqualTo("json_object");
    }

    @Test
    void aClientCanMarkMoreHostedToolsOptional() {
        ResponsesFormat.Parsed p = new ResponsesFormat().parse("""
                {"model":"m","input":"x","tools":[{"type":"file_search"},{"type":"code_interpreter","container":{"type":"auto"}}]}"""
                .getBytes(StandardCharsets.UTF_8), Set.of("file_search", "code_interpreter"));
        assertThat(p.chat().passthrough().isEmpty()).isTrue();
        assertThat(p.chat().tools()).isEmpty();
    }

    @Test
    void forcedToolChoicesNameATool() {
        String tools = "\"tools\":[{\"type\":\"namespace\",\"name\":\"ns\",\"tools\":[{\"type\":\"function\",\"name\":\"f\"}]}]";
        ResponsesFormat.Parsed p = parse("{\"model\":\"m\",\"input\":\"x\"," + tools
                + ",\"tool_choice\":{\"type\":\"function\",\"namespace\":\"ns\",\"name\":\"f\"}}");
        assertThat(p.chat().toolChoice()).isEqualTo(new ToolChoice(ToolChoice.Mode.TOOL, "ns__f"));
        assertThat(p.chat().tools().get(0).parameters().get("type").asText()).isEqualTo("object");
        assertRefused("{\"model\":\"m\",\"input\":\"x\"," + tools + ",\"tool_choice\":{\"type\":\"function\",\"name\":\"g\"}}",
                "tool_choice.name", "no tool named 'g'");
        assertRefused("{\"model\":\"m\",\"input\":\"x\",\"tool_choice\":{\"type\":\"web_search\"}}", "tool_choice.type",
                "only a function or custom tool");
        assertRefused("{\"model\":\"m\",\"input\":\"x\",\"tool_choice\":\"required\"}", "tool_choice", "at least one tool");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            not an object          | []                                                                         |                       | must be a JSON object
            missing model          | {"input":"x"}                                                              | model                 | missing
            model not a string     | {"model":5,"input":"x"}                                                    | model                 | expected a string
            missing input          | {"model":"m"}                                                              | input                 | missing
            input a number         | {"model":"m","input":5}                                                    | input                 | a string or an array of input items; got 5
            empty input            | {"model":"m","input":[]}                                                   | input                 | at least one input item
            item not an object     | {"model":"m","input":["hi"]}                                               | input[0]              | an input item object
            unknown item type      | {"model":"m","input":[{"type":"telepathy"}]}                                | input[0].type         | unsupported input item type telepathy
            item type a number     | {"model":"m","input":[{"type":7}]}                                         | input[0].type         | got 7
            unknown role           | {"model":"m","input":[{"role":"tool","content":"x"}]}                      | input[0].role         | expected one of user, assistant, system, developer
            unknown message field  | {"model":"m","input":[{"role":"user","content":"x","mood":"happy"}]}       | input[0].mood         | unknown field
            content a number       | {"model":"m","input":[{"role":"user","content":3}]}                        | input[0].content      | a string or an array of content parts
            unknown part type      | {"model":"m","input":[{"role":"user","content":[{"type":"hologram"}]}]}    | input[0].content[0].type | unsupported content part type 'hologram'
            image from assistant   | {"model":"m","input":[{"role":"assistant","content":[{"type":"input_image","image_url":"https://x"}]}]} | input[0].content[0].type | only user messages may carry images
            image by file id       | {"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]} | input[0].content[0].file_id | uploaded files are not supported
            file input             | {"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_data":"x"}]}]} | input[0].content[0].type | file inputs are not supported
            call without id        | {"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]} | input[0].call_id    | missing
            arguments an object    | {"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]} | input[0].arguments | got an object
            output missing         | {"model":"m","input":[{"type":"function_call_output","call_id":"c"}]}      | input[0].output       | missing
            item reference         | {"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}             | input[0].type         | item references
            unknown parameter      | {"model":"m","input":"x","temprature":1}                                   | temprature            | Unknown parameter: 'temprature'
            max_output_tokens text | {"model":"m","input":"x","max_output_tokens":"10"}                         | max_output_tokens     | a positive integer; got '10'
            max_output_tokens zero | {"model":"m","input":"x","max_output_tokens":0}                            | max_output_tokens     | a positive integer
            temperature too high   | {"model":"m","input":"x","temperature":3}                                  | temperature           | a number from 0 to 2; got 3
            stream not a boolean   | {"model":"m","input":"x","stream":"yes"}                                   | stream                | true or false; got 'yes'
            long value clipped     | {"model":"m","input":"x","store":"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"} | store | true or false; got 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...'
            store not a boolean    | {"model":"m","input":"x","store":1}                                        | store                 | true or false
            include unknown        | {"model":"m","input":"x","include":["secrets"]}                            | include[0]            | unknown value 'secrets'
            include not array      | {"model":"m","input":"x","include":"reasoning.encrypted_content"}          | include               | an array of strings
            effort unknown         | {"model":"m","input":"x","reasoning":{"effort":"maximum"}}                 | reasoning.effort      | one of none, minimal, low, medium, high, xhigh
            reasoning unknown key  | {"model":"m","input":"x","reasoning":{"budget":5}}                         | reasoning.budget      | unknown field
            text format unknown    | {"model":"m","input":"x","text":{"format":{"type":"xml"}}}                 | text.format.type      | expected text, json_object or json_schema
            schema missing         | {"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"n"}}} | text.format.schema | a JSON Schema object
            background             | {"model":"m","input":"x","background":true}                                | background            | background responses are not supported
            conversation           | {"model":"m","input":"x","conversation":"conv_1"}                          | conversation          | Conversations API is not supported
            prompt template        | {"model":"m","input":"x","prompt":{"id":"pmpt_1"}}                         | prompt                | stored prompt templates are not supported
            tools not an array     | {"model":"m","input":"x","tools":{}}                                       | tools                 | an array of tools
            tool type unknown      | {"model":"m","input":"x","tools":[{"type":"teleport"}]}                    | tools[0].type         | unsupported tool type 'teleport'
            tool name bad          | {"model":"m","input":"x","tools":[{"type":"function","name":"a b"}]}       | tools[0].name         | a-z, A-Z, 0-9
            tool name repeated     | {"model":"m","input":"x","tools":[{"type":"function","name":"f"},{"type":"function","name":"f"}]} | tools[1].name | duplicate tool name 'f'
            tool schema not object | {"model":"m","input":"x","tools":[{"type":"function","name":"f","parameters":{"type":"array"}}]} | tools[0].parameters | "type" must be "object"
            strict not a boolean   | {"model":"m","input":"x","tools":[{"type":"function","name":"f","strict":"yes"}]} | tools[0].strict | true or false
            namespace without list | {"model":"m","input":"x","tools":[{"type":"namespace","name":"n"}]}       | tools[0].tools        | an array of function tools
            metadata value number  | {"model":"m","input":"x","metadata":{"a":1}}                               | metadata.a            | a string
            """)
    void hostileInputIsRefusedNamingTheField(String name, String body, String param, String message) {
        assertRefused(body, param, message);
    }

    @Test
    void aRepeatedKeyIsRefused() {
        assertThatThrownBy(() -> parse("{\"model\":\"m\",\"model\":\"other\",\"input\":\"x\"}"))
                .isInstanceOf(ApiException.class).hasMessageContaining("Duplicate field 'model'");
        assertThatThrownBy(() -> parse("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"role\":\"system\",\"content\":\"x\"}]}"))
                .isInstanceOf(ApiException.class).hasMessageContaining("Duplicate field 'role'");
    }

    @Test
    void malformedAndDeeplyNestedJsonIsA400NotACrash() {
        assertThatThrownBy(() -> parse("{\"model\":\"m\",\"input\":\"x\"} trailing")).isInstanceOf(ApiException.class)
                .hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> parse("")).isInstanceOf(ApiException.class).hasMessageContaining("empty");
        String deep = "[".repeat(5000) + "]".repeat(5000);
        assertThatThrownBy(() -> parse("{\"model\":\"m\",\"input\":" + deep + "}")).isInstanceOf(ApiException.class)
                .satisfies(e -> assertThat(((ApiException) e).kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST))
                .hasMessageContaining("nesting depth");
    }

    @Test
    void aLongConversationParsesQuickly() {
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < 20_000; i++) {
            if (i > 0) items.append(',');
            items.append("{\"type\":\"function_call\",\"call_id\":\"c").append(i).append("\",\"name\":\"f\",\"arguments\":\"{}\"},")
                    .append("{\"type\":\"function_call_output\",\"call_id\":\"c").append(i).append("\",\"output\":\"ok\"}");
        }
        long t0 = System.nanoTime();
        ResponsesFormat.Parsed p = parse("{\"model\":\"m\",\"input\":[" + items + "]}");
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(p.chat().messages()).hasSize(40_000);
        assertThat(millis).as("40,000 items parsed in %d ms", millis).isLessThan(5_000);
    }

    private static void assertRefused(String body, String param, String message) {
        assertThatThrownBy(() -> parse(body)).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
            assertThat(e.param()).isEqualTo(param == null || param.isBlank() ? null : param.strip());
            assertThat(e.getMessage()).contains(message.strip());
        });
    }
}
