package dev.carapace.guard.policy;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** Syntax checks for IP literals and CIDR blocks; never resolves a name. */
final class Cidr {

    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

    private Cidr() {}

    static boolean valid(String cidr) {
        int slash = cidr.indexOf('/');
        if (slash < 0) return false;
        String ip = cidr.substring(0, slash);
        int bits;
        try {
            bits = Integer.parseInt(cidr.substring(slash + 1));
        } catch (NumberFormatException e) {
            return false;
        }
        var m = IPV4.matcher(ip);
        if (m.matches()) {
            for (int i = 1; i <= 4; i++) if (Integer.parseInt(m.group(i)) > 255) return false;
            return bits >= 0 && bits <= 32;
        }
        return ip.contains(":") && ipv6(ip) != null && bits >= 0 && bits <= 128;
    }

    /** One spelling of an IPv6 literal (Java's full form), so that equal addresses compare equal. */
    static String canonicalIp(String ipv6) {
        InetAddress a = ipv6(ipv6);
        return a == null ? ipv6 : a.getHostAddress();
    }

    private static InetAddress ipv6(String s) {
        if (!s.matches("[0-9a-fA-F:.]+")) return null;   // a literal only: getByName never looks such a string up
        try {
            InetAddress a = InetAddress.getByName(s);
            return a instanceof Inet6Address ? a : null;
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
