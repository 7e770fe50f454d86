package dev.carapace.schedule.heartbeat;

/**
 * What a watched URL answered last: its validators, sent back on the next check so an unchanged page costs a 304,
 * and the SHA-256 of its body, for servers that send no validators or ignore them.
 *
 * @param etag         the ETag header, or null
 * @param lastModified the Last-Modified header, or null
 * @param sha256       lower-case hex of the body
 */
public record UrlState(String etag, String lastModified, String sha256) {

    public UrlState {
        if (sha256 == null || sha256.isEmpty()) throw new IllegalArgumentException("a fetched URL has a content hash");
    }
}
