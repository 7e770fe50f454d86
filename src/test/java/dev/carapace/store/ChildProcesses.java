package dev.carapace.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Child JVMs for crash tests: a class's {@code main} run in a process of its own on this test's class path, made to
 * say when it has got where it should be killed, and then killed for real ({@code SIGKILL}).
 */
public final class ChildProcesses {

    private ChildProcesses() {}

    /** Starts {@code main}'s class with {@code args}; its stderr goes to its stdout. */
    public static Process start(Class<?> main, String... args) throws IOException {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(javaBin,
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** Reads the child's output up to the first line starting with {@code prefix}, and returns that line. */
    public static String awaitLine(Process child, String prefix) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null && !line.startsWith(prefix)) seen.append(line).append('\n');
        assertThat(line).as("the child's output:\n" + seen).isNotNull();
        return line;
    }

    /** Kills the child with SIGKILL and waits until it is gone. */
    public static void kill(Process child) throws InterruptedException {
        child.destroyForcibly();
        assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
    }

    /** Prints {@code line} for the parent, then blocks until the process is killed. */
    public static void sayAndBlock(String line) {
        System.out.println(line);
        System.out.flush();
        try {
            Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Runs a scheduler on {@code store} whose handler prints {@code RUNNING <job> <scheduled ms>} when a job is due
     * and blocks in the run; then blocks the calling thread too.
     */
    static void runAJobAndBlock(Store store, String gateway, DueRuns.Settings settings) {
        new DueRuns(store, gateway, settings).start(new DueRuns.Handler() {
            @Override
            public Instant onDue(String jobId, Instant scheduledFor) {
                sayAndBlock("RUNNING " + jobId + " " + scheduledFor.toEpochMilli());
                return null;
            }

            @Override
            public Instant onDead(String jobId, Instant scheduledFor) {
                sayAndBlock("DEAD " + jobId);
                return null;
            }
        });
        sayAndBlock("STARTED " + gateway);
    }
}
