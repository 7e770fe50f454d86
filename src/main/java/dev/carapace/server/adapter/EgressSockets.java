package dev.carapace.server.adapter;

import dev.carapace.agent.AgentSpec;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.egress.Listener;
import dev.carapace.guard.sandbox.SandboxUser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * One egress-proxy Unix socket per agent, for its sandboxed commands: the proxy judges a connection as the agent whose
 * socket it came through, so a command cannot speak for another agent. The sockets live in a private temporary
 * folder (mode 700; a socket path must also stay under the kernel's 108 bytes), which is removed on close. When the
 * gateway runs as root its sandboxed commands run as the sandbox user, whose bubblewrap must reach the socket to bind
 * it in: the folder is then the user's group's to search (710) and the sockets its group's to connect to (660).
 */
public final class EgressSockets implements AutoCloseable {

    private final Path dir;
    private final Map<String, Path> byAgent;
    private final EgressProxy proxy;
    /** Whom sandboxed commands run as when the gateway is root (they must reach the sockets); null otherwise. */
    private final SandboxUser shareWith;
    private final AtomicLong scopedCount = new AtomicLong();

    private EgressSockets(Path dir, Map<String, Path> byAgent, EgressProxy proxy, SandboxUser shareWith) {
        this.dir = dir;
        this.byAgent = byAgent;
        this.proxy = proxy;
        this.shareWith = shareWith;
    }

    /** @param sandboxUser whom sandboxed commands run as when the gateway is root */
    public static EgressSockets open(EgressProxy proxy, Collection<AgentSpec> agents, SandboxUser sandboxUser) {
        Path dir;
        try {
            dir = Files.createTempDirectory("carapace-egress-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the folder of the egress proxy's sockets", e);
        }
        dir.toFile().deleteOnExit();   // after the sockets registered below: a gateway stopped without close leaves nothing
        Map<String, Path> sockets = new LinkedHashMap<>();
        boolean root;
        try {
            root = (int) Files.getAttribute(dir, "unix:uid") == 0;
            if (root) share(dir, sandboxUser, "rwx--x---");
            int n = 0;
            for (AgentSpec a : agents) {
                Path socket = dir.resolve((n++) + ".sock");   // by number: an agent id may be longer than a socket path allows
                proxy.listen(UnixDomainSocketAddress.of(socket), a.id());
                socket.toFile().deleteOnExit();
                if (root) share(socket, sandboxUser, "rw-rw----");
                sockets.put(a.id(), socket);
            }
        } catch (IOException e) {
            delete(dir);
            throw new UncheckedIOException("cannot open the egress proxy's sockets in " + dir, e);
        }
        return new EgressSockets(dir, Map.copyOf(sockets), proxy, root ? sandboxUser : null);
    }

    /**
     * A socket of its own for one command, whose connections the proxy judges as {@code label} (see
     * {@link SkillEgress}); closing it closes the listener and its connections and removes the file.
     */
    public Scoped scoped(String label) throws IOException {
        Path socket = dir.resolve("s" + scopedCount.incrementAndGet() + ".sock");
        Listener l = proxy.listen(UnixDomainSocketAddress.of(socket), label);
        try {
            if (shareWith != null) share(socket, shareWith, "rw-rw----");
        } catch (IOException e) {
            proxy.unlisten(l);
            throw e;
        }
        return new Scoped(socket, () -> proxy.unlisten(l));
    }

    /** A command's own socket, open until closed. */
    public record Scoped(Path socket, Runnable closer) implements AutoCloseable {
        @Override
        public void close() { closer.run(); }
    }

    /**
     * The folder of every agent's socket: hidden inside every sandbox (each gets its own socket bound elsewhere), or
     * a policy root over it would let one agent's commands connect as another agent, with its network rules and
     * credentials.
     */
    public Path dir() { return dir; }

    /** Each agent's id to the socket its sandboxed commands use. */
    public Map<String, Path> byAgent() { return byAgent; }

    /** Some socket, for checking at start-up that the sandbox can reach one; null when there are no agents. */
    public Path any() { return byAgent.values().stream().findFirst().orElse(null); }

    private static void share(Path p, SandboxUser user, String mode) throws IOException {
        Files.setAttribute(p, "unix:gid", user.gid(), LinkOption.NOFOLLOW_LINKS);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
    }

    /** Removes the folder; the proxy closes the listeners themselves. */
    @Override
    public void close() { delete(dir); }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder: the system cleans it up in the end
        }
    }
}
