package dev.carapace.privacy;

import org.apache.commons.validator.routines.InetAddressValidator;

import java.util.List;

/** Finds IPv6 addresses around a ':'; the candidate must hold a digit (so C++'s {@code Abc::Def} is no address). */
final class Ipv6 {

    private static final InetAddressValidator VALIDATOR = InetAddressValidator.getInstance();
    private static final int MAX = 45;

    private Ipv6() {}

    /**
     * {@code colon} is a ':' at or after {@code done}, the end of the last candidate looked at.
     *
     * @return the end of the candidate looked at (so its other colons are not looked at again), or colon + 1
     */
    static int scan(String s, int colon, List<Finding> out) {
        int n = s.length();
        int a = colon;
        while (a > 0 && colon - a < MAX && (Text.hex(s.charAt(a - 1)) || s.charAt(a - 1) == ':')) a--;
        int b = colon + 1;
        while (b < n && b - a < MAX && (Text.hex(s.charAt(b)) || s.charAt(b) == ':' || s.charAt(b) == '.')) b++;
        while (b > colon + 1 && (s.charAt(b - 1) == '.' || s.charAt(b - 1) == ':') && !(b - 2 >= a && s.charAt(b - 2) == ':')) b--;
        if (!Text.wordStart(s, a) || !Text.wordEnd(s, b) || (a > 0 && s.charAt(a - 1) == '.')) return b;
        int colons = 0;
        boolean digit = false, doubleColon = false, dot = false;
        for (int p = a; p < b; p++) {
            char c = s.charAt(p);
            if (c == ':') {
                colons++;
                if (p > a && s.charAt(p - 1) == ':') doubleColon = true;
            } else if (c == '.') {
                dot = true;
            } else if (Text.digit(c)) {
                digit = true;
            }
        }
        // Eight groups, or fewer with "::" (an IPv4 tail counts as two): anything else (12:30:45) is not an address.
        if (colons < 2 || !digit || !(doubleColon || colons == 7 || (colons == 6 && dot))) return b;
        if (VALIDATOR.isValidInet6Address(s.substring(a, b))) {
            out.add(new Finding("ipv6", Finding.PII, a, b, 0.9));
        }
        return b;
    }
}
