package dev.carapace.channel.email;

import jakarta.mail.MessagingException;
import jakarta.mail.internet.MimeMessage;

import java.util.List;
import java.util.Locale;

/**
 * Tells mail that no person wrote (auto-replies, out-of-office notices, bounces, mailing lists, another agent's
 * answer, our own mail coming back) from its headers, so it is stored and never answered: answering it is how two
 * auto-responders mail each other forever (RFC 3834, section 2).
 */
final class AutomatedMail {

    /** The header every mail this channel sends carries, naming the address it was sent from. */
    static final String LOOP_HEADER = "X-Loop";

    private AutomatedMail() {}

    /**
     * Why {@code mail} is automated, or null when it looks written by a person.
     *
     * @param from the bare From address, lower case (null when there is none)
     * @param ours the channel's own addresses, lower case
     */
    static String reason(MimeMessage mail, String from, List<String> ours) throws MessagingException {
        String auto = first(mail, "Auto-Submitted");
        if (auto != null && !auto.strip().toLowerCase(Locale.ROOT).startsWith("no")) return "Auto-Submitted: " + clip(auto);
        if (first(mail, "X-Autoreply") != null) return "X-Autoreply";
        if (first(mail, "X-Autorespond") != null) return "X-Autorespond";
        String precedence = first(mail, "Precedence");
        if (precedence != null && precedence.strip().toLowerCase(Locale.ROOT).matches("(bulk|junk|list|auto_reply)")) {
            return "Precedence: " + clip(precedence);
        }
        if (first(mail, "List-Id") != null) return "List-Id (a mailing list)";
        if (first(mail, "List-Unsubscribe") != null) return "List-Unsubscribe (a mailing list)";
        String returnPath = first(mail, "Return-Path");
        if (returnPath != null && returnPath.replaceAll("[\\s<>]", "").isEmpty()) return "null Return-Path (a bounce)";
        if (from == null) return "no valid From address";
        String local = from.substring(0, from.indexOf('@'));
        if (local.equals("mailer-daemon") || local.equals("postmaster") || local.startsWith("no-reply")
                || local.startsWith("noreply") || local.equals("bounce") || local.startsWith("bounces")) {
            return "sent by " + local;
        }
        String type = mail.getContentType();
        if (type != null && type.toLowerCase(Locale.ROOT).replaceAll("\\s", "").startsWith("multipart/report")) {
            return "a delivery or read report (multipart/report)";
        }
        String[] loops = mail.getHeader(LOOP_HEADER);
        if (loops != null) {
            for (String l : loops) {
                for (String a : ours) if (contains(l, a)) return "X-Loop names " + a;
            }
        }
        if (ours.contains(from)) return "sent from the channel's own address";
        return null;
    }

    private static String first(MimeMessage mail, String name) throws MessagingException {
        String[] v = mail.getHeader(name);
        return v == null || v.length == 0 ? null : v[0];
    }

    private static boolean contains(String value, String part) {
        return value != null && value.toLowerCase(Locale.ROOT).contains(part);
    }

    private static String clip(String s) { return MailThread.oneLine(s, 40); }
}
