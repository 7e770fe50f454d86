package dev.carapace.gateway;

import dev.carapace.identity.Principal;
import dev.carapace.model.Access;
import dev.carapace.model.DeploymentSpec;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Portfolio;
import dev.carapace.model.Price;
import dev.carapace.model.PrivacyClass;
import dev.carapace.model.Provider;
import dev.carapace.model.ProviderSpec;
import dev.carapace.model.Router;
import dev.carapace.model.RoutingPolicy;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.WireApi;
import dev.carapace.model.openai.OpenAiFormat;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static dev.carapace.testing.ScriptedUpstream.openAiTextStream;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Streaming with flush coalescing keeps the filter contract: every upstream event goes through every filter's
 * {@link CallFilter#onEvent} before the client's sink sees it, whether it arrived alone or in a burst. There is no
 * path around the filters; the client's sink only learns, through {@link StreamSink#idle()}, when to write.
 */
class StreamFiltersTest {

    private final ScriptedUpstream upstream = new ScriptedUpstream();
    private final OpenAiFormat openAi = new OpenAiFormat();
    private Provider provider;

    @AfterEach
    void stop() {
        if (provider != null) provider.close();
        upstream.close();
    }

    /** What the client's sink saw, in order: events, and "idle" where it was told it may write. */
    private static final class ClientSink implements StreamSink {
        final List<Object> seen = new ArrayList<>();

        @Override
        public void accept(StreamEvent event) { seen.add(event); }

        @Override
        public void idle() { seen.add("idle"); }

        @Override
        public void end() { seen.add("end"); }

        List<String> texts() {
            return seen.stream().filter(StreamEvent.TextDelta.class::isInstance)
                    .map(e -> ((StreamEvent.TextDelta) e).text()).toList();
        }
    }

    /** Rewrites streamed text (as the privacy router restores placeholders) and counts what it was shown. */
    private static final class Rewriter implements CallFilter {
        int events;

        @Override
        public void routed(Call call) { call.rewriteOutput(); }

        @Override
        public StreamEvent onEvent(Call call, StreamEvent event) {
            events++;
            if (event instanceof StreamEvent.TextDelta t) {
                if (t.text().equals("drop ")) return null;
                return new StreamEvent.TextDelta(t.text().replace("secret", "[redacted]"));
            }
            return event;
        }
    }

    private Gateway gateway(CallFilter... filters) {
        ProviderSpec spec = new ProviderSpec("up", WireApi.OPENAI, URI.create(upstream.openAiBaseUrl()), null,
                Duration.ofSeconds(2), Duration.ofSeconds(2), Map.of());
        provider = new Provider(spec, openAi, null);
        Portfolio portfolio = new Portfolio(List.of("mid"), List.of(new ModelSpec("m", "mid",
                Price.FREE, 10_000, 1_000, 0, PrivacyClass.EXTERNAL, List.of(new DeploymentSpec("up", "up-model")))),
                Map.of("up", provider));
        return new Gateway(portfolio, new Router(new RoutingPolicy(1, 1, Duration.ofSeconds(1))),
                Map.of("t", Access.ALL), List.of(filters));
    }

    private Call call() {
        byte[] body = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                .getBytes(StandardCharsets.UTF_8);
        return new Call("req_1", new Principal("o", "t", "u", Principal.Role.MEMBER, "cpk_x"), WireApi.OPENAI,
                openAi.parseRequest(body), null);
    }

    @Test
    void everyEventOfABurstPassesTheFiltersBeforeTheClientSeesIt() {
        List<String> deltas = new ArrayList<>(IntStream.range(0, 30).mapToObj(i -> "a secret " + i + " ").toList());
        deltas.add(10, "drop ");
        upstream.enqueue(sse(List.of(String.join("", openAiTextStream(deltas, 5, deltas.size()))), 0));
        Rewriter rewriter = new Rewriter();
        ClientSink client = new ClientSink();

        Call call = call();
        gateway(rewriter).stream(call, client);

        // role, 31 deltas, finish, usage: all shown to the filter, one by one
        assertThat(rewriter.events).isEqualTo(deltas.size() + 3);
        assertThat(client.texts()).hasSize(30).allSatisfy(t -> assertThat(t).contains("[redacted]").doesNotContain("secret"))
                .doesNotContain("drop ");
        assertThat(client.seen).filteredOn(StreamEvent.UsageReport.class::isInstance).hasSize(1);
        // the burst arrived at once: the client was told to write far fewer times than there were events
        long idles = client.seen.stream().filter("idle"::equals).count();
        assertThat(idles).isPositive().isLessThan(10);
        assertThat(client.seen.getLast()).as("the answer is complete: whatever is held goes out with the end").isEqualTo("end");
        assertThat(call.status()).isEqualTo(200);
    }

    @Test
    void eventsArrivingApartAreEachFollowedByAnIdleSignal() {
        List<String> deltas = List.of("one ", "secret ", "three ");
        upstream.enqueue(sse(openAiTextStream(deltas, null, null), 30));   // frame by frame, 30 ms apart
        Rewriter rewriter = new Rewriter();
        ClientSink client = new ClientSink();

        gateway(rewriter).stream(call(), client);

        assertThat(client.texts()).containsExactly("one ", "[redacted] ", "three ");
        // each text event is followed by an idle before the next event: nothing waits for a later frame
        for (int i = 0; i < client.seen.size() - 1; i++) {
            if (client.seen.get(i) instanceof StreamEvent.TextDelta) {
                assertThat(client.seen.get(i + 1)).as("after event %d", i).isEqualTo("idle");
            }
        }
    }
}
