package dev.carapace.agent;

import dev.carapace.identity.Principal;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What a tool call may use: the agent's workspace (the only directory file tools reach), who is calling, the limits
 * of this call, and the gates tools ask at every file and URL they reach on their own.
 *
 * @param workspace      absolute, real path of the agent's workspace
 * @param maxOutputBytes results longer than this are cut (and say so)
 * @param files          asked on every real path a file tool opens, lists or creates
 * @param urls           asked on every URL a tool fetches that the model did not name (a redirect's)
 * @param following      the skills the calling run follows (null: none), for tools whose enforcement is below the
 *                       guard's decision (the sandbox narrows a command's network by it)
 * @param caller         whom the run calls models as (its agent's owner's team, and the user who started it or the
 *                       owner); null when not known. A tool that leaves work behind (a scheduled job) leaves it theirs.
 */
public record ToolContext(String agentId, String sessionKey, Path workspace, Duration timeout, int maxOutputBytes,
                          FileGate files, UrlGate urls, Following following, Principal caller) {

    public ToolContext {
        if (files == null) files = FileGate.WORKSPACE;
        if (urls == null) urls = UrlGate.ANY;
    }

    /** A context for a run that follows no skill. */
    public ToolContext(String agentId, String sessionKey, Path workspace, Duration timeout, int maxOutputBytes,
                       FileGate files, UrlGate urls) {
        this(agentId, sessionKey, workspace, timeout, maxOutputBytes, files, urls, null, null);
    }

    /** A context with the file gate given and no URL gate but the tools' own fence. */
    public ToolContext(String agentId, String sessionKey, Path workspace, Duration timeout, int maxOutputBytes,
                       FileGate files) {
        this(agentId, sessionKey, workspace, timeout, maxOutputBytes, files, UrlGate.ANY);
    }

    /** This context for one call whose guard decision named {@code target} (see {@link FileGate#forCall}). */
    public ToolContext forCall(String target) {
        return target == null ? this : new ToolContext(agentId, sessionKey, workspace, timeout, maxOutputBytes,
                files.forCall(target), urls, following, caller);
    }

    /** A context whose file tools are confined to the workspace only (no policy). */
    public ToolContext(String agentId, String sessionKey, Path workspace, Duration timeout, int maxOutputBytes) {
        this(agentId, sessionKey, workspace, timeout, maxOutputBytes, FileGate.WORKSPACE, UrlGate.ANY);
    }
}
