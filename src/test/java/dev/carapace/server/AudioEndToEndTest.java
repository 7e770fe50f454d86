package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.Budgets;
import dev.carapace.model.ApiException;
import dev.carapace.model.audio.Speech;
import dev.carapace.model.audio.Wav;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import dev.carapace.testing.ScriptedUpstream.FormPart;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.body;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code POST /v1/audio/transcriptions} and {@code POST /v1/audio/speech} on a real gateway in front of scripted OpenAI
 * upstreams (and espeak-ng on this machine): routed with failover, metered in seconds and characters and charged at
 * the models' prices, budgeted, screened by the privacy router (the speech input before it leaves, the transcript on
 * its way back), and every hostile request refused in OpenAI's error shape before anything goes up. One gateway for the
 * class: each test uses its own budget or none, and reads back its own requests.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AudioEndToEndTest {

    static final long MAX_AUDIO = 256 * 1024;

    @TempDir static Path data;
    GatewayHarness h;
    /** Upstreams that fail in the failover tests, each a provider of its own: a cooling one never slows another test. */
    final ScriptedUpstream flaky = new ScriptedUpstream();
    final ScriptedUpstream flakySpeech = new ScriptedUpstream();

    @BeforeAll
    void start() throws Exception {
        h = new GatewayHarness(data, """
                privacy:
                  actions: {block: [secret], redact: [pii]}
                voice:
                  max_audio_bytes: %d
                """.formatted(MAX_AUDIO), null, """
                local-voice: {kind: espeak, timeout: 10s}
                flaky: {kind: openai, base_url: %s, read_timeout: 2s}
                flaky-speech: {kind: openai, base_url: %s, read_timeout: 2s}
                """.formatted(flaky.openAiBaseUrl(), flakySpeech.openAiBaseUrl()), """
                m-whisper:
                  kind: transcription
                  tier: free
                  price: {per_minute: 0.006}
                  deployments: [{provider: a, model: whisper-1}, {provider: b, model: whisper-1}]
                m-tts:
                  kind: speech
                  tier: free
                  price: {per_million_characters: 15}
                  deployments: [{provider: a, model: tts-1}, {provider: local-voice, model: en-us}]
                m-whisper-short:
                  kind: transcription
                  tier: free
                  max_audio_seconds: 5
                  price: {per_minute: 0.006}
                  deployments: [{provider: a, model: whisper-1}]
                m-whisper-failover:
                  kind: transcription
                  tier: free
                  price: {per_minute: 0.006}
                  deployments: [{provider: flaky, model: whisper-1}, {provider: b, model: whisper-1}]
                m-tts-fallback:
                  kind: speech
                  tier: free
                  price: {per_million_characters: 15}
                  deployments: [{provider: flaky-speech, model: tts-1}, {provider: local-voice, model: en-us}]
                m-espeak:
                  kind: speech
                  tier: free
                  price: {per_million_characters: 0}
                  deployments: [{provider: local-voice, model: en-us}]
                """);
    }

    @AfterAll
    void stop() {
        h.close();
        flaky.close();
        flakySpeech.close();
    }

    // ---- transcriptions ----

    @Test
    void aTranscriptionGoesUpAsRealMultipartAndIsMeteredInSecondsAtThePricePerMinute() {
        byte[] wav = wav(2.0);
        h.a.enqueue(ScriptedUpstream.openAiTranscription("hello there", 3));
        HttpResponse<String> r = transcribe(form("model", "m-whisper", "language", "en", "prompt", "Names: Ada",
                "response_format", "json").file("voice note.wav", "audio/wav", wav));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r.body()).get("text").asText()).isEqualTo("hello there");
        assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue("a/whisper-1");
        RecordedRequest up = h.a.take();
        assertThat(up.getUrl().encodedPath()).isEqualTo("/v1/audio/transcriptions");
        assertThat(up.getHeaders().get("authorization")).isEqualTo("Bearer secret-a");
        Map<String, FormPart> parts = ScriptedUpstream.formParts(up);
        assertThat(parts.get("file").bytes()).isEqualTo(wav);
        assertThat(parts.get("file").fileName()).isEqualTo("voice_note.wav");
        assertThat(parts.get("file").contentType()).isEqualTo("audio/wav");
        assertThat(parts.get("model").text()).isEqualTo("whisper-1");
        assertThat(parts.get("language").text()).isEqualTo("en");
        assertThat(parts.get("prompt").text()).isEqualTo("Names: Ada");
        assertThat(parts.get("response_format").text()).isEqualTo("json");

        UsageRecord rec = h.record(r);
        assertThat(rec.model()).isEqualTo("m-whisper");
        assertThat(rec.inputTokens()).as("seconds, as the upstream reported them").isEqualTo(3);
        assertThat(rec.outputTokens()).isZero();
        assertThat(rec.costNanos()).as("3 s at 0.006 USD per minute").isEqualTo(300_000);
    }

    @Test
    void withoutTheUpstreamsSecondsAWavIsMeteredByItsHeaderAndTextComesBackAsText() {
        h.a.enqueue(ScriptedUpstream.json(200, "ignored").newBuilder().setHeader("content-type", "text/plain")
                .body("just the words").build());
        HttpResponse<String> r = transcribe(form("model", "m-whisper", "response_format", "text").file("a.wav", "audio/wav", wav(4.2)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("just the words");
        assertThat(r.headers().firstValue("content-type").orElseThrow()).startsWith("text/plain");
        h.a.take();
        UsageRecord rec = h.record(r);
        assertThat(rec.inputTokens()).as("4.2 s, rounded up").isEqualTo(5);
        assertThat(rec.estimated()).isFalse();
    }

    /** Regression (found from outside): max_audio_seconds was read from the config and never held a file to it. */
    @Test
    void audioLongerThanTheModelTakesIsRefusedBeforeAnythingGoesUp() {
        int before = h.a.requestCount();
        HttpResponse<String> r = transcribe(form("model", "m-whisper-short").file("a.wav", "audio/wav", wav(6)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode error = h.json(r.body()).get("error");
        assertThat(error.get("param").asText()).isEqualTo("file");
        assertThat(error.get("message").asText()).contains("at most 5 seconds").contains("up to 6");
        assertThat(h.a.requestCount()).as("nothing went up").isEqualTo(before);

        h.a.enqueue(ScriptedUpstream.json(200, "{\"text\":\"ok\"}"));
        HttpResponse<String> fits = transcribe(form("model", "m-whisper-short").file("a.wav", "audio/wav", wav(5)));
        assertThat(fits.statusCode()).as(fits.body()).isEqualTo(200);
        h.a.take();
    }

    @Test
    void aFailingDeploymentFailsOverToTheNextWithTheWholeFile() {
        byte[] audio = wav(1.0);
        flaky.enqueue(ScriptedUpstream.json(500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}"));
        h.b.enqueue(ScriptedUpstream.openAiTranscription("from b", 1));
        HttpResponse<String> r = transcribe(form("model", "m-whisper-failover").file("a.wav", "audio/wav", audio));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r.body()).get("text").asText()).isEqualTo("from b");
        assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue("b/whisper-1");
        flaky.take();
        RecordedRequest second = h.b.take();
        assertThat(second.getHeaders().get("authorization")).isEqualTo("Bearer secret-b");
        assertThat(ScriptedUpstream.formParts(second).get("file").bytes()).isEqualTo(audio);
        assertThat(h.record(r).costNanos()).isEqualTo(100_000);
    }

    @Test
    void aSecretInTheTranscriptIsRefusedAndAnEmailIsRedactedButTheSecondsAreCharged() {
        h.a.enqueue(ScriptedUpstream.openAiTranscription("my key is sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z".repeat(2), 2));
        HttpResponse<String> secret = transcribe(form("model", "m-whisper").file("a.wav", "audio/wav", wav(2)));
        assertThat(secret.statusCode()).as(secret.body()).isEqualTo(400);
        JsonNode error = json(secret.body()).get("error");
        assertThat(error.get("code").asText()).isEqualTo("privacy_blocked");
        assertThat(error.get("message").asText()).contains("transcript").contains("secret").doesNotContain("sk-proj");
        h.a.take();
        UsageRecord refused = h.record(secret);
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.costNanos()).as("the audio was transcribed: its seconds are charged").isEqualTo(200_000);

        h.a.enqueue(ScriptedUpstream.json(200, "{\"text\":\"write to ada@example.com today\",\"segments\":[{\"id\":0,"
                + "\"text\":\"write to ada@example.com\"},{\"id\":1,\"text\":\" today\"}],\"words\":[{\"word\":\"ada@example.com\"}],"
                + "\"duration\":1.5}"));
        HttpResponse<String> pii = transcribe(form("model", "m-whisper", "response_format", "verbose_json",
                "timestamp_granularities[]", "word", "timestamp_granularities[]", "segment").file("a.wav", "audio/wav", wav(2)));
        assertThat(pii.statusCode()).as(pii.body()).isEqualTo(200);
        JsonNode answer = json(pii.body());
        assertThat(answer.get("text").asText()).isEqualTo("write to <EMAIL_1> today");
        assertThat(answer.at("/segments/0/text").asText()).isEqualTo("write to <EMAIL_1>");
        assertThat(answer.at("/segments/1/text").asText()).isEqualTo(" today");
        assertThat(answer.has("words")).as("words cannot be redacted one by one: left out").isFalse();
        assertThat(pii.body()).doesNotContain("ada@example.com");
        Map<String, FormPart> parts = ScriptedUpstream.formParts(h.a.take());
        assertThat(parts.values().stream().filter(p -> p.name().equals("timestamp_granularities[]")).map(FormPart::text))
                .containsExactly("word", "segment");
        assertThat(h.record(pii).inputTokens()).as("verbose_json's duration, rounded up").isEqualTo(2);
    }

    @Test
    void aBudgetRefusesAudioItCannotCoverBeforeAnythingGoesUp() {
        String bob = h.carapace.keyAdmin().create("bob", "platform", Principal.Role.MEMBER, null).secret();
        h.carapace.ledger().budgets().set(new Budgets.Request("user", "bob", null, 20L, "day", "UTC", null, null, null));
        h.a.enqueue(ScriptedUpstream.openAiSpeech(new byte[] {1, 2, 3}, "audio/mpeg"));
        HttpResponse<byte[]> ok = speech(bob, "{\"model\":\"m-tts\",\"input\":\"hello world\",\"voice\":\"alloy\"}");
        assertThat(ok.statusCode()).isEqualTo(200);
        h.a.take();
        int sent = h.a.requestCount() + h.b.requestCount();

        // 9 of 20 left: 30 characters do not fit
        HttpResponse<byte[]> refused = speech(bob, "{\"model\":\"m-tts\",\"input\":\"" + "x".repeat(30) + "\",\"voice\":\"alloy\"}");
        assertThat(refused.statusCode()).as("a budget refusal in OpenAI's shape, as on chat and embeddings").isEqualTo(400);
        JsonNode error = json(new String(refused.body(), StandardCharsets.UTF_8)).get("error");
        assertThat(error.get("code").asText()).isEqualTo("budget_exceeded");
        assertThat(error.get("message").asText()).contains("11 of 20 tokens spent").contains("(30 tokens)");

        // an MP3 of 100 kB may be 134 s long (at the leanest bit rate): more than is left
        HttpResponse<String> audio = send(form("model", "m-whisper").file("a.mp3", "audio/mpeg", new byte[100_000]),
                null, bob);
        assertThat(audio.statusCode()).isEqualTo(400);
        assertThat(json(audio.body()).at("/error/code").asText()).isEqualTo("budget_exceeded");
        assertThat(h.a.requestCount() + h.b.requestCount()).as("nothing went up after the first").isEqualTo(sent);
    }

    // ---- speech ----

    @Test
    void speechGoesUpAsJsonComesBackAsTheUpstreamsAudioAndIsMeteredInCharacters() {
        byte[] mp3 = "ID3\u0004fake-mp3-frames".getBytes(StandardCharsets.ISO_8859_1);
        h.a.enqueue(ScriptedUpstream.openAiSpeech(mp3, "audio/mpeg"));
        HttpResponse<byte[]> r = speech("{\"model\":\"m-tts\",\"input\":\"hello world\",\"voice\":\"alloy\",\"speed\":1.5}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(mp3);
        assertThat(r.headers().firstValue("content-type")).hasValue("audio/mpeg");
        RecordedRequest up = h.a.take();
        assertThat(up.getUrl().encodedPath()).isEqualTo("/v1/audio/speech");
        assertThat(json(body(up))).isEqualTo(json("{\"model\":\"tts-1\",\"input\":\"hello world\",\"voice\":\"alloy\","
                + "\"response_format\":\"mp3\",\"speed\":1.5}"));
        UsageRecord rec = h.record(r);
        assertThat(rec.model()).isEqualTo("m-tts");
        assertThat(rec.inputTokens()).as("characters").isEqualTo(11);
        assertThat(rec.costNanos()).as("11 characters at 15 USD per million").isEqualTo(165_000);
    }

    @Test
    void aSecretInTheSpeechInputNeverLeavesAndAnEmailLeavesAsAPlaceholder() {
        HttpResponse<byte[]> secret = speech("{\"model\":\"m-tts\",\"voice\":\"alloy\",\"input\":\"the key is AKIAIOSFODNN7EXAMPLE\"}");
        assertThat(secret.statusCode()).isEqualTo(400);
        JsonNode error = json(new String(secret.body(), StandardCharsets.UTF_8)).get("error");
        assertThat(error.get("code").asText()).isEqualTo("privacy_blocked");
        assertThat(error.get("param").asText()).isEqualTo("input");

        h.a.enqueue(ScriptedUpstream.openAiSpeech(new byte[] {9, 9}, "audio/mpeg"));
        HttpResponse<byte[]> pii = speech("{\"model\":\"m-tts\",\"voice\":\"alloy\",\"input\":\"mail ada@example.com now\"}");
        assertThat(pii.statusCode()).isEqualTo(200);
        assertThat(json(body(h.a.take())).get("input").asText()).isEqualTo("mail <EMAIL_1> now");
    }

    @Test
    void whenTheUpstreamFailsEspeakSpeaksAValidWavAndSaysItIsNotTheFormatAskedFor() {
        flakySpeech.enqueue(ScriptedUpstream.json(503, "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}"));
        HttpResponse<byte[]> r = speech("{\"model\":\"m-tts-fallback\",\"input\":\"Hello from the fallback voice.\",\"voice\":\"alloy\"}");
        assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        flakySpeech.take();
        assertValidWav(r.body());
        assertThat(r.headers().firstValue("content-type")).hasValue("audio/wav");
        assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue("local-voice/en-us");
        assertThat(r.headers().firstValue("x-carapace-converted")).hasValue("response_format=mp3->wav");
        UsageRecord rec = h.record(r);
        assertThat(rec.inputTokens()).isEqualTo(30);
        assertThat(rec.costNanos()).isEqualTo(450_000);
    }

    @Test
    void espeakTakesHostileTextAsTextAndOnlyVoicesItHas() {
        // text that would be options on a command line is spoken: it goes on standard input
        HttpResponse<byte[]> dash = speech("{\"model\":\"m-espeak\",\"input\":\"--help -w /tmp/pwned.wav -v xx\",\"voice\":\"en-gb\",\"response_format\":\"wav\"}");
        assertThat(dash.statusCode()).isEqualTo(200);
        assertValidWav(dash.body());
        assertThat(Path.of("/tmp/pwned.wav")).doesNotExist();
        assertThat(dash.headers().firstValue("x-carapace-converted")).isEmpty();
        UsageRecord rec = h.record(dash);
        assertThat(rec.inputTokens()).isEqualTo(30);
        assertThat(rec.costNanos()).as("a local voice is free, and still counted").isZero();

        for (String voice : new String[] {"en-us --stdout", "en;id", "../../etc/passwd", "-w/tmp/x", "xx-nope", "en\nus"}) {
            HttpResponse<byte[]> bad = speech("{\"model\":\"m-espeak\",\"input\":\"hi\",\"voice\":" + ScriptedUpstream.quote(voice) + "}");
            assertThat(bad.statusCode()).as(voice).isEqualTo(400);
            JsonNode error = json(new String(bad.body(), StandardCharsets.UTF_8)).get("error");
            assertThat(error.get("param").asText()).isEqualTo("voice");
            assertThat(error.get("message").asText()).contains("espeak-ng");
        }

        HttpResponse<byte[]> pcm = speech("{\"model\":\"m-espeak\",\"input\":\"one two\",\"voice\":\"alloy\",\"response_format\":\"pcm\"}");
        assertThat(pcm.statusCode()).isEqualTo(200);
        assertThat(pcm.headers().firstValue("content-type")).hasValue("audio/pcm");
        assertThat(new String(pcm.body(), 0, 4, StandardCharsets.ISO_8859_1)).isNotEqualTo("RIFF");
        assertThat(pcm.body().length).isGreaterThan(4000);
    }

    // ---- hostile requests ----

    @Test
    void hostileSpeechBodiesGetA400NamingTheField() {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("{\"model\":\"m-tts\",\"input\":\"\",\"voice\":\"alloy\"}", "input: must not be empty");
        cases.put("{\"model\":\"m-tts\",\"input\":\"   \",\"voice\":\"alloy\"}", "input: must not be empty");
        cases.put("{\"model\":\"m-tts\",\"voice\":\"alloy\"}", "input: required");
        cases.put("{\"model\":\"m-tts\",\"input\":\"hi\"}", "voice: required");
        cases.put("{\"model\":\"m-tts\",\"input\":5,\"voice\":\"alloy\"}", "input: expected a string");
        cases.put("{\"model\":\"m-tts\",\"input\":\"hi\",\"voice\":\"alloy\",\"response_format\":\"ogg\"}", "response_format: expected one of mp3");
        cases.put("{\"model\":\"m-tts\",\"input\":\"hi\",\"voice\":\"alloy\",\"speed\":9}", "speed: expected a number from 0.25 to 4");
        cases.put("{\"model\":\"m-tts\",\"input\":\"hi\",\"voice\":\"alloy\",\"stream_format\":\"sse\"}", "stream_format");
        cases.put("{\"model\":\"m-tts\",\"input\":\"hi\",\"voice\":\"alloy\",\"extra\":1}", "Unrecognized request argument supplied: extra");
        cases.put("{\"model\":\"m-tts\",\"input\":\"hi\",\"input\":\"again\",\"voice\":\"alloy\"}", "Duplicate field 'input'");
        cases.put("{\"model\":\"m-tts\",\"input\":\"" + "y".repeat(4097) + "\",\"voice\":\"alloy\"}", "speaks at most 4096 characters; got 4097");
        cases.put("{\"model\":\"m-whisper\",\"input\":\"hi\",\"voice\":\"alloy\"}", "'m-whisper' is a transcription model");
        cases.forEach((request, message) -> {
            HttpResponse<byte[]> r = speech(request);
            assertThat(r.statusCode()).as(request).isEqualTo(400);
            JsonNode error = json(new String(r.body(), StandardCharsets.UTF_8)).get("error");
            assertThat(error.get("type").asText()).as(request).isEqualTo("invalid_request_error");
            assertThat(error.get("message").asText()).as(request).contains(message);
        });
    }

    @Test
    void hostileTranscriptionFormsGetA400Or415NamingTheField() {
        int before = h.a.requestCount() + h.b.requestCount();
        Map<Form, String> cases = new java.util.LinkedHashMap<>();
        cases.put(form("model", "m-whisper"), "file: required");
        cases.put(form().file("a.wav", "audio/wav", wav(1)), "model: required");
        cases.put(form("model", "m-whisper").file("a.wav", "audio/wav", new byte[0]), "file: the file is empty");
        cases.put(form("model", "m-whisper", "response_format", "xml").file("a.wav", "audio/wav", wav(1)), "response_format: expected json, text, verbose_json");
        cases.put(form("model", "m-whisper", "temperature", "hot").file("a.wav", "audio/wav", wav(1)), "temperature: expected a number from 0 to 1");
        // 12 characters that are a billion digits written out: refused, not an out-of-memory 500 (found by a tester)
        cases.put(form("model", "m-whisper", "temperature", "1e-999999999").file("a.wav", "audio/wav", wav(1)), "temperature: expected a number from 0 to 1");
        cases.put(form("model", "m-whisper", "language", "en\r\nX-Evil: 1").file("a.wav", "audio/wav", wav(1)), "language: expected an ISO-639-1 code");
        cases.put(form("model", "m-whisper", "model", "m-whisper").file("a.wav", "audio/wav", wav(1)), "model: given twice");
        cases.put(form("model", "m-whisper", "voice", "alloy").file("a.wav", "audio/wav", wav(1)), "Unrecognized request argument supplied: voice");
        cases.put(form("model", "m-whisper", "stream", "true").file("a.wav", "audio/wav", wav(1)), "stream:");
        cases.put(form("model", "m-whisper", "timestamp_granularities[]", "word").file("a.wav", "audio/wav", wav(1)), "needs response_format verbose_json");
        cases.put(form("model", "m-whisper").file("a.wav", "audio/wav", wav(1)).file("b.wav", "audio/wav", wav(1)), "file: given twice");
        cases.put(form("model", "m-tts").file("a.wav", "audio/wav", wav(1)), "'m-tts' is a speech model");
        cases.forEach((f, message) -> {
            HttpResponse<String> r = transcribe(f);
            assertThat(r.statusCode()).as(message).isEqualTo(400);
            JsonNode error = json(r.body()).get("error");
            assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
            assertThat(error.get("message").asText()).contains(message);
        });

        HttpResponse<String> asJson = h.post("/v1/audio/transcriptions", h.memberKey, "{\"model\":\"m-whisper\",\"file\":\"x\"}");
        assertThat(asJson.statusCode()).isEqualTo(415);
        assertThat(json(asJson.body()).at("/error/message").asText()).contains("multipart/form-data");

        Form ok = form("model", "m-whisper").file("a.wav", "audio/wav", wav(1));
        HttpResponse<String> noBoundary = send(ok, "multipart/form-data");
        assertThat(noBoundary.statusCode()).isEqualTo(400);
        assertThat(json(noBoundary.body()).at("/error/message").asText()).contains("needs a boundary");
        HttpResponse<String> otherBoundary = send(ok, "multipart/form-data; boundary=not-the-one-used");
        assertThat(otherBoundary.statusCode()).isEqualTo(400);
        assertThat(json(otherBoundary.body()).at("/error/message").asText()).contains("could not be read");
        Form many = form("model", "m-whisper");
        for (int i = 0; i < 20; i++) many.field("x" + i, "y");
        HttpResponse<String> tooMany = transcribe(many.file("a.wav", "audio/wav", wav(1)));
        assertThat(tooMany.statusCode()).isEqualTo(400);
        assertThat(json(tooMany.body()).at("/error/message").asText()).contains("at most 16 parts");
        HttpResponse<String> unauthenticated = send(ok, ok.contentType(), null);
        assertThat(unauthenticated.statusCode()).isEqualTo(401);

        assertThat(h.a.requestCount() + h.b.requestCount()).as("nothing went up").isEqualTo(before);
    }

    @Test
    void aHostileFileNameGoesUpTamed() {
        h.a.enqueue(ScriptedUpstream.openAiTranscription("ok", 1));
        HttpResponse<String> r = transcribe(form("model", "m-whisper")
                .file("../../etc/\"passwd\";.wav", "audio/wav; x=\"y\"\r\nX-Injected: 1", wav(1)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        FormPart file = ScriptedUpstream.formParts(h.a.take()).get("file");
        assertThat(file.fileName()).isEqualTo("_22passwd_22_.wav");
        assertThat(file.contentType()).isEqualTo("application/octet-stream");
    }

    @Test
    void anAudioFileOverTheLimitIsRefusedWith413BeforeItIsRead() throws IOException {
        // declared: refused from the Content-Length, with the body not sent
        String head = "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + h.memberKey
                + "\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 500000000\r\n\r\n";
        String answer = raw(head.getBytes(StandardCharsets.US_ASCII));
        assertThat(answer).startsWith("HTTP/1.1 413").contains("voice.max_audio_bytes").contains("\"param\":\"file\"");

        // chunked, no length: refused while it is read, once past the limit
        Form big = form("model", "m-whisper").file("a.mp3", "audio/mpeg", new byte[(int) MAX_AUDIO + 10]);
        ByteArrayOutputStream chunked = new ByteArrayOutputStream();
        chunked.writeBytes(("POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + h.memberKey
                + "\r\nContent-Type: " + big.contentType() + "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        byte[] body = big.bytes();
        for (int at = 0; at < body.length; at += 32_768) {
            int n = Math.min(32_768, body.length - at);
            chunked.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            chunked.write(body, at, n);
            chunked.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        chunked.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(raw(chunked.toByteArray())).startsWith("HTTP/1.1 413");
    }

    // ---- the seam for channels ----

    @Test
    void theGatewaysVoiceTranscribesAndSpeaksForAPrincipalThroughThePipeline() {
        Principal alice = new Principal("acme", "platform", "alice", Principal.Role.MEMBER, "ck_voice");
        h.a.enqueue(ScriptedUpstream.openAiTranscription("call me at noon", 2));
        String text = h.carapace.voice().transcribe(alice, "note.ogg", "audio/ogg", new byte[4000]);
        assertThat(text).isEqualTo("call me at noon");
        Map<String, FormPart> parts = ScriptedUpstream.formParts(h.a.take());
        assertThat(parts.get("model").text()).as("the first transcription model's deployment").isEqualTo("whisper-1");
        assertThat(parts.get("file").contentType()).isEqualTo("audio/ogg");

        h.a.enqueue(ScriptedUpstream.openAiTranscription("token sk-ant-api03-" + "Zq8xW2vB5nM1kL4jH7gF0dS3aP6oI9uY".repeat(3), 2));
        assertThatThrownBy(() -> h.carapace.voice().transcribe(alice, "note.ogg", "audio/ogg", new byte[4000]))
                .isInstanceOf(ApiException.class).hasMessageContaining("privacy policy");
        h.a.take();

        h.a.enqueue(ScriptedUpstream.openAiSpeech(new byte[] {7, 7, 7}, "audio/mpeg"));
        Speech speech = h.carapace.voice().speak(alice, "on my way");
        assertThat(speech.audio()).containsExactly(7, 7, 7);
        assertThat(speech.mediaType()).isEqualTo("audio/mpeg");
        assertThat(json(body(h.a.take())).get("voice").asText()).isEqualTo("alloy");
        long voiceRecords = h.carapace.store().usageLog().recent(50).stream()
                .filter(u -> u.requestId().startsWith("voice_") && u.status() == 200).count();
        assertThat(voiceRecords).as("recorded like any call").isGreaterThanOrEqualTo(2);
    }

    // ---- helpers ----

    private static void assertValidWav(byte[] b) {
        assertThat(new String(b, 0, 4, StandardCharsets.ISO_8859_1)).isEqualTo("RIFF");
        assertThat(new String(b, 8, 4, StandardCharsets.ISO_8859_1)).isEqualTo("WAVE");
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(le.getInt(4)).as("the RIFF size is what the file holds").isEqualTo(b.length - 8);
        assertThat(b.length).isGreaterThan(10_000);
        assertThat(Wav.seconds(b)).isGreaterThan(0.3);
    }

    /** A WAV of silence: 8 kHz, 16-bit mono. */
    static byte[] wav(double seconds) {
        int data = (int) (seconds * 16_000);
        ByteBuffer b = ByteBuffer.allocate(44 + data).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + data).put("WAVE".getBytes(StandardCharsets.US_ASCII));
        b.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 1).putInt(8000)
                .putInt(16_000).putShort((short) 2).putShort((short) 16);
        b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(data);
        return b.array();
    }

    /** A multipart/form-data body, written by hand so that tests can make it wrong. */
    static final class Form {
        private final String boundary = "----test" + Long.toHexString(System.nanoTime());
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Form field(String name, String value) {
            out.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            return this;
        }

        Form file(String fileName, String type, byte[] bytes) {
            out.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
                    + fileName.replace("\"", "%22") + "\"\r\nContent-Type: " + type.replace("\r\n", " ") + "\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            out.writeBytes(bytes);
            out.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
            return this;
        }

        String contentType() { return "multipart/form-data; boundary=" + boundary; }

        byte[] bytes() {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            all.writeBytes(out.toByteArray());
            all.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
            return all.toByteArray();
        }
    }

    static Form form(String... namesAndValues) {
        Form f = new Form();
        for (int i = 0; i < namesAndValues.length; i += 2) f.field(namesAndValues[i], namesAndValues[i + 1]);
        return f;
    }

    HttpResponse<String> transcribe(Form f) { return send(f, f.contentType()); }

    HttpResponse<String> send(Form f, String contentType) { return send(f, contentType, h.memberKey); }

    /** @param contentType the form's own when null */
    HttpResponse<String> send(Form f, String contentType, String key) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(h.url("/v1/audio/transcriptions")))
                .header("content-type", contentType == null ? f.contentType() : contentType).POST(HttpRequest.BodyPublishers.ofByteArray(f.bytes()));
        if (key != null) r.header("authorization", "Bearer " + key);
        return h.send(r.build());
    }

    HttpResponse<byte[]> speech(String json) { return speech(h.memberKey, json); }

    HttpResponse<byte[]> speech(String key, String json) {
        HttpRequest r = HttpRequest.newBuilder(URI.create(h.url("/v1/audio/speech")))
                .header("content-type", "application/json").header("authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
        try {
            return h.http.send(r, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** Sends raw bytes on a fresh connection and reads the answer until the server closes it or 5 s pass. */
    private String raw(byte[] request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", h.carapace.port())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            try {
                out.write(request);
                out.flush();
            } catch (IOException closedEarly) {
                // the server may answer and close before the whole body is written: its answer is what counts
            }
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) != -1; ) {
                    got.write(buf, 0, n);
                    String sofar = got.toString(StandardCharsets.ISO_8859_1);
                    int end = sofar.indexOf("\r\n\r\n");
                    if (end > 0 && sofar.contains("}}")) break;
                }
            } catch (IOException reset) {
                // a reset after the answer
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
