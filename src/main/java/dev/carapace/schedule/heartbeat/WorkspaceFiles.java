package dev.carapace.schedule.heartbeat;

import java.io.IOException;

/**
 * An agent's workspace as the probe reads it: a file's fingerprint, and the head of a file. Paths are
 * workspace-relative and have passed {@link WorkspacePath}; an implementation must still confine them (symlinks
 * must not lead out), as {@link ConfinedWorkspaceFiles} does. A refused path is an {@link IOException} whose message
 * says why and holds nothing outside the workspace.
 */
public interface WorkspaceFiles {

    /** The file's state now: {@link FileState#absent()} when there is no such file. */
    FileState fingerprint(String agentId, String path) throws IOException;

    /** At most {@code maxBytes + 1} bytes from the start of the file (one more tells a cut), or null when absent. */
    byte[] head(String agentId, String path, int maxBytes) throws IOException;
}
