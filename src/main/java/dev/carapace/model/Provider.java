package dev.carapace.model;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One upstream server, spoken to in its own wire format over the JDK {@link HttpClient}. Every failure comes out
 * as an {@link ApiException}; the router decides whether another deployment should be tried.
 *
 * <p>The JDK client's own timeout only covers the wait for response headers, so a watchdog closes the body stream
 * when the upstream stays silent longer than the read timeout — mid-stream too.
 */
public final class Provider {

    private static final long MAX_BODY = 64L * 1024 * 1024;
    private static final int MAX_ERROR_BODY = 64 * 1024;

    private final ProviderSpec spec;
    private final WireFormat format;
    private final HttpClient http;
    private final ScheduledExecutorService watchdog;
    private final URI endpoint;
    private final String[] headers;

    /** @param apiKey the resolved secret, or null when the server needs none */
    public Provider(ProviderSpec spec, WireFormat format, String apiKey, HttpClient http, ScheduledExecutorService watchdog) {
        this.spec = spec;
        this.format = format;
        this.http = http;
        this.watchdog = watchdog;
        String base = spec.baseUrl().toString().replaceAll("/+$", "");
        this.endpoint = URI.create(base + (format.api() == WireApi.ANTHROPIC ? "/v1/messages" : "/chat/completions"));
        this.headers = headers(spec, format.api(), apiKey);
    }

    public static HttpClient httpClient(Duration connectTimeout) {
        // Completions run on the client's selector thread instead of hopping to a worker pool: callers block on
        // send() from their own (virtual) threads and the body handler only queues bytes, so nothing blocks there,
        // and each exchange saves two thread hand-offs (measured: about a third of the gateway's CPU per call).
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(connectTimeout)
                .followRedirects(HttpClient.Redirect.NEVER).executor(Runnable::run).build();
    }

    public String name() { return spec.name(); }

    public WireApi api() { return format.api(); }

    public ChatResponse complete(ChatRequest request, String upstreamModel, int defaultMaxTokens) {
        byte[] body = format.upstreamRequest(request, upstreamModel, defaultMaxTokens);
        try (Watched in = open(body, false)) {
            return format.parseUpstreamResponse(in.readAllBounded(MAX_BODY));
        } catch (IOException e) {
            throw ioFailure(e, null);
        }
    }

    /** Streams one answer into {@code sink}. Whatever {@code sink} throws ends the call and propagates unchanged. */
    public void stream(ChatRequest request, String upstreamModel, int defaultMaxTokens, StreamSink sink) {
        byte[] body = format.upstreamRequest(request, upstreamModel, defaultMaxTokens);
        WireFormat.StreamDecoder decoder = format.streamDecoder();
        try (Watched in = open(body, true)) {
            try {
                new SseReader(in).read((event, data) -> decoder.decode(event, data, sink), decoder::done);
            } catch (IOException e) {
                throw ioFailure(e, in);
            }
            if (!decoder.done()) {
                throw ApiException.of(ApiException.Kind.UPSTREAM, "upstream_stream_truncated",
                        "provider '" + spec.name() + "' ended the stream before it was complete");
            }
        }
    }

    private Watched open(byte[] body, boolean stream) {
        HttpRequest.Builder b = HttpRequest.newBuilder(endpoint)
                .timeout(spec.readTimeout())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) b.headers(headers);
        if (stream) b.header("accept", "text/event-stream");
        HttpResponse<InputStream> response;
        try {
            response = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw ioFailure(e, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.of(ApiException.Kind.UNAVAILABLE, "interrupted", "the request was interrupted");
        }
        Watched in = new Watched(response.body(), spec.readTimeout(), watchdog);
        if (response.statusCode() / 100 != 2) {
            byte[] err;
            try (Watched errorBody = in) {
                err = errorBody.readAllBounded(MAX_ERROR_BODY);
            } catch (IOException e) {
                err = new byte[0];
            }
            ApiException failure = format.upstreamError(response.statusCode(), err);
            Duration retryAfter = retryAfter(response);
            throw retryAfter == null ? failure : failure.withRetryAfter(retryAfter);
        }
        return in;
    }

    private ApiException ioFailure(IOException e, Watched in) {
        if (e instanceof HttpTimeoutException || (in != null && in.timedOut())) {
            return ApiException.of(ApiException.Kind.TIMEOUT, "upstream_timeout",
                    "provider '" + spec.name() + "' sent nothing for " + spec.readTimeout().toMillis() + " ms");
        }
        String why = e instanceof ConnectException ? "connection refused" : e.getClass().getSimpleName();
        return ApiException.of(ApiException.Kind.UPSTREAM, "upstream_unreachable",
                "provider '" + spec.name() + "' could not be reached (" + why + ")");
    }

    /** {@code retry-after-ms} (OpenAI), else {@code retry-after} as seconds or an HTTP date. */
    static Duration retryAfter(HttpResponse<?> response) {
        var h = response.headers();
        try {
            var ms = h.firstValue("retry-after-ms");
            if (ms.isPresent()) return Duration.ofMillis((long) Double.parseDouble(ms.get().trim()));
            var s = h.firstValue("retry-after");
            if (s.isPresent()) {
                String v = s.get().trim();
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

    /** The upstream body, closed by the watchdog when it stays silent longer than the read timeout. */
    private static final class Watched extends FilterInputStream {
        private final long timeoutNanos;
        private final ScheduledExecutorService watchdog;
        private volatile long lastRead = System.nanoTime();
        private volatile boolean timedOut;
        private volatile ScheduledFuture<?> check;

        Watched(InputStream in, Duration timeout, ScheduledExecutorService watchdog) {
            super(in);
            this.timeoutNanos = timeout.toNanos();
            this.watchdog = watchdog;
            schedule(timeoutNanos);
        }

        private void schedule(long delayNanos) {
            check = watchdog.schedule(this::check, delayNanos, TimeUnit.NANOSECONDS);
        }

        private void check() {
            long idle = System.nanoTime() - lastRead;
            if (idle >= timeoutNanos) {
                timedOut = true;
                try { in.close(); } catch (IOException ignored) { /* closing is the point */ }
            } else {
                schedule(timeoutNanos - idle);
            }
        }

        boolean timedOut() { return timedOut; }

        @Override
        public int read() throws IOException {
            int b = in.read();
            lastRead = System.nanoTime();
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            lastRead = System.nanoTime();
            return n;
        }

        byte[] readAllBounded(long max) throws IOException {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(1024);
            byte[] buf = new byte[4096];
            long total = 0;
            for (int n; (n = read(buf, 0, buf.length)) != -1; ) {
                total += n;
                if (total > max) throw new IOException("upstream body larger than " + max + " bytes");
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        }

        /** Closing early abandons the upstream connection, which is how a cancelled call stops the generation. */
        @Override
        public void close() {
            ScheduledFuture<?> c = check;
            if (c != null) c.cancel(false);
            try {
                in.close();
            } catch (IOException ignored) {
                // the connection is being thrown away either way
            }
        }
    }
}
