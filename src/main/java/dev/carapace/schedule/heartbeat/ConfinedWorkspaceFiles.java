package dev.carapace.schedule.heartbeat;

import dev.carapace.fs.PathException;
import dev.carapace.fs.RealPaths;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * {@link WorkspaceFiles} over the real file system: a path is checked by {@link WorkspacePath}, resolved by the
 * guard's one canonicaliser ({@link RealPaths}) confined to the agent's workspace, so a symlink pointing outside is
 * refused, and opened without following a final symlink. Only regular files with one link are read (another name of
 * a hard-linked file may be outside the workspace).
 *
 * <p>A fingerprint hashes at most {@link #MAX_HASHED_BYTES}; a bigger file's fingerprint also covers its size and
 * modification time, so an append past that point is still seen, and a huge file costs a bounded read per beat.
 */
public final class ConfinedWorkspaceFiles implements WorkspaceFiles {

    public static final long MAX_HASHED_BYTES = 8L * 1024 * 1024;
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    private final Function<String, Path> workspaceOf;

    /** @param workspaceOf an agent id to its workspace directory (e.g. from its {@code AgentSpec}) */
    public ConfinedWorkspaceFiles(Function<String, Path> workspaceOf) {
        this.workspaceOf = Objects.requireNonNull(workspaceOf, "workspaceOf");
    }

    @Override
    public FileState fingerprint(String agentId, String path) throws IOException {
        Path real = resolve(agentId, path);
        if (real == null) return FileState.absent();
        Map<String, Object> attrs = attributes(real, path);
        if (attrs == null) return FileState.absent();
        long size = (Long) attrs.get("size");
        MessageDigest sha = sha256();
        try (InputStream in = open(real, path)) {
            byte[] buffer = new byte[64 * 1024];
            long left = MAX_HASHED_BYTES;
            int n;
            while (left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) > 0) {
                sha.update(buffer, 0, n);
                left -= n;
            }
        } catch (NoSuchFileException e) {
            return FileState.absent();
        }
        if (size > MAX_HASHED_BYTES) {
            sha.update(("\nsize=" + size + " modified=" + ((FileTime) attrs.get("lastModifiedTime")).toMillis())
                    .getBytes(StandardCharsets.US_ASCII));
        }
        return FileState.of(HexFormat.of().formatHex(sha.digest()), size);
    }

    @Override
    public byte[] head(String agentId, String path, int maxBytes) throws IOException {
        Path real = resolve(agentId, path);
        if (real == null || attributes(real, path) == null) return null;
        try (InputStream in = open(real, path)) {
            return in.readNBytes(maxBytes + 1);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** The real path, or null when the file does not exist. */
    private Path resolve(String agentId, String path) throws IOException {
        try {
            WorkspacePath.check(path, "path");
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage());
        }
        Path workspace = workspaceOf.apply(agentId);
        if (workspace == null) throw new IOException("agent '" + agentId + "' has no workspace");
        Path root = workspace.toRealPath();
        try {
            RealPaths.Resolved resolved = RealPaths.resolve(root, root.getFileSystem().getPath(path), root, path);
            return resolved.exists() ? resolved.real() : null;
        } catch (PathException e) {
            throw new IOException(e.getMessage());
        }
    }

    /** Size and time of a regular single-link file, or null if it vanished; refuses anything else. */
    private static Map<String, Object> attributes(Path real, String shown) throws IOException {
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(real, "unix:isRegularFile,nlink,size,lastModifiedTime", NOFOLLOW);
        } catch (NoSuchFileException e) {
            return null;
        }
        if (!(Boolean) attrs.get("isRegularFile")) throw new IOException("'" + shown + "' is not a regular file");
        if ((Integer) attrs.get("nlink") > 1) {
            throw new IOException("'" + shown + "' has other hard links, which may be outside the workspace");
        }
        return attrs;
    }

    private static InputStream open(Path real, String shown) throws IOException {
        try {
            SeekableByteChannel channel = Files.newByteChannel(real, StandardOpenOption.READ, NOFOLLOW);
            return Channels.newInputStream(channel);
        } catch (FileSystemException e) {
            if (e instanceof NoSuchFileException) throw e;
            // O_NOFOLLOW met a symlink swapped in since the resolution, or the file is unreadable
            throw new IOException("'" + shown + "' cannot be opened (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
