package dev.carapace.ledger;

import dev.carapace.model.Price;
import dev.carapace.model.Usage;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MoneyPricingPeriodTest {

    private static Price price(String in, String out, String cached) {
        return new Price(new BigDecimal(in), new BigDecimal(out), new BigDecimal(cached));
    }

    // ---- Pricing ----

    @Test
    void oneTokenCostsPriceTimesAThousandNanos() {
        Price p = price("0.15", "0.6", "0.075");
        assertThat(Pricing.cost(p, new Usage(1, 0, 1, 0, 0, false))).as("one cached token at 0.075/M").isEqualTo(75);
        assertThat(Pricing.cost(p, Usage.of(1, 0))).as("one input token at 0.15/M").isEqualTo(150);
        assertThat(Pricing.cost(p, Usage.of(0, 1))).as("one output token at 0.6/M").isEqualTo(600);
        assertThat(Pricing.cost(p, Usage.ZERO)).isZero();
    }

    @Test
    void cachedTokensArePartOfTheInputAndPricedAtTheCachedPrice() {
        Price p = price("3", "15", "0.3");
        // 1000 input of which 600 cached, 200 output (50 of them reasoning: already inside output)
        long cost = Pricing.cost(p, new Usage(1000, 200, 600, 100, 50, false));
        assertThat(cost).isEqualTo(400 * 3_000L + 600 * 300L + 200 * 15_000L);
        // more cached than input (a confused upstream) never makes the uncached part negative
        assertThat(Pricing.cost(p, new Usage(10, 0, 50, 0, 0, false))).isEqualTo(10 * 300L);
    }

    @Test
    void roundsHalfUpOnceAtTheEndNotPerComponent() {
        Price tiny = price("0.0004", "0.0005", "0.0004");
        assertThat(Pricing.cost(tiny, Usage.of(1, 0))).as("0.4 nano").isZero();
        assertThat(Pricing.cost(tiny, Usage.of(0, 1))).as("0.5 nano, half up").isEqualTo(1);
        assertThat(Pricing.cost(tiny, Usage.of(2, 0))).as("0.8 nano").isEqualTo(1);
        // 0.4 (input) + 0.4 (output) = 0.8 -> 1, where rounding each part first would give 0
        Price p2 = price("0.0004", "0.0004", "0.0004");
        assertThat(Pricing.cost(p2, Usage.of(1, 1))).isEqualTo(1);
    }

    @Test
    void bigNumbersStayExact() {
        Price p = price("150", "600", "75");
        long tokens = 2_000_000_000L;   // two billion tokens each way
        long cost = Pricing.cost(p, Usage.of(tokens, tokens));
        assertThat(cost).isEqualTo(tokens * 150_000L + tokens * 600_000L);   // 1.5e15 nanos = 1.5 million USD
        // a price with many decimals over many tokens: exact, no binary floating point anywhere
        Price odd = price("0.123456789", "0.987654321", "0.000000001");
        long n = 1_000_000_007L;
        BigDecimal exact = new BigDecimal("0.123456789").add(new BigDecimal("0.987654321"))
                .multiply(BigDecimal.valueOf(n)).multiply(BigDecimal.valueOf(1000));
        assertThat(Pricing.cost(odd, Usage.of(n, n)))
                .isEqualTo(exact.setScale(0, java.math.RoundingMode.HALF_UP).longValueExact());
    }

    @Test
    void worstCaseIsEveryPromptTokenUncachedPlusAllOutput() {
        Price p = price("3", "6", "0.3");
        assertThat(Pricing.worstCase(p, 51, 4096)).isEqualTo(51 * 3_000L + 4096 * 6_000L);
        assertThat(Pricing.worstCase(p, 51, 4096)).isGreaterThanOrEqualTo(Pricing.cost(p, new Usage(51, 4096, 51, 0, 0, false)));
    }

    // ---- Money ----

    @Test
    void moneyAmountsAndFormatting() {
        assertThat(Money.nanos(new BigDecimal("0.000000075"))).isEqualTo(75);
        assertThat(Money.nanos(new BigDecimal("1000000000"))).isEqualTo(1_000_000_000_000_000_000L);
        assertThat(Money.amount(75)).isEqualByComparingTo("0.000000075");
        assertThat(Money.amount(75).toPlainString()).isEqualTo("0.000000075");
        assertThat(Money.amount(1_500_000_000L).toPlainString()).isEqualTo("1.5");
        assertThat(Money.amount(10_000_000_000L).toPlainString()).isEqualTo("10");
        assertThat(Money.amount(0).toPlainString()).isEqualTo("0");

        assertThat(Money.format(0)).isEqualTo("0.00");
        assertThat(Money.format(1_000_000_000L)).isEqualTo("1.00");
        assertThat(Money.format(1_500_000_000L)).isEqualTo("1.50");
        assertThat(Money.format(1_234_000_000_000L)).isEqualTo("1234.00");
        assertThat(Money.format(10_000_000_000_000L)).as("stripped to 1E+4 internally, still plain").isEqualTo("10000.00");
        assertThat(Money.format(4_200_000L)).as("a fraction of a cent keeps its digits").isEqualTo("0.0042");
        assertThat(Money.format(1)).isEqualTo("0.000000001");
        assertThat(Money.format(-2_500_000_000L)).isEqualTo("-2.50");
        assertThat(Money.format(1_000_000_000_000_000_000L)).isEqualTo("1000000000.00");
        // nanos and amount are inverse
        for (long n : new long[] {0, 1, 75, 999_999_999, 1_000_000_001, 123_456_789_012_345L, Long.MAX_VALUE}) {
            assertThat(Money.nanos(Money.amount(n))).isEqualTo(n);
        }
        assertThatThrownBy(() -> Money.nanos(new BigDecimal("1e20"))).isInstanceOf(ArithmeticException.class);
    }

    // ---- Period ----

    private static final ZoneId PARIS = ZoneId.of("Europe/Paris");

    private static Instant paris(String localDateTime) {
        return LocalDateTime.parse(localDateTime).atZone(PARIS).toInstant();
    }

    @Test
    void dayWindowsAcrossTheSpringForwardChangeInParis() {
        // 2026-03-29: clocks go from 02:00 to 03:00, so the day lasts 23 hours
        Instant noon = paris("2026-03-29T12:00");
        assertThat(Period.DAY.start(noon, PARIS)).isEqualTo(Instant.parse("2026-03-28T23:00:00Z"));
        assertThat(Period.DAY.reset(noon, PARIS)).isEqualTo(Instant.parse("2026-03-29T22:00:00Z"));
        assertThat(Duration.between(Period.DAY.start(noon, PARIS), Period.DAY.reset(noon, PARIS))).hasHours(23);
        // an instant just after the change still belongs to that day
        Instant afterJump = Instant.parse("2026-03-29T01:30:00Z");   // 03:30 CEST
        assertThat(Period.DAY.start(afterJump, PARIS)).isEqualTo(Instant.parse("2026-03-28T23:00:00Z"));
        // the last instant of the day and the first of the next
        assertThat(Period.DAY.start(Instant.parse("2026-03-29T21:59:59.999Z"), PARIS)).isEqualTo(Instant.parse("2026-03-28T23:00:00Z"));
        assertThat(Period.DAY.start(Instant.parse("2026-03-29T22:00:00Z"), PARIS)).isEqualTo(Instant.parse("2026-03-29T22:00:00Z"));
    }

    @Test
    void dayWindowsAcrossTheFallBackChangeInParis() {
        // 2026-10-25: clocks go from 03:00 back to 02:00, so the day lasts 25 hours
        Instant noon = paris("2026-10-25T12:00");
        assertThat(Period.DAY.start(noon, PARIS)).isEqualTo(Instant.parse("2026-10-24T22:00:00Z"));
        assertThat(Period.DAY.reset(noon, PARIS)).isEqualTo(Instant.parse("2026-10-25T23:00:00Z"));
        assertThat(Duration.between(Period.DAY.start(noon, PARIS), Period.DAY.reset(noon, PARIS))).hasHours(25);
        // both 02:30s (CEST then CET) are the same day
        assertThat(Period.DAY.start(Instant.parse("2026-10-25T00:30:00Z"), PARIS)).isEqualTo(Instant.parse("2026-10-24T22:00:00Z"));
        assertThat(Period.DAY.start(Instant.parse("2026-10-25T01:30:00Z"), PARIS)).isEqualTo(Instant.parse("2026-10-24T22:00:00Z"));
    }

    @Test
    void weekWindowsStartOnMondayInTheZoneAndSpanAChange() {
        // Monday 2026-03-23 .. Monday 2026-03-30, containing the spring change: 7 days minus an hour
        Instant sunday = paris("2026-03-29T20:00");
        assertThat(Period.WEEK.start(sunday, PARIS)).isEqualTo(paris("2026-03-23T00:00"));
        assertThat(Period.WEEK.reset(sunday, PARIS)).isEqualTo(paris("2026-03-30T00:00"));
        assertThat(Duration.between(Period.WEEK.start(sunday, PARIS), Period.WEEK.reset(sunday, PARIS)))
                .isEqualTo(Duration.ofDays(7).minusHours(1));
        // a Monday is its own week's start; Sunday 23:30 Paris is still the old week although it is Monday in UTC+14
        Instant monday = paris("2026-03-30T00:00");
        assertThat(Period.WEEK.start(monday, PARIS)).isEqualTo(monday);
        assertThat(Period.WEEK.start(paris("2026-03-29T23:30"), PARIS)).isEqualTo(paris("2026-03-23T00:00"));
        // the same instant is in different weeks in different zones
        Instant t = Instant.parse("2026-03-29T23:30:00Z");   // Monday 01:30 in Paris, Sunday 19:30 in New York
        assertThat(Period.WEEK.start(t, PARIS)).isEqualTo(paris("2026-03-30T00:00"));
        ZoneId ny = ZoneId.of("America/New_York");
        assertThat(Period.WEEK.start(t, ny)).isEqualTo(LocalDateTime.parse("2026-03-23T00:00").atZone(ny).toInstant());
    }

    @Test
    void monthWindowsAtMonthEndsAndAcrossAChange() {
        // Jan 31 late evening in Paris is still January; the reset is Feb 1 00:00 Paris = Jan 31 23:00 UTC
        Instant jan31 = paris("2026-01-31T23:30");
        assertThat(Period.MONTH.start(jan31, PARIS)).isEqualTo(Instant.parse("2025-12-31T23:00:00Z"));
        assertThat(Period.MONTH.reset(jan31, PARIS)).isEqualTo(Instant.parse("2026-01-31T23:00:00Z"));
        // ... but the same UTC instant is February in Paris's view only after 23:00 UTC
        assertThat(Period.MONTH.start(Instant.parse("2026-01-31T23:00:00Z"), PARIS)).isEqualTo(Instant.parse("2026-01-31T23:00:00Z"));
        assertThat(Period.MONTH.start(Instant.parse("2026-01-31T22:59:59Z"), PARIS)).isEqualTo(Instant.parse("2025-12-31T23:00:00Z"));
        // February (28 days in 2026) resets on March 1
        Instant feb = paris("2026-02-15T10:00");
        assertThat(Period.MONTH.reset(feb, PARIS)).isEqualTo(paris("2026-03-01T00:00"));
        // March spans the spring change: 31 days minus an hour; October the fall change: 31 days plus an hour
        Instant march = paris("2026-03-31T23:59");
        assertThat(Duration.between(Period.MONTH.start(march, PARIS), Period.MONTH.reset(march, PARIS)))
                .isEqualTo(Duration.ofDays(31).minusHours(1));
        Instant october = paris("2026-10-01T00:00");
        assertThat(Period.MONTH.start(october, PARIS)).isEqualTo(october);
        assertThat(Duration.between(Period.MONTH.start(october, PARIS), Period.MONTH.reset(october, PARIS)))
                .isEqualTo(Duration.ofDays(31).plusHours(1));
        // December rolls into the next year
        assertThat(Period.MONTH.reset(paris("2026-12-31T23:59"), PARIS)).isEqualTo(paris("2027-01-01T00:00"));
    }

    @Test
    void noneNeverResets() {
        Instant t = Instant.parse("2026-03-29T01:30:00Z");
        assertThat(Period.NONE.start(t, PARIS)).isEqualTo(Instant.EPOCH);
        assertThat(Period.NONE.reset(t, PARIS)).isNull();
    }

    @Test
    void windowsTileTimeInManyZones() {
        // Zones with DST at midnight (Santiago, formerly Sao Paulo), half-hour offsets, the date line, and Paris.
        List<ZoneId> zones = List.of(PARIS, ZoneId.of("UTC"), ZoneId.of("America/Santiago"), ZoneId.of("America/Sao_Paulo"),
                ZoneId.of("Asia/Kolkata"), ZoneId.of("Pacific/Apia"), ZoneId.of("Australia/Lord_Howe"), ZoneId.of("America/Havana"));
        Random random = new Random(42);
        Instant from = Instant.parse("2010-01-01T00:00:00Z");
        long span = Duration.ofDays(366 * 20).toSeconds();
        for (int i = 0; i < 1_500; i++) {
            Instant now = from.plusSeconds((long) (random.nextDouble() * span));
            for (ZoneId zone : zones) {
                for (Period p : List.of(Period.DAY, Period.WEEK, Period.MONTH)) {
                    Instant start = p.start(now, zone);
                    Instant reset = p.reset(now, zone);
                    String where = p + " " + zone + " " + now;
                    assertThat(start).as(where).isBeforeOrEqualTo(now);
                    assertThat(reset).as(where).isAfter(now);
                    assertThat(p.start(reset, zone)).as("the next window starts at the reset: " + where).isEqualTo(reset);
                    assertThat(p.start(reset.minusNanos(1), zone)).as("the window ends just before its reset: " + where).isEqualTo(start);
                    assertThat(p.start(start, zone)).as(where).isEqualTo(start);
                    ZonedDateTime local = start.atZone(zone);
                    if (p == Period.MONTH) assertThat(local.getDayOfMonth()).as(where).isEqualTo(1);
                    if (p == Period.WEEK) assertThat(local.getDayOfWeek()).as(where).isEqualTo(java.time.DayOfWeek.MONDAY);
                }
            }
        }
    }
}
