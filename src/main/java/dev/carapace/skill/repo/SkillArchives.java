package dev.carapace.skill.repo;

import dev.carapace.skill.SkillFileException;
import dev.carapace.skill.SkillPaths;
import org.apache.commons.compress.archivers.ArchiveEntry;
import org.apache.commons.compress.archivers.ArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;
import org.apache.commons.compress.utils.SeekableInMemoryByteChannel;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;

import static dev.carapace.text.Excerpt.clip;

/**
 * Skill files in and out of archives. In: an uploaded {@code .zip} or {@code .tar.gz}, read as hostile: only regular
 * files, each path checked like every skill path (no {@code ..}, no absolute path, no NUL or hidden characters), no
 * symlinks, hard links or devices, at most {@link Limits#maxFiles} files of {@link Limits#maxFileBytes} each and
 * {@link Limits#maxTotalBytes} in all, counted as they are inflated (a zip bomb stops at the cap, whatever it
 * declares), and an overall inflation ratio cap. Out: the repository's own deterministic encoding of a file set
 * (path order, length-prefixed), which is what the store keeps.
 */
public final class SkillArchives {

    /** The caps on what one upload may hold. */
    public record Limits(int maxFiles, long maxFileBytes, long maxTotalBytes, int maxRatio) {
        /** 500 files, 1 MiB each, 8 MiB in all, and no more than 100 times the archive's size. */
        public static final Limits DEFAULT = new Limits(500, 1024 * 1024, 8L * 1024 * 1024, 100);
    }

    private SkillArchives() {}

    /** The files of a {@code .zip} or {@code .tar.gz} (recognised by their first bytes), by path. */
    public static Map<String, byte[]> read(byte[] archive, Limits limits) {
        try {
            if (archive.length >= 4 && archive[0] == 'P' && archive[1] == 'K') {
                return zipEntries(archive, limits);
            }
            if (archive.length >= 2 && (archive[0] & 0xFF) == 0x1F && (archive[1] & 0xFF) == 0x8B) {
                return entries(new TarArchiveInputStream(new GZIPInputStream(new ByteArrayInputStream(archive))), archive.length, limits);
            }
        } catch (IOException e) {
            // The library's words for it ("Error reading Zip content from SeekableInMemoryByteChannel") help no client.
            throw invalid("archive: it is damaged or cut short; expected a whole .zip or .tar.gz of a skill folder");
        }
        throw invalid("archive: not a .zip or .tar.gz (its first bytes are neither PK nor gzip's)");
    }

    /** The files taken so far from one archive, with its caps. */
    private static final class Taken {
        final Map<String, byte[]> files = new TreeMap<>();
        final Limits limits;
        final long ratioCap;
        long total;

        Taken(long archiveBytes, Limits limits) {
            this.limits = limits;
            this.ratioCap = Math.max(limits.maxTotalBytes() / 8, archiveBytes * limits.maxRatio());
        }

        void take(String name, InputStream in) throws IOException {
            String path = checkedPath(name, "archive");
            if (files.containsKey(path)) throw invalid("archive: '" + clip(path, 120) + "' appears twice");
            if (files.size() >= limits.maxFiles()) throw tooLarge("archive: more than " + limits.maxFiles() + " files");
            byte[] data = bounded(in, path, limits.maxFileBytes());
            total += data.length;
            if (total > limits.maxTotalBytes()) throw tooLarge("archive: more than " + limits.maxTotalBytes() + " bytes once unpacked");
            if (total > ratioCap) {
                throw tooLarge("archive: it unpacks to over " + limits.maxRatio() + " times its size (a compression bomb?)");
            }
            files.put(path, data);
        }
    }

    private static Map<String, byte[]> entries(ArchiveInputStream<?> in, long archiveBytes, Limits limits) throws IOException {
        Taken taken = new Taken(archiveBytes, limits);
        try (in) {
            ArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                String name = e.getName();
                if (e instanceof TarArchiveEntry t) {
                    if (t.isSymbolicLink() || t.isLink()) throw invalid("archive: '" + clip(name, 120) + "' is a link; links are not allowed in a skill");
                    if (t.isCharacterDevice() || t.isBlockDevice() || t.isFIFO()) {
                        throw invalid("archive: '" + clip(name, 120) + "' is a device or pipe; only regular files are allowed");
                    }
                    if (t.isGlobalPaxHeader() || t.isPaxHeader()) continue;
                    if (!t.isDirectory() && !t.isFile()) throw invalid("archive: '" + clip(name, 120) + "' is not a regular file");
                }
                if (e.isDirectory()) continue;
                taken.take(name, in);
            }
        }
        return taken.files;
    }

    /**
     * A zip read through its central directory, where the entries' Unix modes are (a streaming read never sees them,
     * so it would take a symlink for a file).
     */
    private static Map<String, byte[]> zipEntries(byte[] archive, Limits limits) throws IOException {
        Taken taken = new Taken(archive.length, limits);
        try (ZipFile zip = ZipFile.builder().setSeekableByteChannel(new SeekableInMemoryByteChannel(archive)).get()) {
            var all = zip.getEntries();
            while (all.hasMoreElements()) {
                ZipArchiveEntry e = all.nextElement();
                String name = e.getName();
                if (e.isUnixSymlink()) throw invalid("archive: '" + clip(name, 120) + "' is a symlink; links are not allowed in a skill");
                if (e.isDirectory()) continue;
                try (InputStream in = zip.getInputStream(e)) {
                    taken.take(name, in);
                }
            }
        }
        return taken.files;
    }

    private static byte[] bounded(InputStream in, String path, long max) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16 * 1024];
        long n = 0;
        int r;
        while ((r = in.read(buf)) > 0) {
            n += r;
            if (n > max) throw tooLarge("archive: '" + clip(path, 120) + "' is larger than " + max + " bytes");
            out.write(buf, 0, r);
        }
        return out.toByteArray();
    }

    /**
     * A path as a skill may hold it, {@code /}-separated without {@code ./}; refused with the reason otherwise.
     *
     * @param field where the path came from ({@code archive}, {@code files}), named in the refusal
     */
    public static String checkedPath(String name, String field) {
        try {
            return String.join("/", SkillPaths.names(name));
        } catch (SkillFileException e) {
            throw new SkillRepoException(SkillRepoException.Kind.INVALID, field, field + ": " + e.getMessage());
        }
    }

    /** The repository's encoding of a file set: for each file in path order, its UTF-8 path and its bytes, length-prefixed. */
    public static byte[] pack(Map<String, byte[]> files) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(files.size());
            for (Map.Entry<String, byte[]> f : new TreeMap<>(files).entrySet()) {
                byte[] p = f.getKey().getBytes(StandardCharsets.UTF_8);
                out.writeInt(p.length);
                out.write(p);
                out.writeInt(f.getValue().length);
                out.write(f.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** The files {@link #pack} encoded. */
    public static Map<String, byte[]> unpack(byte[] packed) {
        Map<String, byte[]> files = new TreeMap<>();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(packed))) {
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                String path = new String(in.readNBytes(in.readInt()), StandardCharsets.UTF_8);
                files.put(path, in.readNBytes(in.readInt()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("a stored skill version's files could not be decoded", e);
        }
        return files;
    }

    private static SkillRepoException invalid(String message) {
        return new SkillRepoException(SkillRepoException.Kind.INVALID, "archive", message);
    }

    private static SkillRepoException tooLarge(String message) {
        return new SkillRepoException(SkillRepoException.Kind.TOO_LARGE, "archive", message);
    }
}
