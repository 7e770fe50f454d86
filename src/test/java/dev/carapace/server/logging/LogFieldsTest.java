package dev.carapace.server.logging;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LogFieldsTest {

    static String field(String value) {
        return LogFields.field(new StringBuilder(), "model", value).toString();
    }

    @Test
    void plainTokensAreWrittenAsTheyAre() {
        assertThat(field("gpt-4.1")).isEqualTo(" model=gpt-4.1");
        assertThat(field("openai/gpt-4.1:mini@eu+x_y")).isEqualTo(" model=openai/gpt-4.1:mini@eu+x_y");
        assertThat(field(null)).isEqualTo(" model=-");
    }

    @Test
    void anythingElseIsOneQuotedValue() {
        assertThat(field("x team=finance")).isEqualTo(" model=\"x team=finance\"");
        assertThat(field("a\"b\\c")).isEqualTo(" model=\"a\\\"b\\\\c\"");
        assertThat(field("")).isEqualTo(" model=\"\"");
        assertThat(field("-")).as("a value that would read as none").isEqualTo(" model=\"-\"");
        assertThat(field("café")).isEqualTo(" model=\"café\"");
        assertThat(field("x=y")).isEqualTo(" model=\"x=y\"");
    }
}
