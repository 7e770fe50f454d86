package dev.carapace.channel;

import dev.carapace.text.AsciiCase;

import java.util.List;
import java.util.Objects;

/**
 * One configured channel: what every kind shares, and its kind's own settings.
 *
 * @param id                 its name in {@code channels:}
 * @param kind               {@code email}, {@code webhook}, {@code slack} or {@code telegram}
 * @param routes             which agent answers which address, first match wins; a message no route matches is
 *                           refused
 * @param unknownSenders     what a sender with no identity binding gets
 * @param maxAttachmentBytes the largest file taken; a bigger one is dropped from the message, which says so
 * @param attachmentTypes    media types taken ({@code image/*} style); a file of another type is dropped likewise
 * @param settings           the kind's own
 */
public record ChannelSpec(String id, String kind, List<AgentRoute> routes, UnknownSenders unknownSenders,
                          long maxAttachmentBytes, List<String> attachmentTypes, KindSettings settings) {

    public static final long DEFAULT_MAX_ATTACHMENT_BYTES = 10L << 20;
    public static final List<String> DEFAULT_ATTACHMENT_TYPES =
            List.of("text/*", "image/*", "audio/*", "application/pdf", "application/json");

    public ChannelSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        routes = List.copyOf(routes);
        Objects.requireNonNull(unknownSenders, "unknownSenders");
        attachmentTypes = List.copyOf(attachmentTypes);
    }

    /** The route for a message sent to {@code address}, or null when none matches. */
    public AgentRoute route(String address) {
        for (AgentRoute r : routes) if (r.matches(address)) return r;
        return null;
    }

    /** Whether a file of {@code mediaType} may be taken. */
    public boolean takes(String mediaType) {
        String type = AsciiCase.lower(mediaType);   // only A-Z fold: no look-alike type passes for a taken one
        for (String t : attachmentTypes) {
            if (t.equals("*/*") || t.equals(type) || t.endsWith("/*") && type.startsWith(t.substring(0, t.length() - 1))) {
                return true;
            }
        }
        return false;
    }
}
