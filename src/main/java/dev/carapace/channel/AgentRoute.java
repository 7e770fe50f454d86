package dev.carapace.channel;

import dev.carapace.text.AsciiCase;

import java.util.Objects;

/**
 * Which agent answers messages sent to an address of a channel, and whether it may.
 *
 * @param address the address, bot, chat or path as the channel names it ({@link Inbound#address()}), compared
 *                without case; {@code *} for any
 * @param agent   the agent's id
 * @param access  whether messages reach it
 */
public record AgentRoute(String address, String agent, Access access) {

    public AgentRoute {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(agent, "agent");
        Objects.requireNonNull(access, "access");
    }

    /**
     * Whether a message sent to {@code to} takes this route. Only A-Z fold: {@code equalsIgnoreCase} would let a
     * look-alike address (the Kelvin sign for a k) take the route of the address it imitates.
     */
    boolean matches(String to) {
        return address.equals("*") || AsciiCase.lower(address).equals(AsciiCase.lower(to));
    }
}
