package dev.carapace.model;

import com.sun.net.httpserver.HttpServer;
import dev.carapace.model.anthropic.AnthropicFormat;
import dev.carapace.model.openai.OpenAiFormat;
import org.junit.jupiter.api.AfterEach;
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
        URI base = upstream(api, answer);
        WireFormat format = api == WireApi.ANTHROPIC ? new AnthropicFormat() : new OpenAiFormat();
        Provider provider = new Provider(new ProviderSpec("up", api, base, "UP_KEY", Duration.ofSeconds(2),
                Duration.ofSeconds(5), Map.of()), format, KEY);
        toClose.add(provider);
        String body = api == WireApi.ANTHROPIC
                ? "{\"model\":\"m\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                : "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        ChatRequest request = format.parseRequest(body.getBytes(StandardCharsets.UTF_8));

        ApiException e = assertThrows(ApiException.class, () -> {
            if (answer == Answer.ERROR_EVENT) provider.stream(request, "up-model", 50, Provider.Relay.NONE, event -> { });
            else provider.complete(request, "up-model", 50, Provider.Relay.NONE);
        });
        assertThat(e.getMessage()).as("the upstream's words are passed on").contains("you sent");
        assertThat(e.getMessage()).doesNotContain(KEY).doesNotContain(KEY.substring(0, 12)).contains("***");
    }

    /** An answer passed on as it came (a relayed completion, a transcript, embeddings) does not carry the key either. */
    @org.junit.jupiter.api.Test
    void aSuccessfulAnswerQuotingTheKeyIsPassedOnWithoutIt() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", x -> {
            x.getRequestBody().readAllBytes();
            String sent = x.getRequestHeaders().getFirst("authorization").substring("Bearer ".length());
            byte[] bytes = ("{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"up-model\",\"choices\":[{\"index\":0,"
                    + "\"message\":{\"role\":\"assistant\",\"content\":\"your key is " + sent + ", twice: " + sent + "\"},"
                    + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}")
                    .getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().set("content-type", "application/json");
            x.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = x.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        toClose.add(() -> server.stop(0));
        URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
        OpenAiFormat format = new OpenAiFormat();
        Provider provider = new Provider(new ProviderSpec("up", WireApi.OPENAI, base, "UP_KEY", Duration.ofSeconds(2),
                Duration.ofSeconds(5), Map.of()), format, KEY);
        toClose.add(provider);
        ChatRequest request = format.parseRequest(
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
    @org.junit.jupiter.api.Test
    void aRelayedStreamFrameQuotingTheKeyIsPassedOnWithoutIt() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", x -> {
            x.getRequestBody().readAllBytes();
            String sent = x.getRequestHeaders().getFirst("authorization").substring("Bearer ".length());
            String chunk = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"up-model\",\"choices\":[{\"index\":0,";
            byte[] bytes = ("data: " + chunk + "\"delta\":{\"content\":\"key " + sent + "\"},\"finish_reason\":null}]}\n\n"
                    + "data: " + chunk + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
                    .getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().set("content-type", "text/event-stream");
            x.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = x.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        toClose.add(() -> server.stop(0));
        OpenAiFormat format = new OpenAiFormat();
        Provider provider = new Provider(new ProviderSpec("up", WireApi.OPENAI, URI.create("http://127.0.0.1:"
                + server.getAddress().getPort() + "/v1"), "UP_KEY", Duration.ofSeconds(2), Duration.ofSeconds(5), Map.of()),
                format, KEY);
        toClose.add(provider);
        ChatRequest request = format.parseRequest(("{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"hi\"}]}").getBytes(StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        provider.stream(request, "up-model", 50, Provider.Relay.ACCOUNTS, event -> {
            if (event instanceof StreamEvent.Frame f) seen.append(new String(f.data(), StandardCharsets.UTF_8));
        });
        assertThat(seen.toString()).contains("key ***").doesNotContain(KEY);
    }

    /** An upstream that answers with an error quoting the key it received, whole. */
    private URI upstream(WireApi api, Answer answer) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", x -> {
            x.getRequestBody().readAllBytes();
            String sent = api == WireApi.ANTHROPIC ? x.getRequestHeaders().getFirst("x-api-key")
                    : x.getRequestHeaders().getFirst("authorization").substring("Bearer ".length());
            String said = "you sent " + sent + ", which is not valid";
            String error = api == WireApi.ANTHROPIC
                    ? "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"" + said + "\"}}"
                    : "{\"error\":{\"message\":\"" + said + "\",\"type\":\"invalid_request_error\"}}";
            int status = switch (answer) {
                case STATUS_400 -> 400;
                case STATUS_500 -> 500;
                case ERROR_IN_200, ERROR_EVENT -> 200;
            };
            String body = answer != Answer.ERROR_EVENT ? error
                    : api == WireApi.ANTHROPIC ? "event: error\ndata: " + error + "\n\n" : "data: " + error + "\n\n";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().set("content-type", answer == Answer.ERROR_EVENT ? "text/event-stream" : "application/json");
            x.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = x.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        toClose.add(() -> server.stop(0));
        String root = "http://127.0.0.1:" + server.getAddress().getPort();
        return URI.create(api == WireApi.ANTHROPIC ? root : root + "/v1");
    }
}
