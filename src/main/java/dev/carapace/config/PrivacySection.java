package dev.carapace.config;

import dev.carapace.privacy.Action;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.Scalar;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads the {@code privacy:} section:
 * <pre>
 * privacy:
 *   actions: {block: [secret], redact: [pii], private: [confidential]}   # the org's; these are the defaults
 *   teams:  {research: {actions: {allow: [pii]}}}                        # a team's, over the org's
 *   agents: {support-bot: {actions: {redact: [customer]}}}               # an agent's, over its team's
 *   image_class: confidential                                            # images count as this class
 *   phone_regions: [US, GB, DE, FR]                                      # national phone formats recognised
 *   dictionaries: {code_name: {class: confidential, terms: [Bluebird], case_sensitive: false}}
 *   patterns: {customer_id: {class: customer, regex: 'CUST-[0-9]{6}'}}
 * </pre>
 */
final class PrivacySection {

    private static final String CLASS_RULE = "a class name: lowercase letters, digits, '_' and '-'";
    private static final Map<String, Action> ACTIONS = Map.of("allow", Action.ALLOW, "redact", Action.REDACT,
            "private", Action.PRIVATE, "block", Action.BLOCK);

    private final Problems problems;

    private PrivacySection(Problems problems) { this.problems = problems; }

    static PrivacySpec read(MapReader r, Collection<String> teams, Collection<String> agents, Problems problems) {
        return new PrivacySection(problems).spec(r, teams, agents);
    }

    private PrivacySpec spec(MapReader r, Collection<String> teams, Collection<String> agents) {
        Map<String, Action> orgActions = actions(r.object("actions"));
        Map<String, Map<String, Action>> teamActions = overrides(r, "teams", teams, "team");
        Map<String, Map<String, Action>> agentActions = overrides(r, "agents", agents, "agent");
        String imageClass = null;
        Scalar image = r.scalar("image_class", CLASS_RULE);
        if (image != null && className(image, r.pathOf("image_class"))) imageClass = image.text();
        List<String> regions = PrivacySpec.DEFAULT_PHONE_REGIONS;
        List<Scalar> rs = r.scalars("phone_regions", "a list of region codes like US, DE", "a region code like US");
        if (rs != null) {
            regions = new ArrayList<>();
            for (Scalar s : rs) {
                String code = s.text().toUpperCase(Locale.ROOT);
                if (!PrivacySpec.isPhoneRegion(code)) {
                    problems.error(s.line(), s.column(), r.pathOf("phone_regions"), "unknown region '" + s.text()
                            + "' (expected a two-letter ISO 3166 code with a phone numbering plan, like US, GB, DE, JP)");
                } else if (!regions.contains(code)) {
                    regions.add(code);
                }
            }
        }
        List<PrivacySpec.Dictionary> dictionaries = new ArrayList<>();
        for (Entry e : r.entries("dictionaries")) {
            String path = KeyPath.key(r.pathOf("dictionaries"), e.key());
            if (!typeName(e, path)) continue;
            MapReader d = MapReader.of(e.value(), path, e.line(), e.column(), problems);
            String cls = requiredClass(d);
            List<Scalar> ts = d.scalars("terms", "a list of words or phrases", "a word or phrase");
            if (ts == null) {
                d.errorHere("a dictionary needs 'terms': a list of words or phrases");
            } else if (ts.isEmpty()) {
                d.error(d.value("terms"), "terms", "must list at least one word or phrase");
            }
            boolean caseSensitive = d.bool("case_sensitive", false);
            d.finish();
            if (cls != null && ts != null) {
                dictionaries.add(new PrivacySpec.Dictionary(e.key(), cls, ts.stream().map(Scalar::text).toList(), caseSensitive));
            }
        }
        List<PrivacySpec.CustomPattern> patterns = new ArrayList<>();
        for (Entry e : r.entries("patterns")) {
            String path = KeyPath.key(r.pathOf("patterns"), e.key());
            if (!typeName(e, path)) continue;
            MapReader p = MapReader.of(e.value(), path, e.line(), e.column(), problems);
            String cls = requiredClass(p);
            Scalar regex = p.requiredScalar("regex", "a Java regular expression");
            Pattern compiled = null;
            if (regex != null) {
                try {
                    compiled = Pattern.compile(regex.text());
                    if (compiled.matcher("").matches()) {
                        p.error(regex, "regex", "matches the empty text, so it would find nothing useful; make it need at least one character");
                        compiled = null;
                    }
                } catch (PatternSyntaxException ex) {
                    p.error(regex, "regex", "not a valid regular expression: " + ex.getDescription()
                            + (ex.getIndex() >= 0 ? " at index " + ex.getIndex() : ""));
                }
            }
            p.finish();
            if (cls != null && compiled != null) patterns.add(new PrivacySpec.CustomPattern(e.key(), cls, compiled));
        }
        r.finish();
        return new PrivacySpec(orgActions, teamActions, agentActions, imageClass, regions, dictionaries, patterns);
    }

