package dev.carapace.guard.url;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The one spelling of a URL's host that network rules, tool rules on URLs and the egress proxy all judge, so no
 * spelling of a host ({@code API.example.com.}, {@code 0x7f.1}) is one thing to a rule and another on the wire.
 *
 * @param name    the canonical text: a lower-case DNS name, a dotted quad, or a full lower-case IPv6 address
 * @param literal the address when the host is an IP literal (no DNS needed), else null
 */
public record CanonicalHost(String name, InetAddress literal) {

    private static final Pattern LABEL = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?");
    private static final Pattern NUMERIC_LABEL = Pattern.compile("[0-9]+|0x[0-9a-f]*");
    private static final Pattern V6_CHARS = Pattern.compile("[0-9a-f:.]+");

    /**
     * A host as a client wrote it, made canonical: lower case, without a trailing dot; an IP literal in any spelling
     * inet_aton accepts ({@code 2130706433}, {@code 0177.0.0.1}, {@code 0x7f.1}, {@code 127.1}) becomes its dotted
     * quad, an IPv6 literal (with or without brackets) its full lower-case form ({@code fd00:ec2:0:0:0:0:0:254}). A host whose last label is numeric but
     * which is no valid IPv4 address ({@code 1.2.3.4.5}, {@code 256.1}) is refused: some resolvers would read it as
     * an address, so it must never be treated as a name.
     *
     * @throws IllegalArgumentException with words for the client when the host is not a valid name or address
     */
    public static CanonicalHost of(String raw) {
        if (raw == null || raw.isEmpty()) throw new IllegalArgumentException("the host is empty");
        String h = raw.toLowerCase(Locale.ROOT);
        if (h.startsWith("[") || h.indexOf(':') >= 0) {
            String inner = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
            if (!V6_CHARS.matcher(inner).matches() || inner.indexOf(':') < 0) {
                throw new IllegalArgumentException("the host is not a valid IPv6 address (zone ids are not accepted)");
            }
            InetAddress address;
            try {
                address = InetAddress.getByName(inner.contains(":") ? "[" + inner + "]" : inner); // literal: no DNS
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("the host is not a valid IPv6 address");
            }
            return new CanonicalHost(address.getHostAddress(), address);
        }
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        if (h.isEmpty() || h.length() > 253) throw new IllegalArgumentException("the host name is empty or too long");
        String[] labels = h.split("\\.", -1);
        if (NUMERIC_LABEL.matcher(labels[labels.length - 1]).matches()) {
            InetAddress v4 = ipv4(labels)
                    .orElseThrow(() -> new IllegalArgumentException("the host looks like an IPv4 address but is not a "
                            + "valid one"));
            return new CanonicalHost(v4.getHostAddress(), v4);
        }
        for (String label : labels) {
            if (!LABEL.matcher(label).matches()) {
                throw new IllegalArgumentException("the host is not a valid DNS name (letters, digits, '-' and '_' in "
                        + "dot-separated labels of at most 63 characters)");
            }
        }
        return new CanonicalHost(h, null);
    }

    /** The host as it goes in a URL authority or a Host header (IPv6 in brackets). */
    public String authority() {
        return literal instanceof Inet6Address ? "[" + name + "]" : name;
    }

    /** inet_aton: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last part fills the rest. */
    private static Optional<InetAddress> ipv4(String[] parts) {
        if (parts.length > 4) return Optional.empty();
        long[] values = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            try {
                if (p.startsWith("0x")) values[i] = p.length() == 2 ? 0 : Long.parseLong(p.substring(2), 16);
                else if (p.length() > 1 && p.startsWith("0")) values[i] = Long.parseLong(p.substring(1), 8);
                else values[i] = Long.parseLong(p);
            } catch (NumberFormatException e) {
                return Optional.empty(); // empty part, 08, or longer than a long
            }
        }
        long value = 0;
        for (int i = 0; i < values.length - 1; i++) {
            if (values[i] > 255) return Optional.empty();
            value |= values[i] << (8 * (3 - i));
        }
        long last = values[values.length - 1];
        if (last >= 1L << (8 * (5 - values.length))) return Optional.empty();
        value |= last;
        byte[] bytes = {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value};
        try {
            return Optional.of(InetAddress.getByAddress(bytes));
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // four bytes are always an address
        }
    }
}
