package dev.carapace.agent;

/**
 * What a file tool is about to do with a path, in the runtime's terms: the {@link FileGate} it asks and the
 * {@link FileTarget} it declares carry it. The server's adapter maps it onto the guard's own file modes.
 */
public enum FileAccess {
    /** read a file's content */
    READ,
    /** create or replace a file, or create a directory */
    WRITE,
    /** show a name, or enter a directory to list or search it */
    LIST
}
