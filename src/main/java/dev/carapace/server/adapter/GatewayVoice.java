package dev.carapace.server.adapter;

import dev.carapace.config.CarapaceConfig;
import dev.carapace.gateway.Call;
import dev.carapace.gateway.Gateway;
import dev.carapace.gateway.Operation;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ModelKind;
import dev.carapace.model.Portfolio;
import dev.carapace.model.WireApi;
import dev.carapace.model.audio.OpenAiAudio;
import dev.carapace.model.audio.Speech;
import dev.carapace.model.audio.SpeechRequest;
import dev.carapace.model.audio.TranscriptionRequest;

import java.util.List;
import java.util.UUID;

/**
 * The gateway's voice, for code that takes voice notes and answers aloud on a principal's behalf (the channels): a
 * transcript of an audio file and speech of a text, each one call through the same pipeline as {@code /v1/audio/*}
 * (authenticated as the caller, routed with failover, budgeted, privacy-screened, metered and recorded). The models are
 * the {@code voice:} section's, else the first of their kind in the portfolio; a speech model whose last deployment is
 * a local espeak provider still speaks when its upstreams fail.
 */
public final class GatewayVoice {

    private final Gateway gateway;
    private final CarapaceConfig.Voice settings;

    public GatewayVoice(Gateway gateway, CarapaceConfig.Voice settings) {
        this.gateway = gateway;
        this.settings = settings;
    }

    /**
     * The text of {@code audio}, as the transcription model heard it and the caller's privacy policy lets it through
     * (values it redacts are placeholders). Throws {@link ApiException} as the route would answer: a budget spent, a
     * transcript the policy blocks, an upstream failure.
     *
     * @param fileName  the file's name as the sender gave it (made safe before it goes up), or null
     * @param mediaType its media type ({@code audio/ogg}...), or null
     */
    public String transcribe(Principal p, String fileName, String mediaType, byte[] audio) {
        if (audio.length > settings.maxAudioBytes()) {
            throw new ApiException(ApiException.Kind.TOO_LARGE, "The audio file is larger than the gateway's limit of "
                    + settings.maxAudioBytes() + " bytes (voice.max_audio_bytes).", "file", "request_too_large", null, false);
        }
        String model = model(settings.transcriptionModel(), ModelKind.TRANSCRIPTION);
        TranscriptionRequest request = OpenAiAudio.transcription(List.of(new OpenAiAudio.Field("model", model)),
                fileName, mediaType, audio);
        Call call = new Call(id(), p, WireApi.OPENAI, request.view(), null, Operation.TRANSCRIPTION);
        return gateway.transcribe(call, request).text();
    }

    /**
     * {@code text} spoken by the speech model in the configured voice, after the caller's privacy policy has screened it
     * (values it redacts are spoken as placeholders; data it blocks is refused).
     */
    public Speech speak(Principal p, String text) {
        if (text == null || text.isBlank()) throw ApiException.invalid("input", "input: must not be empty");
        String model = model(settings.speechModel(), ModelKind.SPEECH);
        SpeechRequest request = new SpeechRequest(model, text, settings.speechVoice(), "mp3", null, null);
        Call call = new Call(id(), p, WireApi.OPENAI, request.view(), null, Operation.SPEECH);
        return gateway.speak(call, request);
    }

    /** The configured model, else the portfolio's first of {@code kind}. */
    private String model(String configured, ModelKind kind) {
        if (configured != null) return configured;
        for (Portfolio.Entry e : gateway.portfolio().models()) if (e.spec().kind() == kind) return e.id();
        throw new ApiException(ApiException.Kind.NOT_FOUND, "The gateway has no " + kind.label() + " model (kind: "
                + kind.label() + " in its config's models).", "model", "model_not_found", null, false);
    }

    private static String id() { return "voice_" + UUID.randomUUID(); }
}
