package dev.carapace.model.audio;

import dev.carapace.model.JsonFields;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.Usage;
import dev.carapace.text.Decimals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import static dev.carapace.text.Excerpt.clip;

/**
 * OpenAI's audio API on both sides: a client's transcription fields and speech body validated into requests (a 400 in
 * OpenAI's words names the field), the bodies sent to an OpenAI-compatible upstream ({@code POST /audio/transcriptions}
 * as multipart/form-data, {@code POST /audio/speech} as JSON), and a transcript read back for its texts and the seconds
 * it is metered by.
 */
public final class OpenAiAudio {

    /** Transcript formats; srt and vtt are text with timings, screened as one text. */
    public static final Set<String> TRANSCRIPT_FORMATS = Set.of("json", "text", "verbose_json", "srt", "vtt");
    /** Speech formats, with their media types. */
    public static final Map<String, String> SPEECH_FORMATS = Map.of("mp3", "audio/mpeg", "opus", "audio/opus",
            "aac", "audio/aac", "flac", "audio/flac", "wav", "audio/wav", "pcm", "audio/pcm");
    /** OpenAI's limit of a speech input, and the default of a speech model's {@code max_input_characters}. */
    public static final int MAX_SPEECH_CHARACTERS = 4096;
    /**
     * Bytes per second of the leanest audio a client is likely to send (Opus at 6 kbit/s): an upper bound of a file's
     * seconds when its header cannot say them, for the reservation.
     */
    public static final int MIN_BYTES_PER_SECOND = 750;
    /**
     * Bytes per second of a typical upload (MP3 at 128 kbit/s): a file's seconds when neither it nor the upstream
     * says them, marked estimated.
     */
    private static final int TYPICAL_BYTES_PER_SECOND = 16_000;

    private static final ObjectMapper MAPPER = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();
    private static final ObjectReader CLIENT = MAPPER.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    private static final Pattern LANGUAGE = Pattern.compile("[a-z]{2,3}(-[A-Za-z0-9]{1,8})?");
    private static final Pattern MEDIA_TYPE = Pattern.compile("[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}");
    private static final Pattern SAFE_NAME = Pattern.compile("[^A-Za-z0-9._-]");
    private static final int ECHO = 40;

    private OpenAiAudio() {}

    // ---- transcriptions ----

    /** One text field of a multipart body, by its name, as the client sent it. */
    public record Field(String name, String value) {}

