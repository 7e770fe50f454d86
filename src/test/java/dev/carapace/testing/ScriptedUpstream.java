package dev.carapace.testing;

import mockwebserver3.MockResponse;
import mockwebserver3.MockResponseBody;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okio.BufferedSink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A scripted model server speaking the OpenAI (Chat Completions or Responses) or Anthropic wire format: each test enqueues the exact responses
 * (JSON, SSE streams with delays, errors with retry-after, streams that break mid-way) and reads back what
 * Carapace sent upstream.
 */
public final class ScriptedUpstream implements AutoCloseable {

    private final MockWebServer server = new MockWebServer();

    public ScriptedUpstream() {
        try {
            server.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Base URL as an OpenAI-kind provider takes it (with /v1). */
    public String openAiBaseUrl() { return server.url("/v1").toString(); }

    /** Base URL as an Anthropic-kind provider takes it (without /v1). */
    public String anthropicBaseUrl() { return server.url("/").toString(); }

    public ScriptedUpstream enqueue(MockResponse... responses) {
        for (MockResponse r : responses) server.enqueue(r);
        return this;
    }

    /** Answers every request with {@code script} instead of the queue. */
    public ScriptedUpstream respond(java.util.function.Function<RecordedRequest, MockResponse> script) {
        server.setDispatcher(new mockwebserver3.Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) { return script.apply(request); }
        });
        return this;
    }

