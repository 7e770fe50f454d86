package dev.carapace.skill;

import java.util.List;
import java.util.Map;

/**
 * OpenClaw's {@code metadata.openclaw} block of a {@code SKILL.md} (also read from the legacy {@code clawdbot} and
 * {@code clawdis} keys when {@code openclaw} is absent): how the skill is shown and when it is eligible.
 *
 * @param emoji      shown next to the skill's name in OpenClaw's UI; null when absent
 * @param homepage   a web page about the skill; null when absent
 * @param os         the operating systems it runs on ({@code darwin}, {@code linux}, {@code win32}); empty for any
 * @param requires   what the host must have for the skill to be eligible
 * @param primaryEnv the environment variable that holds its API key, or null
 * @param always     true to skip the {@code requires} checks (never the {@code os} one)
 * @param install    how OpenClaw's UI would install its programs: kept as data, never executed by Carapace
 * @param skillKey   the key of its per-skill config entry when it is not the skill's name, or null
 */
public record OpenClawMetadata(String emoji, String homepage, List<String> os, Requires requires, String primaryEnv,
                               boolean always, List<InstallSpec> install, String skillKey) {

    public OpenClawMetadata {
        os = List.copyOf(os);
        install = List.copyOf(install);
        if (requires == null) requires = Requires.NONE;
    }

    /**
     * What the host must offer.
     *
     * @param bins    programs that must all be on {@code PATH}
     * @param anyBins programs of which at least one must be on {@code PATH}
     * @param env     environment variables that must be set
     * @param config  dotted paths that must be truthy in the skill's config entry
     */
    public record Requires(List<String> bins, List<String> anyBins, List<String> env, List<String> config) {
        public static final Requires NONE = new Requires(List.of(), List.of(), List.of(), List.of());

        public Requires {
            bins = List.copyOf(bins);
            anyBins = List.copyOf(anyBins);
            env = List.copyOf(env);
            config = List.copyOf(config);
        }
    }

    /**
     * One installer hint ({@code brew}, {@code node}, {@code go}, {@code uv}, {@code download}...). Carapace never
     * runs it; it is shown so an operator knows what the skill expects.
     *
     * @param fields every field as written (strings, numbers, booleans, lists and maps), unmodifiable
     */
    public record InstallSpec(String id, String kind, String label, List<String> bins, List<String> os,
                              Map<String, Object> fields) {
        public InstallSpec {
            bins = List.copyOf(bins);
            os = List.copyOf(os);
            fields = fields == null ? Map.of() : fields;
        }
    }
}
