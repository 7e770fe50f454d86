package dev.carapace.schedule.heartbeat;

import java.io.IOException;

/**
 * A conditional fetch of a watched URL: with the previous validators it is a GET with {@code If-None-Match} and
 * {@code If-Modified-Since}, so an unchanged page costs a 304 and no body. The composition root implements it over
 * the egress proxy (so policy and SSRF checks hold); the body is hashed there and never reaches this package.
 */
public interface UrlCheck {

    /**
     * @param url      an http or https URL that passed {@link WatchedUrl#check}
     * @param previous what it answered last time, or null for the first check
     * @return {@link Result#notModified()} on a 304, else the new validators and the body's hash
     * @throws IOException when it could not be checked (network, a status other than 2xx or 304, a refusal); the
     *                     message may be logged, so it must hold no secret
     */
    Result check(String url, UrlState previous) throws IOException;

    /** How a check ended. */
    enum Status { NOT_MODIFIED, FETCHED }

    /** @param fetched the new state, for {@link Status#FETCHED}; else null */
    record Result(Status status, UrlState fetched) {

        public Result {
            if ((status == Status.FETCHED) != (fetched != null)) {
                throw new IllegalArgumentException("a fetched result has a state, a 304 has none");
            }
        }

        public static Result notModified() {
            return new Result(Status.NOT_MODIFIED, null);
        }

        public static Result fetched(String etag, String lastModified, String sha256) {
            return new Result(Status.FETCHED, new UrlState(etag, lastModified, sha256));
        }
    }
}
