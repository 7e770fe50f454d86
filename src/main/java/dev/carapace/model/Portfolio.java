package dev.carapace.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.carapace.text.Excerpt.clip;

/**
 * The models clients can address, by id or by tier ({@code tier:NAME}), with their live deployments. Resolution
 * applies the caller's {@link Access}: an unknown name is 404, a known one the caller may not use is 403.
 */
public final class Portfolio {

    public static final String TIER_PREFIX = "tier:";

    /** A model with its deployments in order of preference. */
    public record Entry(ModelSpec spec, List<Deployment> deployments) {
        public String id() { return spec.id(); }

        public String tier() { return spec.tier(); }

        boolean allCooling(long now) {
            for (Deployment d : deployments) if (!d.coolingDown(now)) return false;
            return true;
        }
    }

    private final Map<String, Entry> models = new LinkedHashMap<>();
    private final Map<String, List<Entry>> byTier = new LinkedHashMap<>();
    /** Exact aliases, and prefix aliases ({@code claude-*} as {@code claude-}), longest prefix first. */
    private final Map<String, Entry> aliases = new HashMap<>();
    private final List<Map.Entry<String, Entry>> prefixes = new ArrayList<>();

    /**
     * @param providers every provider the models' deployments name
     */
    public Portfolio(List<String> tiers, Iterable<ModelSpec> specs, Map<String, Provider> providers) {
        for (String t : tiers) byTier.put(t, new ArrayList<>());
        for (ModelSpec spec : specs) {
            List<Deployment> ds = new ArrayList<>();
            for (DeploymentSpec d : spec.deployments()) {
                Provider p = providers.get(d.provider());
                if (p == null) throw new IllegalArgumentException("model " + spec.id() + ": unknown provider " + d.provider());
                ds.add(new Deployment(d, p));
            }
            Entry e = new Entry(spec, List.copyOf(ds));
            models.put(spec.id(), e);
            byTier.computeIfAbsent(spec.tier(), t -> new ArrayList<>()).add(e);
            for (String alias : spec.aliases()) {
                if (alias.endsWith("*")) prefixes.add(Map.entry(alias.substring(0, alias.length() - 1), e));
                else aliases.put(alias, e);
            }
        }
        prefixes.sort(Comparator.comparingInt((Map.Entry<String, Entry> p) -> p.getKey().length()).reversed());
    }

    /**
     * The model a name stands for, without the caller's access: a model's id first, then an exact alias, then the
     * longest prefix alias that matches; null when none does.
     */
    private Entry named(String requested) {
        Entry e = models.get(requested);
        if (e == null) e = aliases.get(requested);
        if (e == null) {
            for (Map.Entry<String, Entry> p : prefixes) if (requested.startsWith(p.getKey())) return p.getValue();
        }
        return e;
    }

    public List<Entry> models() { return List.copyOf(models.values()); }

    /** The models a caller with {@code access} may use, in config order. */
    public List<Entry> visible(Access access) {
        List<Entry> out = new ArrayList<>();
        for (Entry e : models.values()) if (access.allowsTier(e.tier()) && access.allowsModel(e.id())) out.add(e);
        return out;
    }

    /**
     * The model for a requested name. For a tier, the first model of that tier the caller may use whose
     * deployments are not all cooling down (or the first usable one, when all are).
     *
     * @param who how to name the caller in a refusal, e.g. "team 'research'"
     */
    public Entry resolve(String requested, Access access, String who) {
        if (requested.startsWith(TIER_PREFIX)) {
            String tier = requested.substring(TIER_PREFIX.length());
            List<Entry> inTier = byTier.get(tier);
            if (inTier == null) {
                throw notFound("model", "Tier '" + tier + "' does not exist. Tiers: " + String.join(", ", byTier.keySet()) + ".");
            }
            if (!access.allowsTier(tier)) throw tierDenied(who, tier, access);
            Entry first = null;
            long now = System.nanoTime();
            for (Entry e : inTier) {
                if (!access.allowsModel(e.id())) continue;
                if (first == null) first = e;
                if (!e.allCooling(now)) return e;
            }
            if (first == null) {
                throw inTier.isEmpty()
                        ? notFound("model", "Tier '" + tier + "' has no models configured.")
                        : new ApiException(ApiException.Kind.PERMISSION, who + " may use none of the models of tier '"
                          + tier + "'.", "model", "model_not_allowed", null, false);
            }
            return first;
        }
        Entry e = named(requested);
        if (e == null) {
            throw notFound("model", "The model '" + clip(requested, 80) + "' does not exist. GET /v1/models lists the models you can use.");
        }
        if (!access.allowsTier(e.tier())) throw tierDenied(who, e.tier(), access);
        if (!access.allowsModel(e.id())) {
            throw new ApiException(ApiException.Kind.PERMISSION, who + " may not use model '" + e.id()
                    + "'. Allowed models: " + String.join(", ", access.models().stream().sorted().toList()) + ".",
                    "model", "model_not_allowed", null, false);
        }
        return e;
    }

    /**
     * As {@link #resolve}, for a call that may only go to models whose privacy class is private: the requested model
     * if it is private, else a private model of its kind the caller may use, preferring the requested model's tier and models
     * whose deployments are not all cooling down. Refused with 403 when there is none; never an external model.
     *
     * @param reason what the call carries, for the refusal (e.g. "data of class confidential")
     */
    public Entry resolvePrivate(String requested, Access access, String who, String reason) {
        Entry asked = resolve(requested, access, who);
        if (asked.spec().privacy() == PrivacyClass.PRIVATE) return asked;
        long now = System.nanoTime();
        Entry best = null;
        int bestScore = -1;
        for (Entry e : visible(access)) {
            // a model of another kind cannot serve the call (a chat model transcribes nothing)
            if (e.spec().privacy() != PrivacyClass.PRIVATE || e.spec().kind() != asked.spec().kind()) continue;
            int score = (e.tier().equals(asked.tier()) ? 2 : 0) + (e.allCooling(now) ? 0 : 1);
            if (score > bestScore) {
                best = e;
                bestScore = score;
            }
        }
        if (best == null) {
            throw new ApiException(ApiException.Kind.PERMISSION, "The request carries " + reason + ", which may only be"
                    + " sent to private models, and no private model is available to " + who + " (model '" + asked.id() + "' is external)."
                    + " Remove that data, or ask an admin for a private model.", "messages", "no_private_model", null, false);
        }
        return best;
    }

    private static ApiException tierDenied(String who, String tier, Access access) {
        return new ApiException(ApiException.Kind.PERMISSION, who + " may not use tier '" + tier + "'. Allowed tiers: "
                + String.join(", ", access.tiers().stream().sorted().toList()) + ".", "model", "tier_not_allowed", null, false);
    }

    private static ApiException notFound(String param, String message) {
        return new ApiException(ApiException.Kind.NOT_FOUND, message, param, "model_not_found", null, false);
    }

}
