package dev.carapace.config;

import dev.carapace.channel.KindSettings;
import dev.carapace.channel.email.EmailSettings;
import dev.carapace.channel.email.EmailSettings.MailServer;
import dev.carapace.channel.email.EmailSettings.Security;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Scalar;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads an e-mail channel's {@code email:} block.
 *
 * <pre>
 * email:
 *   imap: {host: imap.corp.example, port: 993, security: tls, user: helpdesk@corp.example,
 *          password_secret: helpdesk-mail, folder: INBOX, poll_every: 1m, idle: true, idle_refresh: 4m}
 *   smtp: {host: smtp.corp.example, port: 587, security: starttls, user: helpdesk@corp.example,
 *          password_secret: helpdesk-mail}
 *   addresses: [helpdesk@corp.example, billing@corp.example]   # the agent addresses this account receives for
 *   from_name: Corp Helpdesk                                   # optional
 *   require_authenticated: true        # From must pass DMARC (or aligned DKIM) per the server's Authentication-Results
 *   authserv_id: mx.corp.example       # whose Authentication-Results count (default: the topmost)
 *   max_message_bytes: 25mib
 * </pre>
 * {@code security}: {@code tls} (default; ports 993 / 465), {@code starttls} (143 / 587) or {@code none} (143 / 25),
 * which only a server on this machine may use.
 */
final class EmailSection {

    private static final Map<String, Security> SECURITY = security();
    private static final Pattern ADDRESS = Pattern.compile("[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-z0-9-]+(\\.[a-z0-9-]+)+");
    private static final Pattern SECRET_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    private EmailSection() {}

    private static Map<String, Security> security() {
        Map<String, Security> m = new LinkedHashMap<>();
        for (Security s : Security.values()) m.put(s.name().toLowerCase(Locale.ROOT), s);
        return java.util.Collections.unmodifiableMap(m);
    }

    static KindSettings read(MapReader r, String channelId) {
        MapReader imapBlock = r.requiredObject("imap", "the IMAP server mail is read from: {host, port, security, user, "
                + "password_secret}");
        MailServer imap = server(imapBlock, 993, 143);
        String folder = imapBlock.string("folder", "the folder read", "INBOX");
        Duration pollEvery = imapBlock.duration("poll_every", Duration.ofSeconds(1), EmailSettings.DEFAULT_POLL_EVERY);
        boolean idle = imapBlock.bool("idle", true);
        Duration idleRefresh = imapBlock.duration("idle_refresh", Duration.ofSeconds(1), EmailSettings.DEFAULT_IDLE_REFRESH);
        if (idleRefresh.compareTo(Duration.ofMinutes(29)) > 0) {
            imapBlock.error(imapBlock.value("idle_refresh"), "idle_refresh", "at most 29m: servers end an IDLE after 30 minutes "
                    + "(RFC 2177)");
        }
        imapBlock.finish();
        MapReader smtpBlock = r.requiredObject("smtp", "the SMTP server answers are sent through: {host, port, security, "
                + "user, password_secret}");
        MailServer smtp = server(smtpBlock, 465, 587);
        smtpBlock.finish();
        List<String> addresses = addresses(r);
        String fromName = r.string("from_name", "the name answers are sent under", null);
        boolean requireAuthenticated = r.bool("require_authenticated", false);
        String authservId = r.string("authserv_id", "the server id of the Authentication-Results to believe", null);
        long maxMessage = r.size("max_message_bytes", 64 * 1024, 200L << 20, EmailSettings.DEFAULT_MAX_MESSAGE_BYTES);
        r.finish();
        if (imap == null || smtp == null || addresses.isEmpty()) return null;
        return new EmailSettings(imap, folder, idle, pollEvery, idleRefresh, smtp, addresses, fromName,
                requireAuthenticated, authservId, maxMessage);
    }

    /** One server; null after reporting what was wrong. */
    private static MailServer server(MapReader r, int tlsPort, int plainPort) {
        String host = r.requiredString("host", "the server's host name");
        Security security = r.choice("security", SECURITY, Security.TLS);
        int port = r.integer("port", 1, 65535, security == Security.TLS ? tlsPort : plainPort);
        String user = r.string("user", "the login", null);
        Scalar secret = r.scalar("password_secret", "the name of the password's entry in secrets:");
        if (host == null) return null;
        if (security == Security.NONE && !EmailSettings.isLoopback(host)) {
            r.error(r.value("security"), "security", "none sends the password and the mail in plain text: only a server "
                    + "on this machine (localhost, 127.0.0.1, ::1) may use it; '" + dev.carapace.text.Excerpt.clip(host, 60)
                    + "' needs tls or starttls");
            return null;
        }
        if (user != null && secret == null) {
            r.errorHere("a login ('user') needs 'password_secret', naming the password's entry in secrets:");
            return null;
        }
        if (secret != null && !SECRET_NAME.matcher(secret.text()).matches()) {
            r.error(secret, "password_secret", "expected the name of an entry of secrets: (letters, digits, '_', '.', '-'); "
                    + "the password itself never goes in the config");
            return null;
        }
        if (secret != null && user == null) {
            r.error(secret, "password_secret", "goes with 'user' (the login the password is for)");
            return null;
        }
        return new MailServer(host, port, security, user, secret == null ? null : secret.text());
    }

    private static List<String> addresses(MapReader r) {
        List<String> out = new ArrayList<>();
        List<Scalar> list = r.scalars("addresses", "a list of e-mail addresses", "an e-mail address");
        if (list == null) {
            r.errorHere("an e-mail channel names the agent addresses its account receives for: 'addresses: [name@domain]'");
            return out;
        }
        for (Scalar s : list) {
            String a = s.text().strip().toLowerCase(Locale.ROOT);
            if (!ADDRESS.matcher(a).matches()) {
                r.errorAt(s, r.pathOf("addresses"), "not a plain e-mail address: " + YamlTree.describe(s)
                        + " (expected name@domain, without a display name)");
            } else if (out.contains(a)) {
                r.errorAt(s, r.pathOf("addresses"), "'" + a + "' is listed twice");
            } else {
                out.add(a);
            }
        }
        if (out.isEmpty() && list.isEmpty()) r.errorHere("'addresses' lists at least one address");
        return out;
    }
}
