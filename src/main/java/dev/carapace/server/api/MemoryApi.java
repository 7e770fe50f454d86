package dev.carapace.server.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.identity.Principal;
import dev.carapace.memory.Memory;
import dev.carapace.memory.MemoryException;
import dev.carapace.memory.MemoryScopes;
import dev.carapace.memory.NoteStore;
import dev.carapace.memory.Scope;
import dev.carapace.model.ApiException;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.server.json.MemoryJson;

import java.util.List;
import java.util.Set;

import static dev.carapace.server.api.HttpApi.sendJson;
import static dev.carapace.server.json.AgentJson.JSON;
import static dev.carapace.text.Excerpt.clip;

/**
 * Agents' memory ({@code /api/memory}): search it, list its notes, read one, remove one. Every route names whose
 * memory with {@code ?agent=ID} (that agent's own, and for a search its team's too) or {@code ?team=NAME}. Admins
 * reach every memory; a member the memory of the agents they may use (owned by themselves or their team, as
 * {@link AgentSpec#usableBy} says) and their own team's. Agents write their memory themselves ({@code memory_write});
 * this API only reads and removes.
 */
public final class MemoryApi {

    private static final int DEFAULT_K = 5;

    private final HttpApi api;
    private final Memory memory;
    private final MemoryScopes scopes;
    private final Agents agents;
    private final Set<String> teams;

    /** @param teams the config's teams: a team memory is one of theirs */
    public MemoryApi(HttpApi api, Memory memory, MemoryScopes scopes, Agents agents, Set<String> teams) {
        this.api = api;
        this.memory = memory;
        this.scopes = scopes;
        this.agents = agents;
        this.teams = Set.copyOf(teams);
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.get("/api/memory/search", x -> api.handleApi("memory", x, () -> search(x)))
         .get("/api/memory/notes", x -> api.handleApi("memory", x, () -> list(x)))
         .get("/api/memory/note", x -> api.handleApi("memory", x, () -> read(x)))
         .delete("/api/memory/note", x -> api.handleApi("memory", x, () -> remove(x)));
    }

    /** {@code ?agent=ID|team=NAME&q=TEXT[&k=1..20][&scope=agent|team|both]}. */
    private void search(Exchange x) {
        Principal p = api.authenticate(x);
        only(x, "agent", "team", "q", "k", "scope");
        String q = x.query("q");
        if (q == null || q.codePoints().allMatch(c -> Character.isWhitespace(c) || Character.isSpaceChar(c)
                || Character.getType(c) == Character.CONTROL || Character.getType(c) == Character.FORMAT)) {
            throw ApiException.invalid("q", "q: what to search for is required (?q=..., with some visible text)");
        }
        int k = k(x.query("k"));
        List<Scope> where;
        if (x.query("agent") != null) {
            if (x.query("team") != null) throw ApiException.invalid("team", "give agent or team, not both");
            where = guarded(() -> scopes.of(agent(p, x.query("agent"))).select(x.query("scope")));
        } else {
            if (x.query("scope") != null) throw ApiException.invalid("scope", "scope narrows an agent's memory: give agent too");
            where = List.of(scopeOf(p, x));
        }
        List<Memory.Hit> hits = guarded(() -> memory.search(where, q, k));
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (Memory.Hit h : hits) data.add(MemoryJson.hit(h));
        sendJson(x, 200, body);
    }

    /** {@code ?agent=ID|team=NAME}: the notes, by path, without their text. */
    private void list(Exchange x) {
        Principal p = api.authenticate(x);
        only(x, "agent", "team");
        Scope s = scopeOf(p, x);
        ObjectNode body = JSON.createObjectNode();
        MemoryJson.scope(body, s);
        ArrayNode data = body.putArray("data");
        for (NoteStore.Note n : memory.list(s)) data.add(MemoryJson.note(n));
        sendJson(x, 200, body);
    }

    /** {@code ?agent=ID|team=NAME&path=P}: one note with its text. */
    private void read(Exchange x) {
        Principal p = api.authenticate(x);
        only(x, "agent", "team", "path");
        Scope s = scopeOf(p, x);
        NoteStore.Note n = guarded(() -> memory.read(s, path(x)));
        ObjectNode body = MemoryJson.note(n).put("text", n.body());
        sendJson(x, 200, body);
    }

