package dev.carapace.skill.scan;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The hosts a line contacts: URLs found by a hand-written scan (no regex), each with its host, and how each is
 * judged: a raw public IP address or a host known for staging and exfiltration (paste sites, tunnels, request
 * catchers, chat webhooks) is high; any other host the skill did not declare (its homepage's domain or the hosts in
 * its metadata) is low, shown so a reviewer sees where the skill talks to.
 */
final class Hosts {

    /** One URL on a line. */
    record Url(int start, int end, String scheme, String host, String rest) {
        boolean https() { return scheme.equals("https") || scheme.equals("wss"); }
    }

    private static final String[] SCHEMES = {"https://", "http://", "wss://", "ws://", "ftp://"};

    /** Hosts (and their subdomains) used to stage payloads, tunnel to an attacker, or catch exfiltrated data. */
    private static final Set<String> HOSTILE = Set.of("pastebin.com", "paste.ee", "hastebin.com", "ghostbin.com",
            "ghostbin.co", "glot.io", "rentry.co", "rentry.org", "transfer.sh", "file.io", "anonfiles.com", "0x0.st",
            "termbin.com", "ngrok.io", "ngrok-free.app", "ngrok.app", "ngrok.dev", "trycloudflare.com", "bore.pub",
            "serveo.net", "localtunnel.me", "loca.lt", "localhost.run", "webhook.site", "requestbin.com",
            "requestbin.net", "pipedream.net", "m.pipedream.net", "hookbin.com", "beeceptor.com", "interact.sh",
            "oast.fun", "oast.me", "oast.pro", "oast.live", "oast.site", "oast.online", "burpcollaborator.net",
            "canarytokens.com", "requestcatcher.com", "ptpb.pw", "temp.sh", "catbox.moe", "gofile.io");

    private Hosts() {}

    /** The URLs on {@code line}, at most 50. */
    static List<Url> urls(String line) {
        List<Url> out = new ArrayList<>();
        String lower = line.toLowerCase(Locale.ROOT);
        int from = 0;
        while (out.size() < 50) {
            int at = -1;
            String scheme = null;
            for (String s : SCHEMES) {
                int i = lower.indexOf(s, from);
                if (i >= 0 && (at < 0 || i < at)) {
                    at = i;
                    scheme = s;
                }
            }
            if (at < 0) break;
            int hostStart = at + scheme.length();
            int end = hostStart;
            while (end < line.length() && end - hostStart < 2048 && urlChar(line.charAt(end))) end++;
            String authority = lower.substring(hostStart, end);
            int slash = firstOf(authority, "/?#");
            String hostPort = slash < 0 ? authority : authority.substring(0, slash);
            int atSign = hostPort.lastIndexOf('@');
            if (atSign >= 0) hostPort = hostPort.substring(atSign + 1);
            String host = hostPort.startsWith("[") ? hostPort.substring(0, Math.max(1, hostPort.indexOf(']') + 1))
                    : (hostPort.indexOf(':') >= 0 ? hostPort.substring(0, hostPort.indexOf(':')) : hostPort);
            host = trimDots(host);
            if (!host.isEmpty()) {
                out.add(new Url(at, end, scheme.substring(0, scheme.length() - 3), host,
                        slash < 0 ? "" : authority.substring(slash)));
            }
            from = Math.max(end, at + 1);
        }
        return out;
    }

    /** Whether {@code host} is an IPv4 or IPv6 literal. */
    static boolean ipLiteral(String host) {
        if (host.startsWith("[")) return true;
        String[] parts = host.split("\\.", -1);
        if (parts.length != 4) return false;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3) return false;
            for (int i = 0; i < p.length(); i++) if (p.charAt(i) < '0' || p.charAt(i) > '9') return false;
            if (Integer.parseInt(p) > 255) return false;
        }
        return true;
    }

    /** Loopback, private, link-local and unspecified addresses, and localhost: the machine or its LAN, not an attacker's server. */
    static boolean local(String host) {
        if (host.equals("localhost") || host.endsWith(".localhost") || host.endsWith(".local") || host.equals("[::1]")) return true;
        if (!ipLiteral(host) || host.startsWith("[")) return false;
        String[] p = host.split("\\.");
        int a = Integer.parseInt(p[0]), b = Integer.parseInt(p[1]);
        return a == 127 || a == 10 || a == 0 || (a == 192 && b == 168) || (a == 172 && b >= 16 && b <= 31)
                || (a == 169 && b == 254);
    }

    /** Whether {@code host} is, or is under, one of the hostile hosts. */
    static boolean hostile(String host) {
        return under(host, HOSTILE);
    }

    /** A Discord or Slack incoming webhook, or a Telegram bot API call: a write-only drop box for stolen data. */
    static boolean chatWebhook(Url u) {
        return (under(u.host(), Set.of("discord.com", "discordapp.com")) && u.rest().startsWith("/api/webhooks"))
                || (u.host().equals("hooks.slack.com"))
                || (u.host().equals("api.telegram.org") && u.rest().startsWith("/bot"));
    }

    /** Whether {@code host} is, or is under, one of {@code names}. */
    static boolean under(String host, Set<String> names) {
        String h = host;
        while (true) {
            if (names.contains(h)) return true;
            int dot = h.indexOf('.');
            if (dot < 0) return false;
            h = h.substring(dot + 1);
        }
    }

    /** Whether the URL's path ends in a program or installer a user would run (.exe, .msi, .dmg, .pkg, ...). */
    static boolean program(Url u) {
        String path = u.rest();
        int q = path.indexOf('?');
        if (q >= 0) path = path.substring(0, q);
        int hash = path.indexOf('#');
        if (hash >= 0) path = path.substring(0, hash);
        for (String ext : PROGRAMS) if (path.endsWith(ext)) return true;
        return false;
    }

    private static final String[] PROGRAMS = {".exe", ".msi", ".dmg", ".pkg", ".scr", ".bat", ".cmd", ".com", ".app.zip",
            ".jar", ".appimage", ".deb", ".rpm", ".apk", ".vbs", ".ps1", ".command"};

    /** Example and documentation domains (RFC 2606), which name no real server. */
    static boolean example(String host) {
        return under(host, Set.of("example.com", "example.org", "example.net", "example", "test", "invalid"));
    }

    private static boolean urlChar(char c) {
        if (c >= 0xA0) return !Character.isWhitespace(c) && !Character.isSpaceChar(c);   // an IDN or a look-alike: keep it in the host
        return c > ' ' && c < 0x7f && "\"'<>`(){}|\\^".indexOf(c) < 0;
    }

    private static int firstOf(String s, String chars) {
        for (int i = 0; i < s.length(); i++) if (chars.indexOf(s.charAt(i)) >= 0) return i;
        return -1;
    }

    private static String trimDots(String host) {
        int e = host.length();
        while (e > 0 && (host.charAt(e - 1) == '.' || host.charAt(e - 1) == ',')) e--;
        return host.substring(0, e);
    }
}
