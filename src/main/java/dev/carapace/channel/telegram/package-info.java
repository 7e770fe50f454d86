/**
 * The Telegram channel: a bot reached through the Bot API, by long polling ({@code getUpdates}) or by Telegram's
 * webhook ({@code POST /hooks/CHANNEL}, checked against {@code X-Telegram-Bot-Api-Secret-Token}).
 *
 * <ul>
 *   <li>{@link dev.carapace.channel.telegram.TelegramChannel} — the channel: the polling loop (the offset kept in the
 *       channel's state and moved on only after the inbox took an update), the webhook entry point, sending
 *       (plain text in parts of at most 4096 characters, files as voice, audio, photo or document), {@code getMe}.</li>
 *   <li>{@code UpdateReader} — an {@code Update} as an {@link dev.carapace.channel.Inbound}: who, which chat and
 *       topic, whether a group message is for the bot, voice notes, audio, photos and documents downloaded.</li>
 *   <li>{@code BotApi} — the Bot API over HTTP: {@code ok}/{@code error_code}/{@code retry_after}, size-capped
 *       downloads, multipart uploads. The bot token is part of every URL, so nothing this package logs, throws or
 *       answers holds a URL or an HTTP client's own message unscrubbed.</li>
 *   <li>{@link dev.carapace.channel.telegram.TelegramSettings} — the {@code telegram:} block of a channel.</li>
 * </ul>
 */
package dev.carapace.channel.telegram;
