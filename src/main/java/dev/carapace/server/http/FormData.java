package dev.carapace.server.http;

import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.http.MultiPartFormData;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.content.InputStreamContentSource;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;

/**
 * A multipart/form-data request body (RFC 7578), read by Jetty's parser ({@link MultiPartFormData}) within limits on
 * the whole body, each file, the number of parts and their headers; every part is held in memory (no temporary files
 * to clean up or to fill a disk). What a route gets is its parts' names, file names, types and bytes.
 */
public final class FormData {

    private FormData() {}

    /** One part: a text field ({@code fileName} null) or a file. */
    public record Part(String name, String fileName, String contentType, byte[] bytes) {}

    /**
     * @param maxBody        the most bytes of the whole body
     * @param maxFile        the most bytes of one file part
     * @param maxParts       the most parts
     * @param maxPartHeaders the most bytes of one part's headers
     */
    public record Limits(long maxBody, long maxFile, int maxParts, int maxPartHeaders) {}

    /** Why a body was refused: past a limit ({@link #tooLarge}: 413), or malformed (400). Says nothing of the body's bytes. */
    public static final class Refused extends RuntimeException {
        public final boolean tooLarge;

        Refused(boolean tooLarge, String message) {
            super(message, null, false, false);
            this.tooLarge = tooLarge;
        }
    }

    /** The boundary a Content-Type names ({@code multipart/form-data; boundary=...}), or null. */
    public static String boundary(String contentType) {
        return contentType == null ? null : MultiPart.extractBoundary(contentType);
    }

    /**
     * Reads the request's body as multipart/form-data parts separated by {@code boundary}. A body whose Content-Length
     * is past {@code limits.maxBody} is refused before a byte is read; one without a length, as soon as it passes it.
     */
    public static List<Part> read(Exchange x, String boundary, Limits limits) {
        if (x.contentLength() > limits.maxBody()) throw new Refused(true, "the body is larger than the limit");
        MultiPartFormData.Parser parser = new MultiPartFormData.Parser(boundary);
        parser.setMaxParts(limits.maxParts());
        parser.setMaxLength(limits.maxBody());
        parser.setMaxFileSize(limits.maxFile());
        parser.setMaxMemoryFileSize(limits.maxBody());
        parser.setPartHeadersMaxLength(limits.maxPartHeaders());
        MultiPartFormData.Parts parts;
        try (InputStream in = x.body()) {
            parts = parser.parse(new InputStreamContentSource(in)).get();
        } catch (ExecutionException e) {
            throw refused(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Refused(false, "the request was interrupted");
        } catch (IOException e) {
            throw refused(e);
        }
        try (parts) {
            List<Part> out = new ArrayList<>(parts.size());
            for (MultiPart.Part p : parts) {
                byte[] bytes;
                try (InputStream in = Content.Source.asInputStream(p.getContentSource())) {
                    bytes = in.readAllBytes();
                } catch (IOException e) {
                    throw refused(e);
                }
                out.add(new Part(p.getName(), p.getFileName(), p.getHeaders().get("content-type"), bytes));
            }
            return out;
        }
    }

    /** What the parser refused, sorted into past a limit or malformed; its words, which never quote the body. */
    private static Refused refused(Throwable cause) {
        String why = cause == null || cause.getMessage() == null ? "it ended early" : cause.getMessage();
        String lower = why.toLowerCase(Locale.ROOT);
        boolean limit = lower.contains("max length") || lower.contains("max file size") || lower.contains("exceeds max")
                || lower.contains("too large") || lower.contains("max size");
        if (lower.contains("parts")) return new Refused(false, "too many parts (" + why + ")");
        return new Refused(limit, why);
    }
}
