package dev.carapace.ledger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.TokenCounter;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The reservation's prompt estimate must never be below what a tokenizer makes of the prompt. */
class PromptBoundTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final List<String> TEXTS = List.of(
            "hello there",
            "",
            " ",
            "The quick brown fox jumps over the lazy dog. ".repeat(50),
            "日本語のテキストです。東京は日本の首都です。漢字、ひらがな、カタカナ。",
            "中文文本：我们在测试分词器的上界。龘靐齉爩",
            "한국어 텍스트입니다. 토큰 수를 세어 봅시다.",
            "Emoji 🙂😀🎉👩‍👩‍👧‍👦🏳️‍🌈 and flags 🇫🇷🇯🇵 and skin tones 👍🏽👍🏿",
            "Ω≈ç√∫˜µ≤≥÷ åß∂ƒ©˙∆˚¬… Zalgo: Z̷̧͎̈́a̶̟̽l̴̰͗g̸̣̾ő̴̧",
            "𝕳𝖊𝖑𝖑𝖔 𝔀𝓸𝓻𝓵𝓭 𠀀𠀁𠀂 (supplementary planes)",
            "{\"json\": [1, 2, 3], \"nested\": {\"k\": \"v\"}}\n\t\r\n",
            "a".repeat(10_000),
            "🙂".repeat(3_000),
            "0123456789".repeat(500),
            "مرحبا بالعالم — שלום עולם — नमस्ते दुनिया — สวัสดีชาวโลก");

    private static ChatRequest request(List<Message> messages, List<Tool> tools) {
        return new ChatRequest("m", messages, tools, null, null, null, null, null, null, false, false, null, null);
    }

    private static void assertBound(ChatRequest r) {
        long bound = PromptSize.promptBound(r);
        int real = TokenCounter.prompt(r);
        assertThat(bound).as("bound of a prompt with %d o200k tokens", real).isGreaterThanOrEqualTo(real);
        // and the raw text part alone never has more tokens than UTF-8 bytes (what the bound is built on)
        for (Message m : r.messages()) {
            for (Part p : m.content()) {
                if (p instanceof Part.Text t) {
                    assertThat((long) t.text().getBytes(StandardCharsets.UTF_8).length)
                            .isGreaterThanOrEqualTo(TokenCounter.count(t.text()));
                }
            }
        }
    }

    @Test
    void boundsEveryTextAlone() {
        for (String text : TEXTS) {
            assertBound(request(List.of(Message.of(Role.USER, text)), List.of()));
            assertBound(request(List.of(Message.of(Role.SYSTEM, text), Message.of(Role.USER, text),
                    Message.of(Role.ASSISTANT, text)), List.of()));
        }
    }

    @Test
    void boundsToolsToolCallsAndResults() throws Exception {
        ObjectNode schema = (ObjectNode) JSON.readTree("""
                {"type":"object","properties":{"city":{"type":"string","description":"城市名 🏙️"},
                 "days":{"type":"integer","minimum":1,"maximum":14}},"required":["city"]}""");
        List<Tool> tools = List.of(new Tool("get_weather", "天気予報を取得する 🌦️", schema), new Tool("noop", null, null));
        List<Message> messages = List.of(
                Message.of(Role.SYSTEM, "You are a weather bot."),
                Message.of(Role.USER, "Wetter in München? 天気は？"),
                new Message(Role.ASSISTANT, List.of(), List.of(new ToolCall("call_1", "get_weather", "{\"city\":\"München\",\"days\":3}"),
                        new ToolCall("call_2", "get_weather", "{\"city\":\"東京\"}")), null, false),
                Message.toolResult("call_1", "{\"temp\":\"12°C\",\"sky\":\"☁️\"}", false),
                Message.toolResult("call_2", "エラー", true));
        assertBound(request(messages, tools));
    }

    @Test
    void imagesAreBoundedGenerously() {
        ChatRequest withImage = request(List.of(new Message(Role.USER,
                List.of(new Part.Text("what is this?"), new Part.Image("https://example.com/cat.png", null, null)),
                List.of(), null, false)), List.of());
        ChatRequest without = request(List.of(Message.of(Role.USER, "what is this?")), List.of());
        assertThat(PromptSize.promptBound(withImage) - PromptSize.promptBound(without)).isGreaterThanOrEqualTo(1_000);
    }

    @Test
    void boundsRandomUnicode() {
        Random random = new Random(7);
        for (int i = 0; i < 300; i++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + random.nextInt(400);
            while (sb.length() < len) {
                int cp = switch (random.nextInt(5)) {
                    case 0 -> 0x20 + random.nextInt(0x5F);               // ASCII
                    case 1 -> 0xA0 + random.nextInt(0x700);              // Latin, Greek, Cyrillic, ...
                    case 2 -> 0x4E00 + random.nextInt(0x5000);           // CJK
                    case 3 -> 0x1F300 + random.nextInt(0x300);           // emoji
                    default -> 0x20000 + random.nextInt(0xA000);         // CJK extension B
                };
                if (Character.isDefined(cp)) sb.appendCodePoint(cp);
            }
            List<Message> messages = new ArrayList<>();
            messages.add(Message.of(Role.USER, sb.toString()));
            assertBound(request(messages, List.of()));
        }
    }

    @Test
    void loneSurrogatesDoNotBreakTheBound() {
        for (String s : List.of("\uD83D", "x\uD83Dy", "\uDE00", "\uDE00\uD83D", "a\uD800\uD83D\uDE00b", "\uD83D\uDE00\uD83D")) {
            assertBound(request(List.of(Message.of(Role.USER, s)), List.of()));
        }
    }

    @Test
    void boundOfTheHarnessPromptIsWhatTheBudgetTestsUse() {
        // system "be brief" (8 bytes) + user "hello there" (11 bytes) + 16 framing tokens per message
        ChatRequest r = LedgerTestKit.parseOpenAi(LedgerTestKit.chatBody("m-mid", false, ""));
        assertThat(PromptSize.promptBound(r)).isEqualTo(16 + 8 + 16 + 11);
    }

    @Test
    void boundsAResponseFormatSchemaToo() {
        // OpenAI counts a json_schema response_format as prompt tokens
        StringBuilder props = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            if (i > 0) props.append(',');
            props.append("\"field_").append(i).append("\":{\"type\":\"string\",\"description\":\"the value of field number ")
                    .append(i).append(" in the extracted record\"}");
        }
        String schema = "{\"type\":\"object\",\"properties\":{" + props + "}}";
        ChatRequest r = LedgerTestKit.parseOpenAi("""
                {"model":"m-mid","messages":[{"role":"user","content":"hi"}],
                 "response_format":{"type":"json_schema","json_schema":{"name":"rec","schema":%s}}}""".formatted(schema));
        assertThat(PromptSize.promptBound(r)).as("o200k tokens of the schema alone: " + TokenCounter.count(schema))
                .isGreaterThanOrEqualTo(TokenCounter.count(schema) + TokenCounter.prompt(r));
    }
}
