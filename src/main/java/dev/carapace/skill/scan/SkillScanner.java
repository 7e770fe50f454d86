package dev.carapace.skill.scan;

import dev.carapace.text.BoundedRegex;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The static review of a skill before anyone may use it: every file of the skill (the SKILL.md, its references, its
 * scripts, anything else) is read as text when it is text and judged by its magic bytes when it is not, and each line
 * is checked for download-and-execute, reading credentials or the environment, obfuscated payloads, instructions to
 * disable safety, unknown or hostile hosts, and hidden Unicode ({@link Rules}, {@link Hosts}, {@link Blobs},
 * {@link HiddenText}). Encoded runs that decode to text are scanned again as what they hide.
 *
 * <p>Bounded: at most {@link #MAX_SCANNED_BYTES} of a file are read (the rest is a finding, so nothing unscanned is
 * waved through), a line is matched in windows of {@link #WINDOW} characters, every regex runs under
 * {@link BoundedRegex} with a read budget, and the whole scan stops at its deadline (a finding again).
 * Thread-safe: it keeps no state between scans.
 */
public final class SkillScanner {

    /** How much of one file is scanned. */
    public static final int MAX_SCANNED_BYTES = 2 * 1024 * 1024;
    /** Findings kept per scan; more are counted as truncated. */
    public static final int MAX_FINDINGS = 500;
    static final int WINDOW = 8192;
    private static final long READS_PER_CHAR = 200, MIN_READS = 100_000;
    private static final long DEADLINE_NANOS = 20_000_000_000L;

    private static final Pattern DOWNLOADED = Pattern.compile("\\b(?:curl|wget)\\b[^\\n]{0,300}(?:\\s-o|\\s-O|--output|>)\\s{0,5}\\S",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern CHMOD_X = Pattern.compile("\\bchmod\\s{1,5}(?:[ugoa]{0,3}\\+x|[0-7]?7[0-7]{2})\\b", Pattern.CASE_INSENSITIVE);
    /** A negation governing what follows it in the same clause (not across a comma or colon, nor "no matter"). */
    private static final Pattern NEGATION = Pattern.compile("\\b(?:not|never(?!\\s+mind\\b)|don'?t|do\\s+not|avoid|nor"
            + "|no(?!\\s+matter\\b)|refuse|without)\\b[^.!?;:,]{0,50}$",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern READ_VERB = Pattern.compile("\\b(?:cat|less|head|tail|cp|mv|scp|rsync|tar|zip|7z|base64|xxd|strings|"
            + "sqlite3|open|read|reads|reading|readfile|readfilesync|read_text|read_bytes|get-content|upload|uploads|send|sends|post|"
            + "exfiltrate|copy|collect|grab|dump|steal|harvest|curl|wget|nc|archive|compress|extract|decrypt)\\b|\\bcontents?\\s{1,3}of\\b"
            + "|<\\s{0,3}[\"']?(?:~|\\$home)"
            + "|@(?:~|\\$home|/)|--data(?:-binary)?\\b|\\s-F\\s|\\s-d\\s{0,3}@", Pattern.CASE_INSENSITIVE);
    private static final Pattern LINE_BREAK = Pattern.compile("\r\n|\r|\n");
    private static final Set<String> PROSE = Set.of("md", "markdown", "txt", "rst", "mdx", "");

    /**
     * Scans a skill.
     *
     * @param files         the skill's files by their path inside the skill ({@code SKILL.md}, {@code scripts/run.sh})
     * @param declaredHosts the hosts the skill says it contacts (its homepage's and its metadata's); URLs to others are
     *                      low findings, shown to the reviewer
     */
    public ScanReport scan(Map<String, byte[]> files, Set<String> declaredHosts) {
        Set<String> declared = normalise(declaredHosts);
        Run run = new Run(declared, System.nanoTime() + DEADLINE_NANOS);
        for (String broad : broad(declaredHosts)) {
            run.add("unknown-host", Severity.MEDIUM, "SKILL.md", 0, Quote.of(broad, 60), "Declares every host under the "
                    + "top-level domain '" + Quote.of(broad, 60) + "' as its own: no download or contact there is told apart.");
        }
        for (Map.Entry<String, byte[]> f : new TreeMap<>(files).entrySet()) run.file(f.getKey(), f.getValue());
        return run.report();
    }

    /** {@link #scan(Map, Set)} of text files. */
    public ScanReport scanText(Map<String, String> files, Set<String> declaredHosts) {
        Map<String, byte[]> bytes = new LinkedHashMap<>();
        files.forEach((k, v) -> bytes.put(k, v.getBytes(StandardCharsets.UTF_8)));
        return scan(bytes, declaredHosts);
    }

    /**
     * The declared hosts that count: a bare top-level domain ({@code com}, from {@code *.com} or a homepage of
     * {@code https://com}) does not, or every host under it would be the skill's own.
     */
    private static Set<String> normalise(Set<String> hosts) {
        Set<String> out = new HashSet<>();
        for (String h : hosts) {
            String x = plain(h);
            if (x != null && (x.indexOf('.') > 0 || x.indexOf(':') >= 0)) out.add(x);
        }
        return out;
    }

    /** The declared hosts that are a whole top-level domain. */
    private static Set<String> broad(Set<String> hosts) {
        Set<String> out = new java.util.TreeSet<>();
        for (String h : hosts) {
            String x = plain(h);
            if (x != null && x.indexOf('.') < 0 && x.indexOf(':') < 0 && !x.equals("localhost")) out.add(x);
        }
        return out;
    }

    private static String plain(String h) {
        if (h == null || h.isBlank()) return null;
        String x = h.trim().toLowerCase(Locale.ROOT);
        if (x.startsWith("*.")) x = x.substring(2);
        while (x.endsWith(".")) x = x.substring(0, x.length() - 1);
        return x.isEmpty() ? null : x;
    }

    /** One scan's state: the findings so far, keyed so a rule reports a line once. */
    private static final class Run {
        private final Set<String> declared;
        private final long deadline;
        private final Map<String, Finding> found = new LinkedHashMap<>();
        private final Map<String, Set<String>> undeclaredReported = new HashMap<>();
        private boolean truncated, outOfTime;

        Run(Set<String> declared, long deadline) {
            this.declared = declared;
            this.deadline = deadline;
        }

        ScanReport report() {
            return new ScanReport(new ArrayList<>(found.values()), truncated);
        }

        void add(String rule, Severity severity, String file, int line, String excerpt, String meaning) {
            String key = rule + "\u0000" + file + "\u0000" + line;
            Finding old = found.get(key);
            if (old != null && old.severity().compareTo(severity) >= 0) return;
            if (old == null && found.size() >= MAX_FINDINGS) {
                truncated = true;
                return;
            }
            found.put(key, new Finding(rule, severity, file, line, excerpt, meaning));
        }

        void file(String path, byte[] bytes) {
            for (HiddenText.Hit h : HiddenText.find(path, false)) {
                add("hidden-unicode", h.severity(), path, 0, Quote.printable(path), "The file's name contains " + h.what() + ".");
            }
            String ext = extension(path);
            if (outOfTime) {
                add("scan-incomplete", Severity.HIGH, path, 0, "", "The scan ran out of time before this file: it was not reviewed.");
                return;
            }
            int scanned = Math.min(bytes.length, MAX_SCANNED_BYTES);
            if (bytes.length > MAX_SCANNED_BYTES) {
                add("scan-incomplete", Severity.HIGH, path, 0, bytes.length + " bytes", "Only the first "
                        + MAX_SCANNED_BYTES + " bytes of this file were scanned; what follows was not reviewed.");
            }
            String text = decode(bytes, scanned);
            if (text == null) {
                binary(path, bytes, ext);
                return;
            }
            if (Set.of("exe", "dll", "so", "dylib", "scr", "msi", "jar", "class", "dmg", "pkg").contains(ext)) {
                add("binary-file", Severity.MEDIUM, path, 0, Quote.printable(path), "A file named like a program or package ("
                        + ext + "), though it reads as text.");
            }
            boolean prose = PROSE.contains(ext);
            // Lines as the SKILL.md parser and the model see them: a lone \r ends a line too.
            String[] lines = LINE_BREAK.split(text, -1);
            int lastDownload = -100;
            StringBuilder continued = null;
            int continuedFrom = 0;
            for (int k = 0; k < lines.length; k++) {
                if (System.nanoTime() - deadline >= 0) {
                    outOfTime = true;
                    add("scan-incomplete", Severity.HIGH, path, k + 1, "", "The scan ran out of time at this line: the rest of the file was not reviewed.");
                    return;
                }
                String line = lines[k];
                line(path, k + 1, line, prose, 0);
                // A command continued with a trailing backslash is one command: its parts are checked joined too.
                boolean continues = line.stripTrailing().endsWith("\\");
                if (continued != null) continued.append(' ').append(line);
                else if (continues) {
                    continued = new StringBuilder(line);
                    continuedFrom = k + 1;
                }
                if (continued != null && (!continues || continued.length() > WINDOW)) {
                    String joined = continued.toString().replace("\\ ", " ");
                    if (k + 1 > continuedFrom) rules(path, continuedFrom, joined, prose);
                    continued = null;
                }
                if (find(DOWNLOADED, line) >= 0) lastDownload = k;
                int chmod = find(CHMOD_X, line);
                if (chmod >= 0 && k - lastDownload <= 3 && k != lastDownload) {
                    add("download-exec", Severity.HIGH, path, k + 1, Quote.around(line, chmod, chmod + 8),
                            "Makes a file downloaded just above executable: a program no reviewer has seen will run.");
                }
            }
        }

        /** Checks one line; {@code depth} counts how many encodings deep it was found. */
        void line(String path, int no, String line, boolean prose, int depth) {
            for (int from = 0; from < Math.max(1, line.length()); from += WINDOW - 512) {
                String w = line.substring(from, Math.min(line.length(), from + WINDOW));
                rules(path, no, w, prose);
                hosts(path, no, w);
                if (from + WINDOW >= line.length()) break;
            }
            if (depth == 0) {
                for (HiddenText.Hit h : HiddenText.find(line, no == 1)) {
                    add("hidden-unicode", h.severity(), path, no, Quote.around(line, h.start(), h.end()), "Contains " + h.what() + ".");
                }
            }
            if (depth < 2) blobs(path, no, line, prose, depth);
        }

        /** The rules on a window, and on its {@link Unmasked} form when that differs. */
        private void rules(String path, int no, String w, boolean prose) {
            matchRules(path, no, w, prose);
            String plain = Unmasked.of(w);
            if (!plain.equals(w)) matchRules(path, no, plain, prose);
        }

        private void matchRules(String path, int no, String w, boolean prose) {
            String lower = w.toLowerCase(Locale.ROOT);
            for (LineRule r : Rules.ALL) {
                if (!r.mayMatch(lower)) continue;
                int at;
                int end;
                try {
                    Matcher m = BoundedRegex.matcher(r.pattern(), w, Math.max(MIN_READS, READS_PER_CHAR * w.length()), deadline);
                    if (!BoundedRegex.find(m)) continue;
                    at = m.start();
                    end = m.end();
                } catch (BoundedRegex.TooCostly e) {
                    add("scan-incomplete", Severity.HIGH, path, no, Quote.of(w, 80), "Rule " + r.id()
                            + " could not finish on this line within its budget: the line was not fully reviewed.");
                    continue;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("skill scan interrupted", e);
                }
                Severity s = judge(r, w, at, prose);
                if (s == null) continue;
                String meaning = r.kind() == LineRule.Kind.CREDENTIAL && s == Severity.LOW
                        ? "Mentions a credential store (an SSH key, cloud credentials, a .env file, the keychain, browser data, a "
                        + "wallet, the agent's config) without reading or sending it on this line; shown so the reviewer can check."
                        : r.meaning();
                add(r.id(), s, path, no, Quote.around(w, at, end), meaning);
            }
        }

        private Severity judge(LineRule r, String w, int at, boolean prose) {
            String before = w.substring(Math.max(0, at - 60), at);
            return switch (r.kind()) {
                case PLAIN -> r.severity();
                case NEGATABLE -> find(NEGATION, before) >= 0 ? null : r.severity();
                case DOWNLOAD -> {
                    List<Hosts.Url> urls = Hosts.urls(w);
                    boolean own = !urls.isEmpty() && urls.stream().allMatch(u -> u.https() && declared(u.host()));
                    yield own ? Severity.MEDIUM : r.severity();
                }
                case CREDENTIAL -> {
                    if (find(NEGATION, before) >= 0) yield Severity.LOW;
                    yield !prose || find(READ_VERB, w) >= 0 ? r.severity() : Severity.LOW;
                }
            };
        }

        private void hosts(String path, int no, String w) {
            for (Hosts.Url u : Hosts.urls(w)) {
                String host = u.host();
                String excerpt = Quote.around(w, u.start(), u.end());
                if (Hosts.ipLiteral(host) && !Hosts.local(host)) {
                    add("unknown-host", Severity.HIGH, path, no, excerpt, "Contacts a raw IP address ("
                            + Quote.of(host, 60) + "): no name to check, the usual sign of a command-and-control server.");
                } else if (Hosts.hostile(host) || Hosts.chatWebhook(u)) {
                    add("unknown-host", Severity.HIGH, path, no, excerpt, "Contacts "
                            + Quote.of(host, 60) + ", a paste site, tunnel, request catcher or chat webhook: where malicious skills "
                            + "stage payloads and send stolen data.");
                } else if (Hosts.program(u)) {
                    add("binary-download", declared(host) ? Severity.MEDIUM : Severity.HIGH, path, no, excerpt, "Links a program "
                            + "or installer to download (" + Quote.of(u.rest(), 80) + ") from " + (declared(host) ? "the skill's own host"
                            : Quote.of(host, 60) + ", which the skill does not declare") + ": a binary no reviewer has seen.");
                } else if (!Hosts.local(host) && !Hosts.example(host) && !declared(host)) {
                    if (undeclaredReported.computeIfAbsent(path, p -> new HashSet<>()).add(host)) {
                        add("unknown-host", Severity.LOW, path, no, excerpt, "Contacts " + Quote.of(host, 60) + ", which the skill "
                                + "does not declare (homepage or metadata hosts).");
                    }
                }
            }
        }

        private void blobs(String path, int no, String line, boolean prose, int depth) {
            for (Blobs.Blob b : Blobs.find(line)) {
                if (b.decoded() != null) {
                    // What it hides is scanned on its own, so only what it hides can make it a payload.
                    Run inner = new Run(declared, deadline);
                    for (String hidden : b.decoded().split("\n", 50)) inner.line(path, no, hidden, false, depth + 1);
                    Finding worst = inner.report().findings().stream().filter(f -> f.severity().blocks()).findFirst().orElse(null);
                    if (worst != null) {
                        add("encoded-payload", Severity.CRITICAL, path, no, Quote.around(line, b.start(), b.end()), "Hides a payload: "
                                + "it decodes to \"" + Quote.of(b.decoded(), 140) + "\" (" + worst.rule() + ": " + worst.meaning() + ")");
                    } else if (b.length() >= 80) {
                        add("encoded-payload", Severity.LOW, path, no, Quote.around(line, b.start(), b.end()), "An encoded "
                                + b.kind().name().toLowerCase(Locale.ROOT) + " string decodes to text: \"" + Quote.of(b.decoded(), 100) + "\".");
                    }
                } else if (b.kind() == Blobs.Kind.ESCAPES || b.length() >= 1024) {
                    add("encoded-payload", Severity.MEDIUM, path, no,
                            Quote.around(line, b.start(), b.end()), "An opaque " + b.length() + "-character "
                                    + b.kind().name().toLowerCase(Locale.ROOT) + " run: encoded data a reviewer cannot read.");
                }
            }
        }

        private boolean declared(String host) {
            return Hosts.under(host, declared);
        }

        private void binary(String path, byte[] b, String ext) {
            String kind = magic(b);
            if (kind != null) {
                add("binary-executable", Severity.HIGH, path, 0, kind, "A compiled program (" + kind + "): what it does cannot "
                        + "be reviewed from its text, and skills that ship binaries are how stealers were delivered.");
            } else if (archive(b)) {
                add("nested-archive", Severity.MEDIUM, path, 0, ext.isEmpty() ? "archive" : ext, "An archive inside the skill: "
                        + "its contents were not unpacked or scanned.");
            } else {
                add("binary-file", Severity.INFO, path, 0, ext.isEmpty() ? "binary" : ext, "A binary file (not text): not scanned.");
            }
        }

        private int find(Pattern p, String s) {
            try {
                Matcher m = BoundedRegex.matcher(p, s, Math.max(MIN_READS, READS_PER_CHAR * s.length()), deadline);
                return BoundedRegex.find(m) ? m.start() : -1;
            } catch (BoundedRegex.TooCostly e) {
                return -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("skill scan interrupted", e);
            }
        }
    }

    /** The file as text, or null when it is binary: a NUL byte, or more than 1% of it not UTF-8. */
    static String decode(byte[] bytes, int length) {
        int probe = Math.min(length, 8192);
        for (int i = 0; i < probe; i++) if (bytes[i] == 0) return null;
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        CharBuffer chars;
        try {
            chars = d.decode(ByteBuffer.wrap(bytes, 0, length));
        } catch (java.nio.charset.CharacterCodingException e) {
            return null;
        }
        String s = chars.toString();
        long bad = s.chars().filter(c -> c == 0xFFFD).count();
        if (bad * 100 > Math.max(1, s.length())) return null;
        return s;
    }

    /** What kind of executable the bytes are, by their magic number; null for none. */
    static String magic(byte[] b) {
        if (starts(b, 0x7F, 'E', 'L', 'F')) return "ELF executable";
        if (starts(b, 'M', 'Z')) return "Windows PE executable";
        if (starts(b, 0xFE, 0xED, 0xFA, 0xCE) || starts(b, 0xFE, 0xED, 0xFA, 0xCF) || starts(b, 0xCE, 0xFA, 0xED, 0xFE)
                || starts(b, 0xCF, 0xFA, 0xED, 0xFE)) return "Mach-O executable";
        if (starts(b, 0xCA, 0xFE, 0xBA, 0xBE)) return "Mach-O universal binary or Java class";
        if (starts(b, 0x00, 'a', 's', 'm')) return "WebAssembly module";
        return null;
    }

    private static boolean archive(byte[] b) {
        return starts(b, 'P', 'K', 3, 4) || starts(b, 0x1F, 0x8B) || starts(b, '7', 'z', 0xBC, 0xAF) || starts(b, 'R', 'a', 'r', '!')
                || starts(b, 0xFD, '7', 'z', 'X', 'Z') || starts(b, 'B', 'Z', 'h');
    }

    private static boolean starts(byte[] b, int... magic) {
        if (b.length < magic.length) return false;
        for (int i = 0; i < magic.length; i++) if ((b[i] & 0xFF) != magic[i]) return false;
        return true;
    }

    private static String extension(String path) {
        int slash = path.lastIndexOf('/');
        int dot = path.lastIndexOf('.');
        return dot > slash + 1 ? path.substring(dot + 1).toLowerCase(Locale.ROOT) : "";
    }
}
