package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.body;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Images in a chat request (an {@code image_url} part with a data URL) and audio to transcribe, through the whole
 * pipeline, under {@code privacy.image_class}: the class each team's policy gives them decides whether they reach the
 * external vision or transcription model as they came, are kept on a private model, are refused, or (images only)
 * are replaced by a placeholder; audio, which cannot be redacted, is kept private instead.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrivacyImagesAndAudioTest {

    /** A 1x1 PNG. */
    static final String PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
            + "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    @TempDir static Path dir;
    final ScriptedUpstream external = new ScriptedUpstream();
    final ScriptedUpstream local = new ScriptedUpstream();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    Carapace carapace;
    final Map<String, String> keys = new java.util.HashMap<>();

    @BeforeAll
    void start() throws Exception {
        String yaml = """
                org: acme
                providers:
                  ext: {kind: openai, base_url: %s, api_key_env: EXT_KEY}
                  vllm: {kind: openai, base_url: %s}
                models:
                  gpt-vision: {tier: mid, context_window: 128000, max_output_tokens: 1000, price: {input: 1, output: 2}, deployments: [{provider: ext, model: gpt-4o}]}
                  local-vision: {tier: mid, privacy: private, context_window: 32000, max_output_tokens: 1000, price: {input: 0, output: 0}, deployments: [{provider: vllm, model: qwen-vl}]}
                  whisper-ext: {kind: transcription, tier: mid, price: {per_minute: 0.006}, deployments: [{provider: ext, model: whisper-1}]}
                  whisper-local: {kind: transcription, tier: mid, privacy: private, price: {per_minute: 0}, deployments: [{provider: vllm, model: whisper-large}]}
                teams:
                  keep: {}
                  allow: {}
                  block: {}
                  redact: {}
                privacy:
                  image_class: pictures
                  actions: {private: [pictures]}
                  teams:
                    allow: {actions: {allow: [pictures]}}
                    block: {actions: {block: [pictures]}}
                    redact: {actions: {redact: [pictures]}}
                """.formatted(external.openAiBaseUrl(), local.openAiBaseUrl());
        carapace = Carapace.start(ConfigLoader.load(yaml, "images.yaml"), dir, Map.of("EXT_KEY", "k")::get, Clock.systemUTC(), 0);
        for (String team : new String[] {"keep", "allow", "block", "redact"}) {
            keys.put(team, carapace.keyAdmin().create("u-" + team, team, Principal.Role.MEMBER, null).secret());
        }
    }

    @AfterAll
    void stop() {
        carapace.close();
        external.close();
        local.close();
    }

    private HttpResponse<String> chat(String team) {
        String body = """
                {"model":"gpt-vision","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},
                 {"type":"image_url","image_url":{"url":"%s","detail":"low"}}]}]}
                """.formatted(PNG);
        return send(team, "/v1/chat/completions", "application/json", body.getBytes());
    }

    private HttpResponse<String> transcribe(String team) {
        String boundary = "b0undary";
        byte[] body = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-ext\r\n--" + boundary
                + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.ogg\"\r\nContent-Type: audio/ogg\r\n\r\n"
                + "OggS-not-really\r\n--" + boundary + "--\r\n").getBytes();
        return send(team, "/v1/audio/transcriptions", "multipart/form-data; boundary=" + boundary, body);
    }

    private HttpResponse<String> send(String team, String path, String type, byte[] body) {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + carapace.port() + path))
                .header("content-type", type).header("authorization", "Bearer " + keys.get(team))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try {
            return http.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static JsonNode imagePart(RecordedRequest up) {
        return json(body(up)).at("/messages/0/content/1");
    }

    @Test
    void anAllowedImageReachesTheExternalVisionModelAsItCame() {
        external.enqueue(ScriptedUpstream.openAiText("a red dot", 100, 3));
        HttpResponse<String> r = chat("allow");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue("ext/gpt-4o");
        JsonNode image = imagePart(external.take());
        assertThat(image.get("type").asText()).isEqualTo("image_url");
        assertThat(image.at("/image_url/url").asText()).isEqualTo(PNG);
        assertThat(image.at("/image_url/detail").asText()).isEqualTo("low");
    }

    @Test
    void anImageOfAClassKeptPrivateGoesToAPrivateVisionModelWhole() {
        local.enqueue(ScriptedUpstream.openAiText("a red dot", 100, 3));
        HttpResponse<String> r = chat("keep");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue("vllm/qwen-vl");
        assertThat(imagePart(local.take()).at("/image_url/url").asText()).isEqualTo(PNG);
    }

    @Test
    void aBlockedImageIsRefusedAndARedactedOneLeavesAsAPlaceholder() {
        int before = external.requestCount() + local.requestCount();
        HttpResponse<String> blocked = chat("block");
        assertThat(blocked.statusCode()).isEqualTo(400);
        assertThat(json(blocked.body()).at("/error/code").asText()).isEqualTo("privacy_blocked");
        assertThat(json(blocked.body()).at("/error/message").asText()).contains("pictures").contains("image");
        assertThat(external.requestCount() + local.requestCount()).isEqualTo(before);

        external.enqueue(ScriptedUpstream.openAiText("I see a placeholder", 100, 3));
        HttpResponse<String> redacted = chat("redact");
        assertThat(redacted.statusCode()).as(redacted.body()).isEqualTo(200);
        String up = body(external.take());
        assertThat(up).doesNotContain("iVBORw0KGgo").contains("<IMAGE_1>");
    }

    @Test
    void audioCountsAsTheImageClassAndCannotBeRedactedSoItStaysPrivate() {
        external.enqueue(ScriptedUpstream.openAiTranscription("allowed", 1));
        HttpResponse<String> allowed = transcribe("allow");
        assertThat(allowed.statusCode()).as(allowed.body()).isEqualTo(200);
        assertThat(allowed.headers().firstValue("x-carapace-deployment")).hasValue("ext/whisper-1");
        external.take();

        for (String team : new String[] {"keep", "redact"}) {
            local.enqueue(ScriptedUpstream.openAiTranscription("kept here", 1));
            HttpResponse<String> kept = transcribe(team);
            assertThat(kept.statusCode()).as(kept.body()).isEqualTo(200);
            assertThat(kept.headers().firstValue("x-carapace-deployment")).as(team).hasValue("vllm/whisper-large");
            assertThat(ScriptedUpstream.formParts(local.take()).get("file").text()).isEqualTo("OggS-not-really");
        }

        HttpResponse<String> blocked = transcribe("block");
        assertThat(blocked.statusCode()).isEqualTo(400);
        assertThat(json(blocked.body()).at("/error/message").asText()).contains("audio in file");
    }
}
