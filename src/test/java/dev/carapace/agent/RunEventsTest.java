package dev.carapace.agent;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class RunEventsTest {

    @Test
    void aSlowSubscriberNeverStallsTheRunAndLearnsWhatItMissedAndHowTheRunEnded() throws Exception {
        RunEvents events = new RunEvents(4);
        CountDownLatch gate = new CountDownLatch(1);
        List<RunEvent> slow = new CopyOnWriteArrayList<>();
        List<RunEvent> fast = new CopyOnWriteArrayList<>();
        RunEvents.Subscription s = events.subscribeRun("r1", e -> {
            try {
                gate.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            slow.add(e);
        });
        events.subscribeSession("k", fast::add);

        long t0 = System.nanoTime();
        for (int i = 0; i < 1000; i++) events.publish(new RunEvent.TextDelta("r1", "k", "t" + i));
        events.publish(new RunEvent.StatusChanged("r1", "k", RunStatus.COMPLETED, null));
        long publishMillis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(publishMillis).as("publishing waits for no subscriber").isLessThan(500);

        gate.countDown();
        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> slow.stream().anyMatch(RunEvent::isTerminal));
        // The first (taken by the blocked listener) and up to 4 queued arrive, then the final status; the rest dropped.
        assertThat(slow.get(0)).isEqualTo(new RunEvent.TextDelta("r1", "k", "t0"));
        assertThat(slow.get(slow.size() - 1)).isEqualTo(new RunEvent.StatusChanged("r1", "k", RunStatus.COMPLETED, null));
        assertThat(slow.size()).isLessThanOrEqualTo(7);
        assertThat(slow.get(slow.size() - 2)).isInstanceOf(RunEvent.Dropped.class);
        // Marks sit where events were lost (more than one if the listener took some between losses); together they
        // count every event that did not arrive.
        long marked = slow.stream().filter(e -> e instanceof RunEvent.Dropped).mapToLong(e -> ((RunEvent.Dropped) e).count()).sum();
        long delivered = slow.stream().filter(e -> e instanceof RunEvent.TextDelta).count();
        assertThat(marked).isEqualTo(s.dropped()).isEqualTo(1000 - delivered);
        // Another subscriber kept whatever order it got: increasing, ending with the final status.
        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> fast.stream().anyMatch(RunEvent::isTerminal));
        int last = -1;
        for (RunEvent e : fast) {
            if (e instanceof RunEvent.TextDelta t) {
                int i = Integer.parseInt(t.text().substring(1));
                assertThat(i).isGreaterThan(last);
                last = i;
            }
        }
        assertThat(fast.get(fast.size() - 1).isTerminal()).isTrue();
        events.close();
    }

    @Test
    void droppedEventsAreMarkedWhereTheyWereLost() throws Exception {
        RunEvents events = new RunEvents(2);
        CountDownLatch gate = new CountDownLatch(1);
        CountDownLatch first = new CountDownLatch(1);
        List<RunEvent> got = new CopyOnWriteArrayList<>();
        events.subscribeSession("k", e -> {
            first.countDown();
            try {
                gate.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            got.add(e);
        });
        events.publish(new RunEvent.TextDelta("r", "k", "a"));
        first.await(5, TimeUnit.SECONDS);                          // "a" is in the listener's hands
        events.publish(new RunEvent.TextDelta("r", "k", "b"));     // queued
        events.publish(new RunEvent.TextDelta("r", "k", "c"));     // queued (queue full now)
        events.publish(new RunEvent.TextDelta("r", "k", "d"));     // dropped
        events.publish(new RunEvent.TextDelta("r", "k", "e"));     // dropped
        gate.countDown();
        await().atMost(java.time.Duration.ofSeconds(5)).until(() -> got.size() == 3);
        events.publish(new RunEvent.TextDelta("r", "k", "f"));     // room again: the marker, then f
        await().atMost(java.time.Duration.ofSeconds(5)).until(() -> got.size() == 5);
        assertThat(got).extracting(AgentRuntimeTest::describe)
                .containsExactly("text:a", "text:b", "text:c", "dropped:2", "text:f");
        events.close();
    }
}
