package dev.carapace.server;

import dev.carapace.store.Store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One gateway per SQLite store. Budgets and reservations assume that whoever serves a SQLite file is alone with
 * it (that is what lets a starting gateway settle every reservation it finds open), so a second {@code serve} on the
 * same file is refused. The OS lock goes away with the process, however it ends. PostgreSQL needs no lock: its
 * gateways coordinate through heartbeats.
 */
final class SoleWriter {

    private final FileChannel channel;
    private final FileLock lock;

    private SoleWriter(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static SoleWriter claim(String jdbcUrl) {
        Path db = Store.sqliteFile(jdbcUrl).orElse(null);
        if (db == null) return new SoleWriter(null, null);
        Path lockFile = db.resolveSibling(db.getFileName() + ".gateway-lock");
        try {
            Files.createDirectories(lockFile.toAbsolutePath().getParent());
            FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                l = null;
            }
            if (l == null) {
                ch.close();
                throw new IllegalStateException("another Carapace gateway is already serving " + db
                        + "; stop it first (a SQLite store has one gateway; use PostgreSQL to run several)");
            }
            return new SoleWriter(ch, l);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock " + lockFile, e);
        }
    }

    void release() {
        if (channel == null) return;
        try {
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // the lock dies with the channel anyway
        }
    }
}
