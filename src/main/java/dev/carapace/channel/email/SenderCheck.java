package dev.carapace.channel.email;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the receiving server says it verified about a mail's sender, from its {@code Authentication-Results} header
 * (RFC 8601). From is whatever the sender typed: only a server that checks DKIM, SPF and DMARC and writes the result
 * makes it worth believing, and only that server's header counts (a sender can write one of their own).
 *
 * @param summary  the results as written, e.g. {@code dkim=pass spf=pass dmarc=pass}; empty when there were none
 * @param verified DMARC passed for the From domain, or DKIM passed for a signing domain aligned with it
 */
record SenderCheck(String summary, boolean verified) {

    static final SenderCheck NONE = new SenderCheck("", false);

    private static final Pattern RESULT = Pattern.compile("(?i)\\b(dkim|spf|dmarc|arc)\\s*=\\s*([a-z]+)([^;]*)");
    private static final Pattern HEADER_D = Pattern.compile("(?i)\\bheader\\.(?:d|i)\\s*=\\s*@?([a-z0-9.-]+)");
    private static final Pattern HEADER_FROM = Pattern.compile("(?i)\\bheader\\.from\\s*=\\s*([a-z0-9.-]+)");

    /**
     * @param headers    the mail's Authentication-Results headers, topmost (added last, by the nearest server) first
     * @param authservId the server id whose results count; null: the topmost header's
     * @param fromDomain the From address's domain, lower case
     */
    static SenderCheck of(String[] headers, String authservId, String fromDomain) {
        if (headers == null || headers.length == 0 || fromDomain == null) return NONE;
        String header = null;
        for (String h : headers) {
            String id = h.contains(";") ? h.substring(0, h.indexOf(';')).strip() : h.strip();
            if (authservId == null || id.equalsIgnoreCase(authservId)) {
                header = h;
                break;
            }
        }
        if (header == null) return NONE;
        String unfolded = header.replaceAll("\\(.*?\\)", " ").replaceAll("\\s+", " ");
        List<String> parts = new ArrayList<>();
        boolean verified = false;
        Matcher m = RESULT.matcher(unfolded);
        while (m.find()) {
            String method = m.group(1).toLowerCase(Locale.ROOT);
            String result = m.group(2).toLowerCase(Locale.ROOT);
            parts.add(method + "=" + result);
            if (!result.equals("pass")) continue;
            if (method.equals("dmarc")) {
                Matcher f = HEADER_FROM.matcher(m.group(3));
                verified |= !f.find() || f.group(1).equalsIgnoreCase(fromDomain);
            } else if (method.equals("dkim")) {
                Matcher d = HEADER_D.matcher(m.group(3));
                verified |= d.find() && aligned(d.group(1).toLowerCase(Locale.ROOT), fromDomain);
            }
        }
        return new SenderCheck(MailThread.oneLine(String.join(" ", parts), 200), verified);
    }

    /** Relaxed alignment: the signing domain is the From domain or a parent of it (not a public suffix alone). */
    private static boolean aligned(String signing, String from) {
        return signing.contains(".") && (from.equals(signing) || from.endsWith("." + signing));
    }
}
