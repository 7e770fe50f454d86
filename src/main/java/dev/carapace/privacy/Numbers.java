package dev.carapace.privacy;

import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.Phonemetadata;
import com.google.i18n.phonenumbers.Phonenumber;
import com.google.i18n.phonenumbers.metadata.DefaultMetadataDependenciesProvider;
import com.google.i18n.phonenumbers.metadata.source.MetadataSource;
import org.apache.commons.validator.routines.checkdigit.LuhnCheckDigit;

import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Finds the values written as runs of digit groups: IPv4 addresses, US social security numbers, payment cards and
 * phone numbers. A run is read once, as groups and the separators between them; then the longest leading groups that
 * make a valid value win (so a card number followed by an expiry year is still a card number).
 */
final class Numbers {

    private static final PhoneNumberUtil PHONES = PhoneNumberUtil.getInstance();
    private static final int MAX_GROUPS = 8;
    private static final int MAX_RUN = 40;
    private static final String[] PHONE_WORDS = {"tel", "phone", "mobile", "cell", "call", "fax", "whatsapp", "sms",
            "telefon", "téléphone", "teléfono", "telefone", "numéro", "nummer", "電話", "电话", "手机", "携帯", "номер"};
    private static final String[] SSN_WORDS = {"ssn", "social security", "soc. sec"};
    private static final String[] VERSION_WORDS = {"version", "ver.", "release", "build", "firmware", "v."};

    /** The metadata PHONES reads (its default source), for the number lengths each plan allows. */
    private static final MetadataSource PLANS = DefaultMetadataDependenciesProvider.getInstance().getPhoneNumberMetadataSource();
    /**
     * Per country calling code, bit L set if some region of that code has national numbers of L digits (0 = not yet
     * known). libphonenumber only calls a number valid if its plan allows its length, but it finds that out after
     * looking up the region's metadata by name (building a file name per call) and, for codes shared by many regions
     * like +1, doing so per region: knowing the lengths up front turns most candidates away for a bit test.
     */
    private static final AtomicLongArray LENGTHS = new AtomicLongArray(1000);

    private final String[] regions;
    private final String[] trunks;
    private final int[] countryCodes;

    Numbers(List<String> phoneRegions) {
        this.regions = phoneRegions.toArray(String[]::new);
        this.trunks = new String[regions.length];
        this.countryCodes = new int[regions.length];
        for (int r = 0; r < regions.length; r++) {
            trunks[r] = PHONES.getNddPrefixForRegion(regions[r], true);
            countryCodes[r] = PHONES.getCountryCodeForRegion(regions[r]);
        }
    }

    /** Whether a run may start at the digit at {@code i}: not inside a word, a decimal, a path or an identifier. */
    static boolean runStart(String s, int i) {
        if (i == 0) return true;
        char p = s.charAt(i - 1);
        if (p < 128) {
            if (Text.asciiAlnum(p) || p == '.' || p == '_' || p == '/' || p == '\\' || p == ',') return false;
            return !(p == '-' && i >= 2 && Text.asciiAlnum(s.charAt(i - 2)));
        }
        return !Character.isDigit(p);
    }

