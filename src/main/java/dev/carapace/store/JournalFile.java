package dev.carapace.store;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.zip.CRC32C;

/**
 * The ledger journal's file: append-only frames, each its payload's length and CRC-32C, then the payload (its seq,
 * then a {@link JournalEntry}). Held by one process at a time through an OS file lock.
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
 *
 * <p>Not thread-safe: the {@link Journal} calls it under its append lock, but for a compaction's copy
 * ({@link Compaction#copy}), which only reads frames already written while later ones are appended.
 */
final class JournalFile implements AutoCloseable {

    /** A frame's head: its payload's length and CRC-32C (of the payload), then the payload, which starts with the seq. */
    static final int FRAME_HEAD = 8;
    /** No entry is near this long: a frame that says it is was torn (and must not be read into memory). */
    static final int MAX_FRAME = 16 << 20;
    /** How much of the file is mapped and grown at a time. */
    static final int WINDOW = 1 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 * 1024);

    /** What {@link #recover} found: where the last sound frame ends, and how many bytes after it fail their check. */
    record Recovered(long validEnd, long tornBytes) {}

    /** Receives each sound frame's seq and its payload positioned after the seq. */
    interface Frames {
        void frame(long seq, ByteBuffer entry);
    }

    private final Path path;
    /** The file and this process's lock on it: both replaced when {@link #compact} puts a new file in its place. */
    private FileChannel file;
    private FileLock owner;
    /** Where the next frame goes: the end of the frames. */
    private long bytes;
    /** Counts the times the file's bytes moved (cut, emptied, compacted): an offset is good only in its generation. */
    private long generation;
    /** The mapped part of the file, from {@link #windowStart}; null until the next write maps it. */
    private MappedByteBuffer window;
    private long windowStart;

    private JournalFile(Path path, FileChannel file, FileLock owner) {
        this.path = path;
        this.file = file;
        this.owner = owner;
    }

    /** Where {@link #compact} writes the new file before it takes the journal's place. */
    private static Path compacting(Path path) { return path.resolveSibling(path.getFileName() + ".compact"); }

    /** @return the file, locked for this process; null if another process, or another store in this one, holds it */
    static JournalFile open(Path path) throws IOException {
        while (true) {
            // Its identity first: a compaction in the owner moves a new file over the name, then lets the old one's
            // lock go, and a lock taken on the old file then would be a lock on nothing anyone else opens.
            Object named = fileKey(path);
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
                if (named != null && !named.equals(fileKey(path))) {
                    lock.release();
                    file.close();
                    continue;   // replaced meanwhile: take the new one
                }
                Files.deleteIfExists(compacting(path));   // a compaction a crash cut short: the journal is whole without it
                return new JournalFile(path, file, lock);
            } catch (IOException | RuntimeException e) {
                file.close();
                throw e;
            }
        }
    }

    private static Object fileKey(Path path) throws IOException {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException none) {
            return null;
        }
    }

    /**
     * Reads every sound frame from the start, in order, up to the first that fails its check. Read a buffer at a
     * time, whatever the file's size: a journal that grew large before a crash (read whole into the heap, or mapped
     * whole, it ran out of heap or past a mapping's 2 GiB) must not keep the next start from opening the store.
     */
    Recovered recover(Frames frames) throws IOException {
        long size = file.size();
        DataInputStream in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(file.position(0)), 1 << 16));
        long validEnd = 0;
        while (size - validEnd >= FRAME_HEAD) {
            int length = in.readInt();
            int crc = in.readInt();
            // zero: past the last frame; more than is left, or than any entry is: torn
            if (length <= 0 || length > MAX_FRAME || length > size - validEnd - FRAME_HEAD) break;
            byte[] payload = new byte[length];
            in.readFully(payload);
            CRC32C check = new CRC32C();
            check.update(payload);
            if ((int) check.getValue() != crc) break;
            ByteBuffer p = ByteBuffer.wrap(payload);
            frames.frame(p.getLong(), p);
            validEnd += FRAME_HEAD + length;
        }
        // What follows the last sound frame should be the zeros the file is grown with; anything else is torn.
        long end = validEnd;
        ByteBuffer chunk = ByteBuffer.allocate(1 << 16);
        for (long at = validEnd; at < size; ) {
            int n = file.read(chunk.clear(), at);
            if (n <= 0) break;
            for (int i = 0; i < n; i++) if (chunk.get(i) != 0) end = at + i + 1;
            at += n;
        }
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
            generation++;
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

    /** Which arrangement of the file {@link #bytes} and offsets into it refer to; see {@link #generation}. */
    long generation() { return generation; }

    /**
     * Starts keeping only the frames from byte {@code from} on: the frames up to the current end are copied into a
     * new file by {@link Compaction#copy}, which takes no lock of the journal's and may run while frames are appended;
     * {@link #finishCompaction} then copies what came meanwhile and moves the new file over the journal's name in one
     * step, so a crash leaves the old file or the new one whole. The old file's frames before {@code from} must be
     * needed no more (folded into tables a checkpoint has synced).
     */
    Compaction beginCompaction(long from) {
        if (from < 0 || from > bytes) throw new IllegalArgumentException("compact from " + from + " of " + bytes + " bytes");
        return new Compaction(file, compacting(path), from, bytes, generation);
    }

    /**
     * A compaction under way: the new file, once {@link #copy} has made it, holds the old one's frames from
     * {@code from} to {@code to}, synced to disk. Where the append lock was held for the copy and its sync, every
     * call waited for them (some MB and an fsync, every few seconds under full load).
     */
    static final class Compaction {
        private final FileChannel source;
        private final Path next;
        private final long from;
        private final long to;
        private final long generation;
        private FileChannel copy;
        private FileLock lock;

        private Compaction(FileChannel source, Path next, long from, long to, long generation) {
            this.source = source;
            this.next = next;
            this.from = from;
            this.to = to;
            this.generation = generation;
        }

        /** Copies the frames and syncs them; on a failure nothing is left of the new file. */
        void copy() throws IOException {
            copy = FileChannel.open(next, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                lock = copy.tryLock();
                if (lock == null) throw new IOException("another process holds " + next.getFileName());
                transfer(source, from, to, copy);
                copy.force(true);
            } catch (IOException | RuntimeException e) {
                discard();
                throw e;
            }
        }

        /** Lets the new file go: the journal stays as it is. */
        void discard() {
            try {
                if (lock != null) lock.release();
                if (copy != null) copy.close();
                Files.deleteIfExists(next);
            } catch (IOException e) {
                Journal.log.warn("removing an unfinished compaction of the ledger journal failed ({}); the next start "
                        + "removes it", e.toString());
            }
        }
    }

    /**
     * Ends a compaction {@link Compaction#copy copied} from this file: copies the frames appended since, then puts
     * the new file in the old one's place. Under the append lock; the copy since is a few ms of calls' frames.
     *
     * @return false, with the compaction discarded, when the file was cut or emptied since it began
     */
    boolean finishCompaction(Compaction c) throws IOException {
        if (c.generation != generation || c.source != file || c.copy == null) {
            c.discard();
            return false;
        }
        try {
            transfer(file, c.to, bytes, c.copy);
            Files.move(c.next, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            c.discard();
            throw e;
        }
        window = null;
        FileChannel old = file;
        FileLock oldLock = owner;
        file = c.copy;
        owner = c.lock;
        bytes -= c.from;
        generation++;
        oldLock.release();
        old.close();
        return true;
    }

    private static void transfer(FileChannel from, long start, long end, FileChannel to) throws IOException {
        for (long at = start; at < end; ) at += from.transferTo(at, end - at, to);
    }

    /**
     * Makes a compaction's rename durable: a directory's entries reach the disk when the directory is synced. Outside
     * the append lock: until it is done, only a power loss (which takes unsynced frames anyway) could bring back the
     * old file, whose frames are all still needed or folded.
     */
    void syncDirectory() {
        try (FileChannel dir = FileChannel.open(path.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException unsupported) {
            // some file systems refuse to sync a directory; the rename is still atomic, only its timing less sure
        }
    }

    /** Cuts the file to {@code length} bytes; the next frame goes there. */
    void truncate(long length) throws IOException {
        window = null;   // past the new end, the mapping must never be touched again
        file.truncate(length);
        bytes = length;
        generation++;
    }

    /**
     * Lets the lock go and closes the file as it is: for an open that failed before the file was read, when
     * {@link #close} would cut it to the nothing this process knows of it.
     */
    void abandon() throws IOException {
        try {
            owner.release();
        } finally {
            file.close();
        }
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
