package dev.carapace.privacy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Finds personal data, secrets and an org's own terms in text. One pass over the text looks only at the characters
 * where a value can start (a digit, '@', ':', '=', a letter starting a word...) and hands each to its detector; the
 * org's dictionaries run as one automaton and its patterns under a read budget. Every detector looks at a bounded
 * window around its trigger, so the time is linear in the length of the text, whatever the text.
 *
 * <p>Thread-safe; build one per config and share it.
 */
public final class Scanner {

    private static final Logger log = LoggerFactory.getLogger(Scanner.class);

    private static final byte DIGIT = 1, PLUS = 2, UPPER = 3, LOWER = 4, DASH = 5, AT = 6, COLON = 7, EQUALS = 8;
    private static final byte[] TRIGGER = new byte[128];

    static {
        for (char c = '0'; c <= '9'; c++) TRIGGER[c] = DIGIT;
        for (char c = 'A'; c <= 'Z'; c++) TRIGGER[c] = UPPER;
        for (char c : "sgxe".toCharArray()) TRIGGER[c] = LOWER;
        TRIGGER['+'] = PLUS;
        TRIGGER['('] = PLUS;
        TRIGGER['-'] = DASH;
        TRIGGER['@'] = AT;
        TRIGGER[':'] = COLON;
        TRIGGER['='] = EQUALS;
    }

    /** By start, then longest first. */
    private static final Comparator<Finding> ORDER = (a, b) -> a.start() != b.start()
            ? Integer.compare(a.start(), b.start()) : Integer.compare(b.length(), a.length());

    private final Numbers numbers;
    private final Terms terms;
    private final List<PrivacySpec.CustomPattern> patterns;

    public Scanner(PrivacySpec spec) {
        this.numbers = new Numbers(spec.phoneRegions());
        Terms t = new Terms(spec.dictionaries());
        this.terms = t.isEmpty() ? null : t;
        this.patterns = spec.patterns();
        ReadingView.load();
    }

    /**
     * The findings in {@code text}, in order of their start; where two overlap, the longer one (then the surer one)
     * is kept, so every char belongs to at most one finding, with one exception: a credential's value with a format
     * of its own is reported twice over the same span, as that format and then as a credential (see {@link #pair}).
     * The text is read as a model reads it ({@link ReadingView}: through zero-width characters and fullwidth digits),
     * and the findings point into {@code text} as given.
     */
    public List<Finding> scan(String text) {
        ReadingView view = ReadingView.of(text);
        return view == null ? scanAsRead(text) : view.written(scanAsRead(view.text));
    }

    private List<Finding> scanAsRead(String text) {
        List<Finding> out = new ArrayList<>();
        char[] cs = text.toCharArray();   // the loops below run over every char: an array makes them tight
        builtins(text, cs, out);
        if (terms != null) terms.scan(text, cs, out);
        for (PrivacySpec.CustomPattern p : patterns) {
            if (!Patterns.scan(p, text, out)) {
                log.warn("privacy pattern '{}' gave up on a {}-char text: it backtracks too much; its findings there "
                        + "are incomplete", p.type(), text.length());
            }
        }
        return resolve(out);
    }

    private void builtins(String s, char[] cs, List<Finding> out) {
        int n = s.length();
        int ipv6Done = 0;
        Keys.PemEnds pemEnds = null;
        int i = 0;
        while (i < n) {
            char c = cs[i];
            byte kind;
            if (c >= 128 || (kind = TRIGGER[c]) == 0) {
                i++;
                continue;
            }
            int next = i + 1;
            switch (kind) {
                case DIGIT -> { if (Numbers.runStart(s, i)) next = numbers.scan(s, i, out); }
                case PLUS -> {
                    if (i + 1 < n && (Text.digit(s.charAt(i + 1)) || (c == '+' && s.charAt(i + 1) == '('))
                            && Numbers.runStart(s, i)) {
                        next = numbers.scan(s, i, out);
                    }
                }
                case UPPER -> { if (Text.wordStart(s, i)) next = Keys.upper(s, i, out); }
                case LOWER -> {
                    // sk-, eyJ, gh?_/gl/github_, xox: the second char rules out most words before anything else.
                    char second = i + 1 < n ? cs[i + 1] : 0;
                    boolean may = switch (c) {
                        case 's' -> second == 'k';
                        case 'e' -> second == 'y';
                        case 'g' -> second == 'h' || second == 'l' || second == 'i';
                        default -> second == 'o';
                    };
                    if (may && (i == 0 || !(Text.wordChar(cs[i - 1]) || cs[i - 1] == '_' || cs[i - 1] == '-'))) {
                        next = Keys.lower(s, i, out);
                    }
                }
                case DASH -> {
                    if (s.startsWith("-----BEGIN ", i)) {
                        if (pemEnds == null) pemEnds = new Keys.PemEnds();
                        next = Keys.pem(s, i, out, pemEnds);
                    }
                }
                case AT -> next = Emails.scan(s, i, out);
                case COLON -> {
                    if (i >= ipv6Done) ipv6Done = Ipv6.scan(s, i, out);
                    next = Assignments.scan(s, i, out);
                }
                case EQUALS -> next = Assignments.scan(s, i, out);
                default -> { }
            }
            i = Math.max(next, i + 1);
        }
    }

    private static List<Finding> resolve(List<Finding> found) {
        if (found.size() < 2) return found;
        found.sort(ORDER);
        List<Finding> kept = new ArrayList<>(found.size());
        for (Finding f : found) {
            if (kept.isEmpty()) {
                kept.add(f);
                continue;
            }
            Finding last = kept.get(kept.size() - 1);
            if (f.start() >= last.end()) {
                kept.add(f);
            } else if (isCredential(f) != isCredential(last) && !f.dataClass().equals(last.dataClass())) {
                pair(kept, f);
            } else if (f.length() > last.length() || (f.length() == last.length() && f.confidence() > last.confidence())) {
                if (isCredential(last) && kept.size() > 1 && kept.get(kept.size() - 2).sameSpan(last)) {
                    kept.remove(kept.size() - 1);           // a longer value replaces the whole pair
                }
                kept.set(kept.size() - 1, f);
            }
        }
        return kept;
    }

    /**
     * A credential's value that also has a format of its own (a card number after {@code token=}, an e-mail address
     * after {@code password:}) is reported as both, over the union of their spans: the format first, so records and
     * placeholders name the most specific type, and the credential right after, so a policy acting on secrets still
     * sees it. Both must be kept: a policy may block cards and only redact credentials, or the other way round. A
     * format that is itself a secret (an API key) needs no second finding: the policies act on classes.
     */
    private static void pair(List<Finding> kept, Finding f) {
        int at = kept.size() - 1;
        Finding last = kept.get(at);
        if (at > 0 && kept.get(at - 1).sameSpan(last)) {
            return;                                         // already a pair: one format per credential is enough
        }
        Finding specific = isCredential(f) ? last : f;
        Finding credential = isCredential(f) ? f : last;
        int start = Math.min(f.start(), last.start());
        int end = Math.max(f.end(), last.end());
        kept.set(at, new Finding(specific.type(), specific.dataClass(), start, end, specific.confidence()));
        kept.add(new Finding(credential.type(), credential.dataClass(), start, end, credential.confidence()));
    }

    private static boolean isCredential(Finding f) {
        return f.type().equals(Assignments.TYPE);
    }
}
