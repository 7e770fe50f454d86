package dev.carapace.channel.webhook;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The outbound webhooks' durable queue, shared by every gateway on the store: each delivery is taken by one gateway
 * at a time (a claim that lapses, so a gateway that died hands its deliveries on), and every method is durable when
 * it returns.
 */
public interface DeliveryQueue {

    /** Queues a delivery (state pending); false, and nothing changed, when one with its id is there already. */
    boolean add(Delivery delivery, Instant at);

    /**
     * Claims up to {@code limit} pending deliveries due at {@code now} whose claim is free or has lapsed, for
     * {@code owner} until {@code until}.
     */
    List<Delivery> claimDue(String owner, Instant now, Instant until, int limit);

    /**
     * When the earliest pending delivery can next be claimed (its due time, or its claim's end when later); empty
     * when none is pending.
     */
    Optional<Instant> nextDue();

    /** It was delivered (a 2xx) on attempt {@code attempts}. */
    void delivered(String id, int attempts, String detail, Instant at);

    /** Attempt {@code attempts} failed on something that may pass: the claim is released, next try at {@code next}. */
    void retry(String id, int attempts, Instant next, String detail, Instant at);

    /** It is given up (a permanent refusal, or the last attempt failed). */
    void failed(String id, int attempts, String detail, Instant at);

    /** Releases {@code owner}'s claims (a gateway stopping cleanly), so another gateway or a restart takes them at once. */
    void release(String owner);

    /** Forgets deliveries settled (delivered or given up) before {@code before}; how many. */
    int prune(Instant before);

    /** Where a delivery stands. */
    Optional<Status> status(String id);

    /** @param state {@code pending}, {@code delivered} or {@code failed}; {@code detail} what the last attempt got */
    record Status(String state, int attempts, String detail) {}
}
