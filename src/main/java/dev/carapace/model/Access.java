package dev.carapace.model;

import java.util.Set;

/**
 * Which tiers and models a caller may use. An empty set means "no restriction" on that axis.
 *
 * @param downgradeTier when a budget refuses a call, serve it from this tier instead (announced to the client in
 *                      a response header); null to refuse
 */
public record Access(Set<String> tiers, Set<String> models, String downgradeTier) {
    public static final Access ALL = new Access(Set.of(), Set.of());

    public Access {
        tiers = Set.copyOf(tiers);
        models = Set.copyOf(models);
    }

    public Access(Set<String> tiers, Set<String> models) {
        this(tiers, models, null);
    }

    public boolean allowsTier(String tier) { return tiers.isEmpty() || tiers.contains(tier); }

    public boolean allowsModel(String model) { return models.isEmpty() || models.contains(model); }
}
