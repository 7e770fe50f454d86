package dev.carapace.skill.repo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.skill.AutoApprove;
import dev.carapace.skill.SkillDocument;
import dev.carapace.skill.SkillDocuments;
import dev.carapace.skill.SkillFolders;
import dev.carapace.skill.SkillFormatException;
import dev.carapace.skill.SkillHash;
import dev.carapace.skill.SkillText;
import dev.carapace.skill.scan.Finding;
import dev.carapace.skill.scan.ScanReport;
import dev.carapace.skill.scan.Severity;
import dev.carapace.skill.scan.SkillScanner;
import dev.carapace.skill.repo.SkillRepoException.Kind;
import dev.carapace.skill.repo.VersionStore.Install;
import dev.carapace.skill.repo.VersionStore.Stored;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import static dev.carapace.text.Excerpt.clip;

/**
 * The org's shared skill repository: publish (scan, store by content hash, auto-approve by policy or wait for an
 * admin), review, install a pinned hash at a scope, pin another approved hash, remove, list and show. A version is
 * addressed by its {@link SkillHash}, so publishing the same files again is the same version; an update is a new hash
 * and needs its own review. Every decision goes to the audit log.
 *
 * <p>Who may do what: anyone with a key publishes, lists and shows; admins review and install, pin or remove at any
 * scope; a member installs at {@code agent:NAME} for an agent they or their team own (there is no team-admin role:
 * admin keys are the org's admins, so {@code team:} and {@code org} installs are theirs).
 */
public final class SkillRepository {

    /** A version as the API and the CLI show it. */
    public record Version(Stored stored, List<Finding> findings) {
        public String name() { return stored.name(); }

        public String hash() { return stored.hash(); }

        public ReviewState state() { return stored.state(); }
    }

    /** What a publish did: the version, and whether it was new (false: these files were already published). */
    public record Published(Version version, boolean created) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Names the API's paths use under {@code /api/skills/}. */
    private static final java.util.Set<String> RESERVED = java.util.Set.of("installs", "import");
    private static final Pattern HASH_PREFIX = Pattern.compile("[0-9a-f]{8,64}");

    private final VersionStore store;
    private final SkillScanner scanner;
    private final SkillAudit audit;
    private final AgentOwners owners;
    private final AutoApprove policy;
    private final Clock clock;

    public SkillRepository(VersionStore store, SkillScanner scanner, SkillAudit audit, AgentOwners owners,
                           AutoApprove policy, Clock clock) {
        this.store = store;
        this.scanner = scanner;
        this.audit = audit;
        this.owners = owners;
        this.policy = policy;
        this.clock = clock;
    }

    /**
     * Publishes one skill from its files ({@code SKILL.md} at the top, or inside one top folder, which is dropped).
     *
     * @param name the name to publish under; null for the {@code SKILL.md}'s own name, else it must match it
     */
    public Published publish(Map<String, byte[]> files, String name, Caller caller) {
        Map<String, byte[]> skill = rooted(files);
        // Strict: a lenient decode would serve, as instructions, a SKILL.md the scanner set aside as binary.
        String md = SkillText.servable(skill.get(SkillFolders.SKILL_MD));
        if (md == null) {
            throw new SkillRepoException(Kind.INVALID, "SKILL.md", "SKILL.md: not UTF-8 text (or it holds a NUL byte); "
                    + "a SKILL.md is UTF-8 markdown");
        }
        SkillDocument doc;
        try {
            doc = SkillDocuments.parse(md, SkillFolders.SKILL_MD);
        } catch (SkillFormatException e) {
            throw new SkillRepoException(Kind.INVALID, "SKILL.md", "SKILL.md: " + e.getMessage());
        }
        if (RESERVED.contains(doc.name())) {
            throw new SkillRepoException(Kind.INVALID, "name", "name: '" + doc.name() + "' is reserved (the API's "
                    + "/api/skills/" + doc.name() + " means something else); rename the skill");
        }
        if (name != null && !name.equals(doc.name())) {
            throw new SkillRepoException(Kind.INVALID, "name", "name: '" + clip(name, 64) + "' does not match the SKILL.md's name '"
                    + doc.name() + "'");
        }
        long total = skill.values().stream().mapToLong(b -> b.length).sum();
        if (total > SkillFolders.MAX_TOTAL_BYTES) {
            throw new SkillRepoException(Kind.TOO_LARGE, "files", "files: " + total + " bytes; a skill may hold at most "
                    + SkillFolders.MAX_TOTAL_BYTES);
        }
        String hash = SkillHash.of(skill);
        var existing = store.get(doc.name(), hash);
        if (existing.isPresent()) return new Published(view(existing.get()), false);
        // A name is its first publisher's: another member's "new version" of it would reach every agent that installs
        // the name by name (the newest approved), with its own words, approved by policy if it scans clean. Names are
        // compared as a reader does, without case: "Deploy" beside "deploy" is the same skill to a reviewer.
        List<Stored> earlier = store.list(null).stream().filter(v -> v.name().equalsIgnoreCase(doc.name())).toList();
        if (!caller.admin() && !earlier.isEmpty() && earlier.stream().noneMatch(v -> v.publisher().equals(caller.name()))) {
            throw new SkillRepoException(Kind.FORBIDDEN, "name", "name: the skill '" + doc.name() + "' was published by "
                    + earlier.stream().min(java.util.Comparator.comparing(Stored::publishedAt)).orElseThrow().publisher()
                    + "; new versions come from its publisher or an admin: "
                    + "publish yours under another name");
        }
        ScanReport report = scanner.scan(reviewed(skill, doc), DeclaredHosts.of(doc));
        boolean auto = switch (policy) {
            case NEVER -> false;
            case CLEAN -> report.findings().stream().allMatch(f -> f.severity().compareTo(Severity.LOW) <= 0);
            case UNBLOCKED -> !report.blocking();
        };
        var now = clock.instant();
        Stored v = new Stored(doc.name(), hash, skill, skill.size(), total, summary(doc), caller.name(), now,
                findingsJson(report), report.blocking(), auto ? ReviewState.APPROVED : ReviewState.PENDING,
                auto ? "policy:" + policy.name().toLowerCase(Locale.ROOT) : null, auto ? now : null, null);
        boolean created = store.insert(v);
        Stored stored = created ? v : store.get(doc.name(), hash).orElse(v);
        if (created) {
            audit.record("publish", caller, doc.name() + "@" + hash, stored.state().label(), findingsLine(report));
        }
        return new Published(view(stored), created);
    }

