package dev.carapace.schedule.heartbeat;

import dev.carapace.text.Excerpt;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * The cheap, deterministic half of a heartbeat: looks at everything an agent watches, without a model, and says
 * what changed since the previous state.
 *
 * <ul>
 *   <li>Outside the active hours nothing is probed at all (the result is {@linkplain ProbeResult#skipped skipped}
 *       and the state is kept as it was).</li>
 *   <li>Baselines are silent: the first beat (the state has never probed) takes the inbox's and the jobs' markers
 *       without reporting what is already there, and a file or URL newly watched is recorded, not reported. A file
 *       absent at its baseline and created later is reported as created.</li>
 *   <li>The checklist has no baseline: an open dated item already due at the first beat is reported, since
 *       nobody has been told about it yet.</li>
 *   <li>A checklist item is reported once: its key is kept while the item stays open in the checklist, and
 *       forgotten when it is checked off or removed. When the checklist is missing or unreadable, the keys are
 *       kept, so it coming back does not report everything again.</li>
 *   <li>A source that fails (an I/O error, a refused path, a broken implementation) is a {@linkplain
 *       ProbeResult#problems problem}, never a change, and its part of the state is kept, so nothing is lost or
 *       reported twice because of it. Which is why a URL that is down is not reported: a flaky site would start a
 *       model turn at every blip.</li>
 * </ul>
 */
public final class Probe {

    /** Summaries asked of the inbox and events of the job history per beat (the counts count them all). */
    public static final int MAX_PER_SOURCE = 10;

    private static final DateTimeFormatter WALL = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm");

    private final Inbox inbox;
    private final JobActivity jobs;
    private final WorkspaceFiles files;
    private final UrlCheck urls;

    public Probe(Inbox inbox, JobActivity jobs, WorkspaceFiles files, UrlCheck urls) {
        this.inbox = Objects.requireNonNull(inbox, "inbox");
        this.jobs = Objects.requireNonNull(jobs, "jobs");
        this.files = Objects.requireNonNull(files, "files");
        this.urls = Objects.requireNonNull(urls, "urls");
    }

    /**
     * @param previous the state after the last beat ({@link ProbeState#EMPTY} before the first; null is taken as it)
     */
    public ProbeResult probe(String agentId, HeartbeatSpec spec, ProbeState previous, Instant now) {
        ProbeState prev = previous == null ? ProbeState.EMPTY : previous;
        if (spec.activeHours() != null && !spec.activeHours().contains(now)) {
            return ProbeResult.skipped(prev, spec.activeHours().nextStart(now));
        }
        List<Change> changes = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        String inboxMarker = probeInbox(agentId, prev, changes, problems);
        Set<String> reported = new TreeSet<>(prev.reportedItems());
        int standing = probeChecklist(agentId, spec, now, reported, changes, problems);
        String jobMarker = probeJobs(agentId, prev, changes, problems);
        Map<String, FileState> fileStates = probeFiles(agentId, spec, prev, changes, problems);
        Map<String, UrlState> urlStates = probeUrls(spec, prev, changes, problems);
        ProbeState next = ProbeState.of(now, fileStates, urlStates, reported, inboxMarker, jobMarker);
        return new ProbeResult(changes, next, false, null, problems, standing);
    }

    private String probeInbox(String agentId, ProbeState prev, List<Change> changes, List<String> problems) {
        Inbox.Batch batch;
        try {
            batch = inbox.since(agentId, prev.inboxMarker(), MAX_PER_SOURCE);
        } catch (IOException | RuntimeException e) {
            problems.add("inbox: " + describe(e));
            return prev.inboxMarker();
        }
        if (batch == null) return prev.inboxMarker();
        if (prev.first()) return batch.marker();
        for (Inbox.Message m : batch.messages()) {
            changes.add(new Change(Change.Kind.INBOX, "message from " + Excerpt.clip(m.from(), 80), m.summary()));
        }
        int more = batch.count() - batch.messages().size();
        if (more > 0) changes.add(new Change(Change.Kind.INBOX, "more messages", more + " more new messages"));
        return batch.marker();
    }

    private int probeChecklist(String agentId, HeartbeatSpec spec, Instant now, Set<String> reported,
                               List<Change> changes, List<String> problems) {
        byte[] bytes;
        try {
            bytes = files.head(agentId, spec.checklist(), Checklist.MAX_BYTES);
        } catch (IOException | RuntimeException e) {
            problems.add("checklist " + Excerpt.clip(spec.checklist(), 80) + ": " + describe(e));
            return 0;
        }
        if (bytes == null) return 0;
        Checklist checklist = Checklist.parse(bytes);
        ZoneId zone = spec.zone();
        Set<String> open = new TreeSet<>();
        for (Checklist.Item item : checklist.items()) open.add(item.key());
        reported.retainAll(open);
        String name = Excerpt.clip(spec.checklist(), 80);
        for (Checklist.Item item : checklist.unreadable()) {
            if (!reported.add(item.key())) continue;
            changes.add(new Change(Change.Kind.CHECKLIST, name + " line " + item.line(),
                    "cannot read the date of '" + item.text() + "'; expected YYYY-MM-DD or YYYY-MM-DD HH:MM",
                    item.key()));
        }
        for (Checklist.Item item : checklist.dueItems(now, zone)) {
            if (!reported.add(item.key())) continue;
            changes.add(new Change(Change.Kind.CHECKLIST, name + " line " + item.line(),
                    "due " + WALL.format(item.due()) + ": " + item.text(), item.key()));
        }
        if (checklist.truncated()) {
            problems.add("checklist " + name + ": over " + Checklist.MAX_BYTES + " bytes or "
                    + Checklist.MAX_ITEMS + " items; the rest is ignored");
        }
        return checklist.standingCount();
    }

    private String probeJobs(String agentId, ProbeState prev, List<Change> changes, List<String> problems) {
        JobActivity.Batch batch;
        try {
            batch = jobs.since(agentId, prev.jobMarker(), MAX_PER_SOURCE);
        } catch (IOException | RuntimeException e) {
            problems.add("jobs: " + describe(e));
            return prev.jobMarker();
        }
        if (batch == null) return prev.jobMarker();
        if (prev.first()) return batch.marker();
        for (JobActivity.Event e : batch.events()) {
            String what = "job " + Excerpt.clip(e.jobId(), 80)
                    + (e.outcome() == JobActivity.Outcome.MISSED ? " missed a run" : " failed");
            changes.add(new Change(Change.Kind.JOB, what, e.detail()));
        }
        int more = batch.count() - batch.events().size();
        if (more > 0) changes.add(new Change(Change.Kind.JOB, "more job events", more + " more failed or missed runs"));
        return batch.marker();
    }

    private Map<String, FileState> probeFiles(String agentId, HeartbeatSpec spec, ProbeState prev,
                                              List<Change> changes, List<String> problems) {
        Map<String, FileState> states = new LinkedHashMap<>();
        for (String path : spec.watchFiles()) {
            FileState before = prev.files().get(path);
            FileState now;
            try {
                now = files.fingerprint(agentId, path);
            } catch (IOException | RuntimeException e) {
                problems.add("file " + Excerpt.clip(path, 80) + ": " + describe(e));
                if (before != null) states.put(path, before);
                continue;
            }
            if (now == null) now = FileState.absent();
            states.put(path, now);
            if (before == null || before.equals(now)) continue;
            String detail;
            if (!now.exists()) detail = "deleted";
            else if (!before.exists()) detail = "created (" + now.size() + " bytes)";
            else detail = "changed: " + now.size() + " bytes (was " + before.size() + ")";
            changes.add(new Change(Change.Kind.FILE, path, detail));
        }
        return states;
    }

    private Map<String, UrlState> probeUrls(HeartbeatSpec spec, ProbeState prev, List<Change> changes,
                                            List<String> problems) {
        Map<String, UrlState> states = new LinkedHashMap<>();
        for (String url : spec.watchUrls()) {
            UrlState before = prev.urls().get(url);
            UrlCheck.Result result;
            try {
                result = urls.check(url, before);
            } catch (IOException | RuntimeException e) {
                problems.add("url " + WatchedUrl.label(url) + ": " + describe(e));
                if (before != null) states.put(url, before);
                continue;
            }
            if (result == null || result.status() == UrlCheck.Status.NOT_MODIFIED) {
                if (before != null) states.put(url, before);
                continue;
            }
            UrlState now = result.fetched();
            states.put(url, now);
            if (before != null && !before.sha256().equals(now.sha256())) {
                changes.add(new Change(Change.Kind.URL, WatchedUrl.label(url), "content changed"));
            }
        }
        return states;
    }

    /** An exception as a log line: its type and clipped message (sources promise their messages hold no secret). */
    private static String describe(Exception e) {
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + Excerpt.clip(message, 200));
    }
}
