package dev.carapace.memory;

import java.util.Locale;
import java.util.Objects;

/**
 * Whose memory a note is in: one agent's own, or a team's (shared by the team's agents).
 *
 * @param name the agent's id or the team's name
 */
public record Scope(Kind kind, String name) {

    /** The two kinds of memory. */
    public enum Kind {
        AGENT, TEAM;

        /** {@code agent} or {@code team}, as the store, the API and the CLI write it. */
        public String label() { return name().toLowerCase(Locale.ROOT); }
    }

    public Scope {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) throw new IllegalArgumentException("a scope has a name");
    }

    public static Scope agent(String id) { return new Scope(Kind.AGENT, id); }

    public static Scope team(String name) { return new Scope(Kind.TEAM, name); }

    @Override
    public String toString() { return kind.label() + ":" + name; }
}
