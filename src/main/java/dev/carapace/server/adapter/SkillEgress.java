package dev.carapace.server.adapter;

import dev.carapace.agent.Following;
import dev.carapace.guard.NetworkRules;
import dev.carapace.skill.FollowedSkills;
import dev.carapace.skill.SkillScope;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A followed skill's network declarations, enforced where a sandboxed command's connections are made: at the egress
 * proxy. A command's network is its agent's proxy socket, through which the proxy judges every connection as that
 * agent; a command of a run that follows skills gets instead:
 *
 * <ul>
 *   <li>no socket at all when any of the skills it is held to (its run's, and those of the runs above it) declared no
 *       network: its sandbox has no way out;</li>
 *   <li>else a socket of its own for this command, whose connections the proxy attributes to a label naming the
 *       agent and the skills; these rules refuse a host that the skills of some level did not declare, and hand
 *       every other request to the policy's rules as the agent's (so the policy still decides, and never widens).</li>
 * </ul>
 *
 * The label is what the proxy's audit records show as the agent, e.g. {@code main (following skill 'weather') #3}.
 */
public final class SkillEgress {

    /** A command's socket (null: no network), released when the command is done. */
    public interface Lease extends AutoCloseable {
        Path socket();

        @Override
        void close();

        static Lease of(Path socket) {
            return new Lease() {
                @Override public Path socket() { return socket; }

                @Override public void close() { }
            };
        }
    }

    private record Scope(String agentId, List<SkillScope> scopes) {}

    private final FollowedSkills skills;
    private final Map<String, Scope> byLabel = new ConcurrentHashMap<>();
    private final AtomicLong count = new AtomicLong();
    private volatile EgressSockets sockets;

    public SkillEgress(FollowedSkills skills) {
        this.skills = skills;
    }

    /** The sockets' home, once they exist (they are opened on the proxy these rules are part of). */
    public void attach(EgressSockets sockets) {
        this.sockets = sockets;
    }

    /** {@code policy}'s rules with the skills' hosts in front, for the proxy. */
    public NetworkRules around(NetworkRules policy) {
        return request -> {
            Scope scope = byLabel.get(request.agent());
            if (scope == null) return policy.decide(request);
            for (SkillScope s : scope.scopes()) {
                if (!s.allowsHost(request.host(), request.port())) {
                    String declared = s.network() ? "declared hosts (" + String.join(", ", s.hosts()) + ")"
                            : "declared no network access";
                    return new NetworkRules.NetworkDecision(NetworkRules.Verdict.DENY, "skill.needs:"
                            + String.join(",", s.skills().stream().map(SkillScope.Declared::name).toList()),
                            "the run follows " + s.describe() + ", which " + declared + ": " + request.host() + ":"
                                    + request.port() + " is not among them; " + s.declarer() + " would have to "
                                    + "declare it in metadata.carapace.hosts", false, List.of(), List.of());
                }
            }
            return policy.decide(new NetworkRules.NetworkRequest(scope.agentId(), request.host(), request.port(),
                    request.method(), request.path(), request.binary()));
        };
    }

    /**
     * The socket for one command of {@code agentId}, whose own socket is {@code agentSocket} (null: the agent has no
     * network anyway).
     */
    public Lease socketFor(String agentId, Following following, Path agentSocket) throws IOException {
        if (agentSocket == null) return Lease.of(null);
        List<SkillScope> scopes = skills.scopes(following);
        if (scopes.isEmpty()) return Lease.of(agentSocket);
        if (scopes.stream().anyMatch(s -> !s.network()) || sockets == null) return Lease.of(null);
        String label = agentId + " (following " + String.join("; ", scopes.stream().map(SkillScope::describe).toList())
                + ") #" + count.incrementAndGet();
        byLabel.put(label, new Scope(agentId, scopes));
        EgressSockets.Scoped scoped;
        try {
            scoped = sockets.scoped(label);
        } catch (IOException | RuntimeException e) {
            byLabel.remove(label);
            throw e;
        }
        return new Lease() {
            @Override public Path socket() { return scoped.socket(); }

            @Override
            public void close() {
                scoped.close();
                byLabel.remove(label);
            }
        };
    }
}
