package dev.carapace.guard.sandbox;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A host path as one command's sandbox shows it: a policy's file-system layer, turned into mounts. Mounts are made
 * outermost first and, on the same path, the more restrictive last, so a read-only or hidden path inside a writable
 * one stays read-only or hidden.
 *
 * @param path   absolute; shown at its own path
 * @param access what the command may do there
 */
public record Mount(Path path, Access access) {

    public enum Access {
        /** Bound writable. */
        READ_WRITE,
        /** Bound read-only; where nothing exists yet, an empty read-only folder, so nothing can be put there. */
        READ_ONLY,
        /** Nothing there: an empty read-only folder, or {@code /dev/null} over a file. */
        HIDDEN
    }

    public Mount {
        Objects.requireNonNull(access, "access");
        if (!path.isAbsolute()) throw new IllegalArgumentException("mount path must be absolute: " + path);
        path = path.normalize();
    }
}
