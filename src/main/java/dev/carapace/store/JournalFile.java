package dev.carapace.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * The ledger journal's file: append-only frames, each its payload's length and CRC-32C, then the payload (its seq,
 * then a {@link JournalEntry}). A tail torn by a power loss fails its check and ends the recovery; a write that
 * fails (disk full) is cut back off the file, so nothing ever follows a torn frame. Held by one process at a time
 * through an OS file lock. Not thread-safe: the {@link Journal} calls it under its append lock.
 */
final class JournalFile implements AutoCloseable {

    /** A frame's head: its payload's length and CRC-32C (of the payload), then the payload, which starts with the seq. */
    static final int FRAME_HEAD = 8;

    /** What {@link #recover} found: where the last sound frame ends, and how many bytes after it fail their check. */
    record Recovered(long validEnd, int tornBytes) {}

    /** Receives each sound frame's seq and its payload positioned after the seq. */
    interface Frames {
        void frame(long seq, ByteBuffer entry);
    }

    private final FileChannel file;
    private final FileLock owner;
    private long bytes;
    /** Set when a failed write could not be undone: no frame may follow it. */
    private StoreException broken;

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
        int torn = 0;
        long validEnd = 0;
        while (all.remaining() >= 8) {
            int length = all.getInt();
            int crc = all.getInt();
            if (length < 0 || length > all.remaining()) {
                torn = all.remaining() + 8;
                break;
            }
            byte[] payload = new byte[length];
            all.get(payload);
            CRC32C check = new CRC32C();
            check.update(payload);
            if ((int) check.getValue() != crc) {
                torn = all.remaining() + length + 8;
                break;
            }
            ByteBuffer p = ByteBuffer.wrap(payload);
            frames.frame(p.getLong(), p);
            validEnd = all.position();
        }
        return new Recovered(validEnd, torn);
    }

    /**
     * Numbers frames made by {@link JournalEntry#encode} from {@code firstSeq} on, checksums them and appends them
     * in one write. A write that fails is cut back off the file; if even that fails, every later write fails too.
     */
    void write(ByteBuffer[] frames, long firstSeq) throws IOException {
        if (broken != null) throw broken;
        int total = 0;
        for (int i = 0; i < frames.length; i++) {
            ByteBuffer frame = frames[i];
            frame.putLong(FRAME_HEAD, firstSeq + i);
            CRC32C crc = new CRC32C();
            crc.update(frame.array(), FRAME_HEAD, frame.limit() - FRAME_HEAD);
            frame.putInt(4, (int) crc.getValue());
            total += frame.remaining();
        }
        ByteBuffer all = frames[0];
        if (frames.length > 1) {
            all = ByteBuffer.allocate(total);
            for (ByteBuffer frame : frames) all.put(frame);
            all.flip();
        }
        try {
            while (all.hasRemaining()) file.write(all);
        } catch (IOException ex) {
            cutBack(ex);
            throw ex;
        }
        bytes += total;
    }

    /**
     * After a failed write (disk full), removes whatever part of the frame reached the file: recovery stops at the
     * first frame that fails its check, so a torn frame followed by good ones would lose the good ones. If even that
     * fails, the file takes no more frames (calls under a budget fail) rather than write after garbage.
     */
    private void cutBack(IOException cause) {
        try {
            file.truncate(bytes);
            file.position(bytes);
        } catch (IOException ex) {
            broken = new StoreException(StoreException.Reason.UNAVAILABLE,
                    "the ledger journal cannot be written (" + cause.getClass().getSimpleName() + "); restart the gateway", cause);
            Journal.log.error("the ledger journal could not be cut back after a failed write; it takes no more entries", ex);
        }
    }

    /** The bytes of the frames written (or recovered and kept) so far. */
    long bytes() { return bytes; }

    /** Cuts the file to {@code length} bytes; the next frame goes there. */
    void truncate(long length) throws IOException {
        file.truncate(length);
        file.position(length);
        bytes = length;
    }

    /** Lets the lock go and closes the file. */
    @Override
    public void close() throws IOException {
        owner.release();
        file.close();
    }
}
