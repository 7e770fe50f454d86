package dev.carapace.schedule;

import java.net.URI;

/**
 * Where a job's result goes when it names a {@code deliver_to}: in production the durable, signed, retried webhook
 * deliveries the channels use (fitted in {@code server.adapter}), so a result survives a restart and a receiver's
 * bad minute, goes out through the egress proxy as the job's caller, and carries the same {@code webhook-id} on
 * every attempt.
 */
public interface ResultDelivery {

    /**
     * Queues the POST; durable when it returns (it is sent later, and again until taken or given up).
     *
     * @param job    the job's id
     * @param caller whose network rules apply: the job's agent, or {@code job:ID}
     * @param key    the same for the same run ({@code ID:RUN:FIRE_TIME}), so queuing it again is no second delivery
     * @throws RuntimeException it could not be queued (the store is down); the run's history stands
     */
    void deliver(String job, String caller, URI to, String key, byte[] body);
}
