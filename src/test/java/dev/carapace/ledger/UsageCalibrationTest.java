package dev.carapace.ledger;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The estimates a call cut off by a crash is charged at, from what its model's completed calls used. */
class UsageCalibrationTest {

    final UsageCalibration c = new UsageCalibration();

    @Test
    void aModelWithNoCompletedCallIsEstimatedAtItsBounds() {
        assertThat(c.prompt("m", 400)).isEqualTo(400);
        assertThat(c.output("m", 4096)).isEqualTo(4096);
    }

    @Test
    void completedCallsScaleThePromptsBoundAndSetTheOutputNeverPastItsBounds() {
        c.observe("m", 400, 100, true, 30);   // a quarter of its bound, 30 out
        assertThat(c.prompt("m", 800)).isEqualTo(200);
        assertThat(c.output("m", 4096)).isEqualTo(30);
        assertThat(c.output("m", 10)).as("max_tokens bounds it").isEqualTo(10);
        assertThat(c.prompt("other", 800)).as("per model").isEqualTo(800);

        for (int i = 0; i < 500; i++) c.observe("m", 400, 200, true, 90);   // the model's calls change
        assertThat(c.prompt("m", 800)).isBetween(399L, 401L);
        assertThat(c.output("m", 4096)).isBetween(89L, 91L);
    }

    @Test
    void anImpossibleReportGuidesNothing() {
        c.observe("m", 400, 100, true, 30);
        c.observe("m", 400, 5_000, true, 1_000_000);   // a prompt past its bound: the report is not believed
        c.observe("m", 0, 0, true, 0);                 // nothing bounded
        assertThat(c.prompt("m", 400)).isEqualTo(100);
        assertThat(c.output("m", 4096)).isEqualTo(30);
    }

    @Test
    void aCallWithNoOutputLeavesTheOutputAverageAlone() {
        c.observe("m", 400, 100, true, 30);
        c.observe("m", 400, 100, false, 0);   // embeddings: no output asked
        assertThat(c.output("m", 4096)).isEqualTo(30);
    }
}
