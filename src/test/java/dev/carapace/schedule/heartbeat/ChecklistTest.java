package dev.carapace.schedule.heartbeat;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ChecklistTest {

    private static final ZoneId PARIS = ZoneId.of("Europe/Paris");

    private static final String SAMPLE = """
            # Heartbeat checklist

            Some prose that mentions 2026-12-06 09:00 but is not a task.

            - [ ] 2026-12-06 09:00 Call the bank
            - [ ] 2026-12-24 Buy the tree
              * [ ] 2026-12-06T18:30 Nested, with a T
            - [ ] Check the build is green
            - [x] 2026-12-01 Renew the domain
            - [X] Done standing item
            - plain list item, no box
            - [ ] 2026-13-45 Typo in the month
            - [ ] 2026-12-06 25:00 Typo in the hour

            ```
            - [ ] 2026-01-01 00:00 an example inside a code fence
            ```
            """;

    @Test
    void readsDatedStandingAndUnreadableItemsAndIgnoresTheRest() {
        Checklist list = Checklist.parse(SAMPLE);
        assertThat(list.items()).extracting(Checklist.Item::kind).containsExactly(
                Checklist.Kind.DATED, Checklist.Kind.DATED, Checklist.Kind.DATED, Checklist.Kind.STANDING,
                Checklist.Kind.UNREADABLE, Checklist.Kind.UNREADABLE);
        Checklist.Item bank = list.items().get(0);
        assertThat(bank.line()).isEqualTo(5);
        assertThat(bank.due()).isEqualTo(LocalDateTime.of(2026, 12, 6, 9, 0));
        assertThat(bank.text()).isEqualTo("Call the bank");
        assertThat(list.items().get(1).due()).isEqualTo(LocalDateTime.of(2026, 12, 24, 0, 0));
        assertThat(list.items().get(2).due()).isEqualTo(LocalDateTime.of(2026, 12, 6, 18, 30));
        assertThat(list.standingCount()).isEqualTo(1);
        assertThat(list.unreadable()).extracting(Checklist.Item::line).containsExactly(12, 13);
        assertThat(list.truncated()).isFalse();
    }

    @Test
    void anItemIsDueFromItsLocalTimeInTheHeartbeatsZone() {
        Checklist list = Checklist.parse(SAMPLE);
        // 09:00 in Paris is 08:00 UTC in December
        assertThat(list.dueItems(Instant.parse("2026-12-06T07:59:00Z"), PARIS)).isEmpty();
        assertThat(list.dueItems(Instant.parse("2026-12-06T08:00:00Z"), PARIS))
                .extracting(Checklist.Item::text).containsExactly("Call the bank");
        // the same line in another zone is due at another instant: 09:00 at -05:00 is 14:00 UTC
        assertThat(list.dueItems(Instant.parse("2026-12-06T13:59:00Z"), ZoneOffset.ofHours(-5))).isEmpty();
        assertThat(list.dueItems(Instant.parse("2026-12-06T14:00:00Z"), ZoneOffset.ofHours(-5)))
                .extracting(Checklist.Item::text).containsExactly("Call the bank");
    }

    @Test
    void aTimeTheClocksSkipIsDueWhenTheyJump() {
        Checklist list = Checklist.parse("- [ ] 2026-03-29 02:30 Water the plants\n");
        Checklist.Item item = list.items().get(0);
        assertThat(item.dueAt(PARIS)).isEqualTo(Instant.parse("2026-03-29T01:00:00Z")); // the jump to 03:00 CEST
        Checklist.Item repeated = Checklist.parse("- [ ] 2026-10-25 02:30 Twice\n").items().get(0);
        assertThat(repeated.dueAt(PARIS)).isEqualTo(Instant.parse("2026-10-25T00:30:00Z")); // first 02:30 (CEST)
    }

    @Test
    void crlfAndCrLineEndsAndAByteOrderMarkReadLikeLf() {
        byte[] crlf = ("\uFEFF- [ ] 2026-12-06 09:00 One\r\n- [ ] Two\r- [ ] 2026-12-07 Three\r\n")
                .getBytes(StandardCharsets.UTF_8);
        Checklist list = Checklist.parse(crlf);
        assertThat(list.items()).extracting(Checklist.Item::text).containsExactly("One", "Two", "Three");
        assertThat(list.items().get(0).due()).isEqualTo(LocalDateTime.of(2026, 12, 6, 9, 0));
        assertThat(list.items()).extracting(Checklist.Item::line).containsExactly(1, 2, 3);
    }

    @Test
    void theKeyOfAnItemStaysWhenLinesMoveAroundItAndChangesWithItsText() {
        String key = Checklist.parse("- [ ] 2026-12-06 09:00 Call the bank\n").items().get(0).key();
        String moved = Checklist.parse("# title\n\nintro\n- [ ] 2026-12-06 09:00 Call the bank\n").items().get(0).key();
        String edited = Checklist.parse("- [ ] 2026-12-06 09:00 Call the bank about the loan\n").items().get(0).key();
        String redated = Checklist.parse("- [ ] 2026-12-07 09:00 Call the bank\n").items().get(0).key();
        assertThat(moved).isEqualTo(key);
        assertThat(edited).isNotEqualTo(key);
        assertThat(redated).isNotEqualTo(key);
    }

    @Test
    void aHugeChecklistIsReadOnlyToItsBound() {
        StringBuilder text = new StringBuilder();
        int line = 0;
        while (text.length() < 10 * 1024 * 1024) text.append("- [ ] 2026-12-06 09:00 Reminder ").append(line++).append('\n');
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        long start = System.nanoTime();
        Checklist list = Checklist.parse(bytes);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(list.truncated()).isTrue();
        assertThat(list.items()).hasSize(Checklist.MAX_ITEMS);
        assertThat(millis).isLessThan(2_000);
    }

    @Test
    void theLineTheByteBoundCutsThroughIsDropped() {
        String whole = "- [ ] 2026-12-06 09:00 A\n";
        String filler = "x".repeat(Checklist.MAX_BYTES - whole.length() - 10) + "\n";
        String text = filler + whole + "- [ ] 2026-12-06 09:00 This line is cut by the bound\n";
        Checklist list = Checklist.parse(text.getBytes(StandardCharsets.UTF_8));
        assertThat(list.truncated()).isTrue();
        assertThat(list.items()).extracting(Checklist.Item::text).containsExactly("A");
    }

    @Test
    void aBinaryFileHasNoItems() {
        byte[] noise = new byte[200_000];
        new Random(42).nextBytes(noise);
        for (int i = 0; i < noise.length; i++) if (noise[i] == '\n' || noise[i] == '\r') noise[i] = 0;
        Checklist list = Checklist.parse(noise);
        assertThat(list.items()).isEmpty();
    }

    @Test
    void invalidUtf8BecomesReplacementCharactersNotAnError() {
        byte[] bytes = {'-', ' ', '[', ' ', ']', ' ', 'O', 'k', ' ', (byte) 0xC3, (byte) 0x28, '\n'};
        Checklist list = Checklist.parse(bytes);
        assertThat(list.items()).singleElement().satisfies(i -> {
            assertThat(i.kind()).isEqualTo(Checklist.Kind.STANDING);
            assertThat(i.text()).startsWith("Ok ").contains("\uFFFD");
        });
    }

    @Test
    void aVeryLongItemTextIsClipped() {
        Checklist list = Checklist.parse("- [ ] 2026-12-06 09:00 " + "word ".repeat(10_000) + "\n");
        assertThat(list.items().get(0).text().length()).isLessThanOrEqualTo(Checklist.MAX_TEXT_CHARS + 3);
    }
}
