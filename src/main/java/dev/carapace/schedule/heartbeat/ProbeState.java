package dev.carapace.schedule.heartbeat;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;

import java.io.IOException;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What one agent's heartbeat remembers between beats, so that the next probe can tell what changed. It is JSON with
 * any Jackson {@link ObjectMapper} (the instant is written as ISO-8601 text, so no time module is needed), and
 * {@link #toJson}/{@link #fromJson} do it for a store that keeps a string.
 *
 * <p>It stays small: files and URLs are kept only for what the spec watches now, reported checklist items only for
 * items still open in the checklist.
 *
 * @param lastBeat      the last beat that probed, or null before the first: the first beat takes the baselines
 * @param files         watched path -> its state at the last beat
 * @param urls          watched URL -> what it answered last
 * @param reportedItems keys of checklist items already handed to a turn ({@link Checklist.Item#key}), sorted
 * @param inboxMarker   the inbox's marker after the last inbound message seen, or null
 * @param jobMarker     the job history's marker after the last job event seen, or null
 */
public record ProbeState(
        @JsonSerialize(using = ToStringSerializer.class) @JsonDeserialize(using = ProbeState.InstantText.class)
        Instant lastBeat,
        Map<String, FileState> files,
        Map<String, UrlState> urls,
        List<String> reportedItems,
        String inboxMarker,
        String jobMarker) {

    /** Before the first beat. */
    public static final ProbeState EMPTY = new ProbeState(null, null, null, null, null, null);

    private static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES) // a newer gateway's state still reads
            .build();

    public ProbeState {
        files = files == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(files));
        urls = urls == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(urls));
        reportedItems = reportedItems == null ? List.of() : List.copyOf(new TreeSet<>(reportedItems));
    }

    /** Whether no beat has probed yet. */
    public boolean first() {
        return lastBeat == null;
    }

    static ProbeState of(Instant lastBeat, Map<String, FileState> files, Map<String, UrlState> urls,
                         Collection<String> reportedItems, String inboxMarker, String jobMarker) {
        return new ProbeState(lastBeat, files, urls, List.copyOf(reportedItems), inboxMarker, jobMarker);
    }

    ProbeState withReportedItems(Collection<String> keys) {
        return of(lastBeat, files, urls, keys, inboxMarker, jobMarker);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a probe state is plain data", e);
        }
    }

    /** Reads {@link #toJson}'s output; an {@link IllegalArgumentException} if it is not that. */
    public static ProbeState fromJson(String json) {
        try {
            ProbeState state = JSON.readValue(json, ProbeState.class);
            if (state == null) throw new IllegalArgumentException("heartbeat state: null");
            return state;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("heartbeat state: not a probe state (" + e.getOriginalMessage() + ")");
        }
    }

    /** ISO-8601 text to an instant, for any mapper, without the Java time module. */
    static final class InstantText extends StdDeserializer<Instant> {

        InstantText() {
            super(Instant.class);
        }

        @Override
        public Instant deserialize(JsonParser parser, DeserializationContext context) throws IOException {
            String text = parser.getValueAsString();
            if (text == null) return null;
            try {
                return Instant.parse(text);
            } catch (DateTimeException e) {
                return (Instant) context.handleWeirdStringValue(Instant.class, text, "not an ISO-8601 instant");
            }
        }
    }
}
