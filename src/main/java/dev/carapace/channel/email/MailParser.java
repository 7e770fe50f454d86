package dev.carapace.channel.email;

import dev.carapace.channel.Attachment;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Sender;
import dev.carapace.text.AsciiCase;
import jakarta.mail.Address;
import jakarta.mail.BodyPart;
import jakarta.mail.MessagingException;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.internet.ContentType;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeUtility;
import jakarta.mail.util.SharedByteArrayInputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * A received mail, as the bytes the server holds, into the {@link Inbound} the hub takes: who sent it (and whether a
 * server vouched for them), which of the channel's addresses it was sent to, its thread, its text (the plain part, or
 * the HTML one as text), its files, and whether a person wrote it.
 *
 * <p>Every byte is the sender's. Broken MIME (no boundary, parts nested deeper than {@value #MAX_DEPTH}, bad base64,
 * unknown charsets and transfer encodings, malformed addresses) is read as far as it can be, each problem written down
 * for the log; nothing in a mail makes this throw. A file is read only up to the channel's
 * {@code max_attachment_bytes}: one bigger is dropped, the text saying so, without its bytes being decoded.
 */
final class MailParser {

    static final int MAX_DEPTH = 20;
    static final int MAX_PARTS = 200;
    static final int MAX_FILES = 20;
    /** The most of one text part read: far more than the hub passes on (200,000 characters). */
    static final int MAX_TEXT_BYTES = 1 << 20;
    private static final Pattern ADDRESS = Pattern.compile("[^@\\s\\p{Cntrl}<>()\\[\\],;:\"]{1,64}@[a-z0-9.-]{1,253}");

    private final String channel;
    private final EmailSettings settings;
    private final long maxAttachmentBytes;
    private final Session session = Session.getInstance(new Properties());

    MailParser(String channel, EmailSettings settings, long maxAttachmentBytes) {
        this.channel = channel;
        this.settings = settings;
        this.maxAttachmentBytes = maxAttachmentBytes;
    }

    /**
     * A mail read, and what was wrong with it (for the log).
     */
    record Read(Inbound inbound, List<String> problems) {}

    /** Reads a whole mail. */
    Read parse(byte[] raw, Instant receivedAt) {
        List<String> problems = new ArrayList<>();
        MimeMessage mail;
        try {
            mail = new MimeMessage(session, new SharedByteArrayInputStream(raw));
        } catch (MessagingException e) {
            problems.add("its headers could not be read (" + e.getMessage() + ")");
            return new Read(unreadable(raw, receivedAt), problems);
        }
        Body body = new Body(problems);
        walk(mail, 0, body, true);
        return new Read(inbound(mail, bodyBytes(raw), body.text(), body.files, problems, receivedAt), problems);
    }

    /**
     * A mail too big to read ({@code size} bytes over the channel's limit): its headers only, its text saying so, so
     * it is recorded and the sender can be told.
     */
    Read headersOnly(byte[] headers, long size, Instant receivedAt) {
        List<String> problems = new ArrayList<>();
        problems.add("it is " + size + " bytes; at most " + settings.maxMessageBytes() + " are read");
        MimeMessage mail;
        try {
            mail = new MimeMessage(session, new SharedByteArrayInputStream(headers));
        } catch (MessagingException e) {
            problems.add("its headers could not be read (" + e.getMessage() + ")");
            return new Read(unreadable(headers, receivedAt), problems);
        }
        String note = "[the mail was " + size + " bytes; at most " + settings.maxMessageBytes()
                + " are read, so its text and files were not passed on]";
        byte[] seed = (size + "").getBytes(StandardCharsets.US_ASCII);
        return new Read(inbound(mail, seed, note, List.of(), problems, receivedAt), problems);
    }

