package dev.carapace.model;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ApiExceptionTest {

    @Test
    void aMessageThatNamesItsFieldGivesTheParam() {
        assertThat(ApiException.invalidNamed("since: expected an ISO instant", null).param()).isEqualTo("since");
        assertThat(ApiException.invalidNamed("limits.max_cost: between 0 and 1000000 USD", "x").param()).isEqualTo("limits.max_cost");
        assertThat(ApiException.invalidNamed("tools[2]: unknown tool", null).param()).isEqualTo("tools[2]");
    }

    @Test
    void otherwiseTheFallback() {
        assertThat(ApiException.invalidNamed("No such thing: none", "id").param()).as("not a field name").isEqualTo("id");
        assertThat(ApiException.invalidNamed("email:boss@corp.example: bound in the config", "sender").param()).isEqualTo("sender");
        assertThat(ApiException.invalidNamed("no colon here", null).param()).isNull();
        assertThat(ApiException.invalidNamed("since: x", null).getMessage()).isEqualTo("since: x");
    }
}
