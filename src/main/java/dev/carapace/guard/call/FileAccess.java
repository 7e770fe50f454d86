package dev.carapace.guard.call;

/** What a tool is about to do with a path: which file rules bind it (a rule for {@code read} binds every reader). */
public enum FileAccess {
    /** read a file's content */
    READ,
    /** create or replace a file, or create a directory */
    WRITE,
    /** show a name, or enter a directory to list or search it */
    LIST
}
