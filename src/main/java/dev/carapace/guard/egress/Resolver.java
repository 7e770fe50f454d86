package dev.carapace.guard.egress;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Turns a DNS name into addresses, once per connection: the proxy checks every answer and connects only to one of
 * them, so a name cannot change its address between the check and the connection. Tests script the answers.
 */
@FunctionalInterface
public interface Resolver {

    /** The operating system's resolver. */
    Resolver SYSTEM = name -> List.of(InetAddress.getAllByName(name));

    /**
     * @param name a DNS name (never an IP literal: the proxy parses those itself)
     * @return at least one address
     */
    List<InetAddress> resolve(String name) throws UnknownHostException;
}
