package dev.carapace.skill;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether a skill can be used on this gateway, as OpenClaw decides it: an {@code os} list that must hold the host's;
 * then, unless {@code always: true}, {@code requires.bins} all on {@code PATH}, at least one of
 * {@code requires.anyBins}, every {@code requires.env} variable set (see {@link SkillHost#hasVariable}), and every
 * {@code requires.config} path truthy.
 * A skill turned off in the config ({@code skills.entries.KEY.enabled: false}) is never available.
 *
 * <p>Config paths: one starting with {@code skills.} is read in the {@code skills:} section as OpenClaw lays it out
 * ({@code skills.entries.coding-agent.enabled}); any other is read in the skill's own entry's {@code config}
 * ({@code browser.enabled} is {@code skills.entries.KEY.config.browser.enabled}). Truthy: set, and not false, 0, ""
 * or empty.
 */
public final class SkillGate {

    private final SkillHost host;
    private final SkillSettings settings;
    private final Map<String, Boolean> onPath = new HashMap<>();

    public SkillGate(SkillHost host, SkillSettings settings) {
        this.host = host;
        this.settings = settings;
    }

    /** Whether {@code skill} is available here, and if not why (one line, naming what is missing, never a value). */
    public Eligibility check(Skill skill) {
        SkillDocument doc = skill.doc();
        String key = doc.configKey();
        SkillSettings.Entry entry = settings.entry(key);
        if (Boolean.FALSE.equals(entry.enabled())) {
            return Eligibility.no("turned off in the config (skills.entries." + key + ".enabled: false)");
        }
        OpenClawMetadata oc = doc.openclaw();
        if (oc == null) return Eligibility.YES;
        if (!oc.os().isEmpty() && !oc.os().contains(host.os())) {
            return Eligibility.no("requires os " + String.join(" or ", oc.os()) + "; this gateway runs " + host.os());
        }
        if (oc.always()) return Eligibility.YES;
        OpenClawMetadata.Requires r = oc.requires();
        List<String> missing = r.bins().stream().filter(b -> !onPath(b)).toList();
        if (!missing.isEmpty()) {
            return Eligibility.no("requires " + plural(missing, "command") + " not on this gateway's PATH: "
                    + String.join(", ", missing));
        }
        if (!r.anyBins().isEmpty() && r.anyBins().stream().noneMatch(this::onPath)) {
            return Eligibility.no("requires one of the commands " + String.join(", ", r.anyBins())
                    + " on this gateway's PATH; none is there");
        }
        List<String> unset = r.env().stream().filter(v -> !host.hasVariable(v)).toList();
        if (!unset.isEmpty()) {
            return Eligibility.no("requires the environment " + plural(unset, "variable") + " "
                    + String.join(", ", unset) + ", set neither in the gateway's environment nor as a secret of that"
                    + " name in the config's secrets:");
        }
        List<String> off = r.config().stream().filter(p -> !truthy(configValue(p, key, entry))).toList();
        if (!off.isEmpty()) {
            return Eligibility.no("requires the config " + plural(off, "setting") + " " + String.join(", ", off)
                    + " to be set (and not false)"
                    + (off.stream().anyMatch(p -> !p.startsWith("skills.")) ? "; other than skills.* paths are read"
                    + " in skills.entries." + key + ".config" : ""));
        }
        return Eligibility.YES;
    }

    /** Whether a skill may be used, and why not. */
    public record Eligibility(boolean available, String reason) {
        public static final Eligibility YES = new Eligibility(true, null);

        static Eligibility no(String reason) {
            return new Eligibility(false, reason);
        }
    }

    private boolean onPath(String program) {
        return onPath.computeIfAbsent(program, host::onPath);
    }

    /** The value at a dotted {@code path}, or null; see the class comment for where it is read. */
    private Object configValue(String path, String key, SkillSettings.Entry entry) {
        if (path.startsWith("skills.")) return walk(sectionTree(), path.split("\\."));
        return walk(entry.config(), path.split("\\."));
    }

    /** The {@code skills:} section as OpenClaw lays it out, for {@code skills.*} paths. */
    private Map<String, Object> sectionTree() {
        Map<String, Object> entries = new LinkedHashMap<>();
        settings.entries().forEach((k, e) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            if (e.enabled() != null) m.put("enabled", e.enabled());
            if (!e.config().isEmpty()) m.put("config", e.config());
            entries.put(k, m);
        });
        return Map.of("skills", Map.of("entries", entries));
    }

    private static Object walk(Object node, String[] names) {
        for (String n : names) {
            if (!(node instanceof Map<?, ?> m)) return null;
            node = m.get(n);
        }
        return node;
    }

    private static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Boolean b -> b;
            case Number n -> n.doubleValue() != 0;
            case String s -> !s.isEmpty() && !s.equalsIgnoreCase("false");
            case Map<?, ?> m -> !m.isEmpty();
            case Collection<?> c -> !c.isEmpty();
            default -> true;
        };
    }

    private static String plural(List<?> items, String noun) {
        return items.size() == 1 ? noun : noun + "s";
    }
}
