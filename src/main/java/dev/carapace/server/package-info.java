/**
 * The running gateway: the composition root ({@link dev.carapace.server.Carapace}), which builds every long-lived
 * part from the config, the HTTP API, the command line ({@link dev.carapace.server.Main}) and the adapters that wire
 * the guard's decisions into the agent runtime ({@code PolicyGuard}, {@code GrantingGuard}, {@code BwrapExec}).
 * It decides nothing about security itself: that is the guard package's.
 */
package dev.carapace.server;
