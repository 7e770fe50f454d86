package dev.carapace.agent.tools;

import dev.carapace.agent.Following;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where the {@code exec} tool's commands run. The guard issue implements it with bubblewrap (no network but the
 * egress proxy); {@link LocalRunner} is the plain, unisolated one a config must enable explicitly. The guard package
 * may not depend on {@code agent} (ArchitectureTest), so the server adapts the guard's sandbox to this interface;
 * the types here are plain records for that reason.
 *
 * <p>The seam takes an argv, not a shell string: a sandbox wraps it ({@code bwrap ... -- argv}) without parsing
 * anything. {@link ExecTool} is the one that decides a model's command string runs as {@code /bin/sh -c command}.
 *
 * <p>Every implementation must:
 * <ul>
 *   <li>give the command exactly {@link Command#environment()}, nothing inherited: the gateway's own environment
 *       holds provider API keys;</li>
 *   <li>give it an empty stdin;</li>
 *   <li>drain its output while it runs, keeping at most {@link Command#maxOutputBytes()} (so a command that prints
 *       gigabytes neither blocks on a full pipe nor fills the heap), and say in the text how much was cut;</li>
 *   <li>on timeout, and when the calling thread is interrupted, kill the whole process tree, not only the first
 *       process, then return (timeout) or throw {@link InterruptedException} (interrupt) promptly.</li>
 * </ul>
 * An implementation may be used by many calls at once.
 */
public interface Sandbox {

    /**
     * Runs one command to completion, timeout or interruption.
     *
     * @throws IOException          the command could not be started (no such program, no such directory)
     * @throws InterruptedException the calling thread was interrupted; the process tree has been killed
     */
    Result run(Command command) throws IOException, InterruptedException;

    /**
     * @param agentId          the agent that made the call: whom the command runs as (its workspace, its egress
     *                         socket, its policy). Never derived from a path: workspaces may nest, and a command in
     *                         another agent's folder is still its caller's. Null only where no agent is involved
     *                         (the unisolated runner ignores it; the sandbox refuses a command without one)
     * @param argv             program and arguments; the program is looked up on the environment's PATH
     * @param workingDirectory an existing directory inside the agent's workspace
     * @param environment      the complete environment of the command
     * @param timeout          wall-clock limit, after which the process tree is killed
     * @param maxOutputBytes   most bytes of output (UTF-8, marker included) that {@link Result#output()} may hold
     * @param following        the skills the calling run follows (null: none): a sandbox narrows the command's
     *                         network to what they declared (the unisolated runner cannot, and ignores it)
     */
    record Command(String agentId, List<String> argv, Path workingDirectory, Map<String, String> environment,
                   Duration timeout, int maxOutputBytes, Following following) {
        public Command {
            argv = List.copyOf(argv);
            if (argv.isEmpty()) throw new IllegalArgumentException("argv is empty");
            Objects.requireNonNull(workingDirectory, "workingDirectory");
            environment = Map.copyOf(environment);
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive");
            }
            if (maxOutputBytes < 1) throw new IllegalArgumentException("maxOutputBytes must be positive");
        }

        /** A command of a run that follows no skill. */
        public Command(String agentId, List<String> argv, Path workingDirectory, Map<String, String> environment,
                       Duration timeout, int maxOutputBytes) {
            this(agentId, argv, workingDirectory, environment, timeout, maxOutputBytes, null);
        }

        /** A command on no agent's behalf (a sandbox's own processes, tests of the runner). */
        public Command(List<String> argv, Path workingDirectory, Map<String, String> environment, Duration timeout,
                       int maxOutputBytes) {
            this(null, argv, workingDirectory, environment, timeout, maxOutputBytes);
        }
    }

    /**
     * @param exitCode    the first process's exit status (after a kill, whatever the kill produced, e.g. 137)
     * @param timedOut    the timeout passed and the process tree was killed
     * @param output      stdout and stderr interleaved as written, cut to the cap with a marker saying how much
     *                    was cut
     * @param outputBytes how many bytes the command wrote in all
     * @param notes       one-line remarks for the model (leftover background processes killed, output left open)
     */
    record Result(int exitCode, boolean timedOut, String output, long outputBytes, List<String> notes) {
        public Result {
            Objects.requireNonNull(output, "output");
            notes = List.copyOf(notes);
        }
    }
}
