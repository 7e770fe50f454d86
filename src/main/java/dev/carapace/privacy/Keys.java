package dev.carapace.privacy;

import org.apache.commons.validator.routines.IBANValidator;

import java.util.List;

/**
 * Finds values by their published formats: API keys and tokens by prefix, JWTs, PEM private key blocks, and IBANs
 * (two letters, two check digits, checked with the ISO 7064 mod-97 check and the country's length).
 */
final class Keys {

    private static final IBANValidator IBANS = IBANValidator.getInstance();
    private static final int PEM_MAX = 64 * 1024;

    private Keys() {}

    /** A lowercase letter at the start of a word: sk-, sk-ant-, gh?_, github_pat_, glpat-, xox?-, eyJ. */
    static int lower(String s, int i, List<Finding> out) {
        switch (s.charAt(i)) {
            case 's' -> {
                if (Text.at(s, i, "sk-ant-")) return token(s, i, 7, 20, "anthropic_key", 0.99, out, true);
                if (Text.at(s, i, "sk-")) return token(s, i, 3, 20, "openai_key", 0.97, out, true);
            }
            case 'g' -> {
                if (s.length() > i + 4 && s.charAt(i + 1) == 'h' && s.charAt(i + 3) == '_' && "pousr".indexOf(s.charAt(i + 2)) >= 0) {
                    return run(s, i, 4, 36, "github_token", 0.99, out);
                }
                if (Text.at(s, i, "github_pat_")) return token(s, i, 11, 40, "github_token", 0.99, out, false);
                if (Text.at(s, i, "glpat-")) return token(s, i, 6, 20, "gitlab_token", 0.99, out, false);
            }
            case 'x' -> {
                if (s.length() > i + 5 && Text.at(s, i, "xox") && "abprse".indexOf(s.charAt(i + 3)) >= 0 && s.charAt(i + 4) == '-') {
                    return token(s, i, 5, 10, "slack_token", 0.97, out, true);
                }
            }
            case 'e' -> {
                if (Text.at(s, i, "eyJ")) return jwt(s, i, out);
            }
            default -> { }
        }
        return i + 1;
    }

    /** An uppercase letter at the start of a word: AWS access key ids (AKIA, ASIA) and IBANs. */
    static int upper(String s, int i, List<Finding> out) {
        int n = s.length();
        if (i + 20 <= n && (Text.at(s, i, "AKIA") || Text.at(s, i, "ASIA"))) {
            int p = i + 4;
            while (p < i + 20 && (Text.upper(s.charAt(p)) || Text.digit(s.charAt(p)))) p++;
            if (p == i + 20 && Text.wordEnd(s, p)) {
                out.add(new Finding("aws_access_key", Finding.SECRET, i, p, 0.99));
                return p;
            }
        }
        if (i + 4 < n && Text.upper(s.charAt(i + 1)) && Text.digit(s.charAt(i + 2)) && Text.digit(s.charAt(i + 3))) {
            return iban(s, i, out);
        }
        return i + 1;
    }

    /** A "-----BEGIN ...PRIVATE KEY-----" block, to its END line (or, without one, to the end of its base64). */
    static int pem(String s, int i, List<Finding> out, PemEnds ends) {
        int labelStart = i + 11;
        int labelEnd = s.indexOf("-----", labelStart);
        if (labelEnd < 0 || labelEnd - labelStart > 40) return i + 1;
        String label = s.substring(labelStart, labelEnd);
        if (!label.endsWith("PRIVATE KEY") && !label.equals("PGP PRIVATE KEY BLOCK")) return i + 1;
        int body = labelEnd + 5;
        int end = -1;
        int e = ends.next(s, body);
        if (e >= 0 && e - body <= PEM_MAX && s.startsWith(label + "-----", e + 9)) end = e + 9 + label.length() + 5;
        if (end < 0) {
            // No END line: the base64 body (possibly with JSON-escaped line breaks) is the key.
            end = body;
            while (end < s.length() && end - body < PEM_MAX) {
                char c = s.charAt(end);
                if (Text.asciiAlnum(c) || c == '+' || c == '/' || c == '=' || c == '\n' || c == '\r' || c == '\\') end++;
                else break;
            }
            if (end - body < 16) return body;                            // a BEGIN line alone is no key
        }
        out.add(new Finding("private_key", Finding.SECRET, i, end, 1.0));
        return end;
    }

