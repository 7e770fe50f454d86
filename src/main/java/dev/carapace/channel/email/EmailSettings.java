package dev.carapace.channel.email;

import dev.carapace.channel.KindSettings;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * An e-mail channel's own settings (its {@code email:} block): the mailbox it reads, the server it sends through, and
 * the agent addresses the account receives for.
 *
 * @param imap                 where mail is read
 * @param folder               the folder read ({@code INBOX})
 * @param idle                 whether to wait with IMAP IDLE when the server has it (false: always poll)
 * @param pollEvery            how often the folder is looked at when the server has no IDLE or IDLE failed
 * @param idleRefresh          how long one IDLE lasts before it is renewed (servers drop an IDLE after 30 minutes);
 *                             renewing it also finds a connection that died without a word
 * @param smtp                 where mail is sent
 * @param addresses            the agent addresses this account receives for, lower case; a reply is sent from the one
 *                             the mail was sent to
 * @param fromName             the display name of replies; null: the address alone
 * @param requireAuthenticated a mail whose {@code Authentication-Results} does not show DMARC (or aligned DKIM) passing
 *                             for its From domain is from an unverified sender ({@code unverified:ADDRESS}), which no
 *                             binding names
 * @param authservId           the {@code Authentication-Results} to believe: those of this server id; null: the topmost
 * @param maxMessageBytes      the largest mail read; a bigger one is recorded by its headers only
 */
public record EmailSettings(MailServer imap, String folder, boolean idle, Duration pollEvery, Duration idleRefresh,
                            MailServer smtp, List<String> addresses, String fromName, boolean requireAuthenticated,
                            String authservId, long maxMessageBytes) implements KindSettings {

    public static final long DEFAULT_MAX_MESSAGE_BYTES = 25L << 20;
    public static final Duration DEFAULT_POLL_EVERY = Duration.ofMinutes(1);
    public static final Duration DEFAULT_IDLE_REFRESH = Duration.ofMinutes(4);

    public EmailSettings {
        Objects.requireNonNull(imap, "imap");
        Objects.requireNonNull(smtp, "smtp");
        folder = folder == null || folder.isBlank() ? "INBOX" : folder;
        pollEvery = pollEvery == null ? DEFAULT_POLL_EVERY : pollEvery;
        idleRefresh = idleRefresh == null ? DEFAULT_IDLE_REFRESH : idleRefresh;
        addresses = addresses.stream().map(a -> a.toLowerCase(java.util.Locale.ROOT)).toList();
        if (addresses.isEmpty()) throw new IllegalArgumentException("an e-mail channel has at least one address");
        if (maxMessageBytes <= 0) maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
    }

    /**
     * Whether {@code host} is this machine: {@code localhost} or a loopback address literal (no name is looked up, so
     * a DNS answer cannot turn a remote server into a "local" one).
     */
    public static boolean isLoopback(String host) {
        String h = host.strip().toLowerCase(java.util.Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) h = h.substring(1, h.length() - 1);
        if (h.equals("localhost") || h.endsWith(".localhost")) return true;
        return h.matches("127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}") || h.matches("(0{0,4}:){2,7}0{0,3}1");
    }

    /** How a connection is protected. */
    public enum Security {
        /** TLS from the first byte (IMAPS 993, SMTPS 465). */
        TLS,
        /** A plain connection upgraded with STARTTLS before logging in; refused if the server does not offer it. */
        STARTTLS,
        /** Plain text: loopback and tests only (the config refuses it for another host). */
        NONE
    }

    /**
     * One server.
     *
     * @param user           the login; null: no authentication (a local relay)
     * @param passwordSecret the name of the password's entry in {@code secrets:}; null when there is no login
     */
    public record MailServer(String host, int port, Security security, String user, String passwordSecret) {

        public MailServer {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(security, "security");
        }

        /** {@code host:port (security)}, for log lines and test reports. */
        public String describe() {
            return host + ":" + port + " (" + security.name().toLowerCase(java.util.Locale.ROOT) + ")";
        }
    }
}
