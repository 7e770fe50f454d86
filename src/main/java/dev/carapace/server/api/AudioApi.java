package dev.carapace.server.api;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.Gateway;
import dev.carapace.gateway.Operation;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.WireApi;
import dev.carapace.model.audio.OpenAiAudio;
import dev.carapace.model.audio.Speech;
import dev.carapace.model.audio.SpeechRequest;
import dev.carapace.model.audio.TranscriptionRequest;
import dev.carapace.server.adapter.StoreWatch;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.FormData;
import dev.carapace.server.http.Routes;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

import static dev.carapace.text.Excerpt.clip;

/**
 * OpenAI's audio routes: {@code POST /v1/audio/transcriptions} (multipart/form-data, read by {@link FormData} with
 * limits on the body, the file, the parts and their headers) and {@code POST
 * /v1/audio/speech} (JSON). Both go through the gateway's one pipeline ({@link Gateway#transcribe}, {@link
 * Gateway#speak}); errors are in OpenAI's shape, naming the field.
 */
public final class AudioApi {

    /** More parts than the API has fields (each once, a few timestamp granularities) is no client of it. */
    private static final int MAX_PARTS = 16;
    /** The fields around the file: a prompt of a few thousand characters, and the part headers. */
    private static final long FIELDS_ALLOWANCE = 64 * 1024;
    private static final int MAX_PART_HEADERS = 8 * 1024;
    private static final String FILE = "file";

    private final HttpApi api;
    private final Gateway gateway;
    private final StoreWatch storeWatch;
    private final long maxAudioBytes;

    /** @param maxAudioBytes the largest audio file a transcription takes ({@code voice.max_audio_bytes}) */
    public AudioApi(HttpApi api, Gateway gateway, StoreWatch storeWatch, long maxAudioBytes) {
        this.api = api;
        this.gateway = gateway;
        this.storeWatch = storeWatch;
        this.maxAudioBytes = maxAudioBytes;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.post("/v1/audio/transcriptions", x -> api.handleCall("transcriptions", x, named -> transcribe(x, named)))
         .post("/v1/audio/speech", x -> api.handleCall("speech", x, named -> speak(x, named)));
    }

    private Principal admit(Exchange x) {
        String unsound = storeWatch.problem();
        if (unsound != null) throw StoreWatch.unavailable(unsound);
        return api.authenticate(x);
    }

    private void transcribe(Exchange x, Consumer<Call> named) throws IOException {
        Principal principal = admit(x);
        TranscriptionRequest request = readForm(x);
        Call call = new Call(x.responseHeader("x-request-id"), principal, WireApi.OPENAI, request.view(),
                HttpApi.affinity(x, null), Operation.TRANSCRIPTION);
        named.accept(call);
        Gateway.Transcribed answer = gateway.transcribe(call, request);
        HttpApi.callHeaders(x, call);
        x.header("content-type", answer.mediaType());
        x.send(answer.body());
    }

    private void speak(Exchange x, Consumer<Call> named) throws IOException {
        Principal principal = admit(x);
        SpeechRequest request = OpenAiAudio.speech(api.body(x));
        Call call = new Call(x.responseHeader("x-request-id"), principal, WireApi.OPENAI, request.view(),
                HttpApi.affinity(x, null), Operation.SPEECH);
        named.accept(call);
        Speech speech = gateway.speak(call, request);
        HttpApi.callHeaders(x, call);
        x.header("content-type", speech.mediaType());
        x.send(speech.audio());
    }

    /**
     * Reads a transcription's multipart body: refused with 415 unless it is multipart/form-data with a boundary, with
     * 413 as soon as it is known to be larger than the audio limit allows (from its Content-Length before a byte is
     * read, or while it is read), with 400 naming what is wrong in a malformed one.
     */
    private TranscriptionRequest readForm(Exchange x) {
        String type = x.header("content-type");
        String lower = type == null ? "" : type.toLowerCase(Locale.ROOT);
        if (!lower.startsWith("multipart/form-data")) {
            throw new ApiException(ApiException.Kind.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be multipart/form-data"
                    + " (the audio as a part named file); got '" + clip(type == null ? "none" : type, 60) + "'.", null,
                    "unsupported_media_type", null, false);
        }
        String boundary = FormData.boundary(type);
        if (boundary == null || boundary.isEmpty() || boundary.length() > 70
                || !boundary.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw ApiException.invalid(null, "Content-Type multipart/form-data needs a boundary of 1 to 70 printable"
                    + " characters (RFC 2046); got " + (boundary == null || boundary.isEmpty() ? "none" : "'" + clip(boundary, 40) + "'") + ".");
        }
        List<FormData.Part> parts;
        try {
            parts = FormData.read(x, boundary, new FormData.Limits(maxAudioBytes + FIELDS_ALLOWANCE, maxAudioBytes,
                    MAX_PARTS, MAX_PART_HEADERS));
        } catch (FormData.Refused e) {
            if (e.tooLarge) throw tooLarge();
            throw ApiException.invalid(null, "The multipart/form-data body could not be read: " + clip(e.getMessage(), 80)
                    + ". Send at most " + MAX_PARTS + " parts separated by the boundary of the Content-Type, the audio in"
                    + " a part named file.");
        }
        List<OpenAiAudio.Field> fields = new ArrayList<>();
        String fileName = null;
        String mediaType = null;
        byte[] audio = null;
        for (FormData.Part part : parts) {
            String name = part.name();
            if (name == null) throw ApiException.invalid(null, "A part of the multipart body has no name (Content-Disposition: form-data; name=...).");
            if (part.fileName() != null || name.equals(FILE)) {
                if (!name.equals(FILE)) throw ApiException.invalid(clip(name, 40), clip(name, 40) + ": a file part; only 'file' takes a file");
                if (audio != null) throw ApiException.invalid(FILE, "file: given twice; send one audio file");
                audio = part.bytes();
                fileName = part.fileName();
                mediaType = part.contentType();
            } else {
                fields.add(new OpenAiAudio.Field(name, text(name, part.bytes())));
            }
        }
        return OpenAiAudio.transcription(fields, fileName, mediaType, audio);
    }

    /** A field's value as UTF-8, refused when it is not. */
    private static String text(String name, byte[] value) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(value)).toString();
        } catch (CharacterCodingException e) {
            throw ApiException.invalid(clip(name, 40), clip(name, 40) + ": not UTF-8 text");
        }
    }

    private ApiException tooLarge() {
        return new ApiException(ApiException.Kind.TOO_LARGE, "The audio file is larger than the gateway's limit of "
                + maxAudioBytes + " bytes (voice.max_audio_bytes).", FILE, "request_too_large", null, false);
    }
}
