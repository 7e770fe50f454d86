package dev.carapace.skill.repo;

/**
 * Where the repository's decisions are recorded: the guard's hash-chained audit log in the gateway. Every publish,
 * approval, rejection, install, pin and removal is one record.
 */
@FunctionalInterface
public interface SkillAudit {

    /**
     * @param action  {@code publish}, {@code review}, {@code install}, {@code pin}, {@code remove}
     * @param caller  who decided
     * @param target  {@code NAME@HASH}, with {@code  at SCOPE} for installs
     * @param outcome {@code pending}, {@code approved}, {@code rejected}, {@code installed}, {@code pinned}, {@code removed}
     * @param reason  one line: the findings' summary, the note
     */
    void record(String action, Caller caller, String target, String outcome, String reason);
}