    /**
     * Validates a transcription request's fields (every part but the file) and its file. Each field once but
     * {@code timestamp_granularities[]}; an unknown field is refused, as an unknown JSON argument is.
     */
    public static TranscriptionRequest transcription(List<Field> fields, String fileName, String mediaType, byte[] audio) {
        String model = null, language = null, prompt = null, format = "json", temperature = null;
        List<String> granularities = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Field f : fields) {
            String name = f.name();
            String v = f.value();
            if (!name.equals("timestamp_granularities[]") && !seen.add(name)) {
                throw ApiException.invalid(clip(name, ECHO), clip(name, ECHO) + ": given twice; give each field once");
            }
            switch (name) {
                case "model" -> {
                    if (v.isBlank()) throw ApiException.invalid("model", "model: expected a model id; got an empty field");
                    model = v.strip();
                }
                case "language" -> {
                    if (!LANGUAGE.matcher(v).matches()) {
                        throw ApiException.invalid("language", "language: expected an ISO-639-1 code like 'en'; got '" + clip(v, ECHO) + "'");
                    }
                    language = v;
                }
                case "prompt" -> prompt = v.isEmpty() ? null : v;
                case "response_format" -> {
                    if (!TRANSCRIPT_FORMATS.contains(v)) {
                        throw ApiException.invalid("response_format", "response_format: expected json, text, verbose_json,"
                                + " srt or vtt; got '" + clip(v, ECHO) + "'");
                    }
                    format = v;
                }
                case "temperature" -> {
                    BigDecimal t = Decimals.parse(v.strip());
                    if (t == null || t.signum() < 0 || t.compareTo(BigDecimal.ONE) > 0 || v.strip().length() > 20) {
                        throw ApiException.invalid("temperature", "temperature: expected a number from 0 to 1; got '" + clip(v, ECHO) + "'");
                    }
                    temperature = t.toPlainString();
                }
                case "timestamp_granularities[]" -> {
                    if (!v.equals("word") && !v.equals("segment")) {
                        throw ApiException.invalid("timestamp_granularities", "timestamp_granularities[]: expected 'word'"
                                + " or 'segment'; got '" + clip(v, ECHO) + "'");
                    }
                    if (!granularities.contains(v)) granularities.add(v);
                }
                case "stream" -> {
                    if (!v.equals("false")) {
                        throw ApiException.invalid("stream", "stream: Carapace answers transcriptions whole; send stream=false or leave it out");
                    }
                }
                case "file" -> throw ApiException.invalid("file", "file: expected a file part (with a filename); got a text field");
                default -> throw ApiException.invalid(clip(name, ECHO), "Unrecognized request argument supplied: " + clip(name, ECHO)
                        + ". /v1/audio/transcriptions takes file, model, language, prompt, response_format, temperature"
                        + " and timestamp_granularities[].");
            }
        }
        if (audio == null) throw ApiException.invalid("file", "file: required; expected the audio as a file part of a multipart/form-data body");
        if (audio.length == 0) throw ApiException.invalid("file", "file: the file is empty");
        if (model == null) throw ApiException.invalid("model", "model: required; expected a model id");
        if (!granularities.isEmpty() && !format.equals("verbose_json")) {
            throw ApiException.invalid("timestamp_granularities", "timestamp_granularities[]: needs response_format verbose_json");
        }
        String type = mediaType == null ? null : mediaType.strip().toLowerCase(java.util.Locale.ROOT);
        if (type == null || !MEDIA_TYPE.matcher(type).matches()) type = "application/octet-stream";
        return new TranscriptionRequest(model, safeFileName(fileName, type), type, audio, language, prompt, format,
                temperature, granularities);
    }

    /** The extension OpenAI tells an audio format by, for a file sent without one (a voice note's bytes). */
    private static final Map<String, String> EXTENSIONS = Map.ofEntries(Map.entry("audio/ogg", ".ogg"),
            Map.entry("audio/opus", ".ogg"), Map.entry("audio/mpeg", ".mp3"), Map.entry("audio/mp3", ".mp3"),
            Map.entry("audio/wav", ".wav"), Map.entry("audio/x-wav", ".wav"), Map.entry("audio/wave", ".wav"),
            Map.entry("audio/webm", ".webm"), Map.entry("audio/mp4", ".m4a"), Map.entry("audio/m4a", ".m4a"),
            Map.entry("audio/x-m4a", ".m4a"), Map.entry("audio/flac", ".flac"), Map.entry("video/mp4", ".mp4"));

    /**
     * A file name that can go into a multipart header as it is: letters, digits, '.', '_' and '-' only, no path, at most
     * 64 characters with its extension kept (OpenAI tells the format by it); {@code audio} when nothing is left, with
     * the extension of {@code mediaType} when the name has none.
     */
    static String safeFileName(String name, String mediaType) {
        String safe = safeFileName(name);
        String ext = mediaType == null ? null : EXTENSIONS.get(mediaType);
        return safe.indexOf('.') < 0 && ext != null ? safe + ext : safe;
    }

    private static String safeFileName(String name) {
        if (name == null) return "audio";
        String base = name.substring(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
        String safe = SAFE_NAME.matcher(base).replaceAll("_");
        while (safe.startsWith(".")) safe = safe.substring(1);
        if (safe.length() > 64) {
            int dot = safe.lastIndexOf('.');
            String ext = dot > 0 && safe.length() - dot <= 10 ? safe.substring(dot) : "";
            safe = safe.substring(0, 64 - ext.length()) + ext;
        }
        return safe.isEmpty() ? "audio" : safe;
    }

    /**
     * The multipart body for an upstream serving {@code upstreamModel}: the client's fields, with the prompt as the
     * pipeline left it (redacted, perhaps). Its boundary is random, and no value can hold it: every value but the file
     * is a validated token or a text the boundary is checked against.
     */
    public static Multipart transcriptionBody(TranscriptionRequest r, String prompt, String upstreamModel) {
        String boundary = "carapace-" + java.util.HexFormat.of().formatHex(randomBytes());
        ByteArrayOutputStream out = new ByteArrayOutputStream(r.audio().length + 1024);
        field(out, boundary, "model", upstreamModel);
        if (r.language() != null) field(out, boundary, "language", r.language());
        if (prompt != null && !prompt.isEmpty()) field(out, boundary, "prompt", prompt);
        field(out, boundary, "response_format", r.responseFormat());
        if (r.temperature() != null) field(out, boundary, "temperature", r.temperature());
        for (String g : r.granularities()) field(out, boundary, "timestamp_granularities[]", g);
        write(out, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + r.fileName()
                + "\"\r\nContent-Type: " + r.mediaType() + "\r\n\r\n");
        out.writeBytes(r.audio());
        write(out, "\r\n--" + boundary + "--\r\n");
        byte[] body = out.toByteArray();
        return new Multipart(body, "multipart/form-data; boundary=" + boundary);
    }

    /** A multipart body and its content type (which carries the boundary). */
    public record Multipart(byte[] body, String contentType) {}

    private static byte[] randomBytes() {
        byte[] b = new byte[16];
        new java.security.SecureRandom().nextBytes(b);
        return b;
    }

    private static void field(ByteArrayOutputStream out, String boundary, String name, String value) {
        // A text holding the random boundary would end its part early: refused rather than sent (never seen by chance).
        if (value.contains(boundary)) throw ApiException.invalid(name, name + ": holds the multipart boundary");
        write(out, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n");
    }

    private static void write(ByteArrayOutputStream out, String s) { out.writeBytes(s.getBytes(StandardCharsets.UTF_8)); }

    /**
     * A transcript as the upstream answered it, read: its texts (the whole text, then each segment's and each word's for
     * verbose_json), the seconds it is metered by, and how to write it again with other texts.
     */
    public static final class Transcript {
        private final byte[] body;
        private final String format;
        private final ObjectNode json;
        private final List<String> texts;
        private final Usage usage;

        private Transcript(byte[] body, String format, ObjectNode json, List<String> texts, Usage usage) {
            this.body = body;
            this.format = format;
            this.json = json;
            this.texts = List.copyOf(texts);
            this.usage = usage;
        }

        public List<String> texts() { return texts; }

        /** Seconds of audio ({@link Usage#inputTokens}), as the upstream reported them or as measured here. */
        public Usage usage() { return usage; }

        /** The media type of the answer: JSON, or text for text, srt and vtt. */
        public String mediaType() {
            return switch (format) {
                case "json", "verbose_json" -> "application/json";
                case "vtt" -> "text/vtt; charset=utf-8";
                default -> "text/plain; charset=utf-8";
            };
        }

        /**
         * The answer for the client with {@code replaced} as its texts (as many as {@link #texts}, in order): the
         * upstream's own bytes when nothing changed. When a text changed, a verbose_json answer's words are left out
         * (a value split across words cannot be redacted word by word).
         */
        public byte[] body(List<String> replaced) {
            if (replaced.equals(texts)) return body;
            if (replaced.size() != texts.size()) throw new IllegalArgumentException("a transcript's texts are " + texts.size());
            if (json == null) return replaced.get(0).getBytes(StandardCharsets.UTF_8);
            ObjectNode out = json.deepCopy();
            out.put("text", replaced.get(0));
            int i = 1;
            if (out.get("segments") instanceof ArrayNode segments) {
                for (JsonNode s : segments) if (s instanceof ObjectNode o && o.get("text") != null && o.get("text").isTextual()) o.put("text", replaced.get(i++));
            }
            out.remove("words");
            return out.toString().getBytes(StandardCharsets.UTF_8);
        }
    }

    /**
     * Reads an upstream's transcript in {@code r}'s format. A JSON answer without a text is an upstream failure (502).
     * Its seconds: the upstream's {@code usage} of type duration, else its {@code duration}, else the WAV header's,
     * else the file's size at a typical bit rate (estimated).
     */
    public static Transcript transcript(byte[] body, TranscriptionRequest r) {
        List<String> texts = new ArrayList<>();
        ObjectNode json = null;
        Double seconds = null;
        if (r.responseFormat().equals("json") || r.responseFormat().equals("verbose_json")) {
            JsonNode root;
            try {
                root = MAPPER.readTree(body);
            } catch (IOException e) {
                root = null;
            }
            if (!(root instanceof ObjectNode o) || !(o.get("text") != null && o.get("text").isTextual())) {
                throw ApiException.of(ApiException.Kind.UPSTREAM, "upstream_invalid_response",
                        "the upstream's answer to a transcription request has no text");
            }
            json = o;
            texts.add(o.get("text").asText());
            if (o.get("segments") instanceof ArrayNode segments) {
                for (JsonNode s : segments) if (s.get("text") != null && s.get("text").isTextual()) texts.add(s.get("text").asText());
            }
            if (o.get("words") instanceof ArrayNode words) {
                for (JsonNode w : words) if (w.get("word") != null && w.get("word").isTextual()) texts.add(w.get("word").asText());
            }
            JsonNode u = o.get("usage");
            if (u != null && "duration".equals(u.path("type").asText()) && u.path("seconds").isNumber() && u.path("seconds").asDouble() >= 0) {
                seconds = u.path("seconds").asDouble();
            } else if (o.path("duration").isNumber() && o.path("duration").asDouble() >= 0) {
                seconds = o.path("duration").asDouble();
            }
        } else {
            texts.add(new String(body, StandardCharsets.UTF_8));
        }
        boolean estimated = false;
        if (seconds == null) {
            double wav = Wav.seconds(r.audio());
            if (wav >= 0) {
                seconds = wav;
            } else {
                seconds = (double) r.audio().length / TYPICAL_BYTES_PER_SECOND;
                estimated = true;
            }
        }
        // The words are not a text of their own in the body written back unless nothing changed; see body().
        return new Transcript(body, r.responseFormat(), json, texts, new Usage((long) Math.ceil(seconds), 0, 0, 0, 0, estimated));
    }

    /** The most seconds {@code audio} can be: its WAV header's, else its size at the leanest bit rate. */
    public static long secondsBound(byte[] audio) {
        double wav = Wav.seconds(audio);
        return wav >= 0 ? (long) Math.ceil(wav) : Math.max(1, audio.length / MIN_BYTES_PER_SECOND + 1);
    }

    // ---- speech ----

    /** Validates a client's speech body; a 400 in OpenAI's words names the field that is wrong, and what it expected. */
    public static SpeechRequest speech(byte[] body) {
        JsonNode root = dev.carapace.model.JsonFields.object(CLIENT, body);
        String model = null, input = null, voice = null, format = "mp3", instructions = null;
        Double speed = null;
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            JsonNode v = e.getValue();
            switch (e.getKey()) {
                case "model" -> {
                    if (!v.isTextual() || v.asText().isBlank()) throw JsonFields.wrongType("model", "a model id string", v);
                    model = v.asText();
                }
                case "input" -> {
                    if (!v.isTextual()) throw JsonFields.wrongType("input", "a string", v);
                    if (v.asText().isBlank()) throw ApiException.invalid("input", "input: must not be empty");
                    input = v.asText();
                }
                case "voice" -> {
                    if (!v.isTextual() || v.asText().isBlank()) throw JsonFields.wrongType("voice", "a voice name string", v);
                    voice = v.asText();
                }
                case "response_format" -> {
                    if (v.isNull()) break;
                    if (!v.isTextual() || !SPEECH_FORMATS.containsKey(v.asText())) {
                        throw JsonFields.wrongType("response_format", "one of mp3, opus, aac, flac, wav, pcm", v);
                    }
                    format = v.asText();
                }
                case "speed" -> {
                    if (v.isNull()) break;
                    if (!v.isNumber() || v.asDouble() < 0.25 || v.asDouble() > 4) throw JsonFields.wrongType("speed", "a number from 0.25 to 4", v);
                    speed = v.asDouble();
                }
                case "instructions" -> {
                    if (v.isNull()) break;
                    if (!v.isTextual()) throw JsonFields.wrongType("instructions", "a string", v);
                    instructions = v.asText().isEmpty() ? null : v.asText();
                }
                case "stream_format" -> {
                    if (!v.isTextual() || !v.asText().equals("audio")) {
                        throw JsonFields.wrongType("stream_format", "'audio' (Carapace answers speech whole, not as SSE)", v);
                    }
                }
                default -> throw ApiException.invalid(clip(e.getKey(), ECHO), "Unrecognized request argument supplied: "
                        + clip(e.getKey(), ECHO) + ". /v1/audio/speech takes model, input, voice, response_format, speed,"
                        + " instructions and stream_format.");
            }
        }
        if (model == null) throw ApiException.invalid("model", "model: required; expected a model id string");
        if (input == null) throw ApiException.invalid("input", "input: required; expected the text to speak");
        if (voice == null) throw ApiException.invalid("voice", "voice: required; expected a voice name such as 'alloy'");
        return new SpeechRequest(model, input, voice, format, speed, instructions);
    }

    /** The JSON body for an upstream serving {@code upstreamModel}: the request with the texts as the pipeline left them. */
    public static byte[] speechBody(SpeechRequest r, String input, String instructions, String upstreamModel) {
        ObjectNode body = MAPPER.createObjectNode();
        body.put("model", upstreamModel);
        body.put("input", input);
        body.put("voice", r.voice());
        body.put("response_format", r.responseFormat());
        if (r.speed() != null) body.put("speed", r.speed());
        if (instructions != null) body.put("instructions", instructions);
        return body.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Reads an upstream's speech: the audio with the media type of the format asked for. An answer in JSON or text (an
     * error with status 200, a proxy's page) is an upstream failure (502), never passed on as audio.
     */
    public static Speech speechAnswer(byte[] body, String contentType, SpeechRequest r) {
        String type = contentType == null ? "" : contentType.toLowerCase(java.util.Locale.ROOT);
        if (type.startsWith("application/json") || type.startsWith("text/") || body.length == 0) {
            throw ApiException.of(ApiException.Kind.UPSTREAM, "upstream_invalid_response",
                    "the upstream's answer to a speech request is not audio (" + clip(type.isEmpty() ? "no content type" : type, ECHO) + ")");
        }
        return new Speech(body, SPEECH_FORMATS.get(r.responseFormat()), r.responseFormat());
    }
}
