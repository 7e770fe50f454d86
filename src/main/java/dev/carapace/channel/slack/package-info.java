/**
 * The Slack channel: a Slack app whose bot people mention in channels or write to directly, answered in the
 * message's thread by the agent its route names.
 *
 * <ul>
 *   <li>{@link dev.carapace.channel.slack.SlackChannel} — the channel: events in (Events API pushes, checked with
 *       {@code SlackSignature}; or Socket Mode, {@code SlackSocket}), stored in the inbox before Slack is answered;
 *       replies and files out.</li>
 *   <li>{@code SlackEvent} — what is taken from an {@code event_callback}: mentions and direct messages from people;
 *       edits, other bots' and the bot's own messages are not answered.</li>
 *   <li>{@code SlackApi} — the Web API over the JDK's HTTP client: the bot token goes to Slack's API and files
 *       origins only, rate limits are waited out, errors say what to fix.</li>
 *   <li>{@link dev.carapace.channel.slack.SlackSettings} — the {@code slack:} block, read by
 *       {@code config.SlackSection}.</li>
 * </ul>
 */
package dev.carapace.channel.slack;
