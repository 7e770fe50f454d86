package dev.carapace.skill.repo;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Uploaded archives read as hostile: each attack refused with a reason, before anything is kept. */
class SkillArchivesTest {

    private static final SkillArchives.Limits L = SkillArchives.Limits.DEFAULT;

    private interface TarWriter { void write(TarArchiveOutputStream t) throws Exception; }

    private static byte[] tgz(TarWriter w) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(new GZIPOutputStream(bytes))) {
            t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            w.write(t);
        }
        return bytes.toByteArray();
    }

    private static void file(TarArchiveOutputStream t, String name, byte[] data) throws Exception {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(data.length);
        t.putArchiveEntry(e);
        t.write(data);
        t.closeArchiveEntry();
    }

    private static SkillRepoException refused(byte[] archive) {
        try {
            SkillArchives.read(archive, L);
        } catch (SkillRepoException e) {
            return e;
        }
        throw new AssertionError("accepted");
    }

    @Test
    void aPlainTarGzAndZipRead() throws Exception {
        byte[] tgz = tgz(t -> file(t, "s/SKILL.md", "hi".getBytes()));
        assertThat(SkillArchives.read(tgz, L)).containsOnlyKeys("s/SKILL.md");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipArchiveOutputStream z = new ZipArchiveOutputStream(bytes)) {
            z.putArchiveEntry(new ZipArchiveEntry("./SKILL.md"));
            z.write("hi".getBytes());
            z.closeArchiveEntry();
        }
        assertThat(SkillArchives.read(bytes.toByteArray(), L)).containsOnlyKeys("SKILL.md");
    }

    @Test
    void traversalAbsolutePathsLinksAndDevicesAreRefused() throws Exception {
        assertThat(refused(tgz(t -> file(t, "../../etc/cron.d/x", "x".getBytes()))).getMessage()).contains("..");
        assertThat(refused(tgz(t -> file(t, "/etc/passwd", "x".getBytes()))).getMessage()).contains("absolute");
        assertThat(refused(tgz(t -> {
            TarArchiveEntry e = new TarArchiveEntry("s/link", TarArchiveEntry.LF_SYMLINK);
            e.setLinkName("/home/user/.ssh/id_rsa");
            t.putArchiveEntry(e);
            t.closeArchiveEntry();
        })).getMessage()).contains("link");
        assertThat(refused(tgz(t -> {
            TarArchiveEntry e = new TarArchiveEntry("s/hard", TarArchiveEntry.LF_LINK);
            e.setLinkName("s/SKILL.md");
            t.putArchiveEntry(e);
            t.closeArchiveEntry();
        })).getMessage()).contains("link");
        assertThat(refused(tgz(t -> {
            TarArchiveEntry e = new TarArchiveEntry("s/dev", TarArchiveEntry.LF_CHR);
            t.putArchiveEntry(e);
            t.closeArchiveEntry();
        })).getMessage()).contains("device");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipArchiveOutputStream z = new ZipArchiveOutputStream(bytes)) {
            ZipArchiveEntry e = new ZipArchiveEntry("s/link");
            e.setUnixMode(0120777);
            z.putArchiveEntry(e);
            z.write("/etc/shadow".getBytes(StandardCharsets.UTF_8));
            z.closeArchiveEntry();
        }
        assertThat(refused(bytes.toByteArray()).getMessage()).contains("symlink");
        assertThat(refused("not an archive".getBytes()).getMessage()).contains("not a .zip or .tar.gz");
    }

    @Test
    void sizeFileCountAndBombCapsHold() throws Exception {
        SkillRepoException big = refused(tgz(t -> file(t, "s/big.bin", new byte[(int) L.maxFileBytes() + 1])));
        assertThat(big.kind()).isEqualTo(SkillRepoException.Kind.TOO_LARGE);
        SkillRepoException many = refused(tgz(t -> {
            for (int i = 0; i <= L.maxFiles(); i++) file(t, "s/f" + i, new byte[1]);
        }));
        assertThat(many.getMessage()).contains("more than " + L.maxFiles() + " files");
        // 8 files of almost 1 MiB of zeros compress about 1000:1: the ratio cap stops it long before it is all inflated
        SkillRepoException bomb = refused(tgz(t -> {
            for (int i = 0; i < 8; i++) file(t, "s/z" + i, new byte[1024 * 1024 - 1]);
        }));
        assertThat(bomb.kind()).isEqualTo(SkillRepoException.Kind.TOO_LARGE);
        assertThat(bomb.getMessage()).contains("times its size");
    }

    @Test
    void packAndUnpackRoundTripInPathOrder() {
        Map<String, byte[]> files = Map.of("b", new byte[]{1}, "a/SKILL.md", "x".getBytes());
        Map<String, byte[]> back = SkillArchives.unpack(SkillArchives.pack(files));
        assertThat(back.keySet()).containsExactly("a/SKILL.md", "b");
        assertThat(SkillArchives.pack(files)).isEqualTo(SkillArchives.pack(back));
    }
}
