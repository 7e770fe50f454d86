/**
 * Skills: AgentSkills-format folders ({@code SKILL.md} with YAML front matter and a markdown body, as OpenClaw
 * writes them) that teach an agent a procedure. {@link dev.carapace.skill.SkillDocuments} parses a {@code SKILL.md}
 * into a {@link dev.carapace.skill.SkillDocument} (with OpenClaw's {@code metadata.openclaw} block as
 * {@link dev.carapace.skill.OpenClawMetadata} and what the skill declares it needs as
 * {@link dev.carapace.skill.SkillNeeds}); a {@link dev.carapace.skill.Skill} is a loaded one with its origin, its
 * files and its {@link dev.carapace.skill.SkillHash content hash}; a {@link dev.carapace.skill.SkillSource} says which
 * skills an agent may use. This package uses {@code text}, {@code yaml}, {@code fs} and {@code agent}; never the store,
 * the ledger, the guard or the server (the org repository's store-backed source lives with the store's users).
 */
package dev.carapace.skill;
