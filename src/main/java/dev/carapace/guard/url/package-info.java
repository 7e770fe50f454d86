/**
 * URLs as the guard judges them. {@link dev.carapace.guard.url.CanonicalPath} is the one spelling of a request path
 * that network rules are matched against, used alike by the policy engine, the egress proxy and the {@code web_fetch}
 * guard, so no two parts of Carapace can disagree about which path a request names.
 */
package dev.carapace.guard.url;