    /** The next request Carapace sent here (waits up to 5 s). */
    public RecordedRequest take() {
        try {
            RecordedRequest r = server.takeRequest(5, TimeUnit.SECONDS);
            if (r == null) throw new AssertionError("no request reached the scripted upstream within 5 s");
            return r;
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    public static String body(RecordedRequest r) { return r.getBody() == null ? "" : r.getBody().utf8(); }

    public int requestCount() { return server.getRequestCount(); }

    @Override
    public void close() { server.close(); }

    // ---- responses ----

    public static MockResponse json(int status, String json, String... headerPairs) {
        MockResponse.Builder b = new MockResponse.Builder().code(status).addHeader("content-type", "application/json").body(json);
        for (int i = 0; i < headerPairs.length; i += 2) b.addHeader(headerPairs[i], headerPairs[i + 1]);
        return b.build();
    }

    /** An OpenAI chat.completion with text and usage. */
    public static MockResponse openAiText(String text, int promptTokens, int completionTokens) {
        return json(200, """
                {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"up-model",
                 "choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],
                 "usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,
                          "prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}
                """.formatted(quote(text), promptTokens, completionTokens, promptTokens + completionTokens));
    }

    /** An Anthropic message with text and usage. */
    public static MockResponse anthropicText(String text, int inputTokens, int outputTokens) {
        return json(200, """
                {"id":"msg_1","type":"message","role":"assistant","model":"up-model",
                 "content":[{"type":"text","text":%s}],"stop_reason":"end_turn","stop_sequence":null,
                 "usage":{"input_tokens":%d,"output_tokens":%d}}
                """.formatted(quote(text), inputTokens, outputTokens));
    }

    /**
     * OpenAI's answer to {@code POST /embeddings}: one vector of {@code dims} floats per input, in order, and usage,
     * for model {@code model}.
     */
    public static MockResponse openAiEmbeddings(String model, int inputs, int dims, int promptTokens) {
        return openAiEmbeddings(model, inputs, dims, promptTokens, false);
    }

    /**
     * As {@link #openAiEmbeddings(String, int, int, int)}; with {@code base64}, each vector is its little-endian
     * float32 values in base64, as OpenAI answers {@code encoding_format: base64} (the openai SDK's default). Vector
     * {@code i}'s value {@code d} is {@code (i + 1) / 1000 + d / 10000}.
     */
    public static MockResponse openAiEmbeddings(String model, int inputs, int dims, int promptTokens, boolean base64) {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < inputs; i++) {
            if (i > 0) data.append(',');
            data.append("{\"object\":\"embedding\",\"index\":").append(i).append(",\"embedding\":");
            if (base64) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * dims).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (int d = 0; d < dims; d++) b.putFloat((float) ((i + 1) * 0.001 + d * 0.0001));
                data.append('"').append(java.util.Base64.getEncoder().encodeToString(b.array())).append("\"}");
                continue;
            }
            data.append('[');
            for (int d = 0; d < dims; d++) data.append(d == 0 ? "" : ",").append(((i + 1) * 0.001 + d * 0.0001));
            data.append("]}");
        }
        return json(200, """
                {"object":"list","data":[%s],"model":%s,"usage":{"prompt_tokens":%d,"total_tokens":%d}}
                """.formatted(data, quote(model), promptTokens, promptTokens));
    }

    /**
     * OpenAI's answer to {@code POST /audio/transcriptions} in {@code json}: the text and, when {@code seconds} is not
     * null, usage of type duration (whisper's).
     */
    public static MockResponse openAiTranscription(String text, Integer seconds) {
        return json(200, "{\"text\":" + quote(text) + (seconds == null ? ""
                : ",\"usage\":{\"type\":\"duration\",\"seconds\":" + seconds + "}") + "}");
    }

    /** OpenAI's answer to {@code POST /audio/speech}: the audio bytes with their media type. */
    public static MockResponse openAiSpeech(byte[] audio, String mediaType) {
        return new MockResponse.Builder().code(200).addHeader("content-type", mediaType)
                .body(new okio.Buffer().write(audio)).build();
    }

    /** One part of a multipart/form-data body Carapace sent. */
    public record FormPart(String name, String fileName, String contentType, byte[] bytes) {
        public String text() { return new String(bytes, java.nio.charset.StandardCharsets.UTF_8); }
    }

    /**
     * The parts of a multipart/form-data request, read by Jetty's parser from the bytes that arrived: fails unless the
     * request declared multipart/form-data with a boundary and its body is well formed.
     */
    public static java.util.Map<String, FormPart> formParts(RecordedRequest r) {
        String type = r.getHeaders().get("content-type");
        if (type == null || !type.startsWith("multipart/form-data")) throw new AssertionError("not multipart/form-data: " + type);
        String boundary = org.eclipse.jetty.http.MultiPart.extractBoundary(type);
        byte[] body = r.getBody() == null ? new byte[0] : r.getBody().toByteArray();
        java.util.Map<String, FormPart> out = new java.util.LinkedHashMap<>();
        var parser = new org.eclipse.jetty.http.MultiPartFormData.Parser(boundary);
        parser.setMaxMemoryFileSize(64L * 1024 * 1024);   // in memory: no files directory
        try (var parts = parser.parse(new org.eclipse.jetty.io.content.InputStreamContentSource(new java.io.ByteArrayInputStream(body))).get()) {
            for (var p : parts) {
                byte[] bytes;
                try (java.io.InputStream in = org.eclipse.jetty.io.Content.Source.asInputStream(p.getContentSource())) {
                    bytes = in.readAllBytes();
                }
                String key = out.containsKey(p.getName()) ? p.getName() + "#" + out.size() : p.getName();
                out.put(key, new FormPart(p.getName(), p.getFileName(), p.getHeaders().get("content-type"), bytes));
            }
        } catch (Exception e) {
            throw new AssertionError("malformed multipart body", e);
        }
        return out;
    }

    /** Anthropic's answer to {@code POST /v1/messages/count_tokens}. */
    public static MockResponse anthropicTokenCount(int inputTokens) {
        return json(200, "{\"input_tokens\":" + inputTokens + "}");
    }

    /** OpenAI SSE: each payload becomes one {@code data:} frame; {@code [DONE]} closes it. */
    public static List<String> openAiFrames(String... payloads) {
        List<String> frames = new ArrayList<>();
        for (String p : payloads) frames.add("data: " + p + "\n\n");
        frames.add("data: [DONE]\n\n");
        return frames;
    }

    /** One tool call of a scripted answer; {@code arguments} is the JSON text the model sends. */
    public record ToolCall(String id, String name, String arguments) {}

    /** An OpenAI streamed answer asking for {@code calls} in one turn (finish reason {@code tool_calls}). */
    public static List<String> openAiToolCallStream(ToolCall... calls) {
        List<String> entries = new ArrayList<>();
        for (int i = 0; i < calls.length; i++) {
            entries.add("{\"index\":" + i + ",\"id\":" + quote(calls[i].id()) + ",\"type\":\"function\",\"function\":{\"name\":"
                    + quote(calls[i].name()) + ",\"arguments\":" + quote(calls[i].arguments()) + "}}");
        }
        return openAiFrames(chunk("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[" + String.join(",", entries) + "]}", null),
                chunk("{}", "tool_calls"));
    }

    /** An OpenAI streamed answer asking for one tool call, then a usage chunk with these figures. */
    public static List<String> openAiToolCallStream(ToolCall call, int promptTokens, int completionTokens) {
        return openAiFrames(chunk("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":"
                        + quote(call.id()) + ",\"type\":\"function\",\"function\":{\"name\":" + quote(call.name())
                        + ",\"arguments\":" + quote(call.arguments()) + "}}]}", null),
                chunk("{}", "tool_calls"),
                "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\",\"choices\":[],"
                        + "\"usage\":{\"prompt_tokens\":" + promptTokens + ",\"completion_tokens\":" + completionTokens
                        + ",\"total_tokens\":" + (promptTokens + completionTokens) + "}}");
    }

    /** A Responses API stream (event name and JSON data per frame) as an upstream speaking it sends one. */
    private static List<String> responsesFrames(List<String> typesAndData) {
        List<String> frames = new ArrayList<>();
        for (int i = 0; i < typesAndData.size(); i += 2) {
            frames.add("event: " + typesAndData.get(i) + "\ndata: " + typesAndData.get(i + 1) + "\n\n");
        }
        return frames;
    }

    private static String responseObject(String status, String output, Integer input, Integer cached, Integer out) {
        return "{\"id\":\"resp_up\",\"object\":\"response\",\"created_at\":1,\"status\":\"" + status
                + "\",\"model\":\"up-resp\",\"output\":" + output + ",\"usage\":" + (input == null ? "null"
                : "{\"input_tokens\":" + input + ",\"input_tokens_details\":{\"cached_tokens\":" + cached
                + "},\"output_tokens\":" + out + ",\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":"
                + (input + out) + "}") + "}";
    }

    /** A Responses API streamed text answer: the whole event sequence, usage in response.completed. */
    public static List<String> responsesTextStream(String text, int inputTokens, int cachedTokens, int outputTokens) {
        String item = "{\"id\":\"msg_up\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\","
                + "\"content\":[{\"type\":\"output_text\",\"text\":" + quote(text) + ",\"annotations\":[]}]}";
        String ref = "\"item_id\":\"msg_up\",\"output_index\":0,\"content_index\":0";
        return responsesFrames(List.of(
                "response.created", "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":"
                        + responseObject("in_progress", "[]", null, null, null) + "}",
                "response.output_item.added", "{\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,"
                        + "\"item\":{\"id\":\"msg_up\",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}}",
                "response.content_part.added", "{\"type\":\"response.content_part.added\",\"sequence_number\":2," + ref
                        + ",\"part\":{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}}",
                "response.output_text.delta", "{\"type\":\"response.output_text.delta\",\"sequence_number\":3," + ref
                        + ",\"delta\":" + quote(text) + "}",
                "response.output_text.done", "{\"type\":\"response.output_text.done\",\"sequence_number\":4," + ref
                        + ",\"text\":" + quote(text) + "}",
                "response.content_part.done", "{\"type\":\"response.content_part.done\",\"sequence_number\":5," + ref
                        + ",\"part\":{\"type\":\"output_text\",\"text\":" + quote(text) + ",\"annotations\":[]}}",
                "response.output_item.done", "{\"type\":\"response.output_item.done\",\"sequence_number\":6,\"output_index\":0,\"item\":" + item + "}",
                "response.completed", "{\"type\":\"response.completed\",\"sequence_number\":7,\"response\":"
                        + responseObject("completed", "[" + item + "]", inputTokens, cachedTokens, outputTokens) + "}"));
    }

    /** A Responses API stream asking for one function call, usage in response.completed. */
    public static List<String> responsesToolCallStream(ToolCall call, int inputTokens, int cachedTokens, int outputTokens) {
        String item = "{\"id\":\"fc_up\",\"type\":\"function_call\",\"status\":\"completed\",\"call_id\":" + quote(call.id())
                + ",\"name\":" + quote(call.name()) + ",\"arguments\":" + quote(call.arguments()) + "}";
        return responsesFrames(List.of(
                "response.created", "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":"
                        + responseObject("in_progress", "[]", null, null, null) + "}",
                "response.output_item.added", "{\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,"
                        + "\"item\":{\"id\":\"fc_up\",\"type\":\"function_call\",\"status\":\"in_progress\",\"call_id\":"
                        + quote(call.id()) + ",\"name\":" + quote(call.name()) + ",\"arguments\":\"\"}}",
                "response.function_call_arguments.delta", "{\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":2,"
                        + "\"item_id\":\"fc_up\",\"output_index\":0,\"delta\":" + quote(call.arguments()) + "}",
                "response.function_call_arguments.done", "{\"type\":\"response.function_call_arguments.done\",\"sequence_number\":3,"
                        + "\"item_id\":\"fc_up\",\"output_index\":0,\"arguments\":" + quote(call.arguments()) + "}",
                "response.output_item.done", "{\"type\":\"response.output_item.done\",\"sequence_number\":4,\"output_index\":0,\"item\":" + item + "}",
                "response.completed", "{\"type\":\"response.completed\",\"sequence_number\":5,\"response\":"
                        + responseObject("completed", "[" + item + "]", inputTokens, cachedTokens, outputTokens) + "}"));
    }

    /** An OpenAI streamed answer of text deltas, optionally with a final usage chunk. */
    public static List<String> openAiTextStream(List<String> deltas, Integer promptTokens, Integer completionTokens) {
        List<String> payloads = new ArrayList<>();
        payloads.add(chunk("{\"role\":\"assistant\",\"content\":\"\"}", null));
        for (String d : deltas) payloads.add(chunk("{\"content\":" + quote(d) + "}", null));
        payloads.add(chunk("{}", "stop"));
        if (promptTokens != null) {
            payloads.add("{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\",\"choices\":[],"
                    + "\"usage\":{\"prompt_tokens\":" + promptTokens + ",\"completion_tokens\":" + completionTokens
                    + ",\"total_tokens\":" + (promptTokens + completionTokens) + "}}");
        }
        return openAiFrames(payloads.toArray(String[]::new));
    }

    public static String chunk(String deltaJson, String finishReason) {
        return "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\","
                + "\"choices\":[{\"index\":0,\"delta\":" + deltaJson + ",\"finish_reason\":"
                + (finishReason == null ? "null" : "\"" + finishReason + "\"") + "}]}";
    }

    /** Anthropic SSE: pairs of (event name, JSON data). */
    public static List<String> anthropicFrames(String... eventAndData) {
        List<String> frames = new ArrayList<>();
        for (int i = 0; i < eventAndData.length; i += 2) {
            frames.add("event: " + eventAndData[i] + "\ndata: " + eventAndData[i + 1] + "\n\n");
        }
        return frames;
    }

    /** An Anthropic streamed text answer with usage. */
    public static List<String> anthropicTextStream(List<String> deltas, int inputTokens, int outputTokens) {
        List<String> ev = new ArrayList<>(List.of(
                "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"type\":\"message\",\"role\":\"assistant\","
                        + "\"model\":\"up-model\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":" + inputTokens + ",\"output_tokens\":1}}}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"));
        for (String d : deltas) {
            ev.add("content_block_delta");
            ev.add("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":" + quote(d) + "}}");
        }
        ev.addAll(List.of(
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
                "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" + outputTokens + "}}",
                "message_stop", "{\"type\":\"message_stop\"}"));
        return anthropicFrames(ev.toArray(String[]::new));
    }

    /** A 200 SSE response writing {@code frames} one by one, {@code gapMillis} apart. */
    public static MockResponse sse(List<String> frames, long gapMillis) {
        return new MockResponse.Builder().code(200).addHeader("content-type", "text/event-stream")
                .body(new SseBody(frames, gapMillis)).build();
    }

    /**
     * Writes {@code frames}, then closes the socket in the middle of the response. MockWebServer cuts a body at
     * its half, so the frames are followed by as many bytes of SSE comments (which readers ignore).
     */
    public static MockResponse sseThenDrop(List<String> frames) {
        String head = String.join("", frames);
        String body = head + ": " + "x".repeat(head.length() + 64) + "\n\n";
        return new MockResponse.Builder().code(200).addHeader("content-type", "text/event-stream")
                .body(body).onResponseBody(new mockwebserver3.SocketEffect.CloseSocket()).build();
    }

    /** Answers only after {@code millis}: for read-timeout tests. */
    public static MockResponse delayed(MockResponse r, long millis) {
        return new MockResponse.Builder(r).headersDelay(millis, TimeUnit.MILLISECONDS).build();
    }

    public static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                default -> { if (c < 0x20) sb.append(String.format("\\u%04x", (int) c)); else sb.append(c); }
            }
        }
        return sb.append('"').toString();
    }

    private record SseBody(List<String> frames, long gapMillis) implements MockResponseBody {
        @Override
        public long getContentLength() { return -1; }

        @Override
        public void writeTo(BufferedSink sink) throws IOException {
            for (String f : frames) {
                sink.writeUtf8(f);
                sink.flush();
                if (gapMillis > 0) {
                    try { Thread.sleep(gapMillis); } catch (InterruptedException e) { throw new IOException(e); }
                }
            }
        }
    }
}
