package dev.carapace.schedule;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MissedRunPolicyTest {

    @Test
    void labelsRoundTrip() {
        for (MissedRunPolicy p : MissedRunPolicy.values()) assertThat(MissedRunPolicy.of(p.label())).isEqualTo(p);
        assertThat(MissedRunPolicy.RUN_ONCE.label()).isEqualTo("run_once");
        assertThat(MissedRunPolicy.DEFAULT).isEqualTo(MissedRunPolicy.RUN_ONCE);
    }

    @Test
    void anUnknownLabelListsTheAcceptedOnes() {
        assertThatThrownBy(() -> MissedRunPolicy.of("RUN_ONCE"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown missed-run policy 'RUN_ONCE'; expected one of run_once, run_all, skip");
        assertThatThrownBy(() -> MissedRunPolicy.of(null)).hasMessageContaining("'null'");
        assertThatThrownBy(() -> MissedRunPolicy.of("x".repeat(10_000) + "\n"))
                .hasMessageNotContaining("\n").hasMessageContaining("...");
    }
}
