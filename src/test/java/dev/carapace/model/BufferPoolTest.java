package dev.carapace.model;

import com.fasterxml.jackson.core.util.BufferRecycler;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class BufferPoolTest {

    @Test
    void aSetGivenBackIsTheNextOneTheThreadGets() {
        BufferPool pool = new BufferPool();
        BufferRecycler first = pool.acquirePooled();
        pool.releasePooled(first);
        assertThat(pool.acquirePooled()).isSameAs(first);
        assertThat(pool.acquirePooled()).as("taken: the next acquire makes a new one").isNotSameAs(first);
    }

    @Test
    void noSetIsEverHeldByTwoThreadsAtOnceAndAtMostTheSlotsAreKept() throws InterruptedException {
        BufferPool pool = new BufferPool();
        Set<BufferRecycler> inUse = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        AtomicInteger clashes = new AtomicInteger();
        int threads = 2_000;
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0; i < 50; i++) {
                        BufferRecycler r = pool.acquirePooled();
                        if (!inUse.add(r)) clashes.incrementAndGet();
                        Thread.yield();
                        inUse.remove(r);
                        pool.releasePooled(r);
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        done.await();
        assertThat(clashes.get()).as("sets handed to a second thread while the first held them").isZero();
        assertThat(pool.pooledCount()).isBetween(1, BufferPool.SLOTS);
    }

    /** Through Jackson itself, as the wire formats use it: a parser and a generator link a set and give it back. */
    @Test
    void jacksonTakesAndReturnsSetsThroughIt() throws Exception {
        var factory = com.fasterxml.jackson.core.JsonFactory.builder().recyclerPool(JsonBytes.RECYCLER_POOL).build();
        JsonBytes.RECYCLER_POOL.clear();
        try (var p = factory.createParser("{\"a\":[1,2,3]}")) {
            while (p.nextToken() != null) { }
        }
        assertThat(JsonBytes.RECYCLER_POOL.pooledCount()).isEqualTo(1);
    }
}
