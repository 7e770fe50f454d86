/**
 * Who is calling: API keys (generated, hashed, verified, revoked) and the {@link dev.carapace.identity.Principal}
 * they stand for (a user of a team of an org, or an agent acting for its owner). The request path authenticates from
 * a cache of verified key hashes; only the hash of a key is ever stored or logged.
 */
package dev.carapace.identity;
