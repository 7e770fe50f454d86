/**
 * The static review of a skill before anyone may use it: {@link dev.carapace.skill.scan.SkillScanner} reads every
 * file of a skill and reports {@link dev.carapace.skill.scan.Finding}s (download-and-execute, credentials and the
 * environment, encoded payloads, instructions to disable safety, unknown or hostile hosts, hidden Unicode, binaries)
 * with a {@link dev.carapace.skill.scan.Severity}; high and critical ones block until an admin approves. Bounded
 * (per-file cap, {@code BoundedRegex}, a deadline); uses nothing of Carapace but {@code text}. To add a rule: a line
 * rule in {@code Rules} (bounded repetitions only), or a check in {@code SkillScanner.Run}, and a malicious and a
 * benign case in the {@code skill-scan-corpus} test resources.
 */
package dev.carapace.skill.scan;