    /** Publishes each skill of an OpenClaw skills folder or archive: every folder holding a {@code SKILL.md}. */
    public List<Map.Entry<String, Object>> importAll(Map<String, byte[]> files, Caller caller) {
        Map<String, Map<String, byte[]>> skills = new TreeMap<>();
        for (String path : files.keySet()) {
            if (path.equals(SkillFolders.SKILL_MD) || path.endsWith("/" + SkillFolders.SKILL_MD)) {
                String folder = path.substring(0, path.length() - SkillFolders.SKILL_MD.length());
                skills.put(folder, new TreeMap<>());
            }
        }
        if (skills.isEmpty()) {
            throw new SkillRepoException(Kind.INVALID, "archive", "archive: no SKILL.md in it; expected folders each holding a SKILL.md");
        }
        for (var f : files.entrySet()) {
            // each file goes to the deepest skill folder holding it
            String best = null;
            for (String folder : skills.keySet()) {
                if (f.getKey().startsWith(folder) && (best == null || folder.length() > best.length())) best = folder;
            }
            if (best != null) skills.get(best).put(f.getKey().substring(best.length()), f.getValue());
        }
        List<Map.Entry<String, Object>> out = new ArrayList<>();
        for (var s : skills.entrySet()) {
            String folder = s.getKey().isEmpty() ? "." : s.getKey().substring(0, s.getKey().length() - 1);
            try {
                out.add(Map.entry(folder, publish(s.getValue(), null, caller)));
            } catch (SkillRepoException e) {
                out.add(Map.entry(folder, e));
            }
        }
        return out;
    }

    /** An admin's decision on a version. */
    public Version review(String name, String hashOrPrefix, boolean approve, String note, Caller caller) {
        if (!caller.admin()) {
            throw new SkillRepoException(Kind.FORBIDDEN, null, caller.name() + " is not an admin: only admins review skill versions");
        }
        if (note != null && note.length() > 2000) throw new SkillRepoException(Kind.INVALID, "note", "note: at most 2000 characters");
        Stored v = version(name, hashOrPrefix);
        ReviewState state = approve ? ReviewState.APPROVED : ReviewState.REJECTED;
        store.decide(v.name(), v.hash(), state, caller.name(), clock.instant(), note);
        audit.record("review", caller, v.name() + "@" + v.hash(), state.label(), note == null ? "" : clip(note, 200));
        return view(store.get(v.name(), v.hash()).orElseThrow());
    }

