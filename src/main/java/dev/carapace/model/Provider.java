package dev.carapace.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;

/**
 * One upstream server, spoken to in its own wire format over HTTP/1.1 ({@link Http1Client}). Every failure comes out
 * as an {@link ApiException}; the router decides whether another deployment should be tried.
 */
public final class Provider implements AutoCloseable {

    /**
     * The {@link ApiException#code} of an attempt whose request was sent and then got no answer: the upstream may have
     * processed (and billed) it.
     */
    public static final String UNANSWERED = "upstream_connection_lost";
    /**
     * The {@link ApiException#code} of an attempt refused because Carapace had every upstream connection it may open
     * ({@code server.max_upstream_connections}) in use: its own limit, not the upstream's fault.
     */
    public static final String CONNECTIONS_EXHAUSTED = "upstream_connections_exhausted";
    /**
     * The {@link ApiException#code} of an attempt refused because the process (or the system) had no file descriptor
     * left for the connection: Carapace's own exhaustion, not the upstream's fault.
     */
    public static final String OUT_OF_DESCRIPTORS = "too_many_open_files";
    /** What a client is told to wait before retrying a call refused for Carapace's own exhaustion. */
    private static final Duration EXHAUSTED_RETRY_AFTER = Duration.ofSeconds(1);

    private static final long MAX_BODY = 64L * 1024 * 1024;
    private static final byte[][] COUNT_MODEL = JsonSplice.path("model");
    private static final com.fasterxml.jackson.databind.ObjectReader COUNT_READER = new com.fasterxml.jackson.databind.ObjectMapper().reader();
    private static final int MAX_ERROR_BODY = 64 * 1024;

    private final ProviderSpec spec;
    private final WireFormat format;
    private final Http1Client http;
    private final String path;
    /** Where the API's second operation is: Anthropic's count_tokens, OpenAI's embeddings. */
    private final String sidePath;
    private final byte[] headers;
    private final byte[] streamHeaders;
    /** Whether the key variable the spec names was set when the provider was made. */
    private final boolean keySet;
    /** The provider's own header pairs (name, value, ...), content-type first: audio requests change its value. */
    private final String[] headerPairs;
    private final String transcriptionPath;
    private final String speechPath;
    /** Kept only to mask it out of what the upstream says ({@link #withoutKey}); it is already in {@link #headers}. */
    private final String apiKey;
    private final byte[] keyBytes;
    private static final byte[] MASK = "***".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    /** The engine of a local provider ({@code kind: espeak}), or null for an upstream server. */
    private final dev.carapace.model.audio.Espeak espeak;

    /** A provider whose connections count against no shared cap. */
    public Provider(ProviderSpec spec, WireFormat format, String apiKey) {
        this(spec, format, apiKey, UpstreamConnections.unlimited());
    }

