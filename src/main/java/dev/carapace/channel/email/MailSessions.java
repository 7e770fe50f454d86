package dev.carapace.channel.email;

import dev.carapace.channel.email.EmailSettings.MailServer;
import dev.carapace.channel.email.EmailSettings.Security;
import jakarta.mail.Session;

import java.time.Duration;
import java.util.Properties;

/**
 * The Jakarta Mail sessions of one channel: TLS as its settings say (server identity checked; STARTTLS required, never
 * silently skipped), timeouts on every connect, read and write so a silent server cannot hold the loop or a send.
 */
final class MailSessions {

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(15);
    static final Duration IO_TIMEOUT = Duration.ofSeconds(60);

    private MailSessions() {}

    /** The protocol name Jakarta Mail knows the server's store or transport by. */
    static String protocol(MailServer server, boolean imap) {
        String p = imap ? "imap" : "smtp";
        return server.security() == Security.TLS ? p + "s" : p;
    }

    static Session imap(MailServer server) {
        Properties p = common(server, protocol(server, true));
        String k = "mail." + protocol(server, true) + ".";
        p.setProperty(k + "peek", "true");                    // reading a mail does not mark it \Seen: we do, once stored
        p.setProperty(k + "partialfetch", "false");
        p.setProperty(k + "minidletime", "0");
        return Session.getInstance(p);
    }

    static Session smtp(MailServer server, String heloDomain) {
        Properties p = common(server, protocol(server, false));
        String k = "mail." + protocol(server, false) + ".";
        p.setProperty(k + "auth", String.valueOf(server.user() != null));
        // a thread per connection watches writes: worth it for a send, not for each idle IMAP connection
        p.setProperty(k + "writetimeout", String.valueOf(IO_TIMEOUT.toMillis()));
        if (heloDomain != null) p.setProperty(k + "localhost", heloDomain);
        return Session.getInstance(p);
    }

    private static Properties common(MailServer server, String protocol) {
        Properties p = new Properties();
        String k = "mail." + protocol + ".";
        p.setProperty(k + "host", server.host());
        p.setProperty(k + "port", String.valueOf(server.port()));
        p.setProperty(k + "connectiontimeout", String.valueOf(CONNECT_TIMEOUT.toMillis()));
        p.setProperty(k + "timeout", String.valueOf(IO_TIMEOUT.toMillis()));
        switch (server.security()) {
            case TLS -> {
                p.setProperty(k + "ssl.enable", "true");
                p.setProperty(k + "ssl.checkserveridentity", "true");
            }
            case STARTTLS -> {
                p.setProperty(k + "starttls.enable", "true");
                p.setProperty(k + "starttls.required", "true");
                p.setProperty(k + "ssl.checkserveridentity", "true");
            }
            case NONE -> { }
        }
        return p;
    }
}
