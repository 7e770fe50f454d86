package dev.carapace.model;

import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.RecyclerPool;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Jackson's buffer sets for threads that come and go: {@value #SLOTS} slots, each holding one set or none; a thread
 * takes the set in the slot its id hashes to, or makes one, and puts it back there when done, or drops it if the slot
 * was filled meanwhile. One atomic swap each way, no lock, and never more than {@value #SLOTS} sets kept.
 *
 * <p>Why not Jackson's own: its default is per thread (a fresh set for every virtual thread, so for every request);
 * its bounded pool is an {@code ArrayBlockingQueue}, whose lock was 2% of a streamed call's CPU under load (every
 * chunk takes and returns a set); its concurrent-deque pool cost about as much in {@code pollFirst}. A parse or a
 * render never blocks, so only about one set per carrier thread is in use at any moment, and a slot is almost always
 * free.
 */
final class BufferPool implements RecyclerPool<BufferRecycler> {

    static final int SLOTS = 64;

    private final AtomicReferenceArray<BufferRecycler> slots = new AtomicReferenceArray<>(SLOTS);

    @Override
    public BufferRecycler acquirePooled() {
        BufferRecycler r = slots.getAndSet(slot(), null);
        return r != null ? r : new BufferRecycler();
    }

    @Override
    public void releasePooled(BufferRecycler r) {
        slots.compareAndSet(slot(), null, r);   // the slot was filled meanwhile: this set is dropped
    }

    @Override
    public int pooledCount() {
        int n = 0;
        for (int i = 0; i < SLOTS; i++) if (slots.get(i) != null) n++;
        return n;
    }

    @Override
    public boolean clear() {
        for (int i = 0; i < SLOTS; i++) slots.set(i, null);
        return true;
    }

    /** The current thread's slot: its id, scrambled (Fibonacci hashing) so that consecutive ids spread. */
    private static int slot() {
        return (int) ((Thread.currentThread().threadId() * 0x9E3779B97F4A7C15L) >>> 58);   // top 6 bits: 0..63
    }
}
