package dev.carapace.channel.email;

import dev.carapace.channel.Channel;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.Outbound;
import dev.carapace.channel.email.EmailSettings.MailServer;
import dev.carapace.channel.email.EmailSettings.Security;
import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.Folder;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import org.eclipse.angus.mail.imap.IMAPStore;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.eclipse.angus.mail.smtp.SMTPTransport;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An e-mail account an agent is reached at: mail to its addresses is read over IMAP ({@link ImapReceiver}, IDLE or
 * polling), answers go back over SMTP in the mail's thread ({@link ReplyMail}).
 *
 * <p>From is whatever the sender typed. Bind senders only on a server that checks DMARC and records it in
 * {@code Authentication-Results}, and set {@code require_authenticated} so a mail that does not pass comes from
 * {@code unverified:ADDRESS}, which no binding names.
 */
public final class EmailChannel implements Channel {

    private final ChannelContext context;
    private final EmailSettings settings;
    private final Duration firstRetry;
    private final MailParser parser;
    private final Session smtp;
    private volatile ImapReceiver receiver;
    private volatile Thread loop;

    public EmailChannel(ChannelContext context) {
        this(context, Duration.ofSeconds(1));
    }

    /** @param firstRetry the wait before connecting again after the IMAP connection dropped; it doubles each time */
    EmailChannel(ChannelContext context, Duration firstRetry) {
        if (!(context.spec().settings() instanceof EmailSettings s)) {
            throw new IllegalArgumentException("channel '" + context.spec().id() + "': not e-mail settings");
        }
        for (MailServer server : List.of(s.imap(), s.smtp())) {
            if (server.security() == Security.NONE && !EmailSettings.isLoopback(server.host())) {
                throw new IllegalArgumentException("channel '" + context.spec().id() + "': security: none is for a "
                        + "server on this machine only, not " + server.host());
            }
            if (server.passwordSecret() != null && !context.secrets().has(server.passwordSecret())) {
                // the value is not echoed: a password written where its name belongs must not reach a log
                throw new IllegalArgumentException("channel '" + context.spec().id() + "': the " + (server == s.imap()
                        ? "imap" : "smtp") + " password_secret names no entry of secrets:");
            }
        }
        this.context = context;
        this.settings = s;
        this.firstRetry = firstRetry;
        this.parser = new MailParser(context.spec().id(), s, context.spec().maxAttachmentBytes());
        String domain = s.addresses().getFirst().substring(s.addresses().getFirst().indexOf('@') + 1);
        this.smtp = MailSessions.smtp(s.smtp(), domain);
    }

    @Override
    public String id() { return context.spec().id(); }

    @Override
    public String kind() { return "email"; }

    /** An answer is mailed to its sender alone. */
    @Override
    public boolean privateTo(Inbound in) { return true; }

    @Override
    public synchronized void start(Inbox inbox) {
        if (loop != null) throw new IllegalStateException("channel '" + id() + "' was started already");
        receiver = new ImapReceiver(id(), settings, context.secrets(), context.state(), context.clock(), parser, inbox,
                firstRetry);
        // a platform thread: the IMAP client blocks in reads inside its locks, which would pin a virtual thread's carrier
        loop = Thread.ofPlatform().daemon().name("email-" + id()).start(receiver);
    }

    /** The current connection's way of waiting ({@code idle} or {@code poll}), and how many connections were opened. */
    String mode() { return receiver == null ? null : receiver.mode; }

    int connections() { return receiver == null ? 0 : receiver.connections.get(); }

    @Override
    public void send(Outbound message) throws ChannelException {
        MimeMessage mail = ReplyMail.build(smtp, message, settings, context.clock());
        MailServer server = settings.smtp();
        try (SMTPTransport t = (SMTPTransport) smtp.getTransport(MailSessions.protocol(server, false))) {
            t.connect(server.host(), server.port(), server.user(), password(server));
            t.sendMessage(mail, mail.getAllRecipients());
        } catch (MessagingException e) {
            throw failure(e);
        }
    }

