package dev.carapace.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A UTC clock a test moves by hand: for schedules and heartbeats whose days pass in a moment. */
public final class MutableClock extends Clock {

    private volatile Instant now;

    public MutableClock(Instant now) { this.now = now; }

    public void set(Instant instant) { now = instant; }

    public void advance(Duration d) { now = now.plus(d); }

    @Override
    public ZoneId getZone() { return ZoneOffset.UTC; }

    @Override
    public Clock withZone(ZoneId zone) { return this; }

    @Override
    public Instant instant() { return now; }
}
