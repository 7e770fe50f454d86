package dev.carapace.guard.egress;

import dev.carapace.guard.egress.HttpMessages.Header;
import dev.carapace.guard.egress.Planner.Plan;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.UnaryOperator;

import static dev.carapace.guard.egress.EgressProxy.BUFFER;

/**
 * What a message keeps when the proxy passes it on, one hop: which headers go through, which the proxy adds or
 * drops (with credentials in play, whatever would let one come back unseen), and which responses it refuses.
 */
final class Hop {

    private Hop() {}

    /**
     * A request target as text: the head is read byte for byte as ISO-8859-1, but a client that sends raw non-ASCII
     * in a path (an IRI) means UTF-8, and the canonical path encodes characters as UTF-8.
     */
    static String utf8(String latin1) {
        byte[] bytes = latin1.getBytes(StandardCharsets.ISO_8859_1);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the request target has bytes that are not UTF-8; percent-encode them");
        }
    }

    /** The first non-1xx response (the proxy answered the client's Expect itself). */
    static HttpMessages.Response readFinalResponse(InputStream in) throws IOException {
        while (true) {
            HttpMessages.Response r = HttpMessages.readResponse(in);
            if (r.status() == 101) throw new BadMessageException("the server switched protocols, which was not asked");
            if (r.status() >= 200) return r;
        }
    }

    /**
     * Headers that pass a hop: not hop-by-hop, not named in Connection, not in {@code dropped} (lower-case names),
     * each name and value through {@code scrub}.
     */
    static void appendPassed(StringBuilder head, List<Header> headers, Set<String> dropped,
                             UnaryOperator<String> scrub) {
        Set<String> connection = HttpMessages.connectionTokens(headers);
        for (Header h : headers) {
            String lower = h.name().toLowerCase(Locale.ROOT);
            if (HttpMessages.HOP_BY_HOP.contains(lower) || connection.contains(lower) || dropped.contains(lower)) continue;
            head.append(scrub.apply(h.name())).append(": ").append(scrub.apply(h.value())).append("\r\n");
        }
    }

    /**
     * The client's headers that are not sent on: those the decision injects, and with credentials injected, the
     * ones that would let the response carry a credential back in a form the scrubber cannot see: Accept-Encoding
     * (a compressed echo hides the value; {@code identity} is asked instead) and Range / If-Range (an echo cut into
     * slices smaller than the value passes piece by piece).
     */
    static Set<String> dropped(Plan plan, CredentialScrubber scrubber) {
        Set<String> names = new HashSet<>();
        for (Header h : plan.inject()) names.add(h.name().toLowerCase(Locale.ROOT));
        if (scrubber.active()) names.addAll(Set.of("accept-encoding", "range", "if-range"));
        return names;
    }

    static void appendInjected(StringBuilder head, Plan plan, CredentialScrubber scrubber) {
        for (Header h : plan.inject()) head.append(h.name()).append(": ").append(h.value()).append("\r\n");
        if (scrubber.active()) head.append("Accept-Encoding: identity\r\n");
    }

    /** A body in a content coding other than identity: the scrubber could not read it. */
    static boolean compressed(HttpMessages.Response response) {
        for (Header h : response.headers()) {
            if (h.is("content-encoding") && !h.value().isBlank() && !h.value().strip().equalsIgnoreCase("identity")) {
                return true;
            }
        }
        return false;
    }

    /** A malformed response to a request with credentials: its details could quote them, so none are given. */
    static BadMessageException withheld() {
        return new BadMessageException("the server's response was malformed (details withheld: the request carried "
                + "credentials the server may have quoted)");
    }

    /** Copies and flushes as bytes arrive (transferTo would hold them in a buffered stream). */
    static void pump(InputStream in, OutputStream out) throws IOException {
        byte[] buffer = new byte[BUFFER];
        int n;
        while ((n = in.read(buffer)) > 0) {
            out.write(buffer, 0, n);
            out.flush();
        }
    }
}