    /**
     * What a failed send means: a 4xx reply or a connection that failed may pass (the hub tries again), a 5xx reply or
     * a refused login will not.
     */
    static ChannelException failure(MessagingException e) {
        int code = replyCode(e);
        if (code >= 500) {
            return new ChannelException("the SMTP server refused the mail (" + code + "): " + clip(e), false, e);
        }
        if (code >= 400) {
            return new ChannelException("the SMTP server deferred the mail (" + code + "): " + clip(e), true, e);
        }
        if (e instanceof AuthenticationFailedException) {
            return new ChannelException("the SMTP server refused the login: " + clip(e), false, e);
        }
        if (e instanceof SendFailedException sf && sf.getInvalidAddresses() != null && sf.getInvalidAddresses().length > 0) {
            return new ChannelException("the SMTP server refused the recipient: " + clip(e), false, e);
        }
        return new ChannelException("the mail could not be sent: " + clip(e), true, e);
    }

    /** The first SMTP reply code in the exception's chain; 0 when none (a connection failure). */
    private static int replyCode(Exception e) {
        List<Throwable> seen = new ArrayList<>();
        Throwable t = e;
        while (t != null && !seen.contains(t) && seen.size() < 10) {
            seen.add(t);
            if (t instanceof SMTPSendFailedException f && f.getReturnCode() > 0) return f.getReturnCode();
            if (t instanceof SMTPAddressFailedException f && f.getReturnCode() > 0) return f.getReturnCode();
            t = t instanceof MessagingException m && m.getNextException() != null ? m.getNextException() : t.getCause();
        }
        return 0;
    }

    private static String clip(Exception e) {
        return MailThread.oneLine(String.valueOf(e.getMessage()), 200);
    }

    private String password(MailServer server) throws ChannelException {
        return server.passwordSecret() == null ? null : context.secrets().value(server.passwordSecret());
    }

    /** Logs into IMAP and SMTP (EHLO, STARTTLS or TLS, AUTH) and says what they offer; sends nothing. */
    @Override
    public String test() throws ChannelException {
        StringBuilder sb = new StringBuilder();
        MailServer imap = settings.imap();
        IMAPStore store = null;
        try {
            store = (IMAPStore) MailSessions.imap(imap).getStore(MailSessions.protocol(imap, true));
            store.connect(imap.host(), imap.port(), imap.user(), password(imap));
            Folder folder = store.getFolder(settings.folder());
            if (!folder.exists()) throw new ChannelException("IMAP " + imap.describe() + ": no folder '" + settings.folder() + "'", false);
            sb.append("IMAP ").append(imap.describe()).append(": logged in; folder ").append(settings.folder())
                    .append(" holds ").append(folder.getMessageCount()).append(" mails; IDLE ")
                    .append(store.hasCapability("IDLE") ? "yes" : "no (polling every " + settings.pollEvery().toSeconds() + " s)");
        } catch (MessagingException e) {
            throw new ChannelException("IMAP " + imap.describe() + ": " + clip(e), !(e instanceof AuthenticationFailedException), e);
        } finally {
            if (store != null) {
                try {
                    store.close();
                } catch (MessagingException ignored) {
                    // logged in or not, nothing to keep
                }
            }
        }
        MailServer server = settings.smtp();
        try (SMTPTransport t = (SMTPTransport) smtp.getTransport(MailSessions.protocol(server, false))) {
            t.connect(server.host(), server.port(), server.user(), password(server));
            sb.append("; SMTP ").append(server.describe()).append(": connected").append(server.user() == null ? "" : ", logged in")
                    .append(server.security() == Security.STARTTLS ? ", STARTTLS" : "")
                    .append(t.supportsExtension("SIZE") ? "; max size " + t.getExtensionParameter("SIZE") : "");
        } catch (MessagingException e) {
            throw new ChannelException("SMTP " + server.describe() + ": " + clip(e), !(e instanceof AuthenticationFailedException), e);
        }
        return sb.toString();
    }

    @Override
    public void close() {
        ImapReceiver r = receiver;
        Thread t = loop;
        if (r == null) return;
        r.close();
        try {
            t.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
