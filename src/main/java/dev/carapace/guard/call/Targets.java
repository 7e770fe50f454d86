package dev.carapace.guard.call;

import dev.carapace.guard.NetworkRules.NetworkRequest;
import dev.carapace.fs.PathException;
import dev.carapace.fs.RealPaths;
import dev.carapace.guard.url.CanonicalHost;
import dev.carapace.guard.url.CanonicalHost;
import dev.carapace.guard.url.CanonicalPath;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Locale;

import static dev.carapace.text.Excerpt.clip;

/**
 * A call's target as the guard judges it: the one canonical form of a file path and of a URL, computed by the same
 * canonicalisers the file tools and the egress proxy use, so a rule is matched against exactly what is then touched.
 * Each method refuses what cannot be made canonical with an {@link IllegalArgumentException} whose message says
 * what is wrong (for the model; it quotes at most 120 characters of the target).
 */
public final class Targets {

    private Targets() {}

    /**
     * The real path a file tool would touch: {@code raw} resolved against the workspace (an absolute path is taken
     * as it is) by the canonicaliser the file tools use ({@link RealPaths}), without confining it: a path outside is
     * judged (and denied) by the filesystem roots. An existing file with more than one hard link is refused too:
     * where its other names are cannot be told.
     */
    public static Path path(Path workspace, String raw) {
        if (raw.indexOf('\0') >= 0) throw new IllegalArgumentException("the path contains a NUL byte");
        Path names;
        try {
            names = workspace.getFileSystem().getPath(raw);
        } catch (InvalidPathException ex) {
            throw new IllegalArgumentException("'" + clip(raw, 120) + "' is not a valid path");
        }
        Path start = null;
        if (!names.isAbsolute()) {
            try {
                start = workspace.toRealPath();
            } catch (IOException ex) {
                names = workspace.toAbsolutePath().resolve(names);   // no workspace yet (policy explain): walk it too
            }
        }
        if (start == null) {
            start = names.getRoot();
            // subpath, not relativize: relativize normalizes, and ".." must be walked physically
            names = names.getNameCount() == 0 ? names.getFileSystem().getPath("") : names.subpath(0, names.getNameCount());
        }
        RealPaths.Resolved r;
        try {
            r = RealPaths.resolve(start, names, null, raw);
        } catch (PathException ex) {
            throw new IllegalArgumentException(ex.getMessage());
        }
        Path real = r.real();
        if (r.exists() && Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Object links = Files.getAttribute(real, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
                if (links instanceof Integer n && n > 1) {
                    throw new IllegalArgumentException("'" + clip(raw, 120) + "' is a file with " + n + " hard links; its "
                            + "other names may be outside the allowed roots");
                }
            } catch (IOException | UnsupportedOperationException ignored) {
                // no link count on this file system: the file tools' own check still applies
            }
        }
        return real;
    }

    /**
     * A URL as the egress proxy would judge it: scheme in lower case, host and path made canonical by
     * {@link CanonicalHost} and {@link CanonicalPath} (so a spelling the proxy refuses is refused here with the same
     * words), the port always present, the query as given, no fragment (it is never sent).
     */
    public record Url(String scheme, String host, int port, String path, String query) {

        /**
         * The form tool rules on URLs are matched against: {@code https://host/canonical/path?query}, the port only
         * where it is not the scheme's own, so a rule is written as the URL usually is.
         */
        @Override
        public String toString() {
            boolean usual = port == (scheme.equals("https") ? 443 : 80);
            return scheme + "://" + host + (usual ? "" : ":" + port) + path + (query == null ? "" : "?" + query);
        }
    }

    public static Url url(String target) {
        URI u;
        try {
            u = new URI(target);
        } catch (URISyntaxException ex) {
            throw new IllegalArgumentException("not a valid URL: '" + clip(target, 120) + "'");
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || u.getHost() == null) {
            throw new IllegalArgumentException("expected an http(s) URL with a host, got '" + clip(target, 120) + "'");
        }
        int port = u.getPort() != -1 ? u.getPort() : scheme.equals("https") ? 443 : 80;
        String raw = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
        String host = CanonicalHost.of(u.getHost()).authority();
        return new Url(scheme, host, port, CanonicalPath.of(raw), u.getRawQuery());
    }

    /** A URL, or {@code host:port}, as the request the egress proxy would be asked about. */
    public static NetworkRequest request(String agent, String target, String method) {
        if (!target.contains("://")) {
            int colon = target.lastIndexOf(':');
            if (colon <= 0) throw new IllegalArgumentException("expected a URL or host:port, got '" + clip(target, 120) + "'");
            int port;
            try {
                port = Integer.parseInt(target.substring(colon + 1));
            } catch (NumberFormatException ex) {
                port = 0;
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("expected host:port with a port from 1 to 65535, got '" + clip(target, 120) + "'");
            }
            // the host as the proxy spells it, as for a URL: one host canonicaliser for every entry point
            String host = CanonicalHost.of(target.substring(0, colon)).name();
            return new NetworkRequest(agent, host, port, null, null, null);
        }
        Url u = url(target);
        return new NetworkRequest(agent, u.host(), u.port(), method, u.path(), null);
    }

}
