package dev.carapace.schedule.heartbeat;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.zone.ZoneOffsetTransition;

/**
 * The one rule for turning a wall-clock time into an instant, shared by the active hours and the checklist so that
 * a window and a reminder at the same wall time agree on daylight-saving days.
 *
 * <p>A time the clocks skip (spring forward: 02:30 when 02:00 jumps to 03:00) becomes the instant of the jump, the
 * first moment whose wall time is past it; a time the clocks show twice (fall back) is its first occurrence.
 */
final class WallClock {

    private WallClock() {}

    static Instant firstInstant(LocalDateTime wall, ZoneId zone) {
        ZoneOffsetTransition transition = zone.getRules().getTransition(wall);
        if (transition != null && transition.isGap()) return transition.getInstant();
        return wall.atZone(zone).toInstant(); // an overlap resolves to the earlier offset, i.e. the first occurrence
    }
}
