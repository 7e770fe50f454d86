/**
 * The running gateway. This package holds the composition root, {@link dev.carapace.server.Carapace}, which builds
 * every long-lived part from the config in dependency order and stops them in reverse, with the start-up checks it
 * runs ({@code GuardWiring}, {@code OpenFiles}, {@code SoleWriter}, {@code UpstreamProbe}). It decides nothing about
 * security itself: that is the guard package's.
 *
 * <p>The rest of the server lives in rooms, one sub-package per kind of part:
 * <ul>
 *   <li>{@code server.http}: the HTTP front door (Jetty, framing, the routing table); nothing else knows Jetty.</li>
 *   <li>{@code server.api}: the HTTP routes, one class per resource, all framed by {@code HttpApi}.</li>
 *   <li>{@code server.cli}: the {@code carapace} command line, one file per command; {@code Main} is the entry point.</li>
 *   <li>{@code server.adapter}: what plugs the agent runtime's and the gateway's interfaces into the guard, the
 *       egress proxy, the sandbox, the store and the metrics.</li>
 *   <li>{@code server.json}: the JSON shapes the API and the CLI both show (agents, runs, audit, budgets, spend, keys).</li>
 *   <li>{@code server.logging}: the logback set-up and its appender.</li>
 * </ul>
 * Arrows (kept by {@code ServerRoomsTest}): the composition root uses {@code api}, {@code adapter} and {@code http};
 * {@code api} uses {@code adapter}, {@code http} and {@code json}; {@code cli} uses the composition root (to serve,
 * and to open the store as the gateway does), {@code adapter}, {@code json} and {@code logging}. Nothing uses
 * {@code cli}, and {@code http}, {@code adapter}, {@code json} and {@code logging} use no other part of the server.
 */
package dev.carapace.server;
