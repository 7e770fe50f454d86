/**
 * The e-mail channel: an agent's addresses on an IMAP/SMTP account.
 *
 * <ul>
 *   <li>{@code EmailChannel} — the {@link dev.carapace.channel.Channel}: starts the reading loop, sends answers, tests
 *       the account.</li>
 *   <li>{@code ImapReceiver} — the loop: IDLE or polling, reconnect with back-off, a mail acknowledged ({@code \Seen},
 *       its UID in the channel's state) only after the inbox stored it.</li>
 *   <li>{@code MailParser} — a mail's bytes into an {@link dev.carapace.channel.Inbound}: sender, address, thread,
 *       text ({@code HtmlText} for HTML-only mail), files within the channel's limits; never throws on broken MIME.</li>
 *   <li>{@code AutomatedMail} — auto-replies, bounces, lists and loops, never answered; {@code SenderCheck} — what
 *       the server's {@code Authentication-Results} vouches for.</li>
 *   <li>{@code MailThread} — Message-ID, In-Reply-To, References and {@code Re:}; {@code ReplyMail} — the answer's
 *       MIME message; {@code MailSessions} — TLS and timeouts.</li>
 * </ul>
 *
 * <p>Jakarta Mail (Eclipse Angus) speaks IMAP, SMTP and MIME; jsoup turns HTML into text. Settings come from the
 * channel's {@code email:} block ({@link dev.carapace.channel.email.EmailSettings}).
 */
package dev.carapace.channel.email;
