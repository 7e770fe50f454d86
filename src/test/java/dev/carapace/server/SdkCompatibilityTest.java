package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.carapace.testing.ScriptedUpstream.anthropicFrames;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static dev.carapace.testing.ScriptedUpstream.openAiTextStream;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The official OpenAI and Anthropic SDKs (npm packages, see sdk-tests/), unchanged, against a real Carapace.
 * {@code run-tests} installs them; this test fails rather than skips when they are missing.
 */
class SdkCompatibilityTest {

    @TempDir Path data;

    @Test
    void officialSdksWorkUnchanged() throws Exception {
        Path sdk = Path.of("sdk-tests").toAbsolutePath();
        assertThat(sdk.resolve("node_modules/openai")).as("run-tests installs the SDKs (npm ci in sdk-tests)").exists();
        assertThat(sdk.resolve("node_modules/@anthropic-ai/sdk")).exists();

        try (GatewayHarness h = new GatewayHarness(data, "", null, "", """
                m-whisper: {kind: transcription, tier: free, price: {per_minute: 0.006}, deployments: [{provider: a, model: whisper-1}]}
                m-tts: {kind: speech, tier: free, price: {per_million_characters: 15}, deployments: [{provider: a, model: tts-1}]}
                """)) {
            h.a.respond(req -> {
                String path = req.getUrl().encodedPath();
                if (path.endsWith("/audio/transcriptions")) {
                    ScriptedUpstream.FormPart file = ScriptedUpstream.formParts(req).get("file");
                    return ScriptedUpstream.openAiTranscription("heard " + file.bytes().length + " bytes of "
                            + file.fileName() + " (" + file.contentType() + ")", 1);
                }
                if (path.endsWith("/audio/speech")) return ScriptedUpstream.openAiSpeech(new byte[] {0x49, 0x44, 0x33}, "audio/mpeg");
                String body = ScriptedUpstream.body(req);
                if (req.getUrl().encodedPath().endsWith("/embeddings")) {
                    return ScriptedUpstream.openAiEmbeddings("up-embed", 2, 3, 6, body.contains("\"base64\""));
                }
                if (body.contains("\"stream\":true")) return sse(openAiTextStream(List.of("str", "eam"), 5, 2), 0);
                return openAiText("plain", 5, 1);
            });
            h.b.respond(req -> openAiText("plain", 5, 1));
            h.claude.respond(req -> req.getUrl().encodedPath().endsWith("/count_tokens")
                    ? ScriptedUpstream.anthropicTokenCount(42) : sse(anthropicFrames(
                    "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-up\",\"content\":[],\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}",
                    "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"weather\",\"input\":{}}}",
                    "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}",
                    "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Oslo\\\"}\"}}",
                    "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
                    "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":12}}",
                    "message_stop", "{\"type\":\"message_stop\"}"), 0));

            ProcessBuilder pb = new ProcessBuilder("node", "check.mjs").directory(sdk.toFile())
                    .redirectError(ProcessBuilder.Redirect.INHERIT);
            pb.environment().put("CARAPACE_URL", "http://127.0.0.1:" + h.carapace.port());
            pb.environment().put("CARAPACE_KEY", h.memberKey);
            Process p = pb.start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("node finished").isTrue();
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.exitValue()).as("node exit code; output: " + stdout).isZero();
            JsonNode out = GatewayHarness.json(stdout.strip());

            assertThat(out.get("openaiText").asText()).isEqualTo("plain");
            assertThat(out.get("openaiUsage").asInt()).isEqualTo(5);
            assertThat(out.get("openaiStream").asText()).isEqualTo("stream");
            assertThat(out.get("openaiStreamUsage").asInt()).isEqualTo(2);
            assertThat(out.get("openaiToolName").asText()).isEqualTo("weather");
            assertThat(out.get("openaiToolArgs").get("city").asText()).isEqualTo("Oslo");
            assertThat(out.get("openaiModels")).extracting(JsonNode::asText).contains("m-mid", "m-claude", "m-solo");
            assertThat(out.get("anthropicText").asText()).isEqualTo("plain");
            assertThat(out.get("anthropicStream").asText()).isEqualTo("stream");
            assertThat(out.get("anthropicStreamOutputTokens").asInt()).isEqualTo(2);
            // translated from an OpenAI stream, whose usage comes at the end: message_start has Carapace's own count,
            // not 0, and the final message the upstream's
            assertThat(out.get("anthropicStreamStartInputTokens").asInt()).isBetween(3, 20);
            assertThat(out.get("anthropicStreamInputTokens").asInt()).isEqualTo(5);
            assertThat(out.get("openaiErrorStatus").asInt()).isEqualTo(404);
            assertThat(out.get("openaiErrorCode").asText()).isEqualTo("model_not_found");
            assertThat(out.get("anthropicErrorStatus").asInt()).isEqualTo(400);
            assertThat(out.get("anthropicErrorType").asText()).isEqualTo("invalid_request_error");
            // embeddings: the SDK asks for base64 by default and decodes it back to floats
            assertThat(out.get("embeddingModel").asText()).isEqualTo("m-embed");
            assertThat(out.get("embeddingCount").asInt()).isEqualTo(2);
            assertThat(out.get("embeddingFirst")).extracting(JsonNode::floatValue)
                    .containsExactly(0.001f, 0.0011f, 0.0012f);
            assertThat(out.get("embeddingUsage").asInt()).isEqualTo(6);
            assertThat(out.get("embeddingErrorStatus").asInt()).isEqualTo(400);
            assertThat(out.get("embeddingErrorMessage").asText()).contains("'m-mid' is a chat model");
            // count_tokens: Anthropic's own count through an Anthropic upstream, ours for an OpenAI one
            assertThat(out.get("countTokensClaude").asInt()).isEqualTo(42);
            assertThat(out.get("countTokensLocal").asInt()).isBetween(5, 30);
            // audio: the SDK's multipart upload reaches the upstream whole; speech comes back as the upstream's bytes
            assertThat(out.get("transcriptText").asText()).isEqualTo("heard 16044 bytes of note.wav (audio/wav)");
            assertThat(out.get("speechType").asText()).isEqualTo("audio/mpeg");
            assertThat(out.get("speechBytes").asText()).isEqualTo("494433");
            assertThat(out.get("transcriptionErrorStatus").asInt()).isEqualTo(400);
            assertThat(out.get("transcriptionErrorParam").asText()).isEqualTo("response_format");
        }
    }
}
