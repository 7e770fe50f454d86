/**
 * The config file: {@link dev.carapace.config.ConfigLoader} reads the YAML into an immutable
 * {@link dev.carapace.config.CarapaceConfig}, reporting every problem at once with its line, column and key path.
 *
 * <p>It also refuses layouts an agent could subvert: {@link dev.carapace.config.WritableRoots} is where agents can
 * write, and what steers the gateway (agent definitions, the config, policies, secret files, the data folder) must
 * lie outside it; nested or overlapping workspaces of different agents are refused too.
 */
package dev.carapace.config;
