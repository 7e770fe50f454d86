package dev.carapace.ledger;

import java.time.ZoneId;
import java.util.List;
import java.util.Map;

/**
 * A spending limit for an org, team, user, agent or scheduled job, in money and/or tokens, over a period.
 *
 * @param limitNanos   hard limit in nano-USD, or null for none
 * @param limitTokens  hard limit in tokens, or null for none
 * @param softPercents percentages of a limit at which an alert is sent, ascending
 * @param tiers        per-tier rules: a cap on what the tier may spend (0 forbids it), or exempt (the tier's calls
 *                     are recorded but not held against this budget, e.g. keep {@code free} usable when money runs out)
 */
public record Budget(Scope scope, String subject, Period period, ZoneId zone, String currency, Long limitNanos,
                     Long limitTokens, List<Integer> softPercents, Map<String, TierRule> tiers) {

    public enum Scope { ORG, TEAM, USER, AGENT, JOB }

    /** @param capNanos what this tier may spend per window (null: no cap of its own) */
    public record TierRule(boolean exempt, Long capNanos) {}

    public Budget {
        softPercents = List.copyOf(softPercents);
        tiers = Map.copyOf(tiers);
    }

    public static String id(Scope scope, String subject) { return scope.name().toLowerCase() + ":" + subject; }

    public String id() { return id(scope, subject); }
}
