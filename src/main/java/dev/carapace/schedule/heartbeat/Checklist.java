package dev.carapace.schedule.heartbeat;

import dev.carapace.text.Excerpt;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A heartbeat's checklist ({@code HEARTBEAT.md}): Markdown a person writes by hand, of which only task lines count.
 *
 * <pre>
 * - [ ] 2026-12-06 09:00 Call the bank      dated: due at 09:00 that day, in the heartbeat's zone
 * - [ ] 2026-12-24 Buy the tree             dated without a time: due from the start of that day
 * - [ ] Check the build is green            standing: context for the agent, never a change by itself
 * - [x] 2026-12-01 Renew the domain         done: ignored
 * </pre>
 *
 * <ul>
 *   <li>A task line is a list item ({@code -}, {@code *} or {@code +}, indented or not) starting with {@code [ ]}
 *       (open) or {@code [x]} (done). A date is {@code YYYY-MM-DD}, optionally followed by {@code HH:MM} (a space or
 *       {@code T} between them), right after the box. Everything else in the file (headings, prose, plain list
 *       items, anything inside a fenced code block) is free text and ignored.</li>
 *   <li>An open item that starts with something shaped like a date that is not one ({@code 2026-13-45},
 *       {@code 2026-12-06 25:00}) is {@linkplain Kind#UNREADABLE unreadable}: the probe reports it once, so a typo
 *       does not silently swallow a reminder.</li>
 *   <li>Dates are wall-clock times in the heartbeat's zone, resolved by {@link WallClock} on daylight-saving days
 *       (a skipped time is due when the clocks jump; a repeated one at its first occurrence).</li>
 *   <li>Hostile files: only the first {@link #MAX_BYTES} bytes are read (a line cut there is dropped), at most
 *       {@link #MAX_ITEMS} items are kept, bytes that are not UTF-8 become U+FFFD, a byte-order mark is skipped,
 *       and CRLF, CR and LF all end a line. A binary file simply has no task lines.</li>
 * </ul>
 */
public record Checklist(List<Item> items, boolean truncated) {

    public static final int MAX_BYTES = 64 * 1024;
    public static final int MAX_ITEMS = 500;
    static final int MAX_TEXT_CHARS = 500;

    private static final Pattern TASK = Pattern.compile("^\\s{0,12}[-*+]\\s+\\[([ xX])]\\s*(.*)$");
    private static final Pattern DATED =
            Pattern.compile("^(\\d{4})-(\\d{1,2})-(\\d{1,2})(?:[ T](\\d{1,2}):(\\d{2}))?(?:\\s+(.*))?$");
    /** What a person meant as a date, even if it is not a valid one: four digits and a dash. */
    private static final Pattern DATE_SHAPED = Pattern.compile("^\\d{4}-\\S*(?:\\s+\\d{1,2}:\\S*)?");
    private static final Pattern FENCE = Pattern.compile("^\\s{0,3}(```|~~~).*");

    public Checklist {
        items = List.copyOf(items);
    }

    /** What an open item is. */
    public enum Kind {
        /** Has a date: a change once it is due. */
        DATED,
        /** No date: context only. */
        STANDING,
        /** A date-shaped start that is not a date: reported once so that the person can fix it. */
        UNREADABLE
    }

    /**
     * One open task line.
     *
     * @param line 1-based line number in the file
     * @param due  the wall time it is due, for {@link Kind#DATED}; else null
     * @param text the text after the box and the date (for {@link Kind#UNREADABLE}: after the box), at most
     *             {@value #MAX_TEXT_CHARS} characters
     * @param key  a stable identity for "already reported": the same item keeps it when lines move around it
     */
    public record Item(int line, Kind kind, LocalDateTime due, String text, String key) {

        /** When a dated item falls due in {@code zone}. */
        public Instant dueAt(ZoneId zone) {
            return WallClock.firstInstant(due, zone);
        }
    }

    /** Reads the first {@link #MAX_BYTES} of {@code bytes}. */
    public static Checklist parse(byte[] bytes) {
        boolean cut = bytes.length > MAX_BYTES;
        int length = Math.min(bytes.length, MAX_BYTES);
        int start = length >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb && (bytes[2] & 0xff) == 0xbf
                ? 3 : 0;
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE)
                    .decode(ByteBuffer.wrap(bytes, start, length - start)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException("a replacing decoder does not throw", e);
        }
        return parse(text, cut);
    }

    /** Reads {@code text}, of which only the first {@link #MAX_BYTES} characters count. */
    public static Checklist parse(String text) {
        boolean cut = text.length() > MAX_BYTES;
        return parse(cut ? text.substring(0, MAX_BYTES) : text, cut);
    }

    private static Checklist parse(String text, boolean cut) {
        String[] lines = text.split("\r\n|\r|\n", -1);
        int count = cut ? lines.length - 1 : lines.length; // the line the cut went through is not whole
        List<Item> items = new ArrayList<>();
        boolean inFence = false;
        boolean truncated = cut;
        for (int i = 0; i < count; i++) {
            String line = lines[i];
            if (FENCE.matcher(line).matches()) {
                inFence = !inFence;
                continue;
            }
            if (inFence) continue;
            Matcher task = TASK.matcher(line);
            if (!task.matches() || !task.group(1).equals(" ")) continue;
            if (items.size() == MAX_ITEMS) {
                truncated = true;
                break;
            }
            items.add(item(i + 1, task.group(2).strip()));
        }
        return new Checklist(items, truncated);
    }

    private static Item item(int line, String body) {
        Matcher dated = DATED.matcher(body);
        if (dated.matches()) {
            try {
                LocalDate day = LocalDate.of(Integer.parseInt(dated.group(1)), Integer.parseInt(dated.group(2)),
                        Integer.parseInt(dated.group(3)));
                LocalTime time = dated.group(4) == null ? LocalTime.MIDNIGHT
                        : LocalTime.of(Integer.parseInt(dated.group(4)), Integer.parseInt(dated.group(5)));
                LocalDateTime due = day.atTime(time);
                String text = clip(dated.group(6) == null ? "" : dated.group(6).strip());
                return new Item(line, Kind.DATED, due, text, key("dated", due + " " + text));
            } catch (DateTimeException e) {
                return unreadable(line, body);
            }
        }
        if (DATE_SHAPED.matcher(body).lookingAt()) return unreadable(line, body);
        String text = clip(body);
        return new Item(line, Kind.STANDING, null, text, key("standing", text));
    }

    private static Item unreadable(int line, String body) {
        String text = clip(body);
        return new Item(line, Kind.UNREADABLE, null, text, key("unreadable", text));
    }

    /** Open dated items due at or before {@code now} in {@code zone}, in file order. */
    public List<Item> dueItems(Instant now, ZoneId zone) {
        return items.stream().filter(i -> i.kind() == Kind.DATED && !i.dueAt(zone).isAfter(now)).toList();
    }

    /** Open items whose date cannot be read. */
    public List<Item> unreadable() {
        return items.stream().filter(i -> i.kind() == Kind.UNREADABLE).toList();
    }

    /** How many open items have no date. */
    public int standingCount() {
        return (int) items.stream().filter(i -> i.kind() == Kind.STANDING).count();
    }

    private static String clip(String text) {
        String flat = text.replaceAll("\\s+", " ");
        return flat.length() <= MAX_TEXT_CHARS ? flat : Excerpt.clip(flat, MAX_TEXT_CHARS);
    }

    private static String key(String kind, String content) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] digest = sha.digest((kind + "\n" + content).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
