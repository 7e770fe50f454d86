package dev.carapace.channel.email;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a mail sits in its thread, from {@code Message-ID}, {@code In-Reply-To} and {@code References} (RFC 5322
 * 3.6.4), and the same headers for a reply. Every id is the sender's and hostile: only well-formed {@code <...>} ids
 * of printable characters are kept, each at most {@value #MAX_ID} characters, so nothing a sender wrote can break a
 * header of the reply.
 */
final class MailThread {

    static final int MAX_ID = 250;
    /** A reply's References keeps the root and the newest ids, as RFC 5322 suggests trimming long ones. */
    static final int MAX_REFERENCES = 20;
    private static final Pattern ID = Pattern.compile("<([!-;=?-~]{1," + (MAX_ID - 2) + "})>");
    private static final Pattern RE = Pattern.compile("^\\s*((re|aw|sv|antw|fwd?)\\s*(\\[\\d+])?\\s*:\\s*)+",
            Pattern.CASE_INSENSITIVE);

    private MailThread() {}

    /** The well-formed ids in a header's value, in order, without repeats; empty for null. */
    static List<String> ids(String header) {
        if (header == null) return List.of();
        Set<String> out = new LinkedHashSet<>();
        Matcher m = ID.matcher(header);
        while (m.find() && out.size() < 200) out.add(m.group());
        return List.copyOf(out);
    }

    /** The first well-formed id of a header, or null. */
    static String id(String header) {
        List<String> ids = ids(header);
        return ids.isEmpty() ? null : ids.getFirst();
    }

    /**
     * The thread's root: the first id of References, else In-Reply-To, else the mail's own id.
     */
    static String root(String ownId, String inReplyTo, String references) {
        String first = id(references);
        if (first != null) return first;
        String parent = id(inReplyTo);
        return parent != null ? parent : ownId;
    }

    /**
     * The References of a reply to a mail with {@code references} and id {@code ownId}: its references then its id,
     * trimmed to the root and the newest when long.
     */
    static String replyReferences(String references, String ownId) {
        List<String> refs = new ArrayList<>(ids(references));
        refs.remove(ownId);
        refs.add(ownId);
        if (refs.size() > MAX_REFERENCES) {
            List<String> kept = new ArrayList<>();
            kept.add(refs.getFirst());
            kept.addAll(refs.subList(refs.size() - (MAX_REFERENCES - 1), refs.size()));
            refs = kept;
        }
        return String.join(" ", refs);
    }

    /** {@code Re: SUBJECT} without stacking prefixes ({@code Re: Re:}, {@code AW:}, {@code Re[2]:}); one line. */
    static String replySubject(String subject) {
        String s = oneLine(subject == null ? "" : subject, 200);
        s = RE.matcher(s).replaceFirst("").strip();
        return s.isEmpty() ? "Re: your message" : "Re: " + s;
    }

    /**
     * {@code text} on one line: control characters (CR and LF above all, which would start a header of their own) and
     * invisible ones become spaces, runs of spaces one; cut at {@code max} characters.
     */
    static String oneLine(String text, int max) {
        StringBuilder sb = new StringBuilder(Math.min(text.length(), max));
        boolean space = false;
        for (int i = 0; i < text.length() && sb.length() < max; ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            boolean blank = Character.isWhitespace(c) || Character.isISOControl(c) || dev.carapace.text.Invisible.is(c);
            if (blank) {
                if (!space && !sb.isEmpty()) sb.append(' ');
                space = true;
            } else {
                sb.appendCodePoint(c);
                space = false;
            }
        }
        return sb.toString().strip();
    }

    /**
     * A stable id for a mail that has none: the hash of the headers that identify it and its body, so a second
     * delivery of the same mail (with other {@code Received:} lines) has the same id.
     */
    static String syntheticId(String from, String to, String date, String subject, byte[] body) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (String h : new String[]{from, to, date, subject}) {
                d.update((h == null ? "" : h).getBytes(StandardCharsets.UTF_8));
                d.update((byte) 0);
            }
            d.update(body);
            return "<" + HexFormat.of().formatHex(d.digest(), 0, 20) + "@synthetic.carapace.invalid>";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A Message-ID for a reply, the same on every attempt of one outbound message (its idempotency key). */
    static String replyId(String idempotency, String fromAddress) {
        String domain = fromAddress.substring(fromAddress.indexOf('@') + 1).toLowerCase(Locale.ROOT);
        String seed = idempotency == null ? java.util.UUID.randomUUID().toString() : idempotency;
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(seed.getBytes(StandardCharsets.UTF_8));
            return "<carapace." + HexFormat.of().formatHex(h, 0, 16) + "@" + domain + ">";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
