package dev.carapace.guard.egress;

import dev.carapace.guard.url.CanonicalHost;
import dev.carapace.guard.url.CanonicalPath;

import java.net.URI;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Where a request goes, read from a proxy request target and made canonical before anything is decided.
 *
 * @param host  the canonical host
 * @param port  the destination port
 * @param tls   the proxy speaks TLS to the server itself (an {@code https} target, or an {@code http} one on a TLS
 *              port: the way to let the proxy read, judge and add credentials to requests to an HTTPS endpoint)
 * @param path  the canonical path, or null for a tunnel
 * @param query the raw query without {@code ?}, or null; passed on as is and never audited
 */
record Target(CanonicalHost host, int port, boolean tls, String path, String query) {

    /** {@code host:port/path}, without the query (which may carry tokens). */
    String audited() {
        return host.authority() + ":" + port + (path == null ? "" : path);
    }

    /** The origin-form request target sent to the server. */
    String originForm() {
        return query == null ? path : path + "?" + query;
    }

    /** The Host header value. */
    String hostHeader() {
        boolean defaultPort = tls ? port == 443 : port == 80;
        return defaultPort ? host.authority() : host.authority() + ":" + port;
    }

    /**
     * An absolute-form target: {@code http://host[:port]/path[?query]} or {@code https://...}.
     *
     * @param tlsPorts ports where an {@code http} target is still sent over TLS
     * @throws IllegalArgumentException saying what is wrong, for a 400
     */
    static Target absolute(String target, Set<Integer> tlsPorts) {
        int colon = target.indexOf("://");
        String scheme = colon < 0 ? "" : target.substring(0, colon).toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("a proxy request needs an absolute http:// or https:// target (or "
                    + "CONNECT host:port)");
        }
        if (target.indexOf('#') >= 0) throw new IllegalArgumentException("the target must not have a #fragment");
        String rest = target.substring(colon + 3);
        int end = firstOf(rest, '/', '?');
        String authority = rest.substring(0, end);
        String path = "/";
        String query = null;
        String tail = rest.substring(end);
        int q = tail.indexOf('?');
        if (q >= 0) {
            query = tail.substring(q + 1);
            tail = tail.substring(0, q);
            for (int i = 0; i < query.length(); i++) {
                char c = query.charAt(i);
                if (c <= 0x20 || c >= 0x7f) throw new IllegalArgumentException("the query has a space or control character");
            }
        }
        if (!tail.isEmpty()) path = CanonicalPath.of(tail);
        boolean https = scheme.equals("https");
        HostPort hp = hostPort(authority, https ? 443 : 80);
        return new Target(hp.host, hp.port, https || tlsPorts.contains(hp.port), path, query);
    }

    /**
     * A URI given to {@link EgressProxy#send}: only http and https; its raw (still percent-encoded) authority, path
     * and query are read as an absolute-form target, so nothing is decoded before the target is made canonical.
     *
     * @throws IllegalArgumentException saying what is wrong, for a 400
     */
    static Target of(URI uri, Set<Integer> tlsPorts) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException(scheme.isEmpty() ? "the URL must be absolute, http:// or https://"
                    : "the URL's scheme is '" + HttpMessages.printable(scheme) + "'; only http:// and https:// are sent");
        }
        return absolute(scheme + "://" + Objects.requireNonNullElse(uri.getRawAuthority(), "")
                + (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()), tlsPorts);
    }

    /** A CONNECT target: {@code host:port}, port required. */
    static Target authority(String target) {
        HostPort hp = hostPort(target, -1);
        return new Target(hp.host, hp.port, false, null, null);
    }

    private record HostPort(CanonicalHost host, int port) {}

    private static HostPort hostPort(String authority, int defaultPort) {
        if (authority.indexOf('@') >= 0) {
            throw new IllegalArgumentException("the target must not carry a user or password ('@')");
        }
        String host;
        String port = null;
        if (authority.startsWith("[")) {
            int close = authority.indexOf(']');
            if (close < 0) throw new IllegalArgumentException("the IPv6 address has no closing ']'");
            host = authority.substring(0, close + 1);
            String after = authority.substring(close + 1);
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) throw new IllegalArgumentException("unexpected text after the IPv6 address");
                port = after.substring(1);
            }
        } else {
            int c = authority.indexOf(':');
            if (c >= 0 && authority.indexOf(':', c + 1) >= 0) {
                throw new IllegalArgumentException("an IPv6 address must be in brackets, e.g. [::1]:443");
            }
            host = c < 0 ? authority : authority.substring(0, c);
            if (c >= 0) port = authority.substring(c + 1);
        }
        int p = defaultPort;
        if (port != null || defaultPort < 0) {
            if (port == null || port.isEmpty() || port.length() > 5 || !port.chars().allMatch(Character::isDigit)
                    || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
                throw new IllegalArgumentException("the port must be a number from 1 to 65535"
                        + (defaultPort < 0 ? " (CONNECT needs host:port)" : ""));
            }
            p = Integer.parseInt(port);
        }
        return new HostPort(CanonicalHost.of(host), p);
    }

    private static int firstOf(String s, char a, char b) {
        int i = s.indexOf(a);
        int j = s.indexOf(b);
        if (i < 0) return j < 0 ? s.length() : j;
        return j < 0 ? i : Math.min(i, j);
    }
}