    /** Installs {@code name} at {@code scope}: the given hash, or the newest approved version when null. */
    public Install install(String name, String hashOrPrefix, Scope scope, Caller caller) {
        mayChange(scope, caller);
        Stored v = hashOrPrefix == null ? newestApproved(name) : version(name, hashOrPrefix);
        requireApproved(v);
        Install i = new Install(scope, v.name(), v.hash(), caller.name(), clock.instant());
        store.install(i);
        audit.record("install", caller, v.name() + "@" + v.hash() + " at " + scope, "installed", "");
        return i;
    }

    /** Moves an existing install to another approved hash. */
    public Install pin(String name, String hashOrPrefix, Scope scope, Caller caller) {
        mayChange(scope, caller);
        Install old = store.installed(scope, name).orElseThrow(() -> new SkillRepoException(Kind.NOT_FOUND, "name",
                "'" + clip(name, 64) + "' is not installed at " + scope + "; install it first"));
        Stored v = version(name, hashOrPrefix);
        requireApproved(v);
        Install i = new Install(scope, v.name(), v.hash(), caller.name(), clock.instant());
        store.install(i);
        audit.record("pin", caller, v.name() + "@" + v.hash() + " at " + scope, "pinned", "was " + old.hash());
        return i;
    }

    /** Uninstalls {@code name} at {@code scope}. */
    public void remove(String name, Scope scope, Caller caller) {
        mayChange(scope, caller);
        Install old = store.installed(scope, name).orElseThrow(() -> new SkillRepoException(Kind.NOT_FOUND, "name",
                "'" + clip(name, 64) + "' is not installed at " + scope));
        store.uninstall(scope, name);
        audit.record("remove", caller, name + "@" + old.hash() + " at " + scope, "removed", "");
    }

    /** Every version (of {@code name}, or of all skills when null), newest first per skill. */
    public List<Version> versions(String name) {
        return store.list(name).stream().map(this::view).toList();
    }

    /** One version with its files: the given hash or prefix, or the newest when null. */
    public Version show(String name, String hashOrPrefix) {
        if (hashOrPrefix == null) {
            Stored newest = store.list(name).stream().findFirst().orElseThrow(() -> notFound(name));
            return view(store.get(newest.name(), newest.hash()).orElseThrow());
        }
        return view(store.get(name, version(name, hashOrPrefix).hash()).orElseThrow());
    }

    /**
     * One file of a version, exactly as stored and served (for a reviewer to read before deciding): the given hash or
     * prefix, or the newest version when null.
     */
    public byte[] file(String name, String hashOrPrefix, String path) {
        Map<String, byte[]> files = show(name, hashOrPrefix).stored().files();
        byte[] bytes = files == null ? null : files.get(path);
        if (bytes == null) {
            throw new SkillRepoException(Kind.NOT_FOUND, "path", "path: no file " + SkillText.quote(path == null ? "" : path)
                    + " in " + name + " (files: " + clip(String.join(", ", files == null ? List.of() : files.keySet()), 300) + ")");
        }
        return bytes;
    }

    /** Installs at {@code scope}, or every install when null. */
    public List<Install> installs(Scope scope) {
        return store.installs(scope == null ? null : List.of(scope));
    }

    /**
     * The installs {@code caller} may see: an admin all; a member the org's, their team's and those of agents they or
     * their team own (another team's agents and installs are that team's business).
     */
    public List<Install> installs(Scope scope, Caller caller) {
        return installs(scope).stream().filter(i -> caller.admin() || switch (i.scope().kind()) {
            case ORG -> true;
            case TEAM -> i.scope().name().equals(caller.team());
            case AGENT -> owners.owner(i.scope().name()).map(o -> owns(o, caller)).orElse(false);
        }).toList();
    }

    /** Whether {@code caller} or their team owns the agent of {@code owner}. */
    private static boolean owns(AgentOwners.Owner owner, Caller caller) {
        return (owner.user() != null && owner.user().equals(caller.name()))
                || (owner.team() != null && owner.team().equals(caller.team()));
    }

    /** An installed version an agent gets, with the scope it was installed at; {@code version} is without its files. */
    public record Resolved(Scope scope, Stored version) {}