    /** Finds "-----END " markers, remembering the last answer so a text full of BEGIN lines is still read once. */
    static final class PemEnds {
        private int from = -1;
        private int found = -1;

        int next(String s, int at) {
            if (from >= 0 && at >= from && (found < 0 || found >= at)) return found;
            from = at;
            found = s.indexOf("-----END ", at);
            return found;
        }
    }

    /** A prefix of {@code prefixLen} chars, then at least {@code min} of [A-Za-z0-9_-], holding a digit if {@code mixed}. */
    private static int token(String s, int i, int prefixLen, int min, String type, double confidence, List<Finding> out,
                             boolean mixed) {
        int p = i + prefixLen;
        boolean digit = false, letter = false;
        while (p < s.length() && p - i < 256) {
            char c = s.charAt(p);
            if (Text.digit(c)) digit = true;
            else if (Text.upper(c) || Text.lower(c)) letter = true;
            else if (c != '_' && c != '-') break;
            p++;
        }
        if (p - i - prefixLen < min || !Text.wordEnd(s, p) || (mixed && !(digit && letter))) return i + 1;
        out.add(new Finding(type, Finding.SECRET, i, p, confidence));
        return p;
    }

    /** A prefix then exactly {@code len} letters and digits (GitHub's classic tokens). */
    private static int run(String s, int i, int prefixLen, int len, String type, double confidence, List<Finding> out) {
        int p = i + prefixLen;
        while (p < s.length() && p - i - prefixLen < len + 1 && Text.asciiAlnum(s.charAt(p))) p++;
        if (p - i - prefixLen != len || !Text.wordEnd(s, p) || (p < s.length() && s.charAt(p) == '_')) return i + 1;
        out.add(new Finding(type, Finding.SECRET, i, p, confidence));
        return p;
    }

    /** header.payload.signature, each base64url; the header is JSON, so it starts with eyJ. */
    private static int jwt(String s, int i, List<Finding> out) {
        int p = i;
        int[] lengths = new int[3];
        for (int seg = 0; seg < 3; seg++) {
            int st = p;
            while (p < s.length() && p - st < 8192) {
                char c = s.charAt(p);
                if (Text.asciiAlnum(c) || c == '-' || c == '_') p++;
                else break;
            }
            lengths[seg] = p - st;
            if (seg < 2) {
                if (p >= s.length() || s.charAt(p) != '.') return i + 1;
                p++;
            }
        }
        if (lengths[0] < 10 || lengths[1] < 10 || lengths[2] < 16 || !Text.wordEnd(s, p)) return i + 1;
        out.add(new Finding("jwt", Finding.SECRET, i, p, 0.95));
        return p;
    }

    private static int iban(String s, int i, List<Finding> out) {
        // Letters and digits, in groups that may be separated by single spaces; at most 34 of them.
        StringBuilder compact = new StringBuilder(34);
        int[] groupEnds = new int[12];
        int[] compactLen = new int[12];
        int groups = 0;
        int p = i;
        int n = s.length();
        while (p < n && compact.length() < 34 && groups < 12) {
            int st = p;
            while (p < n && compact.length() < 34 && (Text.upper(s.charAt(p)) || Text.digit(s.charAt(p)))) {
                compact.append(s.charAt(p));
                p++;
            }
            if (p == st) break;
            groupEnds[groups] = p;
            compactLen[groups] = compact.length();
            groups++;
            if (p + 1 < n && s.charAt(p) == ' ' && (Text.upper(s.charAt(p + 1)) || Text.digit(s.charAt(p + 1)))) p++;
            else break;
        }
        for (int g = groups - 1; g >= 0; g--) {
            int end = groupEnds[g];
            if (compactLen[g] < 15 || !Text.wordEnd(s, end)) continue;
            if (IBANS.isValid(compact.substring(0, compactLen[g]))) {
                out.add(new Finding("iban", Finding.PII, i, end, 0.99));
                return end;
            }
        }
        // Shaped like an IBAN but failing its check: skip it whole, so its digits are not read as other numbers.
        return groups > 0 && compactLen[groups - 1] >= 15 ? groupEnds[groups - 1] : i + 1;
    }
}
