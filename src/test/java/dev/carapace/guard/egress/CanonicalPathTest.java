package dev.carapace.guard.egress;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CanonicalPathTest {

    @ParameterizedTest
    @CsvSource({"/,/", "/a/b,/a/b", "/a/b/,/a/b/", "//a//b,/a/b", "/a/./b,/a/b", "/a/../b,/b", "/a/b/..,/a/",
            "/a/%2e%2E/b,/b", "/%7Euser/%41,/~user/A", "/a%20b,/a%20b", "/a%3fb,/a%3Fb", "/a/.,/a/", "/a/b/%2e,/a/b/"})
    void canonicalForms(String raw, String canonical) {
        assertThat(CanonicalPath.of(raw)).isEqualTo(canonical);
    }

    @ParameterizedTest
    @CsvSource({"/a%2fb,encoded slash", "/a%5Cb,encoded slash", "/..,above the root", "/a/../..,above the root",
            "/a%00,control", "/a%,incomplete", "/a%g1,invalid", "/a\\b,backslash", "a/b,must start"})
    void refusedForms(String raw, String why) {
        assertThatThrownBy(() -> CanonicalPath.of(raw)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(why);
    }
}