    private Inbound inbound(MimeMessage mail, byte[] body, String text, List<Attachment> files, List<String> problems,
                            Instant receivedAt) {
        InternetAddress from = from(mail, problems);
        String address = from == null ? null : bare(from);
        String name = from == null || from.getPersonal() == null ? null : MailThread.oneLine(from.getPersonal(), 100);
        String ownId = MailThread.id(header(mail, "Message-ID"));
        if (ownId == null) {
            ownId = MailThread.syntheticId(header(mail, "From"), header(mail, "To"), header(mail, "Date"),
                    header(mail, "Subject"), body);
        }
        String subject = subject(mail);
        String automated;
        try {
            automated = AutomatedMail.reason(mail, address, settings.addresses());
        } catch (MessagingException | RuntimeException e) {
            automated = "its headers could not be checked (" + e.getMessage() + ")";
        }
        SenderCheck check = address == null ? SenderCheck.NONE
                : SenderCheck.of(headers(mail, "Authentication-Results"), settings.authservId(),
                address.substring(address.indexOf('@') + 1));
        String senderId = address == null ? "unknown" : address;
        if (settings.requireAuthenticated() && !check.verified()) senderId = "unverified:" + senderId;
        String root = MailThread.root(ownId, header(mail, "In-Reply-To"), header(mail, "References"));
        Map<String, String> reply = new LinkedHashMap<>();
        reply.put("message_id", ownId);
        reply.put("references", MailThread.replyReferences(header(mail, "References"), ownId));
        reply.put("subject", subject);
        String to = recipient(mail);
        reply.put("address", to);
        if (!check.summary().isEmpty()) reply.put("authentication", check.summary());
        if (automated != null) reply.put("automated", automated);
        String full = "Subject: " + subject + "\n\n" + text;
        return new Inbound(channel, ownId, new Sender("email", senderId, name), to, conversation(root, senderId),
                full, files, reply, automated != null, receivedAt);
    }

    /**
     * A thread's session is its sender's: a Message-ID is no secret (every forward and quote carries it), so a thread
     * root alone would let anyone who saw one write into, and read back from, another person's conversation.
     */
    static String conversation(String root, String senderId) {
        return root + " " + senderId;
    }

    private Inbound unreadable(byte[] raw, Instant receivedAt) {
        String id = MailThread.syntheticId(null, null, null, null, raw);
        return new Inbound(channel, id, new Sender("email", "unknown", null), settings.addresses().getFirst(), id,
                "[a mail whose headers could not be read]", List.of(), Map.of("automated", "unreadable"), true,
                receivedAt);
    }

    // ---- headers ------------------------------------------------------------------------------------------------

    private static String header(MimeMessage mail, String name) {
        try {
            return mail.getHeader(name, null);
        } catch (MessagingException | RuntimeException e) {
            return null;
        }
    }

    private static String[] headers(MimeMessage mail, String name) {
        try {
            return mail.getHeader(name);
        } catch (MessagingException | RuntimeException e) {
            return null;
        }
    }

    private static InternetAddress from(MimeMessage mail, List<String> problems) {
        String raw = header(mail, "From");
        if (raw == null) {
            problems.add("it has no From");
            return null;
        }
        List<InternetAddress> list = addresses(raw);
        if (list.isEmpty()) {
            problems.add("its From is not an address: " + MailThread.oneLine(raw, 80));
            return null;
        }
        if (list.size() > 1) problems.add("its From names " + list.size() + " addresses; the first is taken");
        return list.getFirst();
    }

    /** The valid addresses of an address header, read leniently. */
    private static List<InternetAddress> addresses(String raw) {
        List<InternetAddress> out = new ArrayList<>();
        try {
            for (Address a : InternetAddress.parseHeader(MailThread.oneLine(raw, 4000), false)) {
                if (a instanceof InternetAddress ia && ia.getAddress() != null
                        && ADDRESS.matcher(AsciiCase.lower(ia.getAddress())).matches()) {
                    out.add(ia);
                }
            }
        } catch (MessagingException | RuntimeException e) {
            // not one valid address: none
        }
        return out;
    }

    private static String bare(InternetAddress a) {
        return AsciiCase.lower(a.getAddress());   // the Kelvin sign must not become a k of someone's address
    }

    /** Which of the channel's addresses the mail was sent to; the first one when no header names one (a Bcc). */
    private String recipient(MimeMessage mail) {
        for (String h : new String[]{"Delivered-To", "X-Original-To", "To", "Cc"}) {
            String[] values = headers(mail, h);
            if (values == null) continue;
            for (String v : values) {
                for (InternetAddress a : addresses(v)) {
                    if (settings.addresses().contains(bare(a))) return bare(a);
                }
            }
        }
        return settings.addresses().getFirst();
    }

    private static String subject(MimeMessage mail) {
        String raw = header(mail, "Subject");
        if (raw == null) return "";
        String decoded;
        try {
            decoded = MimeUtility.decodeText(MimeUtility.unfold(raw));
        } catch (IOException | RuntimeException e) {
            decoded = raw;
        }
        return MailThread.oneLine(decoded, 300);
    }

    // ---- the body -----------------------------------------------------------------------------------------------

    /** What the walk through the parts found. */
    private final class Body {
        final List<String> problems;
        final StringBuilder plain = new StringBuilder();
        final StringBuilder html = new StringBuilder();
        final List<Attachment> files = new ArrayList<>();
        final StringBuilder notes = new StringBuilder();
        int parts;

