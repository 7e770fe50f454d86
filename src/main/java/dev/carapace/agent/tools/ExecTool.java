package dev.carapace.agent.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@code exec {command, timeout_seconds?, cwd?}}: runs {@code /bin/sh -c command} through a {@link Sandbox}, in the
 * workspace (or a directory inside it), and returns the exit code and the output (stdout and stderr interleaved,
 * the middle cut when long). A shell string because that is what models write ({@code cd x && make | tail}); the
 * sandbox below sees a plain argv.
 *
 * <p>The command gets a minimal environment ({@link #environment}), never the gateway's: that holds provider API
 * keys. A non-zero exit is a result like any other, marked as an error and saying so. The call's timeout bounds
 * {@code timeout_seconds}; on timeout or when the run is cancelled (the thread interrupted) the sandbox kills the
 * whole process tree.
 */
public final class ExecTool implements AgentTool {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ExecTool.class);

    /** Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN); stay clearly below. */
    static final int MAX_COMMAND_BYTES = 100_000;
    static final String PATH = "/usr/local/bin:/usr/bin:/bin";
    /** Bytes of the output cap kept for the exit code line and notes. */
    private static final int HEADER_ROOM = 400;

    private static final String SCHEMA = """
            {"type":"object","properties":{"command":{"type":"string"},"timeout_seconds":{"type":"integer"},\
            "cwd":{"type":"string","description":"workspace subdirectory"}},"required":["command"]}""";
    private static final ObjectNode PARAMETERS = parse(SCHEMA);

    private final Sandbox sandbox;

    /** @param sandbox where commands run; the tool exists only if the config chose one */
    public ExecTool(Sandbox sandbox) {
        this.sandbox = Objects.requireNonNull(sandbox, "sandbox");
    }

    @Override
    public String name() {
        return "exec";
    }

    @Override
    public String description() {
        return "Run a shell command (sh -c) in the workspace; returns the exit code and stdout+stderr, cut if long.";
    }

    @Override
    public ObjectNode parameters() {
        return PARAMETERS.deepCopy();
    }

    /** All the command's environment: a search path, a home inside the workspace, a UTF-8 locale. */
    static Map<String, String> environment(Path workspace) {
        return Map.of("PATH", PATH, "HOME", workspace.toString(), "LANG", "C.UTF-8");
    }

    @Override
    public ToolResult run(JsonNode arguments, ToolContext context) throws InterruptedException {
        if (context == null || context.workspace() == null) return ToolResult.error("no workspace for this agent");
        String command;
        Integer timeoutSeconds;
        String cwd;
        try {
            Args args = Args.of(arguments, "command", "timeout_seconds", "cwd");
            command = args.string("command");
            timeoutSeconds = args.positiveInt("timeout_seconds", "seconds before the command is killed");
            cwd = args.string("cwd", null);
        } catch (ArgumentException e) {
            return ToolResult.error(e.getMessage());
        }
        if (command.isBlank()) return ToolResult.error("argument 'command' must not be empty");
        if (command.indexOf('\0') >= 0) return ToolResult.error("argument 'command' contains a NUL byte");
        if (Output.utf8Length(command) > MAX_COMMAND_BYTES) {
            return ToolResult.error("argument 'command' is longer than " + MAX_COMMAND_BYTES
                    + " bytes; write a script file and run that");
        }

        Workspace workspace;
        try {
            workspace = new Workspace(context.workspace());
        } catch (IOException e) {
            return ToolResult.error("the workspace is not available");
        }
        Path directory = workspace.root();
        if (cwd != null) {
            try {
                Workspace.Target target = workspace.resolveForRead(cwd);
                if (!Files.isDirectory(target.real(), LinkOption.NOFOLLOW_LINKS)) {
                    return ToolResult.error("cwd " + Workspace.quote(target.shown()) + " is not a directory");
                }
                directory = target.real();
            } catch (WorkspaceException e) {
                return ToolResult.error("cwd: " + e.getMessage());
            }
        }

        Duration limit = context.timeout() == null || context.timeout().isZero() || context.timeout().isNegative()
                ? Deadline.DEFAULT : context.timeout();
        if (timeoutSeconds != null && Duration.ofSeconds(timeoutSeconds).compareTo(limit) < 0) {
            limit = Duration.ofSeconds(timeoutSeconds);
        }
        int max = context.maxOutputBytes() > 0 ? context.maxOutputBytes() : Output.DEFAULT_MAX_BYTES;
        int outputCap = Math.max(1, max - Math.min(HEADER_ROOM, max / 4));

        Sandbox.Result result;
        try {
            result = sandbox.run(new Sandbox.Command(context.agentId(), List.of("/bin/sh", "-c", command), directory,
                    environment(workspace.root()), limit, outputCap, context.following()));
        } catch (IOException e) {
            // The message would name host paths: the operator reads it in the log, the model only that it did not start.
            log.warn("agent {}: a command could not be started in the sandbox: {}", context.agentId(), e.toString());
            return ToolResult.error("exec failed: the command could not be started (" + e.getClass().getSimpleName()
                    + "; the gateway's log says why)");
        }
        return format(result, limit);
    }

    private static ToolResult format(Sandbox.Result r, Duration limit) {
        StringBuilder text = new StringBuilder();
        boolean error;
        if (r.timedOut()) {
            text.append("timed out after ").append(seconds(limit))
                    .append(": the command and its child processes were killed");
            error = true;
        } else {
            text.append("exit code ").append(r.exitCode());
            error = r.exitCode() != 0;
            if (error) text.append(" (the command failed)");
        }
        text.append('\n');
        for (String note : r.notes()) text.append("note: ").append(note).append('\n');
        text.append(r.output().isEmpty() ? "(no output)" : r.output());
        String content = text.toString();
        if (content.endsWith("\n")) content = content.substring(0, content.length() - 1);
        return new ToolResult(content, error);
    }

    private static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }

    private static ObjectNode parse(String schema) {
        try {
            return (ObjectNode) new ObjectMapper().readTree(schema);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("bad schema", e);
        }
    }
}
