package dev.carapace.text;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;

import static org.assertj.core.api.Assertions.assertThat;

class DecimalsTest {

    @Test
    void ordinaryDecimalsAreKeptExactly() {
        assertThat(Decimals.parse("500.00")).isEqualByComparingTo("500").hasToString("500.00");
        assertThat(Decimals.parse("0.000000001")).isEqualByComparingTo("1e-9");
        assertThat(Decimals.parse("1e6")).isEqualByComparingTo("1000000");
        assertThat(Decimals.parse("-0.25")).isEqualByComparingTo("-0.25");
        assertThat(Decimals.bounded(new BigDecimal("9".repeat(40)))).isNotNull();
    }

    /** Regression: 1e-999999999 as a job's max_cost or an audio temperature ran the heap out when written out. */
    @Test
    void shortInputsThatWouldBeHugeWrittenOutAreRefused() {
        for (String s : new String[] {"1e-999999999", "1E+999999999", "1e41", "1e-41", "0." + "0".repeat(40) + "1"}) {
            assertThat(Decimals.parse(s)).as(s).isNull();
        }
        assertThat(Decimals.bounded(new BigDecimal("1e-999999999"))).isNull();
    }

    @Test
    void whatIsNotADecimalIsNull() {
        for (String s : new String[] {"", "abc", "1,5", "NaN", "Infinity", "0x10", null, "1".repeat(81)}) {
            assertThat(Decimals.parse(s)).as("%s", s).isNull();
        }
    }
}
