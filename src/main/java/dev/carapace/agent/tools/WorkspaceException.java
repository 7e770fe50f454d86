package dev.carapace.agent.tools;

/**
 * A refusal or failure the model may see verbatim: it names the path as the model gave it and says why, and never
 * carries a real path from outside the workspace.
 */
public final class WorkspaceException extends Exception {

    private final boolean byPolicy;

    public WorkspaceException(String message) {
        this(message, false);
    }

    private WorkspaceException(String message, boolean byPolicy) {
        super(message, null, false, false);
        this.byPolicy = byPolicy;
    }

    /** A refusal of the file gate (a policy rule), not of the workspace's own confinement. */
    static WorkspaceException byPolicy(String message) {
        return new WorkspaceException(message, true);
    }

    /** Whether the file gate refused, so walks can count such files apart. */
    public boolean byPolicy() {
        return byPolicy;
    }
}
