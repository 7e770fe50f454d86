package dev.carapace.schedule.heartbeat;

import dev.carapace.text.Excerpt;

import java.util.Locale;
import java.util.Objects;

/**
 * One thing the probe found changed since the last beat: the only kind of thing a heartbeat turn is told about.
 *
 * @param kind   where it was found
 * @param what   the thing: a path, a URL's label, a sender, a job, a checklist line (at most {@value #MAX_WHAT}
 *               characters)
 * @param detail what happened to it, short (at most {@value #MAX_DETAIL} characters; the prompt clips further)
 * @param key    for a checklist item, its {@link Checklist.Item#key}, so an item left out of a prompt is not marked
 *               reported; else null
 */
public record Change(Kind kind, String what, String detail, String key) {

    static final int MAX_WHAT = 200;
    static final int MAX_DETAIL = 1000;

    /** Where a change was found. */
    public enum Kind {
        INBOX, JOB, FILE, URL, CHECKLIST;

        /** The lower-case name the prompt shows. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public Change {
        Objects.requireNonNull(kind, "kind");
        what = Excerpt.clip(Objects.requireNonNullElse(what, ""), MAX_WHAT);
        detail = Excerpt.clip(Objects.requireNonNullElse(detail, ""), MAX_DETAIL);
    }

    public Change(Kind kind, String what, String detail) {
        this(kind, what, detail, null);
    }
}
