package dev.carapace.server.adapter;

import dev.carapace.channel.ChannelEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The channels in Prometheus, from their events on this gateway: {@code carapace_channel_messages_total} by channel,
 * kind and outcome ({@code received}, {@code answered}, {@code refused}, {@code ignored}, {@code failed},
 * {@code awaiting_approval}) and {@code carapace_channel_answer_latency_seconds} by channel (from receipt to the
 * answer sent).
 */
public final class ChannelMetrics implements Consumer<ChannelEvent> {

    private final MeterRegistry registry;
    private final Map<Key, Counter> messages = new ConcurrentHashMap<>();
    private final Map<String, Timer> latency = new ConcurrentHashMap<>();

    private record Key(String channel, String kind, String outcome) {}

    public ChannelMetrics(MeterRegistry registry) { this.registry = registry; }

    @Override
    public void accept(ChannelEvent e) {
        if (!e.type().startsWith("message_")) return;
        String outcome = e.type().substring("message_".length());
        messages.computeIfAbsent(new Key(e.channel(), e.kind(), outcome), k -> Counter.builder("carapace.channel.messages")
                .description("Channel messages, by channel, kind and what became of them")
                .tags("channel", k.channel(), "kind", k.kind(), "outcome", k.outcome()).register(registry)).increment();
        if (e.latencyMs() >= 0) {
            latency.computeIfAbsent(e.channel(), c -> Timer.builder("carapace.channel.answer.latency")
                    .description("From a channel message's receipt to its answer sent").tags("channel", c)
                    .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(10))
                    .maximumExpectedValue(Duration.ofHours(1)).register(registry))
                    .record(e.latencyMs(), TimeUnit.MILLISECONDS);
        }
    }
}
