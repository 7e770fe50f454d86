/**
 * The config file: {@link dev.carapace.config.ConfigLoader} reads the YAML into an immutable
 * {@link dev.carapace.config.CarapaceConfig}, reporting every problem at once with its line, column and key path.
 *
 * <p>{@code ConfigLoader} only orchestrates: each section has a reader of its own ({@code SettingsSections},
 * {@code ProvidersSection}, {@code ModelsSection}, {@code GuardSection}, {@code AgentsSection}, {@code SecretsSection},
 * {@code PrivacySection}), sharing {@code ConfigChecks} (names, references, environment variable names). A new
 * section is a record, a reader like these over {@link dev.carapace.config.MapReader}, and one call in
 * {@code ConfigLoader.config}, placed after the sections it refers to.
 *
 * <p>It also refuses layouts an agent could subvert ({@code WritableLayout}): {@link dev.carapace.config.WritableRoots}
 * is where agents can write, and what steers the gateway (agent definitions, the config, policies, secret files, the
 * data folder) must lie outside it; nested or overlapping workspaces of different agents are refused too.
 */
package dev.carapace.config;
