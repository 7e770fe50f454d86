package dev.carapace.guard.policy;

import dev.carapace.guard.url.CanonicalPath;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;

/**
 * How a deny rule matches a path: in every form a server may serve it under (case, trailing dots and slashes, the
 * bare name of a folder), so a deny rule can only be stricter than the canonical path alone would make it. Shared by
 * the network layer's deny rules and the URL targets of the tool layer's deny and ask rules.
 */
final class DenyPaths {

    private DenyPaths() {}

    /**
     * The paths a deny rule is checked against: the canonical one, the one a server dropping trailing dots and
     * spaces from segments would serve ({@code /secret./x} is {@code /secret/x} on Windows), and each without a
     * trailing slash (Spring and others serve {@code /admin/} as {@code /admin}). A deny rule matching any of them
     * denies; allow rules see only the canonical path, so these forms can only make a decision stricter.
     */
    static List<String> denyForms(String path) {
        if (path == null) return Collections.singletonList(null);
        Set<String> forms = new LinkedHashSet<>();
        for (String p : List.of(path, CanonicalPath.lenientAlias(path))) {
            forms.add(p);
            if (p.length() > 1 && p.endsWith("/")) forms.add(p.substring(0, p.length() - 1));
        }
        return List.copyOf(forms);
    }

    /**
     * A deny or ask rule's URL glob ({@code https://host/secret/**}), matched as the network layer's deny rules match
     * paths: the scheme and host regardless of case, the path without its query, regardless of case, its bare name
     * and the forms other servers serve it under ({@link #denyForms}). So {@code /SECRET/x}, {@code /secret?x=1},
     * {@code /secret./x} and {@code /secret} are caught as the proxy would catch them. Null for a glob that is not a
     * URL.
     */
    static Predicate<String> urlDenyGlob(String glob) {
        int scheme = glob.indexOf("://");
        if (scheme < 0) return null;
        int slash = glob.indexOf('/', scheme + 3);
        Predicate<String> origin = Globs.text((slash < 0 ? glob : glob.substring(0, slash)).toLowerCase(Locale.ROOT));
        Predicate<String> path = slash < 0 ? p -> true : denyGlob(glob.substring(slash));
        return url -> {
            int s = url.indexOf("://");
            if (s < 0) return false;
            int at = url.indexOf('/', s + 3);
            if (!origin.test((at < 0 ? url : url.substring(0, at)).toLowerCase(Locale.ROOT))) return false;
            String p = at < 0 ? "/" : url.substring(at);
            int q = p.indexOf('?');
            if (q >= 0) p = p.substring(0, q);
            for (String form : denyForms(p)) if (path.test(form)) return true;
            return false;
        };
    }

    /**
     * A deny rule's path glob. {@code /secret/**} also denies {@code /secret} itself: servers serve the bare name
     * as (or redirect it to) the directory, so a deny rule that left it out would leave its index open. And it
     * matches regardless of case: IIS and ASP.NET routing are case-insensitive, so {@code /SECRET/x} is
     * {@code /secret/x} there (Unicode that case-folds to ASCII, such as {@code ſ}, is refused by the canonicaliser).
     */
    static Predicate<String> denyGlob(String glob) {
        Predicate<String> exact = treeGlob(glob);
        Predicate<String> folded = treeGlob(glob.toLowerCase(Locale.ROOT));
        return p -> exact.test(p) || folded.test(p.toLowerCase(Locale.ROOT));
    }

    private static Predicate<String> treeGlob(String glob) {
        Predicate<String> all = Globs.path(glob);
        if (!glob.endsWith("/**") || glob.length() <= 3) return all;
        return all.or(Globs.path(glob.substring(0, glob.length() - 3)));
    }
}
