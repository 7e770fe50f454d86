package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Decides, before it happens, whether a tool call may run. The policy engine implements it (through an adapter in
 * the server); {@link WorkspaceGuard} is the default that allows only the tools an agent's config lists.
 */
public interface Guard {

    Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments);

    /**
     * The decision for a run that may follow skills ({@link Following}: the run of {@code agentId} and the runs
     * above it): what the runtime asks. A guard that narrows what a skill may do overrides it; the default ignores
     * {@code following}.
     */
    default Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments, Following following) {
        return decide(agentId, sessionKey, tool, arguments);
    }

    /**
     * The gate file tools ask at every file they touch for this agent: the enforcement of the file rules, where
     * {@link #decide} is the up-front decision (audited, may ask a human). The default confines to the workspace only.
     */
    default FileGate files(String agentId, String sessionKey) {
        return FileGate.WORKSPACE;
    }

    /** The gate tools ask before fetching a URL the model did not name (a redirect's). The default asks nothing. */
    default UrlGate urls(String agentId, String sessionKey) {
        return UrlGate.ANY;
    }

    /** As {@link #urls(String, String)}, for a run that may follow skills; the default ignores {@code following}. */
    default UrlGate urls(String agentId, String sessionKey, Following following) {
        return urls(agentId, sessionKey);
    }

    /**
     * {@code allow}, {@code deny}, or {@code ask} a human first. A refusal reaches the model as a structured result,
     * so every field is written for it and for the operator reading the transcript: no secret values.
     *
     * @param reason what was refused and why (null when allowed)
     * @param rule   the id of the rule that decided, or of the missing rule a denial fell back to
     * @param layer  which layer decided: {@code tool}, {@code filesystem}, {@code network}, {@code process}
     * @param target what the call would have touched: a path, a host:port, a command (null if none)
     * @param remedy what an operator could approve or add to the policy to allow it (null if nothing)
     */
    record Decision(Verdict verdict, String reason, String rule, String layer, String target, String remedy) {
        public enum Verdict { ALLOW, DENY, ASK }

        public static Decision allow(String rule) { return new Decision(Verdict.ALLOW, null, rule, "tool", null, null); }

        public static Decision deny(String reason, String rule) {
            return new Decision(Verdict.DENY, reason, rule, "tool", null, null);
        }
    }
}
