package dev.carapace.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.Objects;

/**
 * Whether the SQLite file a running store opened is still the file on disk. The pool's connections keep the file
 * they opened: a file renamed over it, or the path made a symlink, goes unnoticed by SQLite (it answers from the old,
 * unlinked file while everything that opens the path anew sees the new one), and a file truncated or overwritten in
 * place corrupts what SQLite reads next. So the store remembers the file's identity (device and inode, through
 * {@link BasicFileAttributes#fileKey()}) when it opens it, and each check compares it and reads the 100-byte SQLite
 * header: the magic string, and a size that is a whole number of the header's pages. That is one {@code stat} and one
 * small read: cheap enough for a timer and for every {@code /healthz}, where {@code PRAGMA quick_check} is not.
 * An overwrite in place that keeps a valid header and a page-aligned size is not seen here.
 *
 * <p>The header is read through one descriptor held open from {@link #remember} to {@link #close}, never through a
 * descriptor opened and closed for each check: POSIX drops every lock a process holds on a file when it closes any
 * descriptor of that file, so each check used to drop the shared lock SQLite's connections hold on the database. A
 * {@code carapace keys create} in another process then saw itself as the file's last user when it closed, checkpointed
 * and deleted the WAL under the running gateway, whose connections went on reading the deleted one: every key made by
 * the CLI after the first was refused until a restart ({@code KeysFromAnotherProcessTest}).
 */
final class FileIntegrity implements AutoCloseable {

    private static final byte[] MAGIC = "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER_BYTES = 100;

    private final Path file;
    /** The file's identity when the store opened it; null where the file system has none to offer. */
    private final Object key;
    /** The file as opened, for its header: closed only with the store (see the class comment). */
    private final FileChannel opened;

    private FileIntegrity(Path file, Object key, FileChannel opened) {
        this.file = file;
        this.key = key;
        this.opened = opened;
    }

    /** Remembers {@code file} as it is now, after the store has opened (and migrated) it. */
    static FileIntegrity remember(Path file) {
        try {
            return new FileIntegrity(file, attributes(file).fileKey(),
                    FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS));
        } catch (IOException e) {
            throw new StoreException(StoreException.Reason.UNAVAILABLE, "cannot read the attributes of the database "
                    + "file " + file + ": " + e.getClass().getSimpleName(), e);
        }
    }

    /** What is wrong with the file now, or null when it is the one opened and still looks like SQLite. */
    String problem() {
        BasicFileAttributes now;
        try {
            now = attributes(file);
        } catch (NoSuchFileException e) {
            return "the database file was deleted or moved away under the running gateway";
        } catch (IOException e) {
            return outOfDescriptors(e) ? null : "the database file cannot be read (" + e.getClass().getSimpleName() + ")";
        }
        if (!now.isRegularFile()) {
            return "the database file was replaced by " + (now.isSymbolicLink() ? "a symlink" : "something "
                    + "that is not a file") + " under the running gateway";
        }
        if (key != null && !Objects.equals(key, now.fileKey())) {
            return "the database file was replaced by another file (its device and inode changed) under "
                    + "the running gateway";
        }
        byte[] header;
        try {
            ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
            while (b.hasRemaining() && opened.read(b, b.position()) > 0) {
                // until the header is read, or the file ends
            }
            header = Arrays.copyOf(b.array(), b.position());
        } catch (IOException e) {
            return "the database file cannot be read (" + e.getClass().getSimpleName() + ")";
        }
        if (header.length < HEADER_BYTES || !Arrays.equals(header, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            return "the database file was truncated or overwritten under the running gateway (it is "
                    + now.size() + " bytes and no longer starts with a SQLite header)";
        }
        int pageSize = ((header[16] & 0xff) << 8) | (header[17] & 0xff);
        if (pageSize == 1) pageSize = 65_536;
        if (pageSize < 512 || now.size() % pageSize != 0) {
            return "the database file was truncated or overwritten under the running gateway (its size, "
                    + now.size() + " bytes, is not a whole number of its " + pageSize + "-byte pages)";
        }
        return null;
    }

    /**
     * The process (EMFILE) or the system (ENFILE) had no descriptor left to open the file for the check: that says
     * nothing about the file, and must not stop the gateway for good. The check is skipped; the next one looks again.
     */
    private static boolean outOfDescriptors(IOException e) {
        return e.getMessage() != null && e.getMessage().contains("Too many open files");
    }

    @Override
    public void close() {
        try {
            opened.close();
        } catch (IOException e) {
            // the store is closing; nothing to do about a file that would not close
        }
    }

    private static BasicFileAttributes attributes(Path file) throws IOException {
        return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }
}
