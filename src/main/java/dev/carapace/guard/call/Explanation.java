package dev.carapace.guard.call;

import dev.carapace.guard.policy.PolicyEngine;

import java.util.List;

/**
 * Every layer's answer to a call, and the one that decides: what {@code carapace policy explain} prints.
 *
 * @param steps    the layers asked, in order
 * @param decision what the runtime gets
 * @param audit    allowed only because the deciding rule is audit-only
 */
public record Explanation(List<PolicyEngine.Decision> steps, CallDecision decision, boolean audit) {}
