package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules.Verdict;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One policy file as loaded by {@link PolicyLoader}: OpenShell's format plus Carapace's extensions (tools,
 * approvals, credentials). Plain data; {@link PolicyEngine} compiles it. Every rule carries an id made of the
 * policy's name and the field path it came from (e.g. {@code base:network_policies.github.endpoints[0].rules[1]}),
 * which is what decisions, audit records and {@code carapace policy explain} name.
 *
 * @param name        the name the config gives the policy (the file name when checked alone)
 * @param filesystem  null when the file has no {@code filesystem_policy}: the policy then grants no file access
 * @param process     null when absent
 * @param network     {@code network_policies} in file order
 * @param tools       null when absent: the policy does not restrict which tools run (the agent's own list does)
 * @param approvals   what is asked instead of denied
 * @param credentials headers injected by the egress proxy, by id
 */
public record Policy(String name, Filesystem filesystem, Process process, Map<String, NetworkGroup> network,
                     Tools tools, Approvals approvals, Map<String, Credential> credentials) {

    public Policy {
        network = Map.copyOf(network);
        credentials = Map.copyOf(credentials);
    }

    /**
     * @param includeWorkdir the agent's workspace is a read-write root
     * @param readOnly       roots that may be read
     * @param readWrite      roots that may be read and written; a read-only root inside one stays read-only
     */
    public record Filesystem(boolean includeWorkdir, List<Root> readOnly, List<Root> readWrite) {
        public Filesystem {
            readOnly = List.copyOf(readOnly);
            readWrite = List.copyOf(readWrite);
        }
    }

    public record Root(Path path, String rule) {}

    /**
     * OpenShell's {@code process} section. Carapace's exec sandbox runs every command as an unprivileged identity
     * with no capabilities; the only identity accepted is the conventional {@code sandbox}, which says exactly
     * that; the server refuses to start a policy carrying it with the unisolated local exec runner.
     */
    public record Process(String runAsUser, String runAsGroup) {}

    /** A named group of {@code network_policies}: every binary listed may reach every endpoint listed. */
    public record NetworkGroup(String key, String name, List<Endpoint> endpoints, List<Binary> binaries) {
        public NetworkGroup {
            endpoints = List.copyOf(endpoints);
            binaries = List.copyOf(binaries);
        }
    }

    public record Binary(String glob, String rule) {}

    /**
     * One destination. With neither {@code access} nor {@code rules} it is L4 only: any request to it is allowed.
     *
     * @param host        lower case: a name, an IP literal, or {@code *.suffix} (one label) / {@code **.suffix} (any)
     * @param ports       at least one
     * @param pathScope   OpenShell's endpoint {@code path}: the endpoint applies only to request paths matching it;
     *                    null for all
     * @param access      a method preset, or null
     * @param allow       allow rules (method + path glob)
     * @param deny        deny rules; they win over everything that allows
     * @param audit       {@code enforcement: audit}: a denial is recorded but let through
     * @param allowedIps  CIDRs this endpoint may resolve to although private
     * @param l7          whether requests (not only connections) are restricted: access other than full, rules or
     *                    deny rules, or a path scope
     */
    public record Endpoint(String rule, int line, String host, Set<Integer> ports, String pathScope, Protocol protocol,
                           Access access, List<HttpRule> allow, List<HttpRule> deny, boolean audit,
                           List<String> allowedIps, boolean l7) {
        public Endpoint {
            ports = Set.copyOf(ports);
            allow = List.copyOf(allow);
            deny = List.copyOf(deny);
            allowedIps = List.copyOf(allowedIps);
        }
    }

    public enum Protocol { REST, TCP }

    /** OpenShell's method presets. */
    public enum Access {
        READ_ONLY(Set.of("GET", "HEAD", "OPTIONS")),
        READ_WRITE(Set.of("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH")),
        FULL(null);

        /** null: every method */
        public final Set<String> methods;

        Access(Set<String> methods) { this.methods = methods; }

        public boolean allows(String method) { return methods == null || methods.contains(method); }

        public String label() { return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'); }
    }

    /** @param method upper case, or {@code *}; @param path a path glob ({@code *} within a segment, {@code **} across) */
    public record HttpRule(String rule, String method, String path) {}

    /**
     * Carapace's tool section. Tool names are globs. Deny lists and deny rules always win; then a rule that matches
     * the call's target (more specific) decides; then ask, then allow; anything else is denied.
     */
    public record Tools(List<NameRule> allow, List<NameRule> ask, List<NameRule> deny, List<ToolRule> rules) {
        public Tools {
            allow = List.copyOf(allow);
            ask = List.copyOf(ask);
            deny = List.copyOf(deny);
            rules = List.copyOf(rules);
        }
    }

    public record NameRule(String glob, String rule) {}

    /**
     * A decision for calls of {@code tool} whose target matches {@code target}: for file tools the canonical
     * absolute path (path glob), for exec the command, for web_fetch the URL ({@code *} matches anything there).
     */
    public record ToolRule(String rule, String tool, String target, Verdict decision) {}

    /** @param unknownHosts what a network request that no endpoint matches gets: DENY (default) or ASK */
    public record Approvals(Verdict unknownHosts) {
        public static final Approvals DEFAULT = new Approvals(Verdict.DENY);
    }

    /**
     * A header the egress proxy adds, from the secret store, to requests to {@code hosts}; the secret's value never
     * appears in a policy, a decision or an audit record.
     */
    public record Credential(String rule, String secret, String header, String template, List<String> hosts) {
        public Credential {
            hosts = List.copyOf(hosts);
        }
    }
}
