package dev.carapace.model;

import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * An upstream server Carapace calls. The API key is never in the config: {@code apiKeyEnv} names the environment
 * variable that holds it (null for servers that need none, such as a local vLLM).
 *
 * @param baseUrl        e.g. {@code https://api.openai.com/v1} or {@code http://127.0.0.1:8000/v1} for OpenAI kinds,
 *                       {@code https://api.anthropic.com} for Anthropic ({@code /v1/messages} is appended)
 * @param connectTimeout time allowed to open a connection
 * @param readTimeout    longest silence allowed while waiting for the response or between stream chunks
 * @param headers        extra headers sent on every request
 * @param local          an engine on this machine that serves instead of an upstream ({@code kind: espeak}: speech), or
 *                       null for an upstream server; a local provider has no base URL, key or headers
 */
public record ProviderSpec(String name, WireApi kind, URI baseUrl, String apiKeyEnv,
                           Duration connectTimeout, Duration readTimeout, Map<String, String> headers, Local local) {
    public ProviderSpec {
        headers = Map.copyOf(headers);
    }

    /** An upstream server. */
    public ProviderSpec(String name, WireApi kind, URI baseUrl, String apiKeyEnv, Duration connectTimeout,
                        Duration readTimeout, Map<String, String> headers) {
        this(name, kind, baseUrl, apiKeyEnv, connectTimeout, readTimeout, headers, null);
    }

    /** Engines that run on this machine instead of an upstream. */
    public enum Local {
        /** espeak-ng speaks a speech model's input ({@link dev.carapace.model.audio.Espeak}). */
        ESPEAK
    }

    /** A local engine: {@code kind} is the API whose answers it gives (OpenAI's audio API). */
    public static ProviderSpec local(String name, Local engine, Duration timeout) {
        return new ProviderSpec(name, WireApi.OPENAI, null, null, timeout, timeout, Map.of(), engine);
    }
}
