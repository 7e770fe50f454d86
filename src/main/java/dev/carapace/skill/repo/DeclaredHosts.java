package dev.carapace.skill.repo;

import dev.carapace.skill.SkillDocument;

import java.net.URI;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The hosts a skill says it talks to, as the scanner takes them: its homepage's host (front matter or
 * {@code metadata.openclaw.homepage}; {@code www.} dropped, so the vendor's other hosts count too) and the hosts it declares it needs ({@code metadata.carapace.hosts}, ports
 * dropped, {@code *.domain} as the domain).
 */
public final class DeclaredHosts {

    private DeclaredHosts() {}

    public static Set<String> of(SkillDocument doc) {
        Set<String> out = new LinkedHashSet<>();
        String home = doc.homepage() != null ? doc.homepage() : doc.openclaw() != null ? doc.openclaw().homepage() : null;
        if (home != null) {
            try {
                String host = URI.create(home.trim()).getHost();
                if (host != null) {
                    String h = host.toLowerCase(Locale.ROOT);
                    // www.vendor.org stands for the vendor: its downloads come from get.vendor.org, api.vendor.org
                    out.add(h.startsWith("www.") ? h.substring(4) : h);
                }
            } catch (IllegalArgumentException notAUrl) {
                // a homepage that is no URL declares no host
            }
        }
        for (String h : doc.needs().hosts()) {
            String x = h.toLowerCase(Locale.ROOT);
            if (x.startsWith("*.")) x = x.substring(2);
            int colon = x.lastIndexOf(':');
            if (colon > 0 && !x.endsWith("]")) x = x.substring(0, colon);
            if (!x.isBlank()) out.add(x);
        }
        return out;
    }
}