    /**
     * Reads the run at {@code i} (a digit, or a '+' or '(' before one) and adds what it holds.
     *
     * @return where scanning should go on
     */
    int scan(String s, int i, List<Finding> out) {
        int n = s.length();
        int limit = Math.min(n, i + MAX_RUN);
        int p = i;
        boolean plus = false, paren = false;
        if (s.charAt(p) == '+') { plus = true; p++; }
        if (p < n && s.charAt(p) == '(') { paren = true; p++; }
        int[] gs = new int[MAX_GROUPS], ge = new int[MAX_GROUPS];
        char[] sep = new char[MAX_GROUPS];
        int k = 0;
        while (k < MAX_GROUPS) {
            int st = p;
            while (p < limit && Text.digit(s.charAt(p))) p++;
            if (p == st) break;
            gs[k] = st;
            ge[k] = p;
            k++;
            int q = p;
            char kind = 0;
            while (q < limit && q - p < 3) {
                char c = s.charAt(q);
                if (c == ' ' || c == '-' || c == '.' || c == '/') kind = c;
                else if (c == '(' || c == ')') { if (kind == 0) kind = ')'; }
                else break;
                q++;
            }
            if (q == p || q >= limit || !Text.digit(s.charAt(q)) || k == MAX_GROUPS) break;
            sep[k] = kind;
            p = q;
        }
        if (k == 0) return i + 1;
        // A run shaped like a card or an SSN is one value, valid or not: its tail is not another number.
        int lowest = shapedAsOne(gs, ge, sep, k) ? k : 1;
        for (int kk = k; kk >= lowest; kk--) {
            int end = ge[kk - 1];
            if (!Text.wordEnd(s, end)) continue;
            if (end < n && s.charAt(end) == '.' && end + 1 < n && Text.digit(s.charAt(end + 1))) continue;
            Finding f = classify(s, i, end, plus, paren, gs, ge, sep, kk, k);
            if (f != null) {
                out.add(f);
                return end;
            }
        }
        return lowest == k ? ge[k - 1] : ge[0];
    }

    /** 4111 1111 1111 1112 (four-digit groups, 13-19 digits) or 666-12-3456 (3-2-4 with dashes). */
    private static boolean shapedAsOne(int[] gs, int[] ge, char[] sep, int k) {
        if (k == 3 && ge[0] - gs[0] == 3 && ge[1] - gs[1] == 2 && ge[2] - gs[2] == 4 && sep[1] == '-' && sep[2] == '-') {
            return true;
        }
        if (k < 3 || ge[0] - gs[0] != 4 || (sep[1] != ' ' && sep[1] != '-')) return false;
        int digits = 0;
        for (int g = 0; g < k; g++) {
            if (g >= 2 && sep[g] != sep[1]) return false;
            digits += ge[g] - gs[g];
        }
        return digits >= 13 && digits <= 19;
    }

    private Finding classify(String s, int start, int end, boolean plus, boolean paren, int[] gs, int[] ge, char[] sep,
                             int k, int groupsInRun) {
        int digits = 0;
        boolean sameSep = true;
        for (int g = 0; g < k; g++) {
            digits += ge[g] - gs[g];
            if (g >= 2 && sep[g] != sep[1]) sameSep = false;
        }
        if (!plus && !paren) {
            if (k == 4 && sameSep && sep[1] == '.') return ipv4(s, start, end, gs, ge, groupsInRun > 4 && sep[4] == '.');
            Finding ssn = ssn(s, start, end, gs, ge, sep, k);
            if (ssn != null || (k == 3 && shapedAsOne(gs, ge, sep, k) && ge[0] - gs[0] == 3)) return ssn;
            if (digits >= 13 && digits <= 19 && sameSep && (k == 1 || sep[1] == ' ' || sep[1] == '-')
                    && card(s, gs, ge, k, digits)) {
                return new Finding("card", Finding.PII, start, end, k > 1 ? 0.99 : 0.95);
            }
        }
        if (digits < 7 || digits > 15) return null;
        return phone(s, start, end, plus, paren, gs, ge, sep, k, sameSep);
    }

    private static Finding ipv4(String s, int start, int end, int[] gs, int[] ge, boolean moreGroups) {
        if (moreGroups) return null;
        for (int g = 0; g < 4; g++) {
            int len = ge[g] - gs[g];
            if (len > 3) return null;
            if (Integer.parseInt(s, gs[g], ge[g], 10) > 255) return null;
        }
        if (Text.keywordBefore(s, start, 10, VERSION_WORDS)) return null;
        return new Finding("ipv4", Finding.PII, start, end, 0.9);
    }

