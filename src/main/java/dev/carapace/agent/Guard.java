package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Decides, before it happens, whether a tool call may run. The policy engine implements it; until then the
 * default allows only the tools an agent's config lists, with file tools confined to the workspace.
 */
public interface Guard {

    Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments);

    /** {@code allow}, {@code deny} with a reason and the rule, or {@code ask} a human first. */
    record Decision(Verdict verdict, String reason, String rule) {
        public enum Verdict { ALLOW, DENY, ASK }

        public static Decision allow(String rule) { return new Decision(Verdict.ALLOW, null, rule); }

        public static Decision deny(String reason, String rule) { return new Decision(Verdict.DENY, reason, rule); }
    }
}
