package dev.carapace.schedule.heartbeat;

import dev.carapace.text.Excerpt;

import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * An agent's heartbeat as configured ({@code heartbeat:} in the agent's config). The constructor checks every
 * field and refuses with an {@link IllegalArgumentException} whose message starts with the field's config key
 * ({@code heartbeat.every}, {@code heartbeat.watch_files[2]}, ...) and says what is expected.
 *
 * @param every       how often the probe runs, at least {@link #MIN_EVERY}, at most {@link #MAX_EVERY}
 * @param activeHours when it may run, or null for all day (times of the checklist are then read in UTC)
 * @param model       the model for the turns a heartbeat starts (usually a cheaper one), or null for the agent's
 * @param checklist   the checklist's path in the workspace; null means {@link #DEFAULT_CHECKLIST}
 * @param watchFiles  workspace-relative paths whose content is watched (by hash); null means none
 * @param watchUrls   http or https URLs whose content is watched (ETag, Last-Modified, hash); null means none
 */
public record HeartbeatSpec(Duration every, ActiveHours activeHours, String model, String checklist,
                            List<String> watchFiles, List<String> watchUrls) {

    public static final Duration MIN_EVERY = Duration.ofMinutes(1);
    /** Rarer work is a job's: a heartbeat is for frequent, mostly idle checks. Also keeps instant arithmetic sane. */
    public static final Duration MAX_EVERY = Duration.ofDays(7);
    public static final String DEFAULT_CHECKLIST = "HEARTBEAT.md";
    public static final int MAX_WATCH_FILES = 50;
    public static final int MAX_WATCH_URLS = 20;
    static final int MAX_MODEL_CHARS = 200;

    public HeartbeatSpec {
        if (every == null) {
            throw new IllegalArgumentException("heartbeat.every: missing; expected a duration such as 30m");
        }
        if (every.compareTo(MIN_EVERY) < 0) {
            throw new IllegalArgumentException("heartbeat.every: " + show(every) + " is under the minimum of 1 minute");
        }
        if (every.compareTo(MAX_EVERY) > 0) {
            throw new IllegalArgumentException("heartbeat.every: " + show(every) + " is over the maximum of 7 days; "
                    + "for rarer work, use a job");
        }
        if (model != null) {
            if (model.isBlank()) {
                throw new IllegalArgumentException("heartbeat.model: empty; leave it out to use the agent's model");
            }
            if (model.length() > MAX_MODEL_CHARS || !model.matches("\\S+")) {
                throw new IllegalArgumentException("heartbeat.model: '" + Excerpt.clip(model.replaceAll("\\s", " "), 60)
                        + "' is not a model name; expected a model id or tier:NAME without spaces");
            }
        }
        checklist = WorkspacePath.check(checklist == null ? DEFAULT_CHECKLIST : checklist, "heartbeat.checklist");
        watchFiles = checkAll(watchFiles, MAX_WATCH_FILES, "heartbeat.watch_files", true);
        watchUrls = checkAll(watchUrls, MAX_WATCH_URLS, "heartbeat.watch_urls", false);
    }

    /** A heartbeat with only its interval: all day, the agent's model, the default checklist, nothing watched. */
    public static HeartbeatSpec every(Duration every) {
        return new HeartbeatSpec(every, null, null, null, null, null);
    }

    /** The zone the checklist's dates are read in: the active hours', else UTC. */
    public ZoneId zone() {
        return activeHours == null ? ZoneOffset.UTC : activeHours.zone();
    }

    private static List<String> checkAll(List<String> values, int max, String field, boolean paths) {
        if (values == null) return List.of();
        if (values.size() > max) {
            throw new IllegalArgumentException(field + ": " + values.size() + " entries; at most " + max);
        }
        List<String> checked = new ArrayList<>(values.size());
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < values.size(); i++) {
            String where = field + "[" + i + "]";
            String value = paths ? WorkspacePath.check(values.get(i), where) : WatchedUrl.check(values.get(i), where);
            if (!seen.add(value)) {
                String shown = paths ? Excerpt.clip(value, 80) : WatchedUrl.label(value);
                throw new IllegalArgumentException(where + ": '" + shown + "' is listed twice");
            }
            checked.add(value);
        }
        return List.copyOf(checked);
    }

    private static String show(Duration d) {
        return d.isNegative() ? "a negative duration" : d.toString().substring(2).toLowerCase(Locale.ROOT);
    }
}
