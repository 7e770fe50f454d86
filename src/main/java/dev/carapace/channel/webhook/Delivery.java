package dev.carapace.channel.webhook;

import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One POST Carapace owes a receiver (an agent's answer, a job's result), as the durable queue keeps it until it is
 * delivered or given up.
 *
 * @param id          the {@code webhook-id} sent on every attempt, so the receiver drops a repeat
 * @param origin      what queued it: {@code channel:ID} or {@code job:ID}, for logs and status
 * @param caller      whose egress rules the POST goes out under
 * @param url         where it goes
 * @param secrets     names of the keys it is signed with when sent (the keys themselves are never stored); empty:
 *                    unsigned
 * @param body        the JSON payload, exactly as signed
 * @param maxAttempts attempts before it is given up
 * @param attempts    attempts made so far
 * @param nextAt      when the next attempt is due
 */
public record Delivery(String id, String origin, String caller, URI url, List<String> secrets, byte[] body,
                       int maxAttempts, int attempts, Instant nextAt) {

    public Delivery {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(caller, "caller");
        Objects.requireNonNull(url, "url");
        secrets = List.copyOf(secrets);
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(nextAt, "nextAt");
    }
}
