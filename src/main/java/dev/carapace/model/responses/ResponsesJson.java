package dev.carapace.model.responses;

import com.fasterxml.jackson.core.ErrorReportConfiguration;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.JsonBytes;
import dev.carapace.model.JsonOutput;
import dev.carapace.model.Usage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/** The JSON plumbing the Responses API's parts share: the readers, ids, usage, and SSE frames. */
final class ResponsesJson {

    /** Deep enough for any real JSON Schema, shallow enough that nesting cannot be used to exhaust the stack. */
    static final int MAX_NESTING_DEPTH = 64;

    static final JsonFactory FACTORY = JsonFactory.builder()
            .recyclerPool(JsonBytes.RECYCLER_POOL)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH).build())
            .errorReportConfiguration(ErrorReportConfiguration.builder().maxErrorTokenLength(40).maxRawContentLength(0).build())
            .build();
    static final ObjectMapper MAPPER = JsonMapper.builder(FACTORY).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
    /** Client bodies: a repeated key is refused, as it could mean one thing to Carapace and another upstream. */
    static final ObjectReader CLIENT = MAPPER.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    private ResponsesJson() {}

    static byte[] json(JsonOutput.Body body) { return JsonOutput.json(MAPPER, 512, body); }

    /** One SSE frame: {@code event: NAME} and the JSON data that {@code body} writes. */
    static byte[] frame(String event, JsonOutput.Body body) { return JsonOutput.frame(MAPPER, event, body); }

    static Usage parseUsage(JsonNode u) {
        return new Usage(u.path("input_tokens").asLong(0), u.path("output_tokens").asLong(0),
                u.path("input_tokens_details").path("cached_tokens").asLong(0), 0,
                u.path("output_tokens_details").path("reasoning_tokens").asLong(0), false);
    }

    static JsonNode readUpstream(byte[] body) {
        try {
            JsonNode n = body == null ? null : MAPPER.readTree(body);
            if (n == null || n.isMissingNode()) throw invalidUpstream("empty body");
            return n;
        } catch (IOException e) {
            throw invalidUpstream("not valid JSON");
        }
    }

    static JsonNode readUpstream(String data) {
        return readUpstream(data.getBytes(StandardCharsets.UTF_8));
    }

    static ApiException invalidUpstream(String why) {
        return ApiException.of(ApiException.Kind.UPSTREAM, "upstream_invalid_response",
                "the upstream sent an invalid Responses API answer: " + why);
    }

    static ObjectNode object() { return MAPPER.createObjectNode(); }

    private static final char[] ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

    /** A fresh id such as {@code resp_…}, {@code msg_…}, {@code fc_…}: the prefix and 32 random characters. */
    static String newId(String prefix) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        StringBuilder sb = new StringBuilder(prefix.length() + 33).append(prefix).append('_');
        for (int i = 0; i < 32; i++) sb.append(ID_CHARS[random.nextInt(ID_CHARS.length)]);
        return sb.toString();
    }

    static long nowSeconds() { return System.currentTimeMillis() / 1000; }
}
