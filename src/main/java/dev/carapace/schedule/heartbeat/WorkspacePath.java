package dev.carapace.schedule.heartbeat;

import dev.carapace.text.Excerpt;

/**
 * What a heartbeat accepts as a path in the agent's workspace ({@code checklist}, {@code watch_files}): relative,
 * without {@code ..} anywhere, without control characters. Checked where the config is read and again where a
 * file is opened, so a path that never passed the config (a hand-written state, a test) is refused the same way.
 * Symlinks are the resolver's business ({@link ConfinedWorkspaceFiles}): this check is lexical only.
 */
final class WorkspacePath {

    static final int MAX_CHARS = 1024;

    private WorkspacePath() {}

    /** {@code raw} unchanged when acceptable, else an {@link IllegalArgumentException} naming {@code field}. */
    static String check(String raw, String field) {
        if (raw == null || raw.isBlank()) {
            throw new IllegalArgumentException(field + ": empty; expected a path inside the agent's workspace, "
                    + "e.g. notes/todo.md");
        }
        String shown = "'" + Excerpt.clip(raw, 80) + "'";
        if (raw.length() > MAX_CHARS) {
            throw new IllegalArgumentException(field + ": " + shown + " is longer than " + MAX_CHARS + " characters");
        }
        for (int i = 0; i < raw.length(); i++) {
            if (Character.isISOControl(raw.charAt(i))) {
                throw new IllegalArgumentException(field + ": " + shown.replaceAll("\\p{Cntrl}", "?")
                        + " contains a control character; expected a plain relative path");
            }
        }
        if (raw.startsWith("/") || raw.startsWith("\\") || raw.matches("^[A-Za-z]:[\\\\/].*")) {
            throw new IllegalArgumentException(field + ": " + shown + " is absolute; expected a path relative to "
                    + "the agent's workspace, e.g. notes/todo.md");
        }
        if (raw.startsWith("~")) {
            throw new IllegalArgumentException(field + ": " + shown + " starts with '~', which is not expanded; "
                    + "expected a path relative to the agent's workspace");
        }
        for (String name : raw.split("[/\\\\]")) {
            if (name.equals("..")) {
                throw new IllegalArgumentException(field + ": " + shown + " contains '..', which could leave the "
                        + "workspace; expected a path inside it");
            }
        }
        if (raw.replace("/", "").replace(".", "").isEmpty()) {
            throw new IllegalArgumentException(field + ": " + shown + " names the workspace itself; expected a file "
                    + "inside it");
        }
        return raw;
    }
}
