package dev.carapace.model;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SseFramesTest {

    private static String write(String event, String data, String model, String... path) {
        JsonBytes out = new JsonBytes(16);
        SseFrames.write(out, event, data.getBytes(StandardCharsets.UTF_8), model, path.length == 0 ? null : JsonSplice.path(path));
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    @Test
    void aFrameIsWrittenAsItCameWithTheModelRenamed() {
        assertThat(write(null, "{\"id\":\"x\",\"model\":\"up\",\"n\":1}", "m-mid", "model"))
                .isEqualTo("data: {\"id\":\"x\",\"model\":\"m-mid\",\"n\":1}\n\n");
        assertThat(write("message_start", "{\"message\":{\"model\":\"up\"}}", "m\"q", "message", "model"))
                .isEqualTo("event: message_start\ndata: {\"message\":{\"model\":\"m\\\"q\"}}\n\n");
        assertThat(write("ping", "{\"type\":\"ping\"}", "m")).isEqualTo("event: ping\ndata: {\"type\":\"ping\"}\n\n");
    }

    @Test
    void dataOfSeveralLinesReadsBackAsItWasJoined() throws Exception {
        String data = "{\n\"model\":\n\"up\",\n\"text\":\"a\"\n}";
        String frame = write("e", data, "m-mid", "model");
        assertThat(frame).isEqualTo("event: e\ndata: {\ndata: \"model\":\ndata: \"m-mid\",\ndata: \"text\":\"a\"\ndata: }\n\n");
        List<String> read = new ArrayList<>();
        new SseReader(new ByteArrayInputStream(frame.getBytes(StandardCharsets.UTF_8))).read((ev, d) -> read.add(ev + "|" + new String(d, StandardCharsets.UTF_8)), () -> false);
        assertThat(read).containsExactly("e|" + data.replace("\"up\"", "\"m-mid\""));
    }
}
