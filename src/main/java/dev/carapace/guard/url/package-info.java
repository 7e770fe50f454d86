/**
 * URLs as the guard judges them. {@link dev.carapace.guard.url.CanonicalPath} is the one spelling of a request path
 * and {@link dev.carapace.guard.url.CanonicalHost} the one spelling of its host that rules are matched against, used
 * alike by the policy engine, the egress proxy and the {@code web_fetch} guard, so no two parts of Carapace can
 * disagree about which host and path a request names.
 */
package dev.carapace.guard.url;
