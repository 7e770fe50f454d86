/**
 * The org's shared skill repository: {@link dev.carapace.skill.repo.SkillRepository} publishes skills (scanned by
 * {@code skill.scan}, stored by {@link dev.carapace.skill.SkillHash}), records admins' reviews, and pins approved
 * versions at scopes ({@link dev.carapace.skill.repo.Scope}: org, team, agent);
 * {@link dev.carapace.skill.repo.InstalledSkillSource} gives each agent its installs as a
 * {@link dev.carapace.skill.SkillSource}. Uploads are read by {@link dev.carapace.skill.repo.SkillArchives} as
 * hostile. The store, the audit log and the config's agents are reached through this package's own interfaces
 * ({@link dev.carapace.skill.repo.VersionStore}, {@link dev.carapace.skill.repo.SkillAudit},
 * {@link dev.carapace.skill.repo.AgentOwners}), adapted in {@code server}.
 */
package dev.carapace.skill.repo;
