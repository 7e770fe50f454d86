package dev.carapace.server.api;

import dev.carapace.model.ApiException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CredentialsTest {

    static String key(Map<String, List<String>> headers) {
        return Credentials.apiKey(name -> headers.getOrDefault(name, List.of()));
    }

    @Test
    void eitherHeaderPresentsTheKey() {
        assertThat(key(Map.of("x-api-key", List.of("cpk_a")))).isEqualTo("cpk_a");
        assertThat(key(Map.of("authorization", List.of("Bearer cpk_a")))).isEqualTo("cpk_a");
        assertThat(key(Map.of("authorization", List.of("bearer cpk_a")))).isEqualTo("cpk_a");
        assertThat(key(Map.of())).isNull();
    }

    @Test
    void theSameKeyInBothOrTwiceIsOneKey() {
        assertThat(key(Map.of("x-api-key", List.of("cpk_a"), "authorization", List.of("Bearer cpk_a")))).isEqualTo("cpk_a");
        assertThat(key(Map.of("authorization", List.of("Bearer cpk_a", "Bearer cpk_a")))).isEqualTo("cpk_a");
    }

    @Test
    void anEmptyHeaderPresentsNothing() {
        assertThat(key(Map.of("x-api-key", List.of(""), "authorization", List.of("Bearer cpk_a")))).isEqualTo("cpk_a");
        assertThat(key(Map.of("x-api-key", List.of("cpk_a"), "authorization", List.of(" ")))).isEqualTo("cpk_a");
        assertThat(key(Map.of("x-api-key", List.of("")))).isNull();
    }

    /** A proxy that reads the first of two keys, or the other header, must not see another caller than Carapace does. */
    @Test
    void twoDifferentKeysAreRefusedWhateverTheOrderAndNeitherIsQuoted() {
        List<Map<String, List<String>>> conflicting = List.of(
                Map.of("authorization", List.of("Bearer cpk_good", "Bearer cpk_other")),
                Map.of("authorization", List.of("Bearer cpk_other", "Bearer cpk_good")),
                Map.of("x-api-key", List.of("cpk_good", "cpk_other")),
                Map.of("x-api-key", List.of("cpk_good"), "authorization", List.of("Bearer cpk_other")),
                Map.of("x-api-key", List.of("cpk_other"), "authorization", List.of("Bearer cpk_good")));
        for (var headers : conflicting) {
            assertThatThrownBy(() -> key(headers)).as("%s", headers).isInstanceOfSatisfying(ApiException.class, e -> {
                assertThat(e.kind()).isEqualTo(ApiException.Kind.AUTHENTICATION);
                assertThat(e.code()).isEqualTo("conflicting_api_keys");
                assertThat(e.getMessage()).doesNotContain("cpk_");
            });
        }
    }

    @Test
    void anAuthorizationThatIsNotBearerIsRefused() {
        for (String value : List.of("Basic dXNlcjpwYXNz", "Bearer\tcpk_a", "cpk_a")) {
            assertThatThrownBy(() -> key(Map.of("authorization", List.of(value)))).as(value)
                    .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_api_key"));
        }
    }
}