        Body(List<String> problems) { this.problems = problems; }

        void note(String problem, String forAgent) {
            problems.add(problem);
            if (forAgent != null) notes.append("\n[").append(forAgent).append(']');
        }

        String text() {
            String t = !plain.isEmpty() ? plain.toString() : html.isEmpty() ? "" : HtmlText.of(html.toString());
            return (t.strip() + notes).strip();
        }
    }

    private void walk(Part part, int depth, Body body, boolean top) {
        if (++body.parts > MAX_PARTS) {
            if (body.parts == MAX_PARTS + 1) body.note("it has more than " + MAX_PARTS + " parts; the rest were not read", null);
            return;
        }
        ContentType type = contentType(part, body);
        String base = type == null ? (top ? "text/plain" : "application/octet-stream") : type.getBaseType().toLowerCase(Locale.ROOT);
        try {
            if (base.startsWith("multipart/")) {
                multipart(part, base, depth, body);
                return;
            }
            String fileName = fileName(part);
            String disposition = disposition(part);
            boolean isText = base.equals("text/plain") || base.equals("text/html");
            if (isText && fileName == null && !Part.ATTACHMENT.equalsIgnoreCase(disposition)) {
                String text = text(part, type, body);
                StringBuilder into = base.equals("text/plain") ? body.plain : body.html;
                if (!into.isEmpty()) into.append(base.equals("text/plain") ? "\n\n" : "<br>");
                into.append(text);
            } else {
                file(part, base, fileName, body);
            }
        } catch (MessagingException | IOException | RuntimeException e) {
            body.note("a " + base + " part could not be read (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")",
                    "a part of the mail could not be read");
        }
    }

    private void multipart(Part part, String base, int depth, Body body) throws MessagingException, IOException {
        if (depth >= MAX_DEPTH) {
            body.note("its parts are nested deeper than " + MAX_DEPTH + "; the deeper ones were not read",
                    "parts nested deeper than " + MAX_DEPTH + " levels were not read");
            return;
        }
        Object content;
        Multipart mp;
        try {
            content = part.getContent();
            if (!(content instanceof Multipart m)) throw new MessagingException("not a multipart");
            mp = m;
            mp.getCount();   // parses: a missing boundary fails here
        } catch (MessagingException | IOException | RuntimeException e) {
            body.note("a " + base + " could not be split into its parts (" + e.getMessage() + "); read as text", null);
            String text = decode(raw(part), null, body);
            body.plain.append(body.plain.isEmpty() ? "" : "\n\n").append(text);
            return;
        }
        if (base.equals("multipart/alternative")) {
            BodyPart chosen = null;
            for (int i = 0; i < mp.getCount(); i++) {
                BodyPart child = mp.getBodyPart(i);
                ContentType t = contentType(child, body);
                if (t != null && t.getBaseType().equalsIgnoreCase("text/plain")) {
                    chosen = child;
                    break;
                }
            }
            if (chosen != null) {
                walk(chosen, depth + 1, body, false);
                return;
            }
        }
        for (int i = 0; i < mp.getCount(); i++) walk(mp.getBodyPart(i), depth + 1, body, false);
    }

    private static ContentType contentType(Part part, Body body) {
        String raw;
        try {
            raw = part.getContentType();
        } catch (MessagingException | RuntimeException e) {
            return null;
        }
        if (raw == null) return null;
        try {
            return new ContentType(raw);
        } catch (MessagingException | RuntimeException e) {
            body.problems.add("a Content-Type could not be read: " + MailThread.oneLine(raw, 80));
            return null;
        }
    }

    private static String fileName(Part part) {
        try {
            String name = part.getFileName();
            if (name == null) return null;
            try {
                name = MimeUtility.decodeText(name);
            } catch (IOException | RuntimeException e) {
                // kept as written
            }
            return MailThread.oneLine(name, 200);
        } catch (MessagingException | RuntimeException e) {
            return "file";
        }
    }

    private static String disposition(Part part) {
        try {
            return part.getDisposition();
        } catch (MessagingException | RuntimeException e) {
            return null;
        }
    }

    private String text(Part part, ContentType type, Body body) {
        return decode(decoded(part, MAX_TEXT_BYTES, body), type == null ? null : type.getParameter("charset"), body);
    }

    private void file(Part part, String base, String fileName, Body body) {
        String name = fileName != null ? fileName : base.equals("message/rfc822") ? "message.eml" : "";
        if (body.files.size() >= MAX_FILES) {
            body.note("it has more than " + MAX_FILES + " files", "file " + shown(name) + " dropped: at most "
                    + MAX_FILES + " files a message");
            return;
        }
        long encoded = size(part);
        // base64 takes 4 bytes for 3 and a line break every 76: a part this long cannot decode to the limit or less
        if (encoded > maxAttachmentBytes / 3 * 4 + maxAttachmentBytes / 50 + 4096) {
            dropTooBig(name, body);
            return;
        }
        byte[] data = decoded(part, maxAttachmentBytes + 1, body);
        if (data.length > maxAttachmentBytes) {
            dropTooBig(name, body);
            return;
        }
        body.files.add(new Attachment(name, base, data));
    }

    private void dropTooBig(String name, Body body) {
        body.note("a file is over " + maxAttachmentBytes + " bytes", "file " + shown(name) + " dropped: over "
                + maxAttachmentBytes + " bytes; at most " + maxAttachmentBytes + " are taken");
    }

    private static String shown(String name) {
        return name.isEmpty() ? "(no name)" : MailThread.oneLine(name, 80);
    }

    private static long size(Part part) {
        try {
            return part.getSize();
        } catch (MessagingException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * The part's decoded bytes, at most {@code max}; read leniently when its transfer encoding is unknown or broken
     * (base64 with characters outside the alphabet, cut short).
     */
    private static byte[] decoded(Part part, long max, Body body) {
        try (InputStream in = part.getInputStream()) {
            return read(in, max);
        } catch (MessagingException | IOException | RuntimeException e) {
            String encoding = encoding(part);
            body.problems.add("a part's " + (encoding == null ? "content" : encoding + " content")
                    + " is broken (" + e.getMessage() + "); read leniently");
            byte[] raw = raw(part);
            if ("base64".equalsIgnoreCase(encoding)) return lenientBase64(raw, max);
            return raw.length <= max ? raw : java.util.Arrays.copyOf(raw, (int) max);
        }
    }

    private static String encoding(Part part) {
        try {
            return part instanceof MimeBodyPart p ? p.getEncoding() : part instanceof MimeMessage m ? m.getEncoding() : null;
        } catch (MessagingException | RuntimeException e) {
            return null;
        }
    }

    /** The part's bytes as sent (not decoded), at most {@link #MAX_TEXT_BYTES}. */
    private static byte[] raw(Part part) {
        try (InputStream in = part instanceof MimeBodyPart p ? p.getRawInputStream()
                : part instanceof MimeMessage m ? m.getRawInputStream() : part.getInputStream()) {
            return read(in, MAX_TEXT_BYTES);
        } catch (MessagingException | IOException | RuntimeException e) {
            return new byte[0];
        }
    }

    /** Base64 with everything outside its alphabet skipped and a cut-short end dropped. */
    static byte[] lenientBase64(byte[] raw, long max) {
        ByteArrayOutputStream clean = new ByteArrayOutputStream(raw.length);
        for (byte b : raw) {
            if (b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/') clean.write(b);
        }
        byte[] chars = clean.toByteArray();
        int usable = chars.length - chars.length % 4;
        byte[] out = Base64.getDecoder().decode(java.util.Arrays.copyOf(chars, usable));
        return out.length <= max ? out : java.util.Arrays.copyOf(out, (int) max);
    }

    /** Reads at most {@code max} bytes (one past a limit tells the caller it was over). */
    private static byte[] read(InputStream in, long max) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16384];
        long left = max;
        int n;
        while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
            out.write(buf, 0, n);
            left -= n;
        }
        return out.toByteArray();
    }

    /** Text in its declared charset; an unknown or missing one is read as UTF-8, bad bytes replaced. */
    private static String decode(byte[] bytes, String charsetName, Body body) {
        Charset cs = StandardCharsets.UTF_8;
        if (charsetName != null && !charsetName.isBlank()) {
            try {
                cs = Charset.forName(MimeUtility.javaCharset(charsetName.strip()));
            } catch (RuntimeException e) {
                body.problems.add("unknown charset '" + MailThread.oneLine(charsetName, 40) + "'; read as UTF-8");
            }
        }
        try {
            return cs.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /** The bytes after the header block (what a synthetic id hashes with the identifying headers). */
    private static byte[] bodyBytes(byte[] raw) {
        for (int i = 0; i + 3 < raw.length; i++) {
            if (raw[i] == '\r' && raw[i + 1] == '\n' && raw[i + 2] == '\r' && raw[i + 3] == '\n') {
                return java.util.Arrays.copyOfRange(raw, i + 4, raw.length);
            }
            if (raw[i] == '\n' && raw[i + 1] == '\n') return java.util.Arrays.copyOfRange(raw, i + 2, raw.length);
        }
        return raw;
    }
}
