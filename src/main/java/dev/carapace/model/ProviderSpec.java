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
 */
public record ProviderSpec(String name, WireApi kind, URI baseUrl, String apiKeyEnv,
                           Duration connectTimeout, Duration readTimeout, Map<String, String> headers) {
    public ProviderSpec {
        headers = Map.copyOf(headers);
    }
}
