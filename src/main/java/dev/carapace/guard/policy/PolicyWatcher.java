package dev.carapace.guard.policy;

import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.NetworkRules;
import dev.carapace.fs.RealPaths;
import dev.carapace.guard.policy.PolicyEngine.Attachment;
import dev.carapace.guard.policy.PolicyEngine.Subject;
import dev.carapace.yaml.Problem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live policy: loads the configured policy files, compiles them into a {@link PolicyEngine}, and recompiles
 * when a file changes. A valid edit replaces the engine in one volatile write, so a decision sees the old policy or
 * the new one, never a mix. An invalid edit raises an alert (an ERROR log line, {@link #reloadFailures()}, and an
 * {@link AuditEvent} in layer {@code policy}) and then either keeps the last valid policy or, with
 * {@link OnInvalid#FAIL_CLOSED}, denies everything until the file is fixed.
 */
public final class PolicyWatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PolicyWatcher.class);

    /** A policy file and whom it applies to ({@code agents} may hold {@code *}). */
    public record Source(String name, Path file, Set<String> agents, Set<String> teams) {
        public Source {
            file = file.toAbsolutePath().normalize();
            agents = Set.copyOf(agents);
            teams = Set.copyOf(teams);
        }
    }

    /** What an invalid edit does: keep the last valid policy, or deny everything. */
    public enum OnInvalid { KEEP, FAIL_CLOSED }

    private final List<Source> sources;
    private final List<Subject> subjects;
    private final OnInvalid onInvalid;
    private final AuditSink audit;
    private final Clock clock;
    private final List<Path> protectedFiles;
    private final AtomicLong failures = new AtomicLong();
    private volatile PolicyEngine current;
    private volatile List<Policy> policies = List.of();
    private WatchService watcher;
    private Thread thread;

    /**
     * Loads every source now; a file that does not load stops start-up (there is no last valid policy to keep).
     *
     * @param protectedFiles files besides the policies that no agent may be able to write (the config file); a
     *                       policy whose writable roots reach one of them, or a policy file, is invalid
     */
    public PolicyWatcher(List<Source> sources, Collection<Subject> subjects, Collection<Path> protectedFiles,
                         OnInvalid onInvalid, AuditSink audit, Clock clock) throws PolicyException {
        this.sources = List.copyOf(sources);
        List<Path> guarded = new ArrayList<>();
        for (Source s : sources) guarded.add(s.file());
        for (Path p : protectedFiles) guarded.add(p.toAbsolutePath().normalize());
        this.protectedFiles = List.copyOf(guarded);
        this.subjects = List.copyOf(subjects);
        this.onInvalid = onInvalid;
        this.audit = audit;
        this.clock = clock;
        this.current = compile();
    }

    /** The engine for new decisions. */
    public PolicyEngine current() { return current; }

    /** The egress proxy's view: always asks the current engine. */
    public NetworkRules networkRules() { return request -> current.decide(request); }

    /** Invalid edits seen since start. */
    public long reloadFailures() { return failures.get(); }

    public List<Source> sources() { return sources; }

    /** The policies last loaded successfully. */
    public List<Policy> policies() { return policies; }

    /**
     * Reads every file again. Returns true when a valid policy is now in force (the same or a new one), false when
     * an edit was refused (and the alert raised).
     */
    public synchronized boolean reload() {
        try {
            PolicyEngine next = compile();
            log.info("guard policy reloaded ({} files)", sources.size());
            // Recorded before it takes effect: in the audit trail, every decision made under the new policy
            // comes after the record of the change.
            record("allow", null, "policy reloaded");
            current = next;
            return true;
        } catch (PolicyException e) {
            Problem first = e.problems().getFirst();
            String what = e.problems().size() == 1 ? first.toString() : first + " (and " + (e.problems().size() - 1) + " more)";
            if (onInvalid == OnInvalid.FAIL_CLOSED) {
                current = PolicyEngine.failClosed("the guard policy is invalid and the guard fails closed: " + what);
                log.error("guard policy edit refused; failing closed (denying everything) until it is fixed: {}", what);
            } else {
                log.error("guard policy edit refused; the last valid policy stays in force: {}", what);
            }
            record("deny", first.file(), "invalid policy edit refused (" + (onInvalid == OnInvalid.KEEP
                    ? "last valid policy kept" : "failing closed") + "): " + what);
            // Counted once raised: whoever watches the count (an operator's check, a test) finds the alert recorded.
            failures.incrementAndGet();
            return false;
        }
    }

    private PolicyEngine compile() throws PolicyException {
        List<Attachment> attachments = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        for (Source s : sources) {
            try {
                attachments.add(new Attachment(PolicyLoader.load(s.file(), s.name()), s.agents(), s.teams()));
            } catch (PolicyException e) {
                problems.addAll(e.problems());
            }
        }
        if (!problems.isEmpty()) throw new PolicyException(problems);
        refuseWritableProtectedFiles(attachments);
        PolicyEngine engine = PolicyEngine.compile(attachments, subjects);
        policies = attachments.stream().map(Attachment::policy).toList();
        return engine;
    }

    /**
     * An agent must not be able to change its own policy or the config: none of those files may lie inside an agent
     * workspace (file tools and exec write there) or a read_write root of any policy.
     */
    private void refuseWritableProtectedFiles(List<Attachment> attachments) throws PolicyException {
        record Writable(Path root, String what) {}
        List<Writable> writable = new ArrayList<>();
        for (Subject s : subjects) {
            if (s.workspace() != null) {
                writable.add(new Writable(RealPaths.real(s.workspace()), "the workspace of agent '" + s.agent() + "'"));
            }
        }
        for (Attachment a : attachments) {
            if (a.policy().filesystem() == null) continue;
            for (Policy.Root r : a.policy().filesystem().readWrite()) {
                writable.add(new Writable(RealPaths.real(r.path()), "the read_write root " + r.path() + " (" + r.rule() + ")"));
            }
        }
        List<Problem> problems = new ArrayList<>();
        for (Path f : protectedFiles) {
            Path file = RealPaths.real(f);
            for (Writable w : writable) {
                if (file.startsWith(w.root())) {
                    problems.add(new Problem(f.toString(), 0, 0, "", "lies inside " + w.what() + ", so an agent "
                            + "could rewrite it; move policy and config files outside every writable root"));
                    break;
                }
            }
        }
        if (!problems.isEmpty()) throw new PolicyException(problems);
    }


    private void record(String outcome, String file, String reason) {
        try {
            audit.record(new AuditEvent(clock.instant(), "carapace", null, null, "policy", "reload", file, outcome,
                    "policy:reload", reason));
        } catch (RuntimeException e) {
            log.warn("audit sink failed on a policy reload record", e);
        }
    }

    /** Starts watching the files' directories; changes are picked up within about a tenth of a second. */
    public synchronized void start() throws IOException {
        if (thread != null) return;
        watcher = FileSystems.getDefault().newWatchService();
        Set<Path> dirs = new LinkedHashSet<>();
        for (Source s : sources) dirs.add(s.file().getParent());
        for (Path d : dirs) {
            d.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
        }
        Set<Path> files = new LinkedHashSet<>();
        for (Source s : sources) files.add(s.file());
        WatchService w = watcher;
        thread = Thread.ofPlatform().daemon().name("carapace-policy-watch").start(() -> watch(w, files));
    }

    private void watch(WatchService w, Set<Path> files) {
        try {
            while (true) {
                WatchKey key = w.take();
                boolean relevant = false;
                do {
                    Path dir = (Path) key.watchable();
                    for (var event : key.pollEvents()) {
                        if (event.context() instanceof Path p && files.contains(dir.resolve(p))) relevant = true;
                        if (event.kind() == StandardWatchEventKinds.OVERFLOW) relevant = true;
                    }
                    key.reset();
                    // editors write in several steps (truncate, write, rename): settle before reading
                    key = w.poll(100, TimeUnit.MILLISECONDS);
                } while (key != null);
                if (relevant) reload();
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closing
        }
    }

    @Override
    public synchronized void close() {
        if (watcher != null) {
            try {
                watcher.close();
            } catch (IOException ignored) {
                // nothing left to release
            }
        }
        if (thread != null) thread.interrupt();
    }
}
