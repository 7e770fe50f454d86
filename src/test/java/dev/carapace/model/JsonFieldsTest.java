package dev.carapace.model;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How a client's JSON body is refused: what is wrong and where, in the client's terms, not Jackson's. */
class JsonFieldsTest {

    static final ObjectReader CLIENT = new ObjectMapper().reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    static String refusal(String body) {
        ApiException e = (ApiException) catchThrowable(body);
        assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
        return e.getMessage();
    }

    static Throwable catchThrowable(String body) {
        try {
            JsonFields.clientBody(CLIENT, body.getBytes(StandardCharsets.UTF_8));
        } catch (ApiException e) {
            return e;
        }
        throw new AssertionError("accepted: " + body);
    }

    /** Found by a tester: "Non-standard token 'Infinity': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow". */
    @Test
    void nonStandardJsonIsNamedWithoutTheLibrarysSettings() {
        for (String body : new String[] {"{\"temperature\": Infinity}", "{\"t\": NaN}", "{'a': 1}", "{\"a\": 01}", "{a: 1}",
                "{\"a\": 1,}", "{\"a\": \"\u0001\"}"}) {
            assertThat(refusal(body)).as(body).startsWith("Request body is not valid JSON: ").doesNotContain("`")
                    .doesNotContain("Feature").doesNotContain("enable").contains("line 1, column");
        }
        assertThat(refusal("{\"temperature\": Infinity}")).contains("Non-standard token 'Infinity'");
    }

    @Test
    void aFieldGivenTwiceAnEmptyBodyAndALimitAreEachNamed() {
        assertThat(refusal("{\"a\": 1, \"a\": 2}")).contains("Duplicate field 'a'");
        assertThat(refusal("")).isEqualTo("Request body is empty; expected a JSON object");
        assertThatThrownBy(() -> JsonFields.clientBody(CLIENT, new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xc0, (byte) 0xaf, '"', '}'}))
                .hasMessageContaining("not UTF-8: byte 6 (0xc0)");
    }

    /** Found by a tester: with decimals kept exact, Jackson refuses 1e-2147483649 with an unchecked exception (a 500). */
    @Test
    void anExponentNoDecimalHoldsIsA400() {
        ObjectReader exact = new ObjectMapper().reader().with(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
        for (String n : new String[] {"1e-2147483649", "1e99999999999", "-1e-99999999999"}) {
            assertThatThrownBy(() -> JsonFields.clientBody(exact, ("{\"speed\": " + n + "}").getBytes(StandardCharsets.UTF_8)))
                    .as(n).isInstanceOf(ApiException.class).hasMessageContaining("exponent is out of range");
        }
    }
}
