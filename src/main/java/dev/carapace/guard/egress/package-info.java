/**
 * The egress proxy ({@link dev.carapace.guard.egress.EgressProxy}): the only way out to the network for sandboxed
 * commands and {@code web_fetch}. It parses HTTP strictly ({@link dev.carapace.guard.egress.HttpMessages}), asks the
 * policy's {@link dev.carapace.guard.NetworkRules}, resolves only allowed names to public addresses, injects
 * credentials from the {@link dev.carapace.guard.egress.SecretStore}, and scrubs those values from every response
 * before the agent sees it ({@link dev.carapace.guard.egress.CredentialScrubber}). No secret value appears in a log
 * line, an error or an audit record.
 */
package dev.carapace.guard.egress;
