package dev.carapace.model.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.SseReader;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.WireFormat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Small helpers shared by the OpenAI format tests. */
final class TestJson {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private TestJson() { }

    static byte[] bytes(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static JsonNode tree(byte[] json) {
        try {
            return MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode tree(String json) { return tree(bytes(json)); }

    /** The JSON payloads of the SSE frames in {@code sse}, in order ({@code [DONE]} kept as text). */
    static List<String> frames(byte[] sse) {
        List<String> out = new ArrayList<>();
        try {
            new SseReader(new ByteArrayInputStream(sse)).read((event, data) -> out.add(new String(data, java.nio.charset.StandardCharsets.UTF_8)), () -> false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Feeds an upstream SSE text through a fresh decoder and collects what it emits. */
    static List<StreamEvent> decode(WireFormat format, String sse) {
        WireFormat.StreamDecoder decoder = format.streamDecoder();
        List<StreamEvent> events = new ArrayList<>();
        try {
            new SseReader(new ByteArrayInputStream(bytes(sse)))
                    .read((event, data) -> decoder.decode(event, data, events::add), decoder::done);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return events;
    }

    static ApiException parseError(WireFormat format, String body) {
        try {
            ChatRequest r = format.parseRequest(bytes(body));
            throw new AssertionError("expected an ApiException, got " + r);
        } catch (ApiException e) {
            return e;
        }
    }
}
