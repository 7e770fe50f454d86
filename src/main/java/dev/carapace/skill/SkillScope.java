package dev.carapace.skill;

import java.net.IDN;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What a run may do while it follows some skills: the union of what they declared ({@link SkillNeeds}). The guard
 * intersects it with what the agent's policy allows; it never widens anything.
 *
 * <ul>
 *   <li>Tools: those named in {@code allowed-tools}, AgentSkills' names mapped to Carapace's ({@code Bash} is
 *       {@code exec}, {@code Read} is {@code read}, {@code WebFetch} is {@code web_fetch}, ...; {@code Bash(git:*)}
 *       also declares the command {@code git}); {@code exec} when a command is declared, {@code web_fetch} when a
 *       host is; and always the {@link #ALWAYS} tools (reading other skills, memory), which a skill cannot take away.</li>
 *   <li>Commands: programs by file name, exactly ({@code requires.bins}, {@code requires.anyBins}, {@code Bash(x:*)}).</li>
 *   <li>Hosts: {@code host} (any port), {@code host:port}, or {@code *.domain} (its subdomains, not itself); compared
 *       lower case, without a trailing dot, internationalized names in their ASCII (punycode) form, so a spelling
 *       trick names the same host or none.</li>
 * </ul>
 *
 * <p>A skill the run named but that cannot be found (a misspelt, differently cased or look-alike name) declares
 * nothing: following it allows nothing beyond the {@link #ALWAYS} tools.
 */
public final class SkillScope {

    /** Tools a followed skill never restricts: loading other skills and the agent's memory. */
    public static final Set<String> ALWAYS = Set.of("skill", "memory_write", "memory_search");

    /** AgentSkills' (Claude Code's) tool names, lower case, to Carapace's. */
    private static final Map<String, String> TOOL_NAMES = Map.ofEntries(Map.entry("bash", "exec"),
            Map.entry("shell", "exec"), Map.entry("read", "read"), Map.entry("write", "write"),
            Map.entry("edit", "edit"), Map.entry("multiedit", "edit"), Map.entry("webfetch", "web_fetch"),
            Map.entry("fetch", "web_fetch"), Map.entry("grep", "grep"), Map.entry("glob", "glob"),
            Map.entry("ls", "list"));

    /**
     * One followed skill as resolved.
     *
     * @param name  the name the run asked for
     * @param needs what it declared; {@link SkillNeeds#NOTHING} when {@code known} is false
     * @param known whether a skill of exactly that name exists for the agent
     */
    public record Declared(String name, SkillNeeds needs, boolean known) {}

    private final List<Declared> skills;
    private final Set<String> tools = new LinkedHashSet<>();
    private final Set<String> commands = new LinkedHashSet<>();
    private final List<String> hosts = new ArrayList<>();

    public SkillScope(List<Declared> skills) {
        this.skills = List.copyOf(skills);
        for (Declared d : this.skills) {
            for (String t : d.needs().tools()) addTool(t);
            commands.addAll(d.needs().commands());
            for (String h : d.needs().hosts()) {
                String c = canonicalPattern(h);
                if (c != null) hosts.add(c);
            }
        }
        if (!commands.isEmpty()) tools.add("exec");
        if (!hosts.isEmpty()) tools.add("web_fetch");
    }

    private void addTool(String declared) {
        String t = declared.strip();
        int paren = t.indexOf('(');
        if (paren > 0 && t.endsWith(")")) {
            String inner = t.substring(paren + 1, t.length() - 1).strip();
            t = t.substring(0, paren).strip();
            String mapped = TOOL_NAMES.getOrDefault(t.toLowerCase(Locale.ROOT), t);
            if (mapped.equals("exec") && !inner.isEmpty()) {
                String program = inner.split("[:\\s]", 2)[0];
                if (!program.isEmpty() && !program.contains("*")) commands.add(program);
            }
        }
        if (t.isEmpty()) return;
        tools.add(TOOL_NAMES.getOrDefault(t.toLowerCase(Locale.ROOT), t));
    }

    public List<Declared> skills() { return skills; }

    /** The Carapace tools the skills declared (the {@link #ALWAYS} tools aside). */
    public Set<String> tools() { return Set.copyOf(tools); }

    public Set<String> commands() { return Set.copyOf(commands); }

    /** The host patterns, canonical. */
    public List<String> hosts() { return List.copyOf(hosts); }

    /** Whether any of the skills declared network use. */
    public boolean network() { return !hosts.isEmpty(); }

    public boolean allowsTool(String tool) {
        return ALWAYS.contains(tool) || tools.contains(tool);
    }

    /** {@code program} as the shell names it: its file name ({@code /usr/bin/curl} is {@code curl}). */
    public boolean allowsCommand(String program) {
        int slash = program.lastIndexOf('/');
        return commands.contains(slash >= 0 ? program.substring(slash + 1) : program);
    }

    public boolean allowsHost(String host, int port) {
        String h = canonicalHost(host);
        if (h == null) return false;
        for (String p : hosts) {
            String name = p;
            int colon = p.lastIndexOf(':');
            if (colon > 0 && p.indexOf(']') < colon && p.chars().filter(ch -> ch == ':').count() == 1) {
                if (!p.substring(colon + 1).equals(Integer.toString(port))) continue;
                name = p.substring(0, colon);
            }
            if (name.startsWith("*.") ? h.endsWith(name.substring(1)) && h.length() > name.length() - 1 : h.equals(name)) {
                return true;
            }
        }
        return false;
    }

    /** "skill 'a'" or "skills 'a', 'b'", for reasons. */
    public String describe() {
        List<String> names = skills.stream().map(d -> "'" + d.name() + "'" + (d.known() ? "" : " (no such skill)")).toList();
        return (names.size() == 1 ? "skill " : "skills ") + String.join(", ", names);
    }

    /** Which skill a remedy should name: the one followed, or "one of the skills it follows". */
    public String declarer() {
        List<String> known = skills.stream().filter(Declared::known).map(d -> "'" + d.name() + "'").toList();
        if (known.isEmpty()) return "a skill the agent has (loaded by its exact name)";
        return known.size() == 1 ? "skill " + known.getFirst() : "one of the skills " + String.join(", ", known);
    }

    /**
     * A host as compared: lower case, no trailing dot, an internationalized name in ASCII; null when it is not a
     * valid name (a look-alike that does not convert is no host at all).
     */
    public static String canonicalHost(String host) {
        if (host == null) return null;
        String h = host.strip();
        if (h.startsWith("[") && h.endsWith("]")) return h.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        if (h.isEmpty()) return null;
        try {
            return IDN.toASCII(h, IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** A declared pattern made canonical like a host ({@code *.} and {@code :port} kept); null when invalid. */
    static String canonicalPattern(String pattern) {
        String p = pattern.strip();
        String wildcard = "";
        if (p.startsWith("*.")) {
            wildcard = "*.";
            p = p.substring(2);
        }
        String port = "";
        int colon = p.lastIndexOf(':');
        if (colon > 0 && !p.startsWith("[") && p.indexOf(':') == colon) {
            port = p.substring(colon);
            p = p.substring(0, colon);
            if (!port.substring(1).matches("[0-9]{1,5}")) return null;
        }
        String host = canonicalHost(p);
        return host == null ? null : wildcard + host + port;
    }
}