    private void remove(Exchange x) {
        Principal p = api.authenticate(x);
        only(x, "agent", "team", "path");
        Scope s = scopeOf(p, x);
        String path = path(x);
        guarded(() -> {
            memory.remove(s, path);
            return null;
        });
        ObjectNode body = MemoryJson.scope(JSON.createObjectNode().put("path", path.strip()).put("deleted", true), s);
        sendJson(x, 200, body);
    }

    /** The one memory {@code ?agent=} or {@code ?team=} names, if {@code p} may reach it. */
    private Scope scopeOf(Principal p, Exchange x) {
        String agent = x.query("agent");
        String team = x.query("team");
        if ((agent == null) == (team == null)) {
            throw ApiException.invalid(agent == null ? "agent" : "team",
                    "name one memory: ?agent=ID (an agent's own) or ?team=NAME (a team's)");
        }
        if (agent != null) return Scope.agent(agent(p, agent).id());
        if (!teams.contains(team)) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No team '" + clip(team, 60) + "' (teams are those"
                    + " of the config).", "team", "team_not_found", null, false);
        }
        if (!p.isAdmin() && !team.equals(p.team())) {
            throw new ApiException(ApiException.Kind.PERMISSION, "Key " + p.keyPrefix() + " (team " + p.team()
                    + ") may not read team '" + team + "''s memory: members reach their own team's only.",
                    "team", "memory_forbidden", null, false);
        }
        return Scope.team(team);
    }

    /** The agent, if {@code p} may use it: 404 names only the agents {@code p} may see, 403 says whose it is. */
    private AgentSpec agent(Principal p, String id) {
        AgentSpec a = agents.find(id).orElse(null);
        if (a == null) {
            List<String> ids = agents.list().stream().filter(s -> s.usableBy(p)).map(AgentSpec::id).toList();
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No agent '" + clip(id, 60) + "' ("
                    + (ids.isEmpty() ? "no agents are available to this key" : "agents: " + String.join(", ", ids)) + ").",
                    "agent", "agent_not_found", null, false);
        }
        if (!a.usableBy(p)) {
            throw new ApiException(ApiException.Kind.PERMISSION, "Key " + p.keyPrefix() + " (user " + p.user()
                    + ", team " + p.team() + ") may not read agent '" + a.id() + "''s memory (owned by " + a.owner()
                    + "): members reach the memory of agents owned by themselves or their team.",
                    "agent", "memory_forbidden", null, false);
        }
        return a;
    }

    private static String path(Exchange x) {
        String path = x.query("path");
        if (path == null) throw ApiException.invalid("path", "path: the note's path is required (?path=...)");
        return path;
    }

    private static int k(String v) {
        if (v == null) return DEFAULT_K;
        try {
            int k = Integer.parseInt(v.strip());
            if (k >= 1 && k <= Memory.MAX_K) return k;
        } catch (NumberFormatException e) {
            // below
        }
        throw ApiException.invalid("k", "k: a whole number from 1 to " + Memory.MAX_K + "; got '" + clip(v, 20) + "'");
    }

    private static void only(Exchange x, String... allowed) {
        List<String> names = List.of(allowed);
        for (String name : x.queryNames()) {
            if (!names.contains(name)) {
                throw ApiException.invalid(name, clip(name, 40) + ": unknown parameter (expected "
                        + String.join(", ", names) + ")");
            }
        }
    }

    /** Runs {@code work}, answering memory's refusals in the API's error shape. */
    private static <T> T guarded(java.util.function.Supplier<T> work) {
        try {
            return work.get();
        } catch (MemoryException e) {
            throw switch (e.reason()) {
                case INVALID -> ApiException.invalidNamed(e.getMessage(), e.getMessage().startsWith("path ") ? "path" : null);
                case NOT_FOUND -> new ApiException(ApiException.Kind.NOT_FOUND, e.getMessage(), "path",
                        "memory_note_not_found", null, false);
                case TOO_LARGE -> new ApiException(ApiException.Kind.TOO_LARGE, e.getMessage(), null,
                        "memory_too_large", null, false);
                case RATE -> new ApiException(ApiException.Kind.RATE_LIMITED, e.getMessage(), null,
                        "memory_rate_limited", null, true);
                case PRIVACY -> new ApiException(ApiException.Kind.INVALID_REQUEST, e.getMessage(), null,
                        "memory_privacy_refused", null, false);
                case UNAVAILABLE -> new ApiException(ApiException.Kind.UNAVAILABLE, e.getMessage(), null,
                        "memory_unavailable", null, false);
            };
        }
    }
}
