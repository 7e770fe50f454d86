/**
 * Channels: the ways agents are reached besides Carapace's own API (e-mail, webhooks, Slack, Telegram), and the one
 * path every inbound message takes to an agent and its answer back.
 *
 * <ul>
 *   <li><b>The channel SPI</b> — {@link dev.carapace.channel.Channel}: a kind receives into the
 *       {@link dev.carapace.channel.Inbox} (durable before the channel acknowledges) and sends
 *       {@link dev.carapace.channel.Outbound}s. Each kind lives in its own sub-package with its settings
 *       ({@link dev.carapace.channel.KindSettings}); adding a kind adds a sub-package and a line where
 *       {@code server} builds channels.</li>
 *   <li><b>The hub</b> — {@link dev.carapace.channel.ChannelHub}: identity, route and access, privacy, agent run,
 *       reply, audit, events; its class comment is the design.</li>
 *   <li><b>Who is speaking</b> — {@link dev.carapace.channel.Identities} (a channel identity bound to a person of the
 *       org) and {@link dev.carapace.channel.Pairings} (one-time codes for unknown senders).</li>
 *   <li><b>Files</b> — {@code WorkspaceFiles}: a message's files into its agent's workspace, never through a
 *       link.</li>
 * </ul>
 *
 * <p>It knows neither the HTTP server nor the store nor the guard: {@link dev.carapace.channel.ChannelStore},
 * {@link dev.carapace.channel.ChannelPrivacy}, {@link dev.carapace.channel.ChannelAudit} and
 * {@link dev.carapace.channel.Voice} are its seams, fitted in {@code server.adapter}. It starts runs through
 * {@link dev.carapace.agent.AgentRuntime}, so budgets, the guard and the privacy router hold for a channel's message as
 * for any other.
 */
package dev.carapace.channel;
