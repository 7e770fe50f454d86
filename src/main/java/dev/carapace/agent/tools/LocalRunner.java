package dev.carapace.agent.tools;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Runs commands as plain child processes of the gateway: <b>no isolation at all</b>. The command runs as the
 * gateway's user, sees the whole file system and the network; only its environment, working directory, stdin,
 * time and output are controlled. For development and trusted single-user setups, and only when the config enables
 * it explicitly; the bubblewrap sandbox is the real one.
 *
 * <h2>The process tree</h2>
 * The tree is found with {@link ProcessHandle#descendants()}, which follows parent links, so a process is found only
 * while it is still attached under the command's first process. Descendants are therefore recorded while the
 * command runs (polled, every 10 ms at first, backing off to 200 ms), and on timeout, interruption or exit every
 * recorded or currently attached process is killed with SIGKILL. Background processes do not outlive the call, as
 * they will not in the bubblewrap sandbox, whose pid namespace ends with its first process.
 * <p>What escapes: a process that detaches (its parent exits) between two polls, e.g. a quick {@code
 * setsid daemon &} or a double fork, keeps running. If it still holds the output pipe, the call waits
 * {@link #DRAIN_GRACE} for the end of output, then returns what it has with a note.
 */
public final class LocalRunner implements Sandbox {

    /** How long output may stay open after the command's processes are gone or killed. */
    static final Duration DRAIN_GRACE = Duration.ofMillis(500);

    private static final long FIRST_POLL_MS = 10;
    private static final long MAX_POLL_MS = 200;
    private static final int KILL_ROUNDS = 10;
    /**
     * How long processes of the tree may take to finish exiting once the command has: when a sandbox's pid namespace
     * ends with its first process, the kernel kills the rest, and on a busy machine one may not have finished dying
     * when the command's own process is reaped. It is no background process left running.
     */
    static final Duration EXIT_GRACE = Duration.ofMillis(100);
    private static final File NO_INPUT = new File("/dev/null");

    /**
     * Starts a process. A sandbox supplies its own when where the start happens matters: a process that asks to die
     * with its parent ({@code bwrap --die-with-parent}) dies when the thread that started it ends, so it must be
     * started from a thread that lives as long as the gateway, not from a pooled one.
     */
    @FunctionalInterface
    public interface Launcher {
        Process start(ProcessBuilder builder) throws IOException;
    }

    private final Launcher launcher;

    /** Starts processes from the calling thread. */
    public LocalRunner() {
        this(ProcessBuilder::start);
    }

    public LocalRunner(Launcher launcher) {
        this.launcher = java.util.Objects.requireNonNull(launcher, "launcher");
    }

    @Override
    public Result run(Command command) throws IOException, InterruptedException {
        if (Thread.interrupted()) throw new InterruptedException();
        ProcessBuilder builder = new ProcessBuilder(command.argv())
                .directory(command.workingDirectory().toFile())
                .redirectErrorStream(true) // one pipe: the model sees stderr where it happened, as in a terminal
                .redirectInput(ProcessBuilder.Redirect.from(NO_INPUT));
        builder.environment().clear();
        builder.environment().putAll(command.environment());

        long end = System.nanoTime() + command.timeout().toNanos();
        Process process = launcher.start(builder);
        Tree tree = new Tree(process.toHandle());
        OutputCapture capture = new OutputCapture(command.maxOutputBytes());
        // A platform daemon thread: a read blocked on a pipe that a detached process holds open may never return,
        // and must neither pin a virtual thread's carrier nor keep the JVM alive.
        Thread drain = Thread.ofPlatform().daemon().name("exec-output-" + process.pid())
                .start(() -> drain(process.getInputStream(), capture));

        boolean timedOut = false;
        try {
            long poll = FIRST_POLL_MS;
            while (true) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    timedOut = true;
                    break;
                }
                if (process.waitFor(Math.min(TimeUnit.MILLISECONDS.toNanos(poll), left), TimeUnit.NANOSECONDS)) break;
                tree.record();
                poll = Math.min(MAX_POLL_MS, poll * 2);
            }
            if (!timedOut) tree.awaitExiting(EXIT_GRACE);
        } catch (InterruptedException | RuntimeException e) {
            tree.kill();
            capture.seal();
            closeQuietly(process.getInputStream());
            throw e;
        }

        int leftovers = tree.kill();
        List<String> notes = new ArrayList<>();
        if (!timedOut && leftovers > 0) {
            notes.add(leftovers + (leftovers == 1 ? " background process was" : " background processes were")
                    + " still running and " + (leftovers == 1 ? "was" : "were") + " killed");
        }
        try {
            drain.join(DRAIN_GRACE);
        } catch (InterruptedException e) {
            capture.seal();
            closeQuietly(process.getInputStream());
            throw e;
        }
        if (drain.isAlive()) {
            notes.add("output may be incomplete: a process that left the command's process tree kept it open");
            capture.seal();
            closeQuietly(process.getInputStream());
        }
        int exit = process.waitFor(1, TimeUnit.SECONDS) ? process.exitValue() : -1;
        return new Result(exit, timedOut, capture.text(), capture.total(), notes);
    }

    private static void drain(InputStream in, OutputCapture capture) {
        byte[] buffer = new byte[64 * 1024];
        try (in) {
            int n;
            while ((n = in.read(buffer)) >= 0) capture.write(buffer, 0, n);
        } catch (IOException e) {
            // closed by the caller after the grace period, or the pipe broke: either way the output ends here
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // nothing more to read either way
        }
    }

    /** The processes a command started, as far as they could be seen. */
    private static final class Tree {
        private final ProcessHandle root;
        /** By pid; a ProcessHandle also checks the start time, so a reused pid is never killed. */
        private final Map<Long, ProcessHandle> seen = new LinkedHashMap<>();

        Tree(ProcessHandle root) {
            this.root = root;
        }

        void record() {
            root.descendants().forEach(h -> seen.putIfAbsent(h.pid(), h));
        }

        /** Waits up to {@code grace} in all for the processes seen so far to end by themselves. */
        void awaitExiting(Duration grace) throws InterruptedException {
            long end = System.nanoTime() + grace.toNanos();
            for (ProcessHandle h : seen.values()) {
                while (running(h)) {
                    long left = end - System.nanoTime();
                    if (left <= 0) return;
                    Thread.sleep(Math.min(5, Math.max(1, TimeUnit.NANOSECONDS.toMillis(left))));
                }
            }
        }

        /**
         * Kills the first process, then every descendant seen while the command ran or attached now; then, once
         * more, whatever those started in between. The first process goes first so that a shell loop stops
         * starting new jobs; the tree was recorded just before, so killing it does not lose its children.
         *
         * @return how many descendants were running when killed
         */
        int kill() {
            if (root.isAlive()) record();
            root.destroyForcibly();
            Set<Long> killed = new HashSet<>();
            for (int round = 0; round < KILL_ROUNDS; round++) {
                List<ProcessHandle> now = new ArrayList<>();
                for (ProcessHandle h : seen.values()) {
                    if (!killed.contains(h.pid()) && running(h)) now.add(h);
                }
                if (now.isEmpty()) break;
                // Their children, before they die and the children are re-parented out of reach.
                for (ProcessHandle h : now) h.descendants().forEach(d -> seen.putIfAbsent(d.pid(), d));
                for (ProcessHandle h : seen.values()) {
                    if (!killed.contains(h.pid()) && running(h)) {
                        h.destroyForcibly();
                        killed.add(h.pid());
                    }
                }
            }
            return killed.size();
        }
    }

    /**
     * Whether a process still runs. {@link ProcessHandle#isAlive} is true for a zombie, and an orphan's zombie may
     * never be reaped when pid 1 is not a real init (containers): it is dead for every purpose here.
     */
    static boolean running(ProcessHandle h) {
        if (!h.isAlive()) return false;
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat"));
            int close = stat.lastIndexOf(')'); // the command name may itself contain ') '
            return close < 0 || close + 2 >= stat.length() || stat.charAt(close + 2) != 'Z';
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            return true; // no /proc: trust isAlive
        }
    }
}
