package dev.carapace.model;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * JSON bodies and SSE frames written by a Jackson generator into memory, as the wire formats render their answers,
 * upstream requests and stream events. Each format passes its own mapper, which carries its limits.
 */
public final class JsonOutput {

    /** Writes one JSON value with {@code g}. */
    @FunctionalInterface
    public interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private static final byte[] DATA = JsonBytes.ascii("data: ");
    private static final byte[] FRAME_END = JsonBytes.ascii("\n\n");

    private JsonOutput() {}

    /** {@code sizeHint}: the expected output size, so that large bodies are not copied over and over as they grow. */
    public static byte[] json(ObjectMapper mapper, int sizeHint, Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(sizeHint);
        write(mapper, out, body);
        return out.toByteArray();
    }

    /** One SSE frame: {@code event: NAME} when {@code event} is not null, then the JSON data {@code body} writes. */
    public static byte[] frame(ObjectMapper mapper, String event, Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        frame(mapper, out, event, body);
        return out.toByteArray();
    }

    /** Appends one SSE frame, as {@link #frame(ObjectMapper, String, Body)} makes it, to {@code out}. */
    public static void frame(ObjectMapper mapper, ByteArrayOutputStream out, String event, Body body) {
        if (event != null) out.writeBytes(("event: " + event + "\n").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(DATA);
        write(mapper, out, body);
        out.writeBytes(FRAME_END);
    }

    private static void write(ObjectMapper mapper, ByteArrayOutputStream out, Body body) {
        try (JsonGenerator g = mapper.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);   // in-memory output: only a bug gets here
        }
    }
}
