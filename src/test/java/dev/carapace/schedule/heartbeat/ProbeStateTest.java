package dev.carapace.schedule.heartbeat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProbeStateTest {

    private static final ProbeState STATE = new ProbeState(Instant.parse("2026-12-05T10:30:00Z"),
            Map.of("notes.md", FileState.of("ab12", 42), "gone.md", FileState.absent()),
            Map.of("https://x.test/s", new UrlState("\"v1\"", "Sat, 05 Dec 2026 10:00:00 GMT", "cd34")),
            List.of("k2", "k1", "k2"), "msg-17", "job-event-9");

    @Test
    void roundTripsThroughAPlainObjectMapper() throws Exception {
        ObjectMapper plain = new ObjectMapper();
        String json = plain.writeValueAsString(STATE);
        assertThat(json).contains("\"lastBeat\":\"2026-12-05T10:30:00Z\"");
        ProbeState back = plain.readValue(json, ProbeState.class);
        assertThat(back).isEqualTo(STATE);
        assertThat(back.reportedItems()).containsExactly("k1", "k2");
    }

    @Test
    void roundTripsThroughItsOwnJsonAndReadsTheEmptyState() {
        assertThat(ProbeState.fromJson(STATE.toJson())).isEqualTo(STATE);
        assertThat(ProbeState.fromJson(ProbeState.EMPTY.toJson())).isEqualTo(ProbeState.EMPTY);
        assertThat(ProbeState.fromJson("{}")).isEqualTo(ProbeState.EMPTY);
        assertThat(ProbeState.EMPTY.first()).isTrue();
    }

    @Test
    void aStateFromANewerGatewayWithMoreFieldsStillReads() {
        String json = STATE.toJson().replaceFirst("\\{", "{\"somethingNew\":[1,2],");
        assertThat(ProbeState.fromJson(json)).isEqualTo(STATE);
    }

    @Test
    void garbageIsAnIllegalArgumentNamingTheHeartbeatState() {
        assertThatThrownBy(() -> ProbeState.fromJson("not json")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("heartbeat state: ");
        assertThatThrownBy(() -> ProbeState.fromJson("{\"lastBeat\":\"yesterday\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ISO-8601");
        assertThatThrownBy(() -> ProbeState.fromJson("null")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theStateCannotBeChangedThroughItsCollections() {
        assertThatThrownBy(() -> STATE.files().put("x", FileState.absent()))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> STATE.reportedItems().add("x")).isInstanceOf(UnsupportedOperationException.class);
    }
}