    /**
     * What an agent gets: its installs at agent, team and org scope, the most specific per name, approved only. Two
     * reads whatever the number of installs (the installs, then their versions' review states); the files are
     * {@link #files}'s, which a caller may cache by hash: a hash's files never change.
     */
    public List<Resolved> resolvedFor(String agent) {
        var owner = owners.owner(agent);
        List<Scope> scopes = new ArrayList<>();
        scopes.add(Scope.agent(agent));
        owner.ifPresent(o -> scopes.add(Scope.team(o.team())));
        scopes.add(Scope.ORG);
        Map<String, Install> chosen = new TreeMap<>();
        List<Install> all = store.installs(scopes);
        for (Scope s : scopes) {
            for (Install i : all) if (i.scope().equals(s)) chosen.putIfAbsent(i.name(), i);
        }
        if (chosen.isEmpty()) return List.of();
        Map<String, Stored> approved = new java.util.HashMap<>();
        for (Stored v : store.listOf(List.copyOf(chosen.keySet()))) {
            if (v.state() == ReviewState.APPROVED) approved.put(v.name() + "@" + v.hash(), v);
        }
        List<Resolved> out = new ArrayList<>();
        for (Install i : chosen.values()) {
            Stored v = approved.get(i.name() + "@" + i.hash());
            if (v != null) out.add(new Resolved(i.scope(), v));
        }
        return out;
    }

    /** The files of a version, or empty when it is not stored. */
    public java.util.Optional<Map<String, byte[]>> files(String name, String hash) {
        return store.get(name, hash).map(Stored::files);
    }

    // ---- rules ----

    private void mayChange(Scope scope, Caller caller) {
        switch (scope.kind()) {
            case ORG -> {
                if (!caller.admin()) throw forbidden(caller, scope, "only admins install for the whole org");
            }
            case TEAM -> {
                if (!owners.teams().contains(scope.name())) {
                    throw new SkillRepoException(Kind.INVALID, "scope", "scope: no team '" + scope.name() + "' (teams: "
                            + String.join(", ", new java.util.TreeSet<>(owners.teams())) + ")");
                }
                if (!caller.admin()) throw forbidden(caller, scope, "only admins install for a team");
            }
            case AGENT -> {
                var owner = owners.owner(scope.name()).orElseThrow(() -> new SkillRepoException(Kind.INVALID, "scope",
                        "scope: no agent '" + scope.name() + "'"));
                if (!caller.admin() && !owns(owner, caller)) {
                    throw forbidden(caller, scope, "members install only for agents they or their team own");
                }
            }
        }
    }

    private static SkillRepoException forbidden(Caller caller, Scope scope, String why) {
        return new SkillRepoException(Kind.FORBIDDEN, "scope", caller.name() + " may not change installs at " + scope + ": " + why);
    }

    private void requireApproved(Stored v) {
        if (v.state() != ReviewState.APPROVED) {
            throw new SkillRepoException(Kind.CONFLICT, "hash", v.name() + "@" + v.hash().substring(0, 12) + " is "
                    + v.state().label() + ": only approved versions can be installed (an admin reviews it with "
                    + "'carapace skills review " + v.name() + "@" + v.hash().substring(0, 12) + " --approve')");
        }
    }

    private Stored newestApproved(String name) {
        List<Stored> all = store.list(name);
        if (all.isEmpty()) throw notFound(name);
        return all.stream().filter(v -> v.state() == ReviewState.APPROVED).findFirst().orElseThrow(() ->
                new SkillRepoException(Kind.CONFLICT, "name", "'" + clip(name, 64) + "' has no approved version yet ("
                        + all.size() + " waiting or rejected); name one with NAME@HASH once an admin approved it"));
    }

    /** The version of {@code name} whose hash is or starts with {@code hashOrPrefix} (8 hex digits at least). */
    private Stored version(String name, String hashOrPrefix) {
        if (hashOrPrefix == null || !HASH_PREFIX.matcher(hashOrPrefix).matches()) {
            throw new SkillRepoException(Kind.INVALID, "hash", "hash: '" + clip(hashOrPrefix, 70) + "' is not a content hash; "
                    + "expected 8 to 64 lowercase hex digits (see 'carapace skills list')");
        }
        List<Stored> match = store.list(name).stream().filter(v -> v.hash().startsWith(hashOrPrefix)).toList();
        if (match.isEmpty()) {
            throw new SkillRepoException(Kind.NOT_FOUND, "hash", "no version " + clip(name, 64) + "@" + hashOrPrefix);
        }
        if (match.size() > 1) {
            throw new SkillRepoException(Kind.INVALID, "hash", "hash: '" + hashOrPrefix + "' starts " + match.size()
                    + " versions of " + name + "; give more digits");
        }
        return match.get(0);
    }

    private static SkillRepoException notFound(String name) {
        return new SkillRepoException(Kind.NOT_FOUND, "name", "no skill '" + clip(name, 64) + "' in the repository");
    }

