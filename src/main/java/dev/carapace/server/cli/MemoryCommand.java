package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.memory.Memory;
import dev.carapace.memory.MemoryException;
import dev.carapace.memory.NoteStore;
import dev.carapace.memory.Scope;
import dev.carapace.server.Carapace;
import dev.carapace.server.json.MemoryJson;
import dev.carapace.store.Store;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.time.Clock;

import static dev.carapace.server.cli.Main.JSON;
import static dev.carapace.text.Excerpt.clip;

/**
 * {@code carapace memory search|list|rm}: agents' memory, straight in the store, as an admin (whoever can open the
 * store reaches every memory). {@code --agent ID} names an agent's own memory (a search adds its team's, unless
 * {@code --scope} narrows it), {@code --team NAME} a team's. A search loads the sentence model (about a second).
 */
@Command(name = "memory", mixinStandardHelpOptions = true,
        description = "Search, list and remove agents' and teams' memory notes.",
        subcommands = {MemoryCommand.Search.class, MemoryCommand.List.class, MemoryCommand.Remove.class})
final class MemoryCommand extends GroupCommand {

    /** A command on one memory, named by {@code --agent} or {@code --team}. */
    abstract static class OnMemory extends StoreCommand {
        @Option(names = "--agent", paramLabel = "ID", description = "An agent's own memory.") String agent;
        @Option(names = "--team", paramLabel = "NAME", description = "A team's memory.") String team;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, Store store) throws Exception {
            if ((agent == null) == (team == null)) throw usageError("name one memory: --agent ID or --team NAME");
            if (agent != null && !config.agents().containsKey(agent)) {
                return fail("no agent '" + clip(agent, 60) + "' (" + (config.agents().isEmpty() ? "no agents are configured"
                        : "agents: " + String.join(", ", config.agents().keySet())) + ")");
            }
            if (team != null && !config.teams().containsKey(team)) {
                return fail("no team '" + clip(team, 60) + "' (teams: " + String.join(", ", config.teams().keySet()) + ")");
            }
            Memory memory = Carapace.memory(config, store, Clock.systemUTC());
            try {
                return run(config, store, memory, agent != null ? Scope.agent(agent) : Scope.team(team), out());
            } catch (MemoryException e) {
                return fail(e.getMessage());
            }
        }

        abstract int run(CarapaceConfig config, Store store, Memory memory, Scope scope, PrintWriter out) throws Exception;
    }

    @Command(name = "search", mixinStandardHelpOptions = true,
            description = {"Search a memory by meaning and keyword at once.",
                    "Example: carapace memory search --agent helper 'how do we deploy'"})
    static final class Search extends OnMemory {
        @Parameters(paramLabel = "QUERY", description = "What to look for, in words.") String query;
        @Option(names = "--k", paramLabel = "N", defaultValue = "5", description = "Results, 1 to 20 (default 5).") int k;
        @Option(names = "--scope", paramLabel = "agent|team|both",
                description = "With --agent: its own memory, its team's, or both (the default).") String scope;

        @Override
        int run(CarapaceConfig config, Store store, Memory memory, Scope s, PrintWriter out) throws Exception {
            if (scope != null && s.kind() == Scope.Kind.TEAM) throw usageError("--scope narrows an agent's memory: use it with --agent");
            java.util.List<Scope> where = s.kind() == Scope.Kind.TEAM ? java.util.List.of(s)
                    : Carapace.memoryScopes(config, store).of(s.name()).select(scope);
            java.util.List<Memory.Hit> hits = memory.search(where, query, k);
            if (json) {
                ArrayNode a = JSON.createArrayNode();
                hits.forEach(h -> a.add(MemoryJson.hit(h)));
                out.println(JSON.writeValueAsString(a));
                return 0;
            }
            if (hits.isEmpty()) {
                out.println("Nothing in " + String.join(" or ", where.stream().map(Scope::toString).toList()) + " matches.");
                return 0;
            }
            for (Memory.Hit h : hits) {
                out.printf("%.4f  %s  %s  (%s)%n", h.score(), h.scope(), h.path(), h.updatedAt());
                out.println("    " + clip(h.snippet().replace('\n', ' '), 200));
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List a memory's notes.")
    static final class List extends OnMemory {
        @Override
        int run(CarapaceConfig config, Store store, Memory memory, Scope s, PrintWriter out) throws Exception {
            java.util.List<NoteStore.Note> notes = memory.list(s);
            if (json) {
                ArrayNode a = JSON.createArrayNode();
                notes.forEach(n -> a.add(MemoryJson.note(n)));
                out.println(JSON.writeValueAsString(a));
                return 0;
            }
            if (notes.isEmpty()) {
                out.println("Memory " + s + " holds no notes.");
                return 0;
            }
            String row = "%-40s %8s %7s  %s%n";
            out.printf(row, "PATH", "BYTES", "CHUNKS", "UPDATED");
            for (NoteStore.Note n : notes) out.printf(row, n.path(), n.bytes(), n.chunks(), n.updatedAt());
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a note from a memory.")
    static final class Remove extends OnMemory {
        @Parameters(paramLabel = "PATH", description = "The note's path (see 'carapace memory list').") String path;

        @Override
        int run(CarapaceConfig config, Store store, Memory memory, Scope s, PrintWriter out) throws Exception {
            memory.remove(s, path);
            if (json) out.println(JSON.writeValueAsString(MemoryJson.scope(JSON.createObjectNode()
                    .put("path", path.strip()).put("deleted", true), s)));
            else out.println("Removed " + path.strip() + " from memory " + s + ".");
            return 0;
        }
    }
}
