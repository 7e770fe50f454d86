package dev.carapace.server;

import dev.carapace.agent.AgentTool;
import dev.carapace.agent.Agents;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.memory.Embedder;
import dev.carapace.memory.Memory;
import dev.carapace.memory.MemoryLimits;
import dev.carapace.memory.MemoryScopes;
import dev.carapace.memory.MemorySearchTool;
import dev.carapace.memory.MemoryWriteTool;
import dev.carapace.memory.MiniLmEmbedder;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.privacy.Scanner;
import dev.carapace.server.adapter.PrivacyWriteScreen;
import dev.carapace.server.adapter.StoreMemoryNotes;
import dev.carapace.store.Store;

import java.time.Clock;
import java.util.List;

/**
 * Builds agents' memory for {@link Carapace} and the CLI: notes in the store, the in-process sentence model (loaded on
 * first use), the privacy policy's screen on every write (the config's policy, or the defaults when it has none:
 * secrets refused, personal data redacted), and which memory each agent reaches (its own and its owner's team's).
 */
final class MemoryWiring {

    final Memory memory;
    final MemoryScopes scopes;

    MemoryWiring(CarapaceConfig config, Store store, Embedder embedder, Clock clock) {
        PrivacySpec spec = config.privacy() != null ? config.privacy() : PrivacySpec.DEFAULT;
        this.memory = new Memory(new StoreMemoryNotes(store.memoryNotes()), embedder,
                new PrivacyWriteScreen(spec, new Scanner(spec)), MemoryLimits.DEFAULT, clock);
        this.scopes = scopes(config, store);
    }

    /** Each agent reaches its own memory and its owner's team's (a user-owned agent's team: its owner's newest key's). */
    static MemoryScopes scopes(CarapaceConfig config, Store store) {
        return new MemoryScopes(new Agents(config.agents().values()),
                agent -> agent.owner().user() == null ? null : AgentWiring.teamOf(agent.owner().user(), store));
    }

    MemoryWiring(CarapaceConfig config, Store store, Clock clock) {
        this(config, store, embedder(config), clock);
    }

    /** The in-process model, loaded at start when an agent has a memory tool (loaded on first use otherwise). */
    private static MiniLmEmbedder embedder(CarapaceConfig config) {
        MiniLmEmbedder e = new MiniLmEmbedder();
        boolean used = config.agents().values().stream().anyMatch(a -> a.enabledTools().stream()
                .anyMatch(t -> t.equals(MemoryWriteTool.NAME) || t.equals(MemorySearchTool.NAME)));
        if (used) e.loadSoon();
        return e;
    }

    /** {@code memory_write} and {@code memory_search}; each agent gets those its {@code tools:} list names. */
    List<AgentTool> tools() {
        return List.of(new MemoryWriteTool(memory, scopes), new MemorySearchTool(memory, scopes));
    }
}
