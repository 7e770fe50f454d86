package dev.carapace.channel;

/**
 * The settings only one kind of channel has (servers, credentials' secret names, polling intervals), read from its
 * block of the config ({@code email:}, {@code slack:}...). Each kind's record implements this; the hub never looks
 * inside.
 */
public interface KindSettings {}
