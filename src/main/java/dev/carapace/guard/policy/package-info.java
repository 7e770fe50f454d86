/**
 * Guard policies: the YAML files ({@link dev.carapace.guard.policy.PolicyLoader}), compiled into an immutable
 * {@link dev.carapace.guard.policy.PolicyEngine} that answers each layer (tools, file system, network), and kept live
 * by {@link dev.carapace.guard.policy.PolicyWatcher}. Command rules match the parsed argv of a command line
 * ({@link dev.carapace.guard.policy.CommandLine}, {@link dev.carapace.guard.policy.CommandRule}), not its text.
 */
package dev.carapace.guard.policy;
