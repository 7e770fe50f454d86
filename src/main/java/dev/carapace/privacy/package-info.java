/**
 * The privacy stage of every model call ({@link dev.carapace.privacy.PrivacyRouter}): it finds personal data, secrets
 * and an org's own terms in what a request would send ({@link dev.carapace.privacy.Scanner}), reporting the most
 * specific type of each finding, and blocks, keeps private, redacts or lets through as the caller's policy says.
 * Findings name classes and types, never values.
 */
package dev.carapace.privacy;