    private Map<String, Map<String, Action>> overrides(MapReader r, String key, Collection<String> known, String what) {
        Map<String, Map<String, Action>> out = new LinkedHashMap<>();
        for (Entry e : r.entries(key)) {
            String path = KeyPath.key(r.pathOf(key), e.key());
            if (!known.contains(e.key())) {
                problems.error(e.line(), e.column(), path, "unknown " + what + " '" + e.key() + "' ("
                        + (known.isEmpty() ? "no " + what + "s are configured" : "known " + what + "s: " + String.join(", ", known)) + ")");
            }
            MapReader o = MapReader.of(e.value(), path, e.line(), e.column(), problems);
            Map<String, Action> a = actions(o.object("actions"));
            o.finish();
            out.put(e.key(), a);
        }
        return out;
    }

    /** {@code {block: [secret], redact: [pii, customer], ...}}: class -> action; a class given two actions is an error. */
    private Map<String, Action> actions(MapReader r) {
        Map<String, Action> out = new LinkedHashMap<>();
        Map<String, String> firstAt = new LinkedHashMap<>();
        // In file order, so a class given twice is reported where it is given the second time.
        List<String> names = new ArrayList<>(List.of("allow", "redact", "private", "block"));
        names.sort(java.util.Comparator.comparingLong(n -> {
            Entry e = r.entry(n);
            return e == null ? Long.MAX_VALUE : (long) e.line() << 20 | e.column();
        }));
        for (String name : names) {
            List<Scalar> classes = r.scalars(name, "a list of class names", CLASS_RULE);
            if (classes == null) continue;
            for (Scalar c : classes) {
                if (!className(c, r.pathOf(name))) continue;
                String before = firstAt.putIfAbsent(c.text(), name);
                if (before != null) {
                    problems.error(c.line(), c.column(), r.pathOf(name), "class '" + c.text() + "' already has action '"
                            + before + "' here; give each class one action");
                    continue;
                }
                out.put(c.text(), ACTIONS.get(name));
            }
        }
        r.finish();
        return out;
    }

    private String requiredClass(MapReader r) {
        Scalar c = r.requiredScalar("class", CLASS_RULE + " (pii, secret, confidential, or your own)");
        return c != null && className(c, r.pathOf("class")) ? c.text() : null;
    }

    private boolean className(Scalar s, String path) {
        if (ConfigChecks.NAME.matcher(s.text()).matches()) return true;
        problems.error(s.line(), s.column(), path, "invalid class '" + s.text() + "' (expected " + CLASS_RULE + ")");
        return false;
    }

    private static final Set<String> BUILTIN_TYPES = Set.of("email", "phone", "card", "iban", "ssn", "ipv4", "ipv6",
            "openai_key", "anthropic_key", "aws_access_key", "github_token", "slack_token", "gitlab_token", "jwt",
            "private_key", "credential", "image");

    /** A dictionary's or pattern's name is its findings' type: a name, not one of the built-in types. */
    private boolean typeName(Entry e, String path) {
        if (!ConfigChecks.NAME.matcher(e.key()).matches()) {
            problems.error(e.line(), e.column(), path, "invalid name '" + e.key() + "' (expected lowercase letters, digits,"
                    + " '_' and '-'; it names the findings and their placeholders)");
            return false;
        }
        if (BUILTIN_TYPES.contains(e.key())) {
            problems.error(e.line(), e.column(), path, "'" + e.key() + "' is a built-in finding type; choose another name");
            return false;
        }
        return true;
    }
}
