package dev.carapace.store;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * PostgreSQL for tests run as root where user namespaces are not available: the zonky binaries, unpacked by
 * hand, run as uid/gid 65534 through {@code setpriv} (util-linux, present on every Debian/Ubuntu image). Root
 * keeps CAP_SETUID in a default Docker container, so this needs no privilege beyond what root already has.
 */
final class NobodyPostgres {

    private static final int NOBODY = 65534;

    private final Path home;
    private final Process postmaster;
    private final int port;

    private NobodyPostgres(Path home, Process postmaster, int port) {
        this.home = home;
        this.postmaster = postmaster;
        this.port = port;
    }

    int port() { return port; }

    static boolean runningAsRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    static NobodyPostgres start() throws IOException {
        Path home = Files.createTempDirectory("carapace-pg-");
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path dist = home.resolve("dist");
        try (InputStream txz = DefaultPostgresBinaryResolver.INSTANCE.getPgBinary("Linux", "x86_64")) {
            unpack(txz, dist);
        }
        Path data = home.resolve("data");
        Files.createDirectory(data);
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwx------"));
        Files.setAttribute(data, "unix:uid", NOBODY);
        Files.setAttribute(data, "unix:gid", NOBODY);

        run(List.of(dist.resolve("bin/initdb").toString(), "-A", "trust", "-U", TestPostgres.USER,
                "-D", data.toString(), "-E", "UTF8", "--locale=C", "--no-sync"), home.resolve("initdb.log"));

        int port;
        try (ServerSocket s = new ServerSocket(0)) { port = s.getLocalPort(); }
        List<String> cmd = asNobody(List.of(dist.resolve("bin/postgres").toString(), "-D", data.toString(),
                "-p", Integer.toString(port), "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=" + data, "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=200"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(home.resolve("postgres.log").toFile()).start();
        NobodyPostgres pg = new NobodyPostgres(home, p, port);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (Connection ignored = DriverManager.getConnection(
                    "jdbc:postgresql://127.0.0.1:" + port + "/postgres", TestPostgres.USER, "")) {
                return pg;
            } catch (SQLException e) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    pg.stop();
                    throw new IOException("postgres did not come up; see " + home.resolve("postgres.log")
                            + ":\n" + tail(home.resolve("postgres.log")), e);
                }
                sleep(100);
            }
        }
    }

    /** Fast shutdown (SIGINT), then the files go. */
    void stop() {
        try {
            if (postmaster.isAlive()) {
                // SIGINT is PostgreSQL's fast shutdown; Process.destroy() would send SIGTERM (smart shutdown)
                new ProcessBuilder("sh", "-c", "kill -INT " + postmaster.pid()).start().waitFor();
                if (!postmaster.waitFor(10, TimeUnit.SECONDS)) postmaster.destroyForcibly().waitFor();
            }
            deleteTree(home);
        } catch (IOException | InterruptedException e) {
            System.err.println("could not stop embedded postgres cleanly: " + e);
        }
    }

    private static List<String> asNobody(List<String> command) {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                "--clear-groups", "--"));
        cmd.addAll(command);
        return cmd;
    }

    private static void run(List<String> command, Path log) throws IOException {
        Process p = new ProcessBuilder(asNobody(command)).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(command.get(0) + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(command.get(0) + " exited with " + p.exitValue() + ":\n" + tail(log));
        }
    }

    private static void unpack(InputStream txz, Path target) throws IOException {
        try (TarArchiveInputStream tar = new TarArchiveInputStream(
                new XZCompressorInputStream(new BufferedInputStream(txz)))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                Path out = target.resolve(e.getName()).normalize();
                if (!out.startsWith(target)) throw new IOException("bad entry " + e.getName());
                if (e.isDirectory()) {
                    Files.createDirectories(out);
                } else if (e.isSymbolicLink()) {
                    Files.createDirectories(out.getParent());
                    Files.createSymbolicLink(out, Path.of(e.getLinkName()));
                } else {
                    Files.createDirectories(out.getParent());
                    Files.copy(tar, out);
                    Files.setPosixFilePermissions(out, (e.getMode() & 0111) != 0
                            ? PosixFilePermissions.fromString("rwxr-xr-x")
                            : PosixFilePermissions.fromString("rw-r--r--"));
                }
            }
        }
        try (Stream<Path> dirs = Files.walk(target)) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                Set<PosixFilePermission> perms = PosixFilePermissions.fromString("rwxr-xr-x");
                Files.setPosixFilePermissions(d, perms);
            }
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
