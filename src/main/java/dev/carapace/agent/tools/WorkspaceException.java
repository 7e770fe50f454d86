package dev.carapace.agent.tools;

/**
 * A refusal or failure the model may see verbatim: it names the path as the model gave it and says why, and never
 * carries a real path from outside the workspace.
 */
public final class WorkspaceException extends Exception {

    public WorkspaceException(String message) {
        super(message, null, false, false);
    }
}