    /**
     * @param apiKey      the resolved secret, or null when the server needs none
     * @param connections the cap on upstream connections that every provider shares
     */
    public Provider(ProviderSpec spec, WireFormat format, String apiKey, UpstreamConnections connections) {
        this.spec = spec;
        this.format = format;
        this.espeak = null;
        String base = spec.baseUrl().toString().replaceAll("/+$", "");
        URI endpoint = URI.create(base + switch (format.api()) {
            case ANTHROPIC -> "/v1/messages";
            case RESPONSES -> "/responses";
            case OPENAI -> "/chat/completions";
        });
        this.http = new Http1Client(endpoint, spec.connectTimeout(), spec.readTimeout(), connections);
        this.path = endpoint.getRawPath() + (endpoint.getRawQuery() == null ? "" : "?" + endpoint.getRawQuery());
        this.sidePath = rawPath(base + (format.api() == WireApi.ANTHROPIC ? "/v1/messages/count_tokens" : "/embeddings"));
        this.transcriptionPath = rawPath(base + "/audio/transcriptions");
        this.speechPath = rawPath(base + "/audio/speech");
        String[] h = headers(spec, format.api(), apiKey);
        this.headerPairs = h;
        this.headers = Http1Client.headerLines(h);
        String[] s = java.util.Arrays.copyOf(h, h.length + 2);
        s[h.length] = "accept";
        s[h.length + 1] = "text/event-stream";
        this.streamHeaders = Http1Client.headerLines(s);
        this.keySet = apiKey != null;
        this.apiKey = apiKey;
        // a short "key" (a local server's placeholder) would mask ordinary words of every answer
        this.keyBytes = apiKey == null || apiKey.length() < 16 ? null : apiKey.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** A local provider: speech made on this machine by espeak-ng; it serves speech models only, with no upstream. */
    public Provider(ProviderSpec spec, dev.carapace.model.audio.Espeak espeak) {
        if (spec.local() != ProviderSpec.Local.ESPEAK) throw new IllegalArgumentException("not an espeak provider: " + spec.name());
        this.spec = spec;
        this.format = null;
        this.espeak = espeak;
        this.http = null;
        this.path = this.sidePath = this.transcriptionPath = this.speechPath = null;
        this.headerPairs = new String[0];
        this.headers = this.streamHeaders = new byte[0];
        this.keySet = false;
        this.apiKey = null;
        this.keyBytes = null;
    }

    private static String rawPath(String url) {
        URI u = URI.create(url);
        return u.getRawPath() + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
    }

    /** Whether this provider runs on this machine ({@code kind: espeak}) rather than calling an upstream. */
    public boolean local() { return espeak != null; }

    public String name() { return spec.name(); }

    /** The API its answers are in: a local provider's are OpenAI's (audio). */
    public WireApi api() { return format == null ? WireApi.OPENAI : format.api(); }

    /**
     * Asks for one complete answer. A relayed one keeps the upstream's body for the client
     * ({@link ChatResponse#relayed}) and is read only as far as its usage; a relay is only for a request that
     * {@linkplain ChatRequest#relaysTo relays} to this upstream.
     */
    public ChatResponse complete(ChatRequest request, String upstreamModel, int defaultMaxTokens, Relay relay) {
        byte[] body = format.upstreamRequest(request, upstreamModel, defaultMaxTokens);
        boolean relayed = relay != Relay.NONE && request.relaysTo(format.api());
        try (Http1Client.Response response = open(body, headers(request, false), upstreamModel)) {
            byte[] answer = withoutKey(readAll(response.body(), MAX_BODY));
            return relayed ? format.relayedResponse(answer) : format.parseUpstreamResponse(answer);
        } catch (IOException e) {
            throw ioFailure(e, upstreamModel, true);
        } catch (ApiException e) {
            throw withoutKey(e);     // an error object in a 200 answer
        }
    }

    /**
     * Asks an Anthropic upstream how many input tokens {@code request} is ({@code POST /v1/messages/count_tokens}).
     * A request that relays goes up as the client sent it, with its vendor headers; a translated one (redacted, say)
     * carries only what that endpoint takes.
     */
    public long countTokens(ChatRequest request, String upstreamModel) {
        if (format.api() != WireApi.ANTHROPIC) throw new IllegalStateException("count_tokens is Anthropic's: " + name());
        boolean relayed = request.relaysTo(WireApi.ANTHROPIC);
        byte[] body = relayed
                ? request.original().withTopLevel(COUNT_MODEL, new byte[][] {new JsonBytes(upstreamModel.length() + 2).string(upstreamModel).toByteArray()})
                : countTokensBody(format.upstreamRequest(request, upstreamModel, 1));
        byte[] answer = post(sidePath, body, headers(request, false), upstreamModel);
        try {
            JsonNode n = COUNT_READER.readTree(answer).get("input_tokens");
            if (n != null && n.canConvertToLong() && n.asLong() >= 0) return n.asLong();
        } catch (IOException | RuntimeException malformed) {
            // below
        }
        throw ApiException.of(ApiException.Kind.UPSTREAM, "upstream_invalid_response",
                "provider '" + spec.name() + "' answered count_tokens without a count (input_tokens)");
    }

    /** The fields of a Messages body that count_tokens takes: it refuses max_tokens, stream and sampling settings. */
    private static byte[] countTokensBody(byte[] messagesBody) {
        try {
            com.fasterxml.jackson.databind.node.ObjectNode full = (com.fasterxml.jackson.databind.node.ObjectNode) COUNT_READER.readTree(messagesBody);
            full.retain("model", "messages", "system", "tools", "tool_choice", "thinking");
            return full.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);   // a body this process wrote
        }
    }

