package dev.carapace.model;

import com.sun.net.httpserver.HttpServer;
import dev.carapace.model.anthropic.AnthropicFormat;
import dev.carapace.model.openai.OpenAiFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Regression (found from outside): an Anthropic-kind upstream's error message was shown to clients unmasked, so an
 * upstream quoting the key it was sent ("invalid x-api-key sk-ant-...") handed Carapace's key to any caller. Here a
 * real HTTP upstream quotes the key it received, of a shape no pattern knows, in each way an upstream can answer
 * with an error: an error status, an error object in a 200 answer, an error event in a stream.
 */
class ProviderKeyEchoTest {

    private static final String KEY = "corp.gw:Zq-91_mno.pqr/stu";

    enum Answer { STATUS_400, STATUS_500, ERROR_IN_200, ERROR_EVENT }

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : toClose) c.close();
    }

    @ParameterizedTest
    @EnumSource(Answer.class)
    void anthropicUpstreamQuotingTheKeyNeverShowsIt(Answer answer) throws IOException {
        assertKeyMasked(WireApi.ANTHROPIC, answer);
    }

    @ParameterizedTest
    @EnumSource(Answer.class)
    void openAiUpstreamQuotingTheKeyNeverShowsIt(Answer answer) throws IOException {
        assertKeyMasked(WireApi.OPENAI, answer);
    }

    private void assertKeyMasked(WireApi api, Answer answer) throws IOException {
        int status = switch (answer) {
            case STATUS_400 -> 400;
            case STATUS_500 -> 500;
            case ERROR_IN_200, ERROR_EVENT -> 200;
        };
        Provider provider = echoing(api, status, answer == Answer.ERROR_EVENT ? "text/event-stream" : "application/json",
                sent -> {
                    String said = "you sent " + sent + ", which is not valid";
                    String error = api == WireApi.ANTHROPIC
                            ? "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"" + said + "\"}}"
                            : "{\"error\":{\"message\":\"" + said + "\",\"type\":\"invalid_request_error\"}}";
                    return answer != Answer.ERROR_EVENT ? error
                            : api == WireApi.ANTHROPIC ? "event: error\ndata: " + error + "\n\n" : "data: " + error + "\n\n";
                });
        String body = api == WireApi.ANTHROPIC
                ? "{\"model\":\"m\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                : "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        ChatRequest request = format(api).parseRequest(body.getBytes(StandardCharsets.UTF_8));

        ApiException e = assertThrows(ApiException.class, () -> {
            if (answer == Answer.ERROR_EVENT) provider.stream(request, "up-model", 50, Provider.Relay.NONE, event -> { });
            else provider.complete(request, "up-model", 50, Provider.Relay.NONE);
        });
        assertThat(e.getMessage()).as("the upstream's words are passed on").contains("you sent");
        assertThat(e.getMessage()).doesNotContain(KEY).doesNotContain(KEY.substring(0, 12)).contains("***");
    }

    /** An answer passed on as it came (a relayed completion, a transcript, embeddings) does not carry the key either. */
    @Test
    void aSuccessfulAnswerQuotingTheKeyIsPassedOnWithoutIt() throws IOException {
        Provider provider = echoing(WireApi.OPENAI, 200, "application/json", sent ->
                "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"up-model\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"your key is " + sent + ", twice: " + sent + "\"},"
                + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}");
        ChatRequest request = format(WireApi.OPENAI).parseRequest(
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}".getBytes(StandardCharsets.UTF_8));
        for (Provider.Relay relay : Provider.Relay.values()) {
            ChatResponse r = provider.complete(request, "up-model", 50, relay);
            String seen = r.relayed() != null ? new String(r.relayed(), StandardCharsets.UTF_8) : r.text();
            assertThat(seen).as(relay.name()).contains("your key is ***, twice: ***").doesNotContain(KEY);
        }
        assertThat(new String(provider.embed("{}".getBytes(StandardCharsets.UTF_8), "up-model"), StandardCharsets.UTF_8))
                .doesNotContain(KEY).contains("***");
    }

    /** A relayed stream's frames reach the client unread: one that quotes the key, outside any error, is masked too. */
    @Test
    void aRelayedStreamFrameQuotingTheKeyIsPassedOnWithoutIt() throws IOException {
        String chunk = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"up-model\",\"choices\":[{\"index\":0,";
        Provider provider = echoing(WireApi.OPENAI, 200, "text/event-stream", sent ->
                "data: " + chunk + "\"delta\":{\"content\":\"key " + sent + "\"},\"finish_reason\":null}]}\n\n"
                + "data: " + chunk + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
        ChatRequest request = format(WireApi.OPENAI).parseRequest(("{\"model\":\"m\",\"stream\":true,\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi\"}]}").getBytes(StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        provider.stream(request, "up-model", 50, Provider.Relay.ACCOUNTS, event -> {
            if (event instanceof StreamEvent.Frame f) seen.append(new String(f.data(), StandardCharsets.UTF_8));
        });
        assertThat(seen.toString()).contains("key ***").doesNotContain(KEY);
    }

    private static WireFormat format(WireApi api) {
        return api == WireApi.ANTHROPIC ? new AnthropicFormat() : new OpenAiFormat();
    }

    /**
     * A provider holding {@link #KEY}, in front of a real HTTP upstream that answers every request with {@code status},
     * {@code type} and the body {@code answer} makes of the key it received (x-api-key or the bearer token).
     */
    private Provider echoing(WireApi api, int status, String type, java.util.function.Function<String, String> answer)
            throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", x -> {
            x.getRequestBody().readAllBytes();
            String sent = api == WireApi.ANTHROPIC ? x.getRequestHeaders().getFirst("x-api-key")
                    : x.getRequestHeaders().getFirst("authorization").substring("Bearer ".length());
            byte[] bytes = answer.apply(sent).getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().set("content-type", type);
            x.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = x.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        toClose.add(() -> server.stop(0));
        String root = "http://127.0.0.1:" + server.getAddress().getPort();
        Provider provider = new Provider(new ProviderSpec("up", api, URI.create(api == WireApi.ANTHROPIC ? root : root + "/v1"),
                "UP_KEY", Duration.ofSeconds(2), Duration.ofSeconds(5), Map.of()), format(api), KEY);
        toClose.add(provider);
        return provider;
    }
}
