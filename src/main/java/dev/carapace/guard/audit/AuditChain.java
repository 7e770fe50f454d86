package dev.carapace.guard.audit;

import dev.carapace.store.AuditRecords;
import dev.carapace.store.AuditRecords.AuditRow;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The hash chain of the audit log: how a record is sealed, and how the log is checked.
 *
 * <p><b>Encoding (version 1).</b> {@code hash(n) = SHA-256(E)}, written as 64 lower-case hex digits, where E is the
 * concatenation of
 * <ol>
 *   <li>the ASCII bytes {@code carapace-audit-v1} and one zero byte;</li>
 *   <li>{@code seq} and {@code at} (epoch milliseconds), each as 8 bytes, big-endian two's complement;</li>
 *   <li>principal, agent, session, layer, action, target, outcome, rule, reason, in this order, each as a 4-byte
 *       big-endian length followed by that many bytes of UTF-8, or the 4 bytes {@code FF FF FF FF} for null;</li>
 *   <li>{@code prev_hash} as its 64 ASCII hex digits ({@link AuditRecords#GENESIS} for record 1).</li>
 * </ol>
 * Only values both databases store exactly go in: integers, and text that {@link AuditLog} has cleaned of what
 * PostgreSQL cannot keep (NUL) or JDBC would re-encode (unpaired surrogates). So a record hashes the same on SQLite
 * and PostgreSQL, before and after a restart, and in any JVM.
 */
public final class AuditChain {

    private static final byte[] DOMAIN = "carapace-audit-v1\0".getBytes(StandardCharsets.US_ASCII);
    private static final HexFormat HEX = HexFormat.of();

    private AuditChain() {}

    /** The hash of {@code r}'s fields as record {@code seq} after a record hashed {@code prevHash}. */
    public static String hash(AuditRow r, long seq, String prevHash) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(256);
        b.writeBytes(DOMAIN);
        writeLong(b, seq);
        writeLong(b, r.at().toEpochMilli());
        for (String s : new String[]{r.principal(), r.agent(), r.session(), r.layer(), r.action(), r.target(),
                r.outcome(), r.rule(), r.reason()}) {
            if (s == null) {
                writeInt(b, -1);
            } else {
                byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
                writeInt(b, utf8.length);
                b.writeBytes(utf8);
            }
        }
        b.writeBytes(prevHash.getBytes(StandardCharsets.US_ASCII));
        return HEX.formatHex(sha256().digest(b.toByteArray()));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private static void writeLong(ByteArrayOutputStream b, long v) {
        for (int i = 56; i >= 0; i -= 8) b.write((int) (v >>> i));
    }

    private static void writeInt(ByteArrayOutputStream b, int v) {
        for (int i = 24; i >= 0; i -= 8) b.write(v >>> i);
    }

    // ---- verification ---------------------------------------------------------------------------------------------

    /** What is wrong at one place of the log. */
    public enum Kind {
        /** The record's fields no longer give its hash: a field was changed. */
        EDITED,
        /** Seqs are missing: records were deleted. */
        MISSING,
        /** The record is sealed for another position: records were reordered, or inserted or deleted before it. */
        MOVED,
        /** The record's link does not match the record before it: that one was rewritten, or one was put in between. */
        BROKEN_LINK,
        /** A record the operator noted (an anchor) is gone or different: the log was truncated or rewritten. */
        ANCHOR
    }

    /** @param seq where it is (the first missing seq for {@link Kind#MISSING}) */
    public record Problem(long seq, Kind kind, String message) {}

    /**
     * @param records  how many records were read
     * @param headSeq  seq of the last record (0 for an empty log)
     * @param headHash hash of the last record: note it somewhere else to catch a later truncation or rewrite
     */
    public record Verification(long records, long headSeq, String headHash, List<Problem> problems) {
        public boolean ok() { return problems.isEmpty(); }
    }

    /** A record noted earlier: {@code seq} must still be there with {@code hash}. */
    public record Anchor(long seq, String hash) {}

    /** Most problems listed; the count of records read is always complete. */
    static final int MAX_PROBLEMS = 100;
    private static final int PAGE = 1000;
    /** How far a record whose neighbours are gone is searched for its original position. */
    private static final int NEARBY = 64;

    /**
     * Walks the whole log in seq order. Memory stays bounded: pages of rows are read, and a misplaced link is looked
     * up by hash in the store only when one is found.
     */
    public static Verification verify(AuditRecords log, Anchor anchor) {
        List<Problem> problems = new ArrayList<>();
        long expected = 1;
        String prevHash = AuditRecords.GENESIS;
        long count = 0;
        boolean anchorSeen = false;
        AuditRow last = null;
        while (true) {
            List<AuditRow> page = log.after(last == null ? 0 : last.seq(), PAGE);
            if (page.isEmpty()) break;
            for (AuditRow r : page) {
                count++;
                boolean gap = r.seq() != expected;
                if (gap) {
                    add(problems, new Problem(expected, Kind.MISSING, r.seq() == expected + 1
                            ? "record " + expected + " is missing (deleted)"
                            : "records " + expected + " to " + (r.seq() - 1) + " are missing (deleted)"));
                }
                boolean sealedHere = hash(r, r.seq(), r.prevHash()).equals(r.hash());
                if (!sealedHere) {
                    long origin = originalSeq(log, r);
                    if (origin > 0 && origin != r.seq()) {
                        add(problems, new Problem(r.seq(), Kind.MOVED, "record " + r.seq() + " was written as record "
                                + origin + " (records were reordered, or " + (origin < r.seq() ? "inserted" : "deleted")
                                + " before it)"));
                    } else {
                        add(problems, new Problem(r.seq(), Kind.EDITED, "record " + r.seq()
                                + " was edited: its fields do not match its hash"));
                    }
                } else if (!gap && !r.prevHash().equals(prevHash)) {
                    add(problems, new Problem(r.seq(), Kind.BROKEN_LINK, "record " + r.seq() + " does not follow record "
                            + (r.seq() - 1) + ": record " + (r.seq() - 1) + " was replaced, or records were inserted or "
                            + "removed between them" + linkHint(log, r)));
                }
                if (anchor != null && r.seq() == anchor.seq()) {
                    anchorSeen = true;
                    if (!r.hash().equals(anchor.hash())) {
                        add(problems, new Problem(r.seq(), Kind.ANCHOR, "record " + r.seq() + " has hash " + r.hash()
                                + ", not the noted " + anchor.hash() + ": the log was rewritten from there on or before"));
                    }
                }
                prevHash = r.hash();
                expected = r.seq() + 1;
                last = r;
            }
        }
        if (anchor != null && !anchorSeen) {
            add(problems, new Problem(anchor.seq(), Kind.ANCHOR, "record " + anchor.seq() + " (a noted anchor) is gone: "
                    + "the log was truncated or the record deleted"));
        }
        return new Verification(count, last == null ? 0 : last.seq(), last == null ? AuditRecords.GENESIS : last.hash(),
                List.copyOf(problems));
    }

    /**
     * Where a record that does not hash at its own seq was written: the position after the record its link points
     * to, if its fields hash there. 0 when it hashes nowhere (its fields were changed).
     */
    private static long originalSeq(AuditRecords log, AuditRow r) {
        if (r.prevHash().equals(AuditRecords.GENESIS)) return sealedAt(r, 1) ? 1 : 0;
        List<Long> at = log.seqsWithHash(r.prevHash());
        if (at.size() == 1) return sealedAt(r, at.get(0) + 1) ? at.get(0) + 1 : 0;
        // Its predecessor is gone too: try the positions nearby.
        for (long d = 1; d <= NEARBY; d++) {
            if (sealedAt(r, r.seq() + d)) return r.seq() + d;
            if (r.seq() - d >= 1 && sealedAt(r, r.seq() - d)) return r.seq() - d;
        }
        return 0;
    }

    private static boolean sealedAt(AuditRow r, long seq) {
        return hash(r, seq, r.prevHash()).equals(r.hash());
    }

    private static String linkHint(AuditRecords log, AuditRow r) {
        if (r.prevHash().equals(AuditRecords.GENESIS)) return " (it links to the start of the log)";
        List<Long> at = log.seqsWithHash(r.prevHash());
        return at.isEmpty() ? "" : " (it links to record " + at.get(0) + ")";
    }

    private static void add(List<Problem> problems, Problem p) {
        if (problems.size() < MAX_PROBLEMS) problems.add(p);
    }
}
