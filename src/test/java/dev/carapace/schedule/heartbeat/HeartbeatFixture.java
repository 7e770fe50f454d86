package dev.carapace.schedule.heartbeat;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** Sources a test controls, each counting how often the probe asked it, and a state store over a map. */
final class HeartbeatFixture {

    static final Encoding CL100K = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);

    final FakeInbox inbox = new FakeInbox();
    final FakeJobs jobs = new FakeJobs();
    final CountingFiles files;
    final FakeUrls urls = new FakeUrls();
    final MemoryStates states = new MemoryStates();
    final Heartbeat heartbeat;

    HeartbeatFixture(Path workspace) {
        files = new CountingFiles(new ConfinedWorkspaceFiles(agent -> workspace));
        heartbeat = new Heartbeat(new Probe(inbox, jobs, files, urls), states);
    }

    static int tokens(String text) {
        return CL100K.countTokens(text);
    }

    /** Messages numbered from 1; the marker is the number of the last one seen. */
    static final class FakeInbox implements Inbox {
        final List<Message> messages = new ArrayList<>();
        final AtomicInteger calls = new AtomicInteger();
        IOException failure;

        @Override
        public Batch since(String agentId, String marker, int maxSummaries) throws IOException {
            calls.incrementAndGet();
            if (failure != null) throw failure;
            int seen = marker == null ? 0 : Integer.parseInt(marker);
            List<Message> fresh = messages.subList(seen, messages.size());
            return new Batch(fresh.size(), fresh.subList(0, Math.min(maxSummaries, fresh.size())),
                    fresh.isEmpty() ? marker : String.valueOf(messages.size()));
        }
    }

    static final class FakeJobs implements JobActivity {
        final List<Event> events = new ArrayList<>();
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public Batch since(String agentId, String marker, int max) {
            calls.incrementAndGet();
            int seen = marker == null ? 0 : Integer.parseInt(marker);
            List<Event> fresh = events.subList(seen, events.size());
            return new Batch(fresh.size(), fresh.subList(0, Math.min(max, fresh.size())),
                    fresh.isEmpty() ? marker : String.valueOf(events.size()));
        }
    }

    static final class CountingFiles implements WorkspaceFiles {
        final WorkspaceFiles real;
        final AtomicInteger fingerprints = new AtomicInteger();
        final AtomicInteger heads = new AtomicInteger();

        CountingFiles(WorkspaceFiles real) {
            this.real = real;
        }

        @Override
        public FileState fingerprint(String agentId, String path) throws IOException {
            fingerprints.incrementAndGet();
            return real.fingerprint(agentId, path);
        }

        @Override
        public byte[] head(String agentId, String path, int maxBytes) throws IOException {
            heads.incrementAndGet();
            return real.head(agentId, path, maxBytes);
        }
    }

    /**
     * Pages by URL, answered like an HTTP server with ETags: a matching If-None-Match is a 304. {@code noValidators}
     * pages answer 200 with the body every time, like a server that ignores conditional requests.
     */
    static final class FakeUrls implements UrlCheck {
        final Map<String, String> bodies = new HashMap<>();
        final Map<String, Boolean> noValidators = new HashMap<>();
        final Map<String, IOException> failures = new HashMap<>();
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger bodiesSent = new AtomicInteger();

        @Override
        public Result check(String url, UrlState previous) throws IOException {
            calls.incrementAndGet();
            if (failures.containsKey(url)) throw failures.get(url);
            String body = bodies.get(url);
            if (body == null) throw new IOException("404 Not Found");
            String hash = sha256(body);
            boolean validators = !noValidators.getOrDefault(url, false);
            String etag = validators ? "\"" + hash.substring(0, 12) + "\"" : null;
            if (validators && previous != null && etag.equals(previous.etag())) return Result.notModified();
            bodiesSent.incrementAndGet();
            return Result.fetched(etag, null, hash);
        }
    }

    static final class MemoryStates implements HeartbeatStateStore {
        final Map<String, String> json = new HashMap<>();

        @Override
        public ProbeState load(String agentId) {
            String stored = json.get(agentId);
            return stored == null ? ProbeState.EMPTY : ProbeState.fromJson(stored);
        }

        @Override
        public void save(String agentId, ProbeState state) {
            json.put(agentId, state.toJson()); // through JSON, as a real store would
        }
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
