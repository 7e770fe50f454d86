package dev.carapace.channel;

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

    boolean matches(String to) { return address.equals("*") || address.equalsIgnoreCase(to); }
}
