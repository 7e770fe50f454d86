package dev.carapace.guard.call;

import dev.carapace.guard.NetworkRules.Verdict;

/**
 * The guard's answer to one tool call. A refusal reaches the model as a structured result, so every field is
 * written for it and for the operator reading the transcript: never a secret value.
 *
 * @param reason what was refused and why (null when allowed, except for an audit-only rule's note)
 * @param rule   the id of the rule that decided, or of the default a denial fell back to
 * @param layer  which layer decided: {@code tool}, {@code filesystem}, {@code network}, {@code policy}
 * @param target what the call would touch, canonical: a real path, a URL as the proxy judges it, a command
 * @param remedy what an operator could approve or add to the policy to allow it (null if nothing)
 */
public record CallDecision(Verdict verdict, String reason, String rule, String layer, String target, String remedy) {}
