package dev.carapace.text;

/**
 * Case folding of identifiers (e-mail addresses, sender ids) that maps A-Z to a-z and nothing else.
 * {@link String#toLowerCase} also maps some non-ASCII letters to ASCII ones (the Kelvin sign U+212A to {@code k}),
 * so a name someone else can register would fold into a person's address and be taken for them.
 */
public final class AsciiCase {

    private AsciiCase() {}

    /** {@code s} with its ASCII capitals in lower case; every other character as it was; null stays null. */
    public static String lower(String s) {
        if (s == null) return null;
        char[] c = s.toCharArray();
        for (int i = 0; i < c.length; i++) if (c[i] >= 'A' && c[i] <= 'Z') c[i] += 'a' - 'A';
        return new String(c);
    }
}
