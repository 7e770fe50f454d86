package dev.carapace.channel.email;

import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Outbound;
import dev.carapace.text.AsciiCase;
import jakarta.activation.DataHandler;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.util.ByteArrayDataSource;

import java.io.UnsupportedEncodingException;
import java.time.Clock;
import java.util.Date;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The mail an {@link Outbound} becomes: from the agent address the answered mail was sent to, to the sender, in its
 * thread ({@code In-Reply-To}, {@code References}, {@code Re:} once), marked as sent by a program
 * ({@code Auto-Submitted: auto-replied}, {@code X-Loop} naming our address) so that no responder answers it and we
 * know it if it comes back, its files as parts. Every value taken from the answered mail went through
 * {@link MailThread} and is checked again here: nothing in it can add a header or a recipient.
 */
final class ReplyMail {

    private static final Pattern ADDRESS = Pattern.compile("[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-z0-9.-]{1,253}");

    private ReplyMail() {}

    static MimeMessage build(Session session, Outbound out, EmailSettings settings, Clock clock) throws ChannelException {
        Map<String, String> reply = out.reply();
        String to = checkedAddress(out.recipient().id(), "the recipient");
        String fromAddress = settings.addresses().contains(reply.get("address")) ? reply.get("address")
                : settings.addresses().getFirst();
        try {
            MimeMessage m = new MimeMessage(session);
            m.setFrom(settings.fromName() == null ? new InternetAddress(fromAddress)
                    : new InternetAddress(fromAddress, MailThread.oneLine(settings.fromName(), 100), "UTF-8"));
            m.setRecipient(Message.RecipientType.TO, new InternetAddress(to, true));
            m.setSubject(MailThread.replySubject(reply.get("subject")), "UTF-8");
            m.setSentDate(Date.from(clock.instant()));
            String parent = MailThread.id(reply.get("message_id"));
            if (parent != null) {
                m.setHeader("In-Reply-To", parent);
                String refs = String.join(" ", MailThread.ids(reply.get("references")));
                m.setHeader("References", refs.isEmpty() ? parent : refs);
            }
            m.setHeader("Auto-Submitted", "auto-replied");
            m.setHeader(AutomatedMail.LOOP_HEADER, fromAddress);
            m.setHeader("Precedence", "bulk");   // older vacation responders go by this one
            if (out.attachments().isEmpty()) {
                m.setText(out.text(), "UTF-8");
            } else {
                MimeMultipart mixed = new MimeMultipart("mixed");
                MimeBodyPart text = new MimeBodyPart();
                text.setText(out.text(), "UTF-8");
                mixed.addBodyPart(text);
                int n = 0;
                for (Attachment a : out.attachments()) {
                    n++;
                    MimeBodyPart file = new MimeBodyPart();
                    file.setDataHandler(new DataHandler(new ByteArrayDataSource(a.data(), mediaType(a.mediaType()))));
                    file.setFileName(fileName(a, n));
                    file.setDisposition(MimeBodyPart.ATTACHMENT);
                    mixed.addBodyPart(file);
                }
                m.setContent(mixed);
            }
            m.saveChanges();
            m.setHeader("Message-ID", MailThread.replyId(out.idempotency(), fromAddress));   // after saveChanges, which makes one
            return m;
        } catch (MessagingException | UnsupportedEncodingException e) {
            throw new ChannelException("the reply could not be put together: " + e.getMessage(), false, e);
        }
    }

    /** A bare address, as a sender id holds it; anything else (a name, a second address, a line break) is refused. */
    static String checkedAddress(String address, String what) throws ChannelException {
        String a = address == null ? "" : AsciiCase.lower(address);
        if (!ADDRESS.matcher(a).matches() || a.contains("..")) {
            throw new ChannelException(what + " is not one plain e-mail address: '" + MailThread.oneLine(
                    address == null ? "" : address, 80) + "'", false);
        }
        try {
            new InternetAddress(a, true).validate();
        } catch (AddressException e) {
            throw new ChannelException(what + " is not a valid e-mail address: " + e.getMessage(), false);
        }
        return a;
    }

    private static String mediaType(String type) {
        return type.matches("[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*") ? type : "application/octet-stream";
    }

    private static String fileName(Attachment a, int n) {
        String name = MailThread.oneLine(a.name(), 100).replaceAll("[\\\\/\"]", "_");
        return name.isBlank() ? "file-" + n : name;
    }
}
