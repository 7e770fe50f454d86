package dev.carapace.guard.url;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Paths the way an attacker spells them, and the one spelling (or refusal) the guard turns each into. */
class CanonicalPathTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/|/", "/a/b|/a/b", "/a/b/|/a/b/", "//a//b|/a/b", "/a/./b|/a/b", "/a/../b|/b", "/a/b/..|/a/",
            "/a/%2e%2E/b|/b", "/a/.%2e/b|/b", "/%7Euser/%41|/~user/A", "/a%20b|/a%20b", "/a%3fb|/a%3Fb",
            "/a/.|/a/", "/a/b/%2e|/a/b/",
            // one spelling per character: escapes of literal-safe characters are decoded, the rest upper-cased
            "/a%21b%3a%40|/a!b:@", "/a!b|/a!b", "/x%2a|/x*", "/a%7cb|/a%7Cb", "/a^b|/a%5Eb",
            // raw Unicode and its UTF-8 escapes are the same path
            "/caf\u00e9|/caf%C3%A9", "/caf%c3%a9|/caf%C3%A9",
            // a query-looking escape stays data, never a query
            "/secret%3F/../x|/x", "/a%23b|/a%23b",
            // a trailing dot or space is kept (see lenientAlias)
            "/Washington,_D.C.|/Washington,_D.C.", "/a%20/b|/a%20/b"})
    void canonicalForms(String raw, String canonical) {
        assertThat(CanonicalPath.of(raw)).isEqualTo(canonical);
        assertThat(CanonicalPath.of(canonical)).as("idempotent").isEqualTo(canonical);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/a%2fb|encoded slash", "/a%5Cb|encoded slash", "/..|above the root", "/a/../..|above the root",
            "/a/../../b|above the root", "/%2e%2e/x|above the root",
            "/a%00|control", "/a%0d%0aX: y|control", "/a%|incomplete", "/a%4|incomplete", "/a%g1|invalid",
            "/a\\b|backslash", "a/b|must start", "/a b|space",
            "/secret;a/x|';'", "/public/..;/secret|';'", "/secret%3bx/y|';'", "/a;jsessionid=1|';'",
            "/a/%252e%252e/secret|twice", "/%25%32%65%25%32%65/x|twice", "/a%255c|twice",
            "/a/%c0%ae%c0%ae/b|UTF-8", "/%e0%80%af|UTF-8", "/%ff|UTF-8", "/%c3|UTF-8",
            "/\uff0e\uff0e/secret|normalisation", "/\uff53ecret|normalisation", "/a/.../b|only dots"})
    void refusedForms(String raw, String why) {
        assertThatThrownBy(() -> CanonicalPath.of(raw)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(why);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/secret./x", "/secret%20/x", "/secret.%20./x", "/secret/x"})
    void trailingDotsAndSpacesAliasThePlainName(String canonical) {
        assertThat(CanonicalPath.lenientAlias(canonical)).isEqualTo("/secret/x");
    }

    @Test
    void theAliasKeepsRootAndTrailingSlash() {
        assertThat(CanonicalPath.lenientAlias("/")).isEqualTo("/");
        assertThat(CanonicalPath.lenientAlias("/a./")).isEqualTo("/a/");
        assertThat(CanonicalPath.lenientAlias("/Washington,_D.C.")).isEqualTo("/Washington,_D.C");
    }
}
