package dev.carapace.store;

import dev.carapace.store.LedgerTables.Progress;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.UsageLog.UsageRecord;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/**
 * One budget decision as the ledger's {@link Journal} keeps it: a reservation made ({@code reserve}: {@code nanos}
 * and {@code tokens} are held on {@code windows}; {@code record} is its context, the estimate), one ended
 * ({@code settled} or {@code reconciled}: they are charged, and {@code record} is the call's usage record), a usage
 * record alone ({@code record}: a call the ledger reserved nothing for, such as a token count), or an open
 * reservation's progress ({@code progress}: what
 * its stream has produced so far, an estimate of {@code nanos}, and in {@code record} only the input and output
 * tokens, which a crash charges instead of the whole reservation).
 *
 * <p>A plain record, and its encoding in the journal file: the in-memory decider in {@code dev.carapace.ledger.book}
 * makes entries, the journal writes and replays them, and the fold turns them into rows. It lives here, not in the
 * ledger, because the store replays the file when it opens, before anything above it exists.
 *
 * @param at a reservation's creation time; the record's own time otherwise
 */
public record JournalEntry(String kind, String reservationId, String owner, String windows, long nanos, long tokens,
                           Instant at, UsageRecord record) {

    /** A reservation made: held on its windows until it ends. */
    public static JournalEntry reserve(Reservation r, String owner) {
        return new JournalEntry("reserve", r.id(), owner, WindowKey.encode(r.windows()), r.nanos(), r.tokens(), r.createdAt(), r.context());
    }

    /**
     * A reservation ended ({@code settled} or {@code reconciled}) with its charge and usage record; the charge counts
     * on {@code chargedOn}, or when null on the windows the reservation held (see {@link Reservations#settle}).
     */
    public static JournalEntry end(String state, String reservationId, long nanos, long tokens, UsageRecord record,
                                   List<WindowKey> chargedOn) {
        return new JournalEntry(state, reservationId, null, chargedOn == null ? null : WindowKey.encode(chargedOn),
                nanos, tokens, record.at(), record);
    }

    /** The windows an ending entry charges; null: those its reservation held (and every entry written before). */
    List<WindowKey> chargedOn() { return windows == null ? null : WindowKey.decode(windows); }

    /** The usage record of a call that held no reservation. */
    public static JournalEntry record(UsageRecord record) {
        return new JournalEntry("record", null, null, null, record.costNanos(), 0, record.at(), record);
    }

    /** What an open reservation's stream has produced so far. */
    public static JournalEntry progress(String reservationId, Progress p) {
        return new JournalEntry("progress", reservationId, null, null, p.nanos(), p.inputTokens() + p.outputTokens(), Instant.EPOCH,
                new UsageRecord("", Instant.EPOCH, null, null, null, null, null, null, null, null, p.inputTokens(), 0, 0,
                        p.outputTokens(), 0, true, true, 0, null, 0, null));
    }

    boolean ends() { return kind.equals("settled") || kind.equals("reconciled"); }

    // ---- the encoding: seq, then the fields in order; strings as UTF-8 with their length (-1: null) ----

    /**
     * The frame of this entry, with room for its seq and checksum, which {@link JournalFile#write} fills in: length,
     * CRC, seq, kind, reservation id, owner, windows, nanos, tokens, time, then the usage record's fields (only its
     * tokens for {@code progress}, which every stream writes every few hundred ms). Strings are a length (-1 for
     * null) and UTF-8.
     */
    ByteBuffer encode() {
        UsageRecord r = record;
        boolean progress = kind.equals("progress");
        byte[][] strings = progress
                ? new byte[][] {utf8(kind), utf8(reservationId), utf8(owner), utf8(windows)}
                : new byte[][] {utf8(kind), utf8(reservationId), utf8(owner), utf8(windows),
                        utf8(r.requestId()), utf8(r.org()), utf8(r.team()), utf8(r.user()), utf8(r.keyPrefix()),
                        utf8(r.api()), utf8(r.model()), utf8(r.tier()), utf8(r.deployment()), utf8(r.errorCode()),
                        utf8(r.agent()), utf8(r.privacyDecision()), utf8(r.privacyClasses())};
        int size = JournalFile.FRAME_HEAD + 8 + 3 * 8 + (progress ? 2 * 8 : 8 * 8 + 4 + 2 + 8);
        for (byte[] b : strings) size += 4 + (b == null ? 0 : b.length);
        // A plain array and big-endian stores, as ByteBuffer's: its checked puts were most of an append's cost.
        Frame out = new Frame(size);
        out.putInt(size - JournalFile.FRAME_HEAD).putInt(0).putLong(0);   // CRC and seq: filled in under the lock
        for (int i = 0; i < 4; i++) out.putString(strings[i]);
        out.putLong(nanos).putLong(tokens).putLong(at.toEpochMilli());
        if (progress) return out.putLong(r.inputTokens()).putLong(r.outputTokens()).buffer();
        for (int i = 4; i < strings.length; i++) out.putString(strings[i]);
        out.putLong(r.inputTokens()).putLong(r.cachedInputTokens()).putLong(r.cacheWriteTokens()).putLong(r.outputTokens())
                .putLong(r.reasoningTokens()).putLong(r.latencyMicros()).putLong(r.ttftMicros() == null ? -1 : r.ttftMicros())
                .putLong(r.costNanos());
        out.putInt(r.status()).putByte(r.estimated() ? 1 : 0).putByte(r.stream() ? 1 : 0).putLong(r.disputedNanos());
        return out.buffer();
    }

    private static byte[] utf8(String s) { return s == null ? null : s.getBytes(StandardCharsets.UTF_8); }

    /** An entry's bytes as {@link #encode} lays them out, written front to back. */
    private static final class Frame {
        private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
        private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
        private final byte[] bytes;
        private int at;

        Frame(int size) { bytes = new byte[size]; }

        Frame putInt(int v) {
            INT.set(bytes, at, v);
            at += 4;
            return this;
        }

        Frame putLong(long v) {
            LONG.set(bytes, at, v);
            at += 8;
            return this;
        }

        Frame putByte(int v) {
            bytes[at++] = (byte) v;
            return this;
        }

        /** A length (-1 for null) and the bytes. */
        void putString(byte[] b) {
            if (b == null) {
                putInt(-1);
                return;
            }
            putInt(b.length);
            System.arraycopy(b, 0, bytes, at, b.length);
            at += b.length;
        }

        ByteBuffer buffer() {
            assert at == bytes.length;
            return ByteBuffer.wrap(bytes);
        }
    }

    /** Reads what {@link #encode} wrote, after the seq. */
    static JournalEntry decode(ByteBuffer p) {
        String kind = readString(p), reservationId = readString(p), owner = readString(p), windows = readString(p);
        long nanos = p.getLong(), tokens = p.getLong();
        Instant at = Instant.ofEpochMilli(p.getLong());
        if (kind.equals("progress")) {
            return progress(reservationId, new Progress(nanos, p.getLong(), p.getLong()));
        }
        String[] s = new String[13];
        for (int i = 0; i < s.length; i++) s[i] = readString(p);
        long[] n = new long[8];
        for (int i = 0; i < n.length; i++) n[i] = p.getLong();
        int status = p.getInt();
        boolean estimated = p.get() != 0, stream = p.get() != 0;
        long disputed = p.remaining() >= 8 ? p.getLong() : 0;   // entries written before the field have none
        UsageRecord record = new UsageRecord(s[0], at, s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], n[0], n[1], n[2], n[3],
                n[4], estimated, stream, status, s[9], n[5], n[6] < 0 ? null : n[6], s[10], n[7], s[11], s[12], disputed);
        return new JournalEntry(kind, reservationId, owner, windows, nanos, tokens, at, record);
    }

    private static String readString(ByteBuffer p) {
        int length = p.getInt();
        if (length < 0) return null;
        String s = new String(p.array(), p.arrayOffset() + p.position(), length, StandardCharsets.UTF_8);
        p.position(p.position() + length);
        return s;
    }
}