    private static Finding ssn(String s, int start, int end, int[] gs, int[] ge, char[] sep, int k) {
        int area, group, serial;
        double confidence;
        if (k == 3 && ge[0] - gs[0] == 3 && ge[1] - gs[1] == 2 && ge[2] - gs[2] == 4 && sep[1] == sep[2]
                && (sep[1] == '-' || sep[1] == ' ')) {
            boolean keyword = Text.keywordBefore(s, start, 24, SSN_WORDS);
            if (sep[1] == ' ' && !keyword) return null;
            area = Integer.parseInt(s, gs[0], ge[0], 10);
            group = Integer.parseInt(s, gs[1], ge[1], 10);
            serial = Integer.parseInt(s, gs[2], ge[2], 10);
            confidence = keyword ? 0.97 : 0.85;
        } else if (k == 1 && ge[0] - gs[0] == 9 && Text.keywordBefore(s, start, 24, SSN_WORDS)) {
            area = Integer.parseInt(s, gs[0], gs[0] + 3, 10);
            group = Integer.parseInt(s, gs[0] + 3, gs[0] + 5, 10);
            serial = Integer.parseInt(s, gs[0] + 5, ge[0], 10);
            confidence = 0.9;
        } else {
            return null;
        }
        // The SSA never issues area 000, 666 or 900-999, group 00 or serial 0000.
        if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return null;
        return new Finding("ssn", Finding.PII, start, end, confidence);
    }

    /** An issuer prefix of a real card scheme with a length it issues, and a valid Luhn check digit. */
    private static boolean card(String s, int[] gs, int[] ge, int k, int digits) {
        char[] d = new char[digits];
        int j = 0;
        for (int g = 0; g < k; g++) for (int p = gs[g]; p < ge[g]; p++) d[j++] = s.charAt(p);
        int p2 = (d[0] - '0') * 10 + (d[1] - '0');
        int p4 = p2 * 100 + (d[2] - '0') * 10 + (d[3] - '0');
        boolean issuer = switch (d[0]) {
            case '4' -> digits == 13 || digits == 16 || digits == 19;                           // Visa
            case '5' -> (p2 >= 51 && p2 <= 55 && digits == 16)                                 // Mastercard
                    || ((p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893) && digits >= 12); // Maestro
            case '2' -> p4 >= 2221 && p4 <= 2720 && digits == 16;                               // Mastercard 2-series
            case '3' -> ((p2 == 34 || p2 == 37) && digits == 15)                                // Amex
                    || (p4 >= 3528 && p4 <= 3589 && digits >= 16)                               // JCB
                    || ((p2 == 36 || p2 == 38 || p2 == 39 || (p4 >= 3000 && p4 <= 3059)) && digits >= 14); // Diners
            case '6' -> p4 == 6011 || p2 == 65 || (p4 >= 6440 && p4 <= 6499) || p2 == 62        // Discover, UnionPay
                    || p4 == 6304 || p4 == 6759 || (p4 >= 6761 && p4 <= 6763);                  // Maestro
            default -> false;
        };
        return issuer && LuhnCheckDigit.LUHN_CHECK_DIGIT.isValid(new String(d));
    }

