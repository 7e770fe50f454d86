package dev.carapace.memory;

import java.util.List;

/**
 * The privacy policy's look at a note before it is stored: which sensitive values it holds, and for each whether the
 * policy lets memory keep it, wants it redacted, or refuses it. Memory's view of the privacy router, adapted by the
 * composition root. Findings say what and where, never the value.
 */
public interface WriteScreen {

    /** What the policy does with a value in a note. */
    enum Verdict { KEEP, REDACT, REFUSE }

    /**
     * One value found.
     *
     * @param type      what it is ({@code card}, {@code openai_key}, {@code email}, ...)
     * @param dataClass its class ({@code pii}, {@code secret}, ...)
     * @param line      the line of the note it is on, from 1
     */
    record Found(String type, String dataClass, int line, Verdict verdict) {}

    /**
     * The note as it may be stored (values the policy redacts replaced by {@code [REDACTED:TYPE]}) and what was found;
     * when anything was refused, the note must not be stored at all.
     */
    record Screened(String text, List<Found> found) {
        public List<Found> refused() { return found.stream().filter(f -> f.verdict() == Verdict.REFUSE).toList(); }

        public List<Found> redacted() { return found.stream().filter(f -> f.verdict() == Verdict.REDACT).toList(); }
    }

    /** Screens {@code text} as the policy of {@code team} and {@code agent} (either may be null) says. */
    Screened screen(String team, String agent, String text);

    /** Keeps everything: for a deployment (or a test) with no privacy policy to apply. */
    WriteScreen NONE = (team, agent, text) -> new Screened(text, List.of());
}
