package dev.carapace.memory;

import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.agent.ToolContext;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.privacy.Scanner;
import dev.carapace.server.adapter.PrivacyWriteScreen;
import dev.carapace.server.adapter.StoreMemoryNotes;
import dev.carapace.store.Store;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Memory as the gateway builds it, over a real store and the real model: agents alice and carol of team ops, bob of
 * team sales, and dave, owned by a user with no team.
 */
final class MemoryFixture {

    final Store store;
    final Memory memory;
    final MemoryScopes scopes;
    /** How many texts the model was asked to embed. */
    final AtomicInteger embedded = new AtomicInteger();

    MemoryFixture(Store store, PrivacySpec privacy, MemoryLimits limits, Clock clock) {
        this.store = store;
        Embedder real = TestEmbedder.shared();
        Embedder counting = new Embedder() {
            @Override public String id() { return real.id(); }
            @Override public int dimension() { return real.dimension(); }
            @Override public List<float[]> embed(List<String> texts) {
                embedded.addAndGet(texts.size());
                return real.embed(texts);
            }
        };
        this.memory = new Memory(new StoreMemoryNotes(store.memoryNotes()), counting,
                new PrivacyWriteScreen(privacy, new Scanner(privacy)), limits, clock);
        Agents agents = new Agents(List.of(agent("alice", new AgentSpec.Owner(null, "ops")),
                agent("carol", new AgentSpec.Owner("carol", "ops")), agent("bob", new AgentSpec.Owner(null, "sales")),
                agent("dave", new AgentSpec.Owner("dave", null))));
        this.scopes = new MemoryScopes(agents, a -> null);
    }

    static Store sqlite(Path dir) {
        return Store.open("jdbc:sqlite:" + dir.resolve("memory.db"), null, null, 4);
    }

    static AgentSpec agent(String id, AgentSpec.Owner owner) {
        return new AgentSpec(id, Path.of("/tmp/" + id), "m", List.of(), List.of("memory_write", "memory_search"),
                owner, null, null, null);
    }

    static ToolContext as(String agent) {
        return new ToolContext(agent, "agent:" + agent + ":main", Path.of("/tmp/" + agent), Duration.ofSeconds(30), 32_768);
    }

    MemoryWriteTool writeTool() { return new MemoryWriteTool(memory, scopes); }

    MemorySearchTool searchTool() { return new MemorySearchTool(memory, scopes); }
}
