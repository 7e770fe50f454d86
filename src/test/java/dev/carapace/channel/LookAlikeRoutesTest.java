package dev.carapace.channel;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A look-alike address or media type does not take what it imitates: only A-Z fold. {@code equalsIgnoreCase} took
 * the Kelvin sign for a k, so a mail to a look-alike of an allowed address got its route past a denying {@code *}.
 */
class LookAlikeRoutesTest {

    @Test
    void aKelvinSignAddressDoesNotTakeTheRouteOfTheAddressItImitates() {
        ChannelSpec spec = new ChannelSpec("mail", "email", List.of(new AgentRoute("kate@corp.example", "desk", Access.ALLOW),
                new AgentRoute("*", "desk", Access.DENY)), UnknownSenders.PAIR, 1000, List.of("text/*", "image/png"), null);
        assertThat(spec.route("KATE@Corp.Example").access()).isEqualTo(Access.ALLOW);
        assertThat(spec.route("\u212Aate@corp.example").access()).isEqualTo(Access.DENY);
        assertThat(spec.takes("TEXT/plain")).isTrue();
        assertThat(spec.takes("IMAGE/PNG")).isTrue();
        assertThat(spec.takes("image/pn\u0261")).isFalse();
        assertThat(spec.takes("\u0165ext/plain")).isFalse();
    }
}