    private Finding phone(String s, int start, int end, boolean plus, boolean paren, int[] gs, int[] ge, char[] sep,
                          int k, boolean sameSep) {
        for (int g = 1; g < k; g++) if (sep[g] == '/') return null;            // dates, fractions, paths
        if (k >= 3 && sep[1] == sep[2] && sep[1] != ' ' && looksLikeDate(gs, ge)) return null;
        if (end + 1 < s.length() && s.charAt(end) == ':' && Text.digit(s.charAt(end + 1))) return null;   // 12:30
        if (k == 2 && sep[1] == '.') return null;                              // a decimal number
        boolean formatted = k > 1 || paren;
        int written = digits(gs, ge, k);
        boolean keyword = false;
        if (!plus && (!formatted || written < 8)) {
            keyword = Text.keywordBefore(s, start, 24, PHONE_WORDS);
            if (!keyword) return null;                                         // a bare number: an id, a count, a time
        }
        StringBuilder d = new StringBuilder(written);
        for (int g = 0; g < k; g++) d.append(s, gs[g], ge[g]);
        if (plus) {
            // +CC NATIONAL: the country code is the 1-3 leading digits that name a country.
            for (int cc = 1; cc <= 3 && cc < d.length(); cc++) {
                int code = Integer.parseInt(d, 0, cc, 10);
                if (PHONES.getRegionCodeForCountryCode(code).equals("ZZ")) continue;
                return valid(code, d.substring(cc)) ? new Finding("phone", Finding.PII, start, end, 0.92) : null;
            }
            return null;
        }
        char first = d.charAt(0);
        for (int r = 0; r < regions.length; r++) {
            // Written nationally, a number carries its trunk prefix (0 in most of Europe) or, in the NANP, all
            // ten digits; "4471-2231" is an order number, not a phone number without its area code.
            String trunk = trunks[r];
            String national;
            if ("0".equals(trunk)) {
                if (first != '0') continue;
                national = d.substring(1);
            } else if ("1".equals(trunk)) {
                if (written == 10) national = d.toString();
                else if (written == 11 && first == '1') national = d.substring(1);
                else continue;
            } else {
                national = trunk != null && d.indexOf(trunk) == 0 ? d.substring(trunk.length()) : d.toString();
            }
            if (valid(countryCodes[r], national)) {
                if (!keyword) keyword = Text.keywordBefore(s, start, 24, PHONE_WORDS);
                return new Finding("phone", Finding.PII, start, end, keyword ? 0.9 : 0.8);
            }
        }
        return null;
    }

    /**
     * Checks a number against its country's numbering plan, built directly rather than parsed: the caller has
     * already split country code and national digits, and parsing (many regexes) would cost more than the check.
     */
    private static boolean valid(int countryCode, String national) {
        if (national.length() < 4 || national.length() > 14) return false;
        if ((lengths(countryCode) & (1L << national.length())) == 0) return false;
        Phonenumber.PhoneNumber n = new Phonenumber.PhoneNumber().setCountryCode(countryCode)
                .setNationalNumber(Long.parseLong(national));
        int zeros = 0;
        while (zeros < national.length() - 1 && national.charAt(zeros) == '0') zeros++;
        if (zeros > 0) n.setItalianLeadingZero(true).setNumberOfLeadingZeros(zeros);   // Italy's fixed lines keep their 0
        return PHONES.isValidNumber(n);
    }

    /** The {@link #LENGTHS} of a country calling code; all lengths if its plans do not say. */
    private static long lengths(int countryCode) {
        if (countryCode <= 0 || countryCode >= LENGTHS.length()) return -1L;
        long known = LENGTHS.get(countryCode);
        if (known != 0) return known;
        long mask = 0;
        try {
            for (String region : PHONES.getRegionCodesForCountryCode(countryCode)) {
                Phonemetadata.PhoneMetadata m = "001".equals(region)
                        ? PLANS.getMetadataForNonGeographicalRegion(countryCode) : PLANS.getMetadataForRegion(region);
                List<Integer> possible = m == null ? List.of() : m.getGeneralDesc().getPossibleLengthList();
                if (possible.isEmpty()) return all(countryCode);                // no length data: every length may do
                for (int length : possible) mask |= length >= 0 && length < 64 ? 1L << length : -1L;
            }
        } catch (RuntimeException e) {
            return all(countryCode);
        }
        if (mask == 0) mask = 1;      // no region: nothing is valid, but 0 means "not yet known"; length 0 never asks
        LENGTHS.set(countryCode, mask);
        return mask;
    }

    private static long all(int countryCode) {
        LENGTHS.set(countryCode, -1L);
        return -1L;
    }

    private static int digits(int[] gs, int[] ge, int k) {
        int d = 0;
        for (int g = 0; g < k; g++) d += ge[g] - gs[g];
        return d;
    }

    /** yyyy-mm-dd, dd.mm.yyyy and the like. */
    private static boolean looksLikeDate(int[] gs, int[] ge) {
        int a = ge[0] - gs[0], b = ge[1] - gs[1], c = ge[2] - gs[2];
        return (a == 4 && b <= 2 && c <= 2) || (a <= 2 && b <= 2 && (c == 4 || c == 2));
    }
}
