package dev.carapace.memory;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Chunking: each chunk is the slice of the body its offsets say, a heading starts a new chunk, short paragraphs are
 * packed together, a long section overlaps its neighbours, a fenced code block is not cut at its blank lines, and
 * nothing of the body is lost.
 */
class ChunkerTest {

    private final Chunker chunker = new Chunker(200, 40);

    @Test
    void chunksAreSlicesOfTheBodyAndHeadingsStartNewOnes() {
        String body = "# Deploys\n\nWe deploy on Tuesdays.\n\nRollbacks take five minutes.\n\n## Billing\n\nInvoices go out monthly.\n";
        List<Chunker.Chunk> chunks = chunker.chunks(body);
        assertThat(chunks).extracting(Chunker.Chunk::text).containsExactly(
                "# Deploys\n\nWe deploy on Tuesdays.\n\nRollbacks take five minutes.",
                "## Billing\n\nInvoices go out monthly.");
        for (Chunker.Chunk c : chunks) assertThat(body.substring(c.start(), c.end())).isEqualTo(c.text());
    }

    @Test
    void aLongSectionIsCutAtParagraphsWithOverlapAndLosesNothing() {
        StringBuilder sb = new StringBuilder("# Runbook\n\n");
        for (int i = 0; i < 12; i++) sb.append("Step ").append(i).append(": check the queue depth and the lag of replica ").append(i).append(".\n\n");
        String body = sb.toString();
        List<Chunker.Chunk> chunks = chunker.chunks(body);
        assertThat(chunks).hasSizeGreaterThan(3);
        for (Chunker.Chunk c : chunks) {
            assertThat(c.text().length()).isLessThanOrEqualTo(200);
            assertThat(body.substring(c.start(), c.end())).isEqualTo(c.text());
        }
        for (int i = 1; i < chunks.size(); i++) {
            assertThat(chunks.get(i).start()).as("overlaps the previous chunk").isLessThan(chunks.get(i - 1).end());
        }
        for (int i = 0; i < 12; i++) {
            String step = "Step " + i + ":";
            assertThat(chunks).as(step).anyMatch(c -> c.text().contains(step));
        }
    }

    @Test
    void aParagraphLongerThanAChunkIsCutAtWhiteSpace() {
        String body = "word ".repeat(200).strip();
        List<Chunker.Chunk> chunks = chunker.chunks(body);
        assertThat(chunks).hasSizeGreaterThan(5);
        for (Chunker.Chunk c : chunks) {
            assertThat(c.text()).doesNotStartWith("ord").doesNotEndWith("wor").hasSizeLessThanOrEqualTo(200);
        }
        assertThat(chunks.get(chunks.size() - 1).end()).isEqualTo(body.length());
        String unbroken = "x".repeat(450);                  // no white space at all: cut anyway, at the size
        assertThat(chunker.chunks(unbroken)).extracting(c -> c.text().length()).allMatch(n -> n <= 200);
    }

    @Test
    void aFencedCodeBlockStaysWhole() {
        String body = "Intro.\n\n```\nline one\n\nline two\n# not a heading\n```\n\nAfter.";
        List<Chunker.Chunk> chunks = new Chunker(200, 40).chunks(body);
        assertThat(chunks).singleElement().extracting(Chunker.Chunk::text).isEqualTo(body);
        assertThat(chunker.chunks("   \n\n  ")).isEmpty();
    }
}
