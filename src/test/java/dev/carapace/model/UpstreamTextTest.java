package dev.carapace.model;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class UpstreamTextTest {

    @Test
    void keysOfTheCommonShapesAreMasked() {
        assertThat(UpstreamText.clean("invalid x-api-key sk-ant-api03-AbCdEf123456-xyz"))
                .isEqualTo("invalid x-api-key sk-***");
        assertThat(UpstreamText.clean("API key not valid: AIzaSyA1234567890abcdefghijklmnop. Please pass a valid key."))
                .isEqualTo("API key not valid: AIza***. Please pass a valid key.");
        assertThat(UpstreamText.clean("header was 'Authorization: Bearer eyJhbGciOi.J9x-y_z' for this call"))
                .isEqualTo("header was 'Authorization: Bearer ***' for this call");
        assertThat(UpstreamText.clean("Access denied due to invalid subscription key 0123456789abcdef0123456789abcdef."))
                .isEqualTo("Access denied due to invalid subscription key ***.");
    }

    @Test
    void ordinaryWordsAndIdsAreKept() {
        String said = "This model's maximum context length is 128000 tokens; model meta-llama/Llama-3.1-70B-Instruct, "
                + "request req_0123456789ab, " + "y".repeat(40);
        assertThat(UpstreamText.clean(said)).isEqualTo(said);
    }

    @Test
    void oneLineAndCutToTheLimitAfterMasking() {
        String cleaned = UpstreamText.clean("first\n\tline  " + "word ".repeat(200) + " sk-live-1234567890");
        assertThat(cleaned).startsWith("first line word").endsWith("...").hasSize(UpstreamText.LIMIT + 3);
        // a key right at the limit is masked before the cut, not cut into something that no longer looks like one
        String atTheEdge = UpstreamText.clean("x".repeat(UpstreamText.LIMIT - 10) + " sk-live-1234567890abcdef");
        assertThat(atTheEdge).doesNotContain("sk-live").doesNotContain("12345");
    }

    @Test
    void aSecretIsMaskedWholeOrCutShort() {
        String key = "corp.key:Zq-91_abcdefghij";
        assertThat(UpstreamText.withoutSecret("bad key " + key + " (twice: " + key + ")", key))
                .isEqualTo("bad key *** (twice: ***)");
        assertThat(UpstreamText.withoutSecret("bad key 'corp.key:Zq-9…' given", key)).isEqualTo("bad key '***' given");
        assertThat(UpstreamText.withoutSecret("nothing of it here", key)).isEqualTo("nothing of it here");
        assertThat(UpstreamText.withoutSecret("no key configured", null)).isEqualTo("no key configured");
        // cut off at the limit by clean() before the provider masks it: its start right before the "..."
        String cut = UpstreamText.clean("x".repeat(UpstreamText.LIMIT - 9) + " key " + key + " rest");
        assertThat(cut).endsWith("corp...");
        assertThat(UpstreamText.withoutSecret(cut, key)).endsWith(" key ***...").doesNotContain("corp");
    }
}
