package dev.carapace.agent.tools;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Straight to the network with the JDK {@link HttpClient}: <b>no fence</b>. Any host the gateway can reach, the
 * agent can reach, loopback and cloud metadata addresses included. Only http and https; no proxy; no redirects
 * followed (see {@link Egress}); no compression asked for, so {@code maxBytes} bounds what is read off the wire.
 */
public final class DirectEgress implements Egress, AutoCloseable {

    private final HttpClient client;

    public DirectEgress() {
        this.client = HttpClient.newBuilder()
                // HTTP/2 over plain http means an h2c upgrade request, which some servers mishandle; one GET gains
                // nothing from HTTP/2 anyway.
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .proxy(HttpClient.Builder.NO_PROXY)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
    }

    @Override
    public Response get(URI uri, Map<String, String> headers, int maxBytes, Duration timeout)
            throws IOException, InterruptedException {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new DeniedException("only http and https URLs can be fetched");
        }
        if (uri.getHost() == null) throw new DeniedException("the URL has no host");
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET().timeout(timeout);
        headers.forEach(request::header);
        CompletableFuture<HttpResponse<Body>> future =
                client.sendAsync(request.build(), info -> new CappedSubscriber(maxBytes));
        HttpResponse<Body> response;
        try {
            // The request timeout covers only the wait for headers; this bounds the body too.
            response = future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new HttpTimeoutException("timed out after " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            future.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) throw io;
            throw new IOException(cause == null ? "request failed" : cause.toString(), cause);
        }
        Body body = response.body();
        return new Response(uri, response.statusCode(), response.headers().map(), body.bytes(), body.truncated());
    }

    /** Stops the client's threads; requests in flight are abandoned. */
    @Override
    public void close() {
        client.shutdownNow();
    }

    private record Body(byte[] bytes, boolean truncated) {}

    /** Keeps the first {@code max} bytes, then cancels: the connection is dropped instead of read to its end. */
    private static final class CappedSubscriber implements HttpResponse.BodySubscriber<Body> {
        private final int max;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final CompletableFuture<Body> result = new CompletableFuture<>();
        private Flow.Subscription subscription;

        CappedSubscriber(int max) {
            this.max = Math.max(0, max);
        }

        @Override
        public CompletionStage<Body> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) return;
            for (ByteBuffer b : items) {
                int room = max - bytes.size();
                if (b.remaining() > room) {
                    byte[] part = new byte[room];
                    b.get(part);
                    bytes.writeBytes(part);
                    result.complete(new Body(bytes.toByteArray(), true));
                    subscription.cancel();
                    return;
                }
                byte[] all = new byte[b.remaining()];
                b.get(all);
                bytes.writeBytes(all);
            }
            subscription.request(1);
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(new Body(bytes.toByteArray(), false));
        }
    }
}
