package dev.carapace.guard.url;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CanonicalHostTest {

    @ParameterizedTest
    @CsvSource({"2130706433,127.0.0.1", "0177.0.0.1,127.0.0.1", "0x7f.1,127.0.0.1", "127.1,127.0.0.1",
            "0x7f.0x0.0.01,127.0.0.1", "10.1.0x100,10.1.1.0", "0,0.0.0.0", "1.2.3.4.,1.2.3.4",
            "[::ffff:127.0.0.1],127.0.0.1", "[::ffff:a9fe:a9fe],169.254.169.254", "[FD00:EC2::254],fd00:ec2:0:0:0:0:0:254",
            "API.Example.COM.,api.example.com"})
    void hostsBecomeCanonical(String raw, String canonical) {
        assertThat(CanonicalHost.of(raw).name()).isEqualTo(canonical);
    }

    @Test
    void namesAreNotLiterals() {
        assertThat(CanonicalHost.of("api.github.com").literal()).isNull();
        assertThat(CanonicalHost.of("x-1.example").literal()).isNull();
        assertThatThrownBy(() -> CanonicalHost.of("1.2.3.256")).hasMessageContaining("IPv4");
        assertThatThrownBy(() -> CanonicalHost.of("4294967296")).hasMessageContaining("IPv4");
        assertThatThrownBy(() -> CanonicalHost.of("-a.example")).hasMessageContaining("DNS name");
    }
}
