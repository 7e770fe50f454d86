package dev.carapace.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A compaction of the journal's file ({@link JournalFile#beginCompaction}): its copy is made while frames are still
 * appended, and what they append meanwhile comes along.
 */
class JournalCompactionTest {

    @TempDir Path dir;

    /**
     * Regression: a compaction held the journal's append lock while it copied the kept frames and synced them to disk,
     * so every call waited for some MB of copying and an fsync, every few seconds under full load. The copy and its
     * sync now take no lock; frames appended before it, during it and after it are all in the compacted file, in
     * order, once, and nothing before the cut is.
     */
    @Test
    void framesAppendedWhileTheCopyIsMadeAreInTheCompactedFile() throws Exception {
        Path path = dir.resolve("j.db-ledger");
        long cut;
        try (JournalFile file = JournalFile.open(path)) {
            append(file, 1, 4);
            cut = file.bytes();
            append(file, 5, 10);
            JournalFile.Compaction compaction = file.beginCompaction(cut);
            append(file, 11, 15);   // after the copy's end was taken, before it is made
            compaction.copy();
            append(file, 16, 20);   // after the copy, before it takes the file's place
            assertThat(file.finishCompaction(compaction)).isTrue();
            assertThat(Files.exists(dir.resolve("j.db-ledger.compact"))).isFalse();
            append(file, 21, 22);   // into the new file
        }
        assertThat(seqsIn(path)).containsExactlyElementsOf(range(5, 22));
    }

    /** A compaction begun before the file was emptied (or cut) must not put its copy of the old bytes in place. */
    @Test
    void aCompactionOfAFileEmptiedSinceItBeganIsDiscarded() throws Exception {
        Path path = dir.resolve("e.db-ledger");
        try (JournalFile file = JournalFile.open(path)) {
            append(file, 1, 6);
            JournalFile.Compaction compaction = file.beginCompaction(0);
            compaction.copy();
            file.truncate(0);
            append(file, 7, 8);
            assertThat(file.finishCompaction(compaction)).isFalse();
            assertThat(Files.exists(dir.resolve("e.db-ledger.compact"))).isFalse();
            append(file, 9, 9);
        }
        assertThat(seqsIn(path)).containsExactlyElementsOf(range(7, 9));
    }

    private static void append(JournalFile file, long first, long last) throws Exception {
        for (long seq = first; seq <= last; seq++) {
            JournalEntry e = JournalEntry.record(ReservationsTest.record("req-" + seq, 1, 1, seq));
            file.write(new ByteBuffer[] {e.encode()}, seq);
        }
    }

    private static List<Long> seqsIn(Path path) throws Exception {
        List<Long> seqs = new ArrayList<>();
        try (JournalFile file = JournalFile.open(path)) {
            JournalFile.Recovered r = file.recover((seq, entry) -> {
                assertThat(JournalEntry.decode(entry).record().requestId()).isEqualTo("req-" + seq);
                seqs.add(seq);
            });
            assertThat(r.tornBytes()).isZero();
            file.truncate(r.validEnd());
        }
        return seqs;
    }

    private static List<Long> range(long first, long last) {
        List<Long> out = new ArrayList<>();
        for (long i = first; i <= last; i++) out.add(i);
        return out;
    }
}
