package dev.carapace.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * The ledger journal's file: append-only frames, each its payload's length and CRC-32C, then the payload (its seq,
 * then a {@link JournalEntry}). Held by one process at a time through an OS file lock. Not thread-safe: the
 * {@link Journal} calls it under its append lock.
 *
 * <p>Frames are copied into a shared memory mapping of the file, not written with a system call: a store into a
 * shared mapping is in the kernel's page cache the moment it is made, so it survives the process being killed just
 * as a {@code write} does (and, as before, a power loss only once the page cache is flushed). That takes the append
 * from a system call (2-7 µs, the largest part of recording a call) to a copy. The file is grown ahead of the
 * frames in {@value #WINDOW}-byte steps by writing zeros, so a full disk fails the growth, before any frame is
 * copied, and never a store into the mapping; the bytes past the last frame are therefore zero, and a frame whose
 * length is zero marks the end. Each frame's payload is copied before its head, so a process killed mid-copy leaves
 * a zero head (the end) or, on a power loss, a frame that fails its check: either ends the recovery, and the
 * recovery cuts the file there, so nothing ever follows a torn frame. A clean close cuts the zeros off.
 */
final class JournalFile implements AutoCloseable {

    /** A frame's head: its payload's length and CRC-32C (of the payload), then the payload, which starts with the seq. */
    static final int FRAME_HEAD = 8;
    /** How much of the file is mapped and grown at a time. */
    static final int WINDOW = 1 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 * 1024);

    /** What {@link #recover} found: where the last sound frame ends, and how many bytes after it fail their check. */
    record Recovered(long validEnd, int tornBytes) {}

    /** Receives each sound frame's seq and its payload positioned after the seq. */
    interface Frames {
        void frame(long seq, ByteBuffer entry);
    }

    private final FileChannel file;
    private final FileLock owner;
    /** Where the next frame goes: the end of the frames. */
    private long bytes;
    /** The mapped part of the file, from {@link #windowStart}; null until the next write maps it. */
    private MappedByteBuffer window;
    private long windowStart;

    private JournalFile(FileChannel file, FileLock owner) {
        this.file = file;
        this.owner = owner;
    }

    /** @return the file, locked for this process; null if another process, or another store in this one, holds it */
    static JournalFile open(Path path) throws IOException {
        FileChannel file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            FileLock lock;
            try {
                lock = file.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                lock = null;
            }
            if (lock == null) {
                file.close();
                return null;
            }
            return new JournalFile(file, lock);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** Reads every sound frame from the start, in order, up to the first that fails its check. */
    Recovered recover(Frames frames) throws IOException {
        ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(file.size()));
        while (all.hasRemaining() && file.read(all, all.position()) > 0) {
            // read to the end
        }
        all.flip();
        int validEnd = 0;
        while (all.remaining() >= FRAME_HEAD) {
            int length = all.getInt();
            int crc = all.getInt();
            if (length <= 0 || length > all.remaining()) break;   // zero: past the last frame
            byte[] payload = new byte[length];
            all.get(payload);
            CRC32C check = new CRC32C();
            check.update(payload);
            if ((int) check.getValue() != crc) break;
            ByteBuffer p = ByteBuffer.wrap(payload);
            frames.frame(p.getLong(), p);
            validEnd = all.position();
        }
        // What follows the last sound frame should be the zeros the file is grown with; anything else is torn.
        int end = all.limit();
        while (end > validEnd && all.get(end - 1) == 0) end--;
        return new Recovered(validEnd, end - validEnd);
    }

    /**
     * Numbers frames made by {@link JournalEntry#encode} from {@code firstSeq} on, checksums them and copies them
     * into the file, each payload before its head. Fails, with nothing copied, when the file cannot grow (disk full).
     */
    void write(ByteBuffer[] frames, long firstSeq) throws IOException {
        int total = 0;
        for (int i = 0; i < frames.length; i++) {
            ByteBuffer frame = frames[i];
            frame.putLong(FRAME_HEAD, firstSeq + i);
            CRC32C crc = new CRC32C();
            crc.update(frame.array(), FRAME_HEAD, frame.limit() - FRAME_HEAD);
            frame.putInt(4, (int) crc.getValue());
            total += frame.remaining();
        }
        MappedByteBuffer to = windowFor(total);
        int at = Math.toIntExact(bytes - windowStart);
        try {
            for (ByteBuffer frame : frames) {
                int length = frame.remaining();
                to.put(at + FRAME_HEAD, frame, FRAME_HEAD, length - FRAME_HEAD);
                to.put(at, frame, 0, FRAME_HEAD);
                at += length;
            }
        } catch (InternalError fault) {
            // The JDK's report of a store past the file's end: another process cut the file short under the mapping.
            // These frames fail; the next write maps the file as it is now and goes on from its end (what was cut is
            // gone from the file, though not from the fold, which has every entry in memory).
            window = null;
            bytes = Math.min(bytes, file.size());
            throw new IOException("the ledger journal was cut short by another process", fault);
        }
        bytes += total;
    }

    /** The mapping that holds the next {@code length} bytes, growing the file (with zeros) first where needed. */
    private MappedByteBuffer windowFor(int length) throws IOException {
        if (window != null && bytes + length <= windowStart + window.capacity()) return window;
        long start = bytes & ~4095L;   // a mapping starts on a page
        long end = start + Math.max(WINDOW, (bytes - start + length + 4095) & ~4095L);
        for (long size = file.size(); size < end; ) {
            size += file.write(ZEROS.duplicate().limit((int) Math.min(ZEROS.capacity(), end - size)), size);
        }
        window = null;   // the old mapping goes with the garbage collector
        window = file.map(FileChannel.MapMode.READ_WRITE, start, end - start);
        windowStart = start;
        return window;
    }

    /** The bytes of the frames written (or recovered and kept) so far. */
    long bytes() { return bytes; }

    /** Cuts the file to {@code length} bytes; the next frame goes there. */
    void truncate(long length) throws IOException {
        window = null;   // past the new end, the mapping must never be touched again
        file.truncate(length);
        bytes = length;
    }

    /** Cuts the zeros past the last frame off, lets the lock go and closes the file. */
    @Override
    public void close() throws IOException {
        try {
            truncate(bytes);
        } finally {
            owner.release();
            file.close();
        }
    }
}
