package dev.carapace.guard.egress;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * IP addresses as the proxy sees them: whether an address is one an agent may reach without the policy's
 * {@code allowed_ips} saying so. What a host string means is {@link dev.carapace.guard.url.CanonicalHost}'s.
 */
final class Addresses {

    private Addresses() {}

    /**
     * Why an agent may not reach {@code address} without {@code allowed_ips}: "loopback", "cloud metadata", ...; null
     * for a public address.
     */
    static String blockedKind(InetAddress address) {
        if (address instanceof Inet4Address) return blockedKind4(address.getAddress());
        byte[] a = address.getAddress();
        if (a[0] == (byte) 0xfd && a[1] == 0 && a[2] == 0x0e && a[3] == (byte) 0xc2 && isZero(a, 4, 14)
                && a[14] == 0x02 && a[15] == 0x54) {
            return "cloud metadata";
        }
        if (isZero(a, 0, 15) && a[15] == 1) return "loopback";
        if (isZero(a, 0, 16)) return "unspecified";
        if (isZero(a, 0, 12)) return "IPv4-compatible IPv6";
        if (isZero(a, 0, 10) && a[10] == (byte) 0xff && a[11] == (byte) 0xff) { // mapped, if not already unwrapped
            return kindOrNull(blockedKind4(slice(a, 12)), "IPv4-mapped IPv6");
        }
        int first = a[0] & 0xff;
        int second = a[1] & 0xff;
        if (first == 0xff) return "multicast";
        if (first == 0xfe && (second & 0xc0) == 0x80) return "link-local";
        if (first == 0xfe && (second & 0xc0) == 0xc0) return "site-local";
        if ((first & 0xfe) == 0xfc) return "unique local (private)";
        if ((first & 0xe0) != 0x20) return "not global unicast";
        if (first == 0x20 && second == 0x01 && a[2] == 0x0d && a[3] == (byte) 0xb8) return "documentation";
        if (first == 0x20 && second == 0x01 && a[2] == 0 && a[3] == 0) return "Teredo tunnel";
        if (first == 0x20 && second == 0x02) { // 6to4 carries an IPv4 address: judge that one
            String inner = blockedKind4(slice(a, 2));
            return inner == null ? null : "6to4 of " + inner;
        }
        return null;
    }

    private static String kindOrNull(String kind, String otherwise) {
        return kind != null ? kind : otherwise;
    }

    private static String blockedKind4(byte[] b) {
        int a0 = b[0] & 0xff;
        int a1 = b[1] & 0xff;
        int a2 = b[2] & 0xff;
        int a3 = b[3] & 0xff;
        if (a0 == 169 && a1 == 254 && a2 == 169 && a3 == 254) return "cloud metadata";
        if (a0 == 100 && a1 == 100 && a2 == 100 && a3 == 200) return "cloud metadata";
        if (a0 == 0) return "unspecified";
        if (a0 == 127) return "loopback";
        if (a0 == 10 || (a0 == 172 && (a1 & 0xf0) == 16) || (a0 == 192 && a1 == 168)) return "private";
        if (a0 == 100 && (a1 & 0xc0) == 64) return "carrier-grade NAT";
        if (a0 == 169 && a1 == 254) return "link-local";
        if (a0 == 192 && a1 == 0 && a2 == 0) return "IETF protocol assignment";
        if ((a0 == 192 && a1 == 0 && a2 == 2) || (a0 == 198 && a1 == 51 && a2 == 100) || (a0 == 203 && a1 == 0 && a2 == 113)) {
            return "documentation";
        }
        if (a0 == 198 && (a1 & 0xfe) == 18) return "benchmarking";
        if (a0 >= 224 && a0 < 240) return "multicast";
        if (a0 >= 240) return "reserved or broadcast";
        return null;
    }

    /** Whether {@code address} lies in one of the CIDR blocks. */
    static boolean within(InetAddress address, List<Cidr> blocks) {
        for (Cidr c : blocks) {
            if (c.contains(address)) return true;
        }
        return false;
    }

    private static boolean isZero(byte[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            if (a[i] != 0) return false;
        }
        return true;
    }

    private static byte[] slice(byte[] a, int from) {
        byte[] b = new byte[4];
        System.arraycopy(a, from, b, 0, 4);
        return b;
    }

    /** An address block: {@code 10.0.0.0/8}, {@code fd00::/8}, or one address. */
    record Cidr(byte[] network, int bits) {
        static Cidr parse(String text) {
            String s = text.strip();
            int slash = s.indexOf('/');
            String addressPart = slash < 0 ? s : s.substring(0, slash);
            InetAddress address;
            try {
                if (addressPart.indexOf(':') < 0 && !addressPart.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
                    throw new UnknownHostException();
                }
                address = InetAddress.getByName(addressPart.indexOf(':') >= 0 ? "[" + addressPart + "]" : addressPart);
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("'" + text + "' is not a CIDR block like 10.0.0.0/8 or fd00::/8");
            }
            byte[] bytes = address.getAddress();
            int bits = bytes.length * 8;
            if (slash >= 0) {
                try {
                    bits = Integer.parseInt(s.substring(slash + 1));
                } catch (NumberFormatException e) {
                    bits = -1;
                }
                if (bits < 0 || bits > bytes.length * 8) {
                    throw new IllegalArgumentException("'" + text + "' has a prefix length outside 0.." + bytes.length * 8);
                }
            }
            return new Cidr(bytes, bits);
        }

        boolean contains(InetAddress address) {
            byte[] a = address.getAddress();
            if (a.length != network.length) return false;
            int full = bits / 8;
            for (int i = 0; i < full; i++) {
                if (a[i] != network[i]) return false;
            }
            int rest = bits % 8;
            if (rest == 0) return true;
            int mask = (0xff << (8 - rest)) & 0xff;
            return (a[full] & mask) == (network[full] & mask);
        }
    }
}
