/**
 * The privacy stage of every model call ({@link dev.carapace.privacy.PrivacyRouter}): it finds personal data, secrets
 * and an org's own terms in every string a request would send, whatever field holds it (a walk over the client's body,
 * or over the neutral view of a request Carapace built), with {@link dev.carapace.privacy.Scanner}, reporting the most
 * specific type of each finding (read as a model reads the text: through invisible characters and compatibility forms,
 * {@code ReadingView}), and blocks, keeps private, redacts or lets through as the caller's policy says;
 * placeholders are restored in the answer, relayed or translated. Findings name classes, types and JSON paths, never
 * values.
 */
package dev.carapace.privacy;