    /** The files with the skill at their top: a lone top folder holding the SKILL.md is dropped. */
    private static Map<String, byte[]> rooted(Map<String, byte[]> files) {
        if (files.isEmpty()) throw new SkillRepoException(Kind.INVALID, "files", "files: the skill is empty; expected a SKILL.md");
        for (String p : files.keySet()) {   // a file and a folder of one name cannot both be installed into a folder
            for (int slash = p.indexOf('/'); slash > 0; slash = p.indexOf('/', slash + 1)) {
                if (files.containsKey(p.substring(0, slash))) {
                    throw new SkillRepoException(Kind.INVALID, "files", "files: '" + clip(p.substring(0, slash), 80)
                            + "' is both a file and the folder of '" + clip(p, 80) + "'");
                }
            }
        }
        if (files.containsKey(SkillFolders.SKILL_MD)) return new TreeMap<>(files);
        String top = null;
        for (String p : files.keySet()) {
            int slash = p.indexOf('/');
            String first = slash < 0 ? "" : p.substring(0, slash + 1);
            if (top == null) top = first;
            else if (!top.equals(first)) top = "";
        }
        if (top != null && !top.isEmpty() && files.containsKey(top + SkillFolders.SKILL_MD)) {
            Map<String, byte[]> out = new TreeMap<>();
            for (var f : files.entrySet()) out.put(f.getKey().substring(top.length()), f.getValue());
            return out;
        }
        throw new SkillRepoException(Kind.INVALID, "files", "files: no SKILL.md at the top of the skill (or of its one folder)");
    }

    /** Where the scan's findings on the front matter as parsed are reported. */
    static final String FRONT_MATTER_AS_PARSED = SkillFolders.SKILL_MD + "#front-matter";

    /**
     * What the scanner reads: the files, and the front matter's values as parsed, the description also on one line
     * as the model's prompt gets it. YAML (and JSON5) escapes and line continuations make the parsed values differ
     * from their bytes ({@code "\x69gnore all previous instructions"}), and the description goes into every system
     * prompt the skill is listed in (other values reach the model in the {@code skill} tool's list).
     */
    private static Map<String, byte[]> reviewed(Map<String, byte[]> files, SkillDocument doc) {
        StringBuilder parsed = new StringBuilder("description: ").append(SkillText.oneLine(doc.description())).append('\n');
        values("", doc.frontMatter(), parsed);
        Map<String, byte[]> out = new TreeMap<>(files);
        out.put(FRONT_MATTER_AS_PARSED, parsed.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return out;
    }

    /** Each string in {@code value} on lines of its own, after its key path. */
    private static void values(String path, Object value, StringBuilder out) {
        if (value instanceof Map<?, ?> m) m.forEach((k, v) -> values(path.isEmpty() ? String.valueOf(k) : path + "." + k, v, out));
        else if (value instanceof List<?> l) for (int i = 0; i < l.size(); i++) values(path + "[" + i + "]", l.get(i), out);
        else if (value instanceof String text) out.append(path).append(": ").append(text).append('\n');
    }

    private static String summary(SkillDocument doc) {
        ObjectNode n = JSON.createObjectNode();
        n.put("description", doc.description());
        n.put("homepage", doc.homepage());
        ObjectNode needs = n.putObject("needs");
        doc.needs().tools().forEach(needs.withArray("tools")::add);
        doc.needs().commands().forEach(needs.withArray("commands")::add);
        doc.needs().hosts().forEach(needs.withArray("hosts")::add);
        return n.toString();
    }

    static String findingsJson(ScanReport report) {
        ArrayNode a = JSON.createArrayNode();
        for (Finding f : report.findings()) {
            a.addObject().put("rule", f.rule()).put("severity", f.severity().label()).put("file", f.file())
                    .put("line", f.line()).put("excerpt", f.excerpt()).put("meaning", f.meaning());
        }
        return a.toString();
    }

    static List<Finding> findings(String json) {
        try {
            List<Finding> out = new ArrayList<>();
            for (JsonNode f : JSON.readTree(json)) {
                out.add(new Finding(f.path("rule").asText(), Severity.of(f.path("severity").asText()), f.path("file").asText(),
                        f.path("line").asInt(), f.path("excerpt").asText(), f.path("meaning").asText()));
            }
            return out;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a stored version's findings are not JSON", e);
        }
    }

    private static String findingsLine(ScanReport r) {
        if (r.findings().isEmpty()) return "no findings";
        Map<Severity, Long> counts = new TreeMap<>(java.util.Comparator.reverseOrder());
        r.findings().forEach(f -> counts.merge(f.severity(), 1L, Long::sum));
        StringBuilder b = new StringBuilder();
        counts.forEach((s, n) -> b.append(b.isEmpty() ? "" : ", ").append(n).append(' ').append(s.label()));
        return b + " finding(s)";
    }

    private Version view(Stored s) {
        return new Version(s, findings(s.findings()));
    }
}
