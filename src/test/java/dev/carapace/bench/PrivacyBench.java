package dev.carapace.bench;

import dev.carapace.gateway.Call;
import dev.carapace.identity.Principal;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Role;
import dev.carapace.model.WireApi;
import dev.carapace.privacy.Corpus;
import dev.carapace.privacy.PrivacyRouter;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.privacy.Scanner;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The privacy router's cost on one core: scanning 1 MiB of mixed text (prose in several languages, logs, code and
 * config with keys, mail and chat with personal data: MB/s = 1 / (ms per op) * 1.049), and the whole
 * {@code beforeRoute} of a typical 4 KB chat request (scan every part, decide, redact), with and without findings,
 * and of a Claude Code-shaped Messages request whose tools come to ~30 KB (every field of its body screened).
 *
 * <p>{@code bench/jmh PrivacyBench -f 1}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PrivacyBench {

    String mixed;
    /** Chinese (fullwidth punctuation: read through NFKC), and English with a zero-width space in every line. */
    String chinese, zeroWidth;
    Scanner scanner;
    PrivacyRouter router;
    ChatRequest withPii;
    ChatRequest clean;
    ChatRequest claudeCode;
    ChatRequest claudeCodeWithMail;
    ChatRequest claudeCodeMessagesOnly;
    final Principal alice = new Principal("acme", "platform", "alice", Principal.Role.MEMBER, "cpk_x");

    @Setup
    public void setup() {
        mixed = new Corpus(42).mixedText(1 << 20).substring(0, 1 << 20);
        chinese = "订单已于周二发货，请注意查收。谢谢您的耐心等待，订单号５５２１。\n".repeat(1 << 15).substring(0, 1 << 20);
        zeroWidth = "Order 5521\u200b shipped on 2024-01-02; mail ops@example.com for help.\n".repeat(1 << 14).substring(0, 1 << 20);
        PrivacySpec spec = new PrivacySpec(java.util.Map.of("secret", dev.carapace.privacy.Action.REDACT), java.util.Map.of(),
                java.util.Map.of(), null, PrivacySpec.DEFAULT_PHONE_REGIONS,
                List.of(new PrivacySpec.Dictionary("code_name", "confidential", List.of("Bluebird", "Nightjar", "Red Kite"), false)),
                List.of());
        scanner = new Scanner(spec);
        dev.carapace.model.anthropic.AnthropicFormat anthropic = new dev.carapace.model.anthropic.AnthropicFormat();
        router = new PrivacyRouter(spec, (call, body) -> anthropic.parseRequest(body));
        withPii = request(true);
        clean = request(false);
        claudeCode = anthropic.parseRequest(claudeCodeBody("noreply at anthropic dot com"));
        claudeCodeWithMail = anthropic.parseRequest(claudeCodeBody("noreply@anthropic.com"));
        claudeCodeMessagesOnly = new ChatRequest("m", claudeCode.messages(), List.of(), null, null, null, null, null,
                null, false, false, null, null);
    }

    /**
     * A Messages request shaped like Claude Code's: a ~4 KB system prompt, 30 tools whose descriptions and input
     * schemas (nested properties, enums, defaults) come to about 30 KB, and a short conversation; {@code mail} goes
     * into the Bash tool's description, as Claude Code's co-author line does.
     */
    static byte[] claudeCodeBody(String mail) {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode body = json.createObjectNode().put("model", "m").put("max_tokens", 32000);
        String prose = "Use this tool when the task needs it. Prefer the dedicated tools over shell commands, read a file"
                + " before editing it, keep edits small, and report what changed. Paths are absolute; never guess them. ";
        body.putArray("system").addObject().put("type", "text").put("text", prose.repeat(20));
        com.fasterxml.jackson.databind.node.ArrayNode tools = body.putArray("tools");
        for (int t = 0; t < 30; t++) {
            com.fasterxml.jackson.databind.node.ObjectNode tool = tools.addObject().put("name", "Tool" + t)
                    .put("description", (t == 0 ? "Runs a shell command. Commit with Co-Authored-By: Claude <" + mail + ">. " : "")
                            + prose.repeat(3));
            com.fasterxml.jackson.databind.node.ObjectNode schema = tool.putObject("input_schema").put("type", "object");
            com.fasterxml.jackson.databind.node.ObjectNode props = schema.putObject("properties");
            for (int p = 0; p < 4; p++) {
                com.fasterxml.jackson.databind.node.ObjectNode prop = props.putObject("param_" + p).put("type", "string")
                        .put("description", "The " + p + "th argument of the call: what it names, in the form the tool expects.")
                        .put("default", "value " + p);
                prop.putArray("enum").add("auto").add("manual").add("value " + p);
            }
            schema.putArray("required").add("param_0");
        }
        com.fasterxml.jackson.databind.node.ArrayNode messages = body.putArray("messages");
        messages.addObject().put("role", "user").put("content", "Fix the failing test in src/app.ts and commit the fix.");
        messages.addObject().put("role", "assistant").putArray("content").addObject().put("type", "tool_use")
                .put("id", "toolu_1").put("name", "Tool1").putObject("input").put("param_0", "/work/src/app.ts");
        com.fasterxml.jackson.databind.node.ObjectNode result = messages.addObject().put("role", "user").putArray("content")
                .addObject().put("type", "tool_result").put("tool_use_id", "toolu_1");
        result.put("content", "export function add(a: number, b: number) { return a - b; }\n".repeat(20));
        try {
            return json.writeValueAsBytes(body);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A system prompt and a conversation of about 4 KB; with two e-mails, a phone number and a key when asked. */
    static ChatRequest request(boolean pii) {
        List<Message> m = new ArrayList<>();
        m.add(Message.of(Role.SYSTEM, "You are the support assistant of ACME Corp. Answer briefly and politely. Never invent "
                + "order numbers. When a customer asks about a refund, check the order status first and explain the refund "
                + "policy: refunds within 30 days, store credit after that. Escalate legal questions to the legal team. "
                .repeat(2)));
        for (int i = 0; i < 5; i++) {
            m.add(Message.of(Role.USER, "Hi, my order 55" + i + "21 arrived damaged on 2024-11-0" + (i + 1) + ". The box was open "
                    + "and two of the three items were missing. I would like a replacement or a refund, whichever is faster. "
                    + (pii && i == 2 ? "You can reach me at jane.doe@example.com or +1 415-555-0132, or my partner at "
                    + "john.roe@example.org. Our API key for the integration is sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34. " : "")
                    + "Thanks for your help, this is the second time this happens with the same courier."));
            m.add(Message.of(Role.ASSISTANT, "I am sorry to hear that. I checked order 55" + i + "21: it shipped on time and the "
                    + "courier marked it delivered. I have opened a claim with the courier and started a replacement; you "
                    + "will get a confirmation within one business day. Is there anything else I can help with?"));
        }
        return new ChatRequest("m", m, List.of(), null, null, null, null, null, null, false, false, null, null);
    }

    /**
     * The Claude Code-shaped cases as thread CPU time per call (best of 30 rounds of 200 calls), which a shared,
     * loaded machine disturbs less than JMH's wall time: {@code java -cp <bench/jmh's classpath> dev.carapace.bench.PrivacyBench}.
     */
    public static void main(String[] args) {
        PrivacyBench b = new PrivacyBench();
        b.setup();
        java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        Map<String, java.util.function.Supplier<Object>> cases = new java.util.LinkedHashMap<>();
        cases.put("claudeCodeMessagesOnly", b::claudeCodeMessagesOnly);
        cases.put("claudeCodeRequestClean", b::claudeCodeRequestClean);
        cases.put("claudeCodeRequestRedacted", b::claudeCodeRequestRedacted);
        cases.put("chatRequest4kClean", b::chatRequest4kClean);
        for (var c : cases.entrySet()) {
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 30; round++) {
                long t0 = cpu.getCurrentThreadCpuTime();
                for (int i = 0; i < 200; i++) if (c.getValue().get() == null) throw new AssertionError();
                best = Math.min(best, (cpu.getCurrentThreadCpuTime() - t0) / 200);
            }
            System.out.printf("%-28s %8.1f us CPU per call%n", c.getKey(), best / 1000.0);
        }
        System.out.printf("Claude Code-shaped body: %d bytes%n", claudeCodeBody("noreply@anthropic.com").length);
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int scanOneMebibyteMixed() {
        return scanner.scan(mixed).size();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int scanOneMebibyteChinese() {
        return scanner.scan(chinese).size();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int scanOneMebibyteZeroWidth() {
        return scanner.scan(zeroWidth).size();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Object chatRequest4kWithPii() {
        Call c = new Call("r", alice, WireApi.OPENAI, withPii, null);
        router.beforeRoute(c);
        return c.request();
    }

    /** The whole body of a Claude Code-shaped request screened (tools ~30 KB), nothing found. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Object claudeCodeRequestClean() {
        Call c = new Call("r", alice, WireApi.ANTHROPIC, claudeCode, null);
        router.beforeRoute(c);
        return c.request();
    }

    /** The same with an e-mail in a tool description: scan, decide, redact a copy of the body, read it back. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Object claudeCodeRequestRedacted() {
        Call c = new Call("r", alice, WireApi.ANTHROPIC, claudeCodeWithMail, null);
        router.beforeRoute(c);
        return c.request();
    }

    /** Only the messages of that request, as the router screened before it screened every field: the baseline. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Object claudeCodeMessagesOnly() {
        Call c = new Call("r", alice, WireApi.ANTHROPIC, claudeCodeMessagesOnly, null);
        router.beforeRoute(c);
        return c.request();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Object chatRequest4kClean() {
        Call c = new Call("r", alice, WireApi.OPENAI, clean, null);
        router.beforeRoute(c);
        return c.request();
    }
}
