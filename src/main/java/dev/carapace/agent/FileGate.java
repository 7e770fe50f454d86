package dev.carapace.agent;

import java.nio.file.Path;

/**
 * The file-system decision at the moment of touch. {@link Guard#decide} judges a call before it runs, on the path
 * the model named; a file can be swapped for a symlink after that, and a directory walk (grep, glob) reaches files
 * the model never named. So the file tools ask this gate again on every real path they are about to open, list or
 * create, after resolving it and right before a no-follow open of exactly that path: what is opened is what was
 * judged, or the open fails.
 */
public interface FileGate {

    /**
     * @param tool the calling tool's name
     * @param real an absolute path without symlinks, inside the agent's workspace
     * @return null when allowed, else why not (for the model: names the rule, holds no secret)
     */
    String refusal(String tool, Path real, FileAccess access);

    /**
     * The gate for one call whose guard decision (allowed, or approved by an operator) named {@code target}: rules
     * that would ask an operator are satisfied for that path, and still refuse every other path the call reaches (a
     * grep must not read, unasked, what a read would have had to ask for).
     */
    default FileGate forCall(String target) {
        return this;
    }

    /** Without a policy: everything inside the workspace, which the file tools confine themselves to anyway. */
    FileGate WORKSPACE = (tool, real, access) -> null;
}