    /** Posts an embeddings request (OpenAI {@code POST /embeddings}) and gives the upstream's answer as it came. */
    public byte[] embed(byte[] body, String upstreamModel) {
        if (format.api() != WireApi.OPENAI) throw new IllegalStateException("embeddings are OpenAI's: " + name());
        return post(sidePath, body, headers, upstreamModel);
    }

    private byte[] post(String at, byte[] body, byte[] headerLines, String upstreamModel) {
        try (Http1Client.Response response = open(at, body, headerLines, upstreamModel)) {
            return withoutKey(readAll(response.body(), MAX_BODY));
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) throw interrupted();
            throw ioFailure(e, upstreamModel, true);
        }
    }

    /** How an answer reaches the client: translated, or relayed as the upstream sent it (see {@link ChatRequest#relaysTo}). */
    public enum Relay {
        /** Parsed into neutral form; a stream's frames decoded into neutral events, which are all its sink gets. */
        NONE,
        /** Relayed, read only as far as the call's accounts need; a stream's frames passed on ({@link StreamEvent.Frame}). */
        ACCOUNTS,
        /** As {@link #ACCOUNTS}, with every frame of a stream decoded too (a filter reads the output as it comes). */
        EVERY_FRAME
    }

    /**
     * Streams one answer into {@code sink}. Whatever {@code sink} throws ends the call and propagates unchanged.
     * A relay is only for a request that {@linkplain ChatRequest#relaysTo relays} to this upstream.
     */
    public void stream(ChatRequest request, String upstreamModel, int defaultMaxTokens, Relay relay, StreamSink sink) {
        boolean relayed = relay != Relay.NONE && request.relaysTo(format.api());
        WireFormat.StreamDecoder decoder = relayed ? format.relayDecoder(relay == Relay.EVERY_FRAME) : format.streamDecoder();
        // The request's bytes are not kept in a local: a stream lasts long, and its frame should not hold them.
        try (Http1Client.Response response = open(format.upstreamRequest(request, upstreamModel, defaultMaxTokens),
                headers(request, true), upstreamModel)) {
            try {
                // The sink hears when the reader is about to wait for the upstream, so that it can flush once per burst.
                SseReader reader = new SseReader(new IdleSignallingInputStream(response.body(), sink));
                // Each frame without the provider's key, relayed ones too (they reach the client unread).
                reader.read((event, data) -> decoder.decode(event, withoutKey(data), sink), decoder::done);
            } catch (ApiException e) {
                throw withoutKey(e);     // an error event, or the sink's own refusal (unchanged: it holds no key)
            } catch (IOException e) {
                // An interrupt (an agent run being cancelled) closes the socket of a virtual thread: not the upstream's fault.
                if (Thread.currentThread().isInterrupted()) throw interrupted();
                throw ioFailure(e, upstreamModel, true);
            }
            if (!decoder.done()) {
                throw ApiException.of(ApiException.Kind.UPSTREAM, "upstream_stream_truncated",
                        "provider '" + spec.name() + "' ended the stream before it was complete");
            }
            response.done();
        }
    }

    /**
     * What sending {@code request} here leaves out of it, by name ({@link WireFormat#dropped}): nothing when the request
     * is relayed as it came.
     */
    public java.util.Set<String> dropped(ChatRequest request) { return format == null ? java.util.Set.of() : format.dropped(request); }

    /**
     * Posts a transcription request (OpenAI {@code POST /audio/transcriptions}, multipart/form-data) and gives the
     * upstream's answer as it came.
     */
    public byte[] transcribe(dev.carapace.model.audio.OpenAiAudio.Multipart body, String upstreamModel) {
        if (local() || format.api() != WireApi.OPENAI) throw new IllegalStateException("transcriptions are OpenAI's: " + name());
        return post(transcriptionPath, body.body(), headerLines(body.contentType()), upstreamModel);
    }

    /**
     * Speaks {@code input} (and {@code instructions}, as the pipeline left them): posted to an upstream's
     * {@code POST /audio/speech}, or spoken by espeak-ng on a local provider, in the deployment's voice ({@code
     * upstreamModel}) when the client's is not one of espeak-ng's.
     */
    public dev.carapace.model.audio.Speech speak(dev.carapace.model.audio.SpeechRequest request, String input,
                                                 String instructions, String upstreamModel) {
        if (local()) return espeak.speak(input, request.voice(), upstreamModel, request.speed(), request.responseFormat());
        if (format.api() != WireApi.OPENAI) throw new IllegalStateException("speech is OpenAI's: " + name());
        byte[] body = dev.carapace.model.audio.OpenAiAudio.speechBody(request, input, instructions, upstreamModel);
        try (Http1Client.Response response = open(speechPath, body, headers, upstreamModel)) {
            byte[] audio = readAll(response.body(), MAX_BODY);
            return dev.carapace.model.audio.OpenAiAudio.speechAnswer(audio, response.header("content-type"), request);
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) throw interrupted();
            throw ioFailure(e, upstreamModel, true);
        }
    }

    /** The provider's header lines with another content type (a multipart body's, with its boundary). */
    private byte[] headerLines(String contentType) {
        String[] h = headerPairs.clone();
        h[1] = contentType;
        return Http1Client.headerLines(h);
    }

    /** Closes the kept-alive connections. */
    @Override
    public void close() { if (http != null) http.close(); }

    /**
     * The header lines of one upstream request: the provider's own, and the client's vendor headers when the request is
     * in the client's own API ({@link ChatRequest#vendorHeaders}).
     */
    private byte[] headers(ChatRequest request, boolean stream) {
        byte[] own = stream ? streamHeaders : headers;
        Map<String, String> vendor = request.vendorHeaders(format.api());
        if (vendor.isEmpty()) return own;
        String[] pairs = new String[vendor.size() * 2];
        int i = 0;
        for (Map.Entry<String, String> h : vendor.entrySet()) {
            pairs[i++] = h.getKey();
            pairs[i++] = h.getValue();
        }
        byte[] extra = Http1Client.headerLines(pairs);
        byte[] all = java.util.Arrays.copyOf(own, own.length + extra.length);
        System.arraycopy(extra, 0, all, own.length, extra.length);
        return all;
    }

    private Http1Client.Response open(byte[] body, byte[] headerLines, String upstreamModel) {
        return open(path, body, headerLines, upstreamModel);
    }

    private Http1Client.Response open(String at, byte[] body, byte[] headerLines, String upstreamModel) {
        Http1Client.Response response;
        try {
            response = http.post(at, headerLines, body);
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) throw interrupted();
            throw ioFailure(e, upstreamModel, false);
        }
        if (response.status() / 100 != 2) {
            byte[] err;
            try (response) {
                err = readAll(response.body(), MAX_ERROR_BODY);
            } catch (IOException e) {
                err = new byte[0];
            }
            ApiException failure = withoutKey(format.upstreamError(response.status(), err));
            Duration retryAfter = retryAfter(response::header);
            throw retryAfter == null ? failure : failure.withRetryAfter(retryAfter);
        }
        return response;
    }

    /**
     * {@code e} with this provider's key masked out of its message. The formats mask what looks like a key
     * ({@link UpstreamText}); a key of another shape, quoted back by the upstream, is caught here.
     */
    private ApiException withoutKey(ApiException e) {
        String said = e.getMessage();
        String masked = UpstreamText.withoutSecret(said, apiKey);
        return masked == said ? e : e.withMessage(masked);
    }

    /**
     * {@code answer} with every copy of this provider's key replaced by {@code ***}: an answer passed on as it came
     * (a transcript, a relayed completion) must not carry the key an upstream echoed into it. Cheap when it is not
     * there: one search of the bytes.
     */
    private byte[] withoutKey(byte[] answer) {
        if (keyBytes == null || indexOf(answer, keyBytes, 0) < 0) return answer;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(answer.length);
        int from = 0;
        for (int at; (at = indexOf(answer, keyBytes, from)) >= 0; from = at + keyBytes.length) {
            out.write(answer, from, at - from);
            out.writeBytes(MASK);
        }
        out.write(answer, from, answer.length - from);
        return out.toByteArray();
    }

    private static int indexOf(byte[] in, byte[] what, int from) {
        outer:
        for (int i = from; i <= in.length - what.length; i++) {
            for (int j = 0; j < what.length; j++) if (in[i + j] != what[j]) continue outer;
            return i;
        }
        return -1;
    }

    /** The calling thread was interrupted; {@link Router#worthFailover} does not retry it or blame the deployment. */
    private static ApiException interrupted() {
        return ApiException.of(ApiException.Kind.UNAVAILABLE, Router.INTERRUPTED, "the request was interrupted");
    }

    /** @param answering whether the upstream had begun to answer (a failure then is no failure to reach it) */
    private ApiException ioFailure(IOException e, String upstreamModel, boolean answering) {
        // Carapace's own limits first: these say nothing about the upstream (Router#local)
        if (e instanceof UpstreamConnections.Exhausted) {
            return ApiException.of(ApiException.Kind.UNAVAILABLE, CONNECTIONS_EXHAUSTED,
                    "Carapace has every upstream connection it may open in use (server.max_upstream_connections);"
                    + " retry shortly").withRetryAfter(EXHAUSTED_RETRY_AFTER);
        }
        if (UpstreamConnections.outOfDescriptors(e)) {
            return ApiException.of(ApiException.Kind.UNAVAILABLE, OUT_OF_DESCRIPTORS,
                    "Carapace has no file descriptor left to reach provider '" + spec.name() + "' (too many open"
                    + " files); retry shortly").withRetryAfter(EXHAUSTED_RETRY_AFTER);
        }
        if (e instanceof SocketTimeoutException) {
            return ApiException.of(ApiException.Kind.TIMEOUT, "upstream_timeout",
                    "provider '" + spec.name() + "' sent nothing for " + spec.readTimeout().toMillis() + " ms");
        }
        if (e instanceof Http1Client.UnansweredException) {
            // Worth a failover to another deployment, like any upstream failure, but said plainly: this one may have
            // read the request and billed it, which is why it was not sent there again.
            return ApiException.of(ApiException.Kind.UPSTREAM, UNANSWERED,
                    "provider '" + spec.name() + "' closed the connection after the request was sent, without an"
                    + " answer; it was not sent there again, as it may have been processed");
        }
        if (answering) {
            return ApiException.of(ApiException.Kind.UPSTREAM, "upstream_unreachable", "provider '" + spec.name()
                    + "' broke off its answer from model '" + upstreamModel + "' (" + e.getClass().getSimpleName() + ")");
        }
        return ApiException.of(ApiException.Kind.UPSTREAM, "upstream_unreachable",
                unreachable(e, "model '" + upstreamModel + "' was tried there", spec.connectTimeout()));
    }

    /**
     * Whether this provider's server accepts a connection within {@code timeout}: null if it does, else what
     * {@link #unreachable} says. Opens and closes one TCP connection; no request is sent.
     *
     * @param serves what the provider is for, for the operator (e.g. "it serves models gpt-4o, gpt-4o-mini")
     */
    public String probe(Duration timeout, String serves) {
        if (local()) return null;
        URI u = spec.baseUrl();
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress(u.getHost(), port(u)), (int) Math.max(1, timeout.toMillis()));
            return null;
        } catch (IOException e) {
            return unreachable(e, serves, timeout);
        }
    }

    /**
     * A failure to reach the provider, said so that whoever reads it knows where to look (issue 14: "provider
     * 'openai' could not be reached (UnknownHostException)" named none of it): which host and port, what went wrong
     * there, what was being done, and what to check: the provider's base URL (without credentials or query) and the
     * variable its key is read from (never the key).
     *
     * @param doing   e.g. "model 'gpt-4o' was tried there"
     * @param timeout how long the connection was given
     */
    String unreachable(IOException e, String doing, Duration timeout) {
        URI u = spec.baseUrl();
        String where = u.getHost() + ":" + port(u);
        String why;
        if (e instanceof java.net.UnknownHostException) {
            why = "host '" + u.getHost() + "' was not found (DNS)";
        } else if (e instanceof ConnectException && e.getMessage() != null && e.getMessage().startsWith("connect timed out")
                || e instanceof SocketTimeoutException) {
            why = "connecting to " + where + " timed out after " + timeout.toMillis() + " ms";
        } else if (e instanceof ConnectException) {
            why = where + " refused the connection (nothing listens there)";
        } else if (e instanceof java.net.NoRouteToHostException) {
            why = where + " has no route from this machine";
        } else if (e instanceof javax.net.ssl.SSLException) {
            why = "the TLS handshake with " + where + " failed (" + e.getClass().getSimpleName() + ")";
        } else {
            why = "the connection to " + where + " failed (" + e.getClass().getSimpleName() + ")";
        }
        String key = spec.apiKeyEnv() == null ? "it is called without a key (no api_key_env)"
                : "its key is read from " + spec.apiKeyEnv() + (keySet ? "" : ", which is not set");
        return "provider '" + spec.name() + "' could not be reached: " + why + "; " + doing + ". Check providers."
                + spec.name() + ".base_url (" + shown(u) + ") and that this machine can reach it; " + key + ".";
    }

    /** The default port of the URL's scheme when it names none, as {@link Http1Client} connects. */
    private static int port(URI u) {
        return u.getPort() != -1 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    /** A base URL as it may be shown: scheme, host, port and path, never credentials or a query. */
    private static String shown(URI u) {
        return u.getScheme() + "://" + u.getHost() + (u.getPort() == -1 ? "" : ":" + u.getPort())
                + (u.getRawPath() == null ? "" : u.getRawPath());
    }

    /** {@code retry-after-ms} (OpenAI), else {@code retry-after} as seconds or an HTTP date. */
    static Duration retryAfter(java.util.function.Function<String, String> header) {
        try {
            String ms = header.apply("retry-after-ms");
            if (ms != null) return Duration.ofMillis((long) Double.parseDouble(ms.trim()));
            String s = header.apply("retry-after");
            if (s != null) {
                String v = s.trim();
                if (v.chars().allMatch(Character::isDigit)) return Duration.ofSeconds(Long.parseLong(v));
                Duration d = Duration.between(ZonedDateTime.now(),
                        ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME));
                return d.isNegative() ? Duration.ZERO : d;
            }
        } catch (RuntimeException malformed) {
            // an unreadable hint is no hint
        }
        return null;
    }

    private static String[] headers(ProviderSpec spec, WireApi api, String apiKey) {
        java.util.List<String> h = new java.util.ArrayList<>();
        h.add("content-type");
        h.add("application/json");
        if (api == WireApi.ANTHROPIC) {
            h.add("anthropic-version");
            h.add("2023-06-01");
            if (apiKey != null) { h.add("x-api-key"); h.add(apiKey); }
        } else if (apiKey != null) {
            h.add("authorization");
            h.add("Bearer " + apiKey);
        }
        for (Map.Entry<String, String> e : spec.headers().entrySet()) {
            h.add(e.getKey());
            h.add(e.getValue());
        }
        return h.toArray(String[]::new);
    }

    /** Reads a whole body, into an array sized as it grows (bodies are mostly small). */
    private static byte[] readAll(InputStream in, long max) throws IOException {
        byte[] buf = new byte[1024];
        int n = 0;
        for (int r; (r = in.read(buf, n, buf.length - n)) != -1; ) {
            n += r;
            if (n > max) throw new IOException("upstream body larger than " + max + " bytes");
            if (n == buf.length) buf = java.util.Arrays.copyOf(buf, (int) Math.min(max + 1, buf.length * 2L));
        }
        return n == buf.length ? buf : java.util.Arrays.copyOf(buf, n);
    }
}
