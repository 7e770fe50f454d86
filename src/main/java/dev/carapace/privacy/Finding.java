package dev.carapace.privacy;

/**
 * One piece of sensitive data found in a text. Never carries the value itself: {@code start} and {@code end} point
 * into the text that was scanned, so whoever holds the text can cut the value out and whoever does not cannot.
 *
 * @param type       what was found: {@code email}, {@code phone}, {@code card}, {@code iban}, {@code ssn}, {@code ipv4},
 *                   {@code ipv6}, a key format ({@code openai_key}, {@code anthropic_key}, {@code aws_access_key},
 *                   {@code github_token}, {@code slack_token}, {@code gitlab_token}, {@code jwt}, {@code private_key}),
 *                   {@code credential} (a high-entropy value assigned to a password/secret/token name), or the name
 *                   of an org's own dictionary or pattern
 * @param dataClass  {@code pii}, {@code secret}, {@code confidential}, or an org's own class
 * @param start      first UTF-16 code unit of the value
 * @param end        one past the last UTF-16 code unit (exclusive)
 * @param confidence how sure the detector is, from 0 to 1
 */
public record Finding(String type, String dataClass, int start, int end, double confidence) {

    public static final String PII = "pii";
    public static final String SECRET = "secret";
    public static final String CONFIDENTIAL = "confidential";

    public Finding {
        if (start < 0 || end < start) throw new IllegalArgumentException("bad span " + start + ".." + end);
    }

    public int length() { return end - start; }

    /** Whether {@code other} covers exactly this span: the same value found as two types (see {@link Scanner#scan}). */
    public boolean sameSpan(Finding other) {
        return start == other.start && end == other.end;
    }
}
