package dev.carapace.guard.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A shell command line as the command rules see it: the simple commands it would run, each as an argv with quotes
 * and escapes removed, the program named by its file name ({@code /bin/rm} and {@code \rm} are {@code rm}).
 *
 * <p>It is parsed the way {@code sh} splits words, not evaluated. So that a rule cannot be walked around by a
 * different spelling, the simple commands include those after {@code ;}, {@code &&}, {@code ||}, {@code |},
 * {@code &} and newlines, inside {@code ( )}, {@code $( )} and backquotes (also within {@code ${...}}), in the
 * string of {@code sh -c} (and bash, dash, zsh, ksh) and {@code eval}, and behind wrappers that run their arguments
 * as a command ({@code env}, {@code sudo}, {@code xargs}, {@code timeout}, {@code nice}, ...). Redirections and leading {@code NAME=value}
 * assignments are not arguments. A command whose program name is only known when it runs ({@code $x}, a glob, a
 * command substitution) is marked {@link Simple#dynamic()}: no rule can say what it is.
 *
 * <p>What this cannot promise: the shell is a programming language, and a command can build another at run time
 * (a script file it wrote, {@code python -c}, {@code find -exec}, an alias file). Command rules are guard rails
 * against honest mistakes and careless models; the boundary against a hostile one is the sandbox (file-system
 * roots, no network but the egress proxy).
 */
public final class CommandLine {

    /** Programs that run their arguments as a command. */
    private static final Set<String> WRAPPERS = Set.of("env", "sudo", "doas", "command", "exec", "nice", "nohup",
            "time", "timeout", "xargs", "stdbuf", "setsid", "chrt", "ionice", "taskset", "unbuffer", "busybox",
            "builtin", "watch", "flock", "runuser", "su", "chroot", "strace", "ltrace", "firejail");
    /** Shells whose {@code -c} argument is itself a command line. */
    private static final Set<String> SHELLS = Set.of("sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox");
    /** Reserved words that may stand where a program would. */
    private static final Set<String> KEYWORDS = Set.of("!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done",
            "while", "until", "for", "in", "case", "esac", "function");
    /** Nesting deeper than this is itself suspicious: the whole line is then dynamic. */
    private static final int MAX_DEPTH = 8;

    /**
     * One command the line would run.
     *
     * @param argv    program (its file name) and arguments, unquoted
     * @param dynamic      the program name depends on an expansion, so it cannot be known before the command runs
     * @param computedArgs an argument is computed when the command runs, so it may be any flags
     */
    record Simple(List<String> argv, boolean dynamic, boolean computedArgs) {
        String program() { return argv.getFirst(); }
    }

    /**
     * @param commands every simple command found, nested ones included
     * @param plain    the line is exactly one simple command with no expansion, substitution, redirection or
     *                 control operator: what an allow rule may match
     */
    record Parsed(List<Simple> commands, boolean plain) {}

    private CommandLine() {}

    static Parsed parse(String line) {
        List<Simple> out = new ArrayList<>();
        boolean plain = new Parser(line, out, 0).run();
        return new Parsed(List.copyOf(out), plain && out.size() == 1 && !out.getFirst().dynamic());
    }

    /**
     * Whether {@code line} is one command and nothing else: no chaining, expansion, substitution or redirection. Only
     * such a line may be allowed by a pattern (an allow rule, a standing grant), whose {@code *} must not stretch
     * over {@code ; curl evil}.
     */
    public static boolean isPlain(String line) {
        return parse(line).plain();
    }

    /**
     * The programs {@code line} would run (file names, nested commands included, in order), or null when one of them
     * is only known when it runs ({@code $x}, a glob, a substitution): what a list of allowed programs is checked
     * against.
     */
    public static List<String> programs(String line) {
        List<List<String>> commands = argvs(line);
        return commands == null ? null : commands.stream().map(List::getFirst).toList();
    }

    /**
     * The commands {@code line} would run, each as its argv (program by file name, then its arguments unquoted),
     * nested ones included, in order; null when one of the programs is only known when it runs. For checks that
     * look at a program's arguments too.
     */
    public static List<List<String>> argvs(String line) {
        List<List<String>> out = new ArrayList<>();
        for (Simple s : parse(line).commands()) {
            if (s.dynamic()) return null;
            out.add(s.argv());
        }
        return out;
    }

    /** A rule's target, split into words the same way (its {@code *} and {@code ?} kept as glob characters). */
    static List<String> ruleWords(String target) {
        List<Simple> out = new ArrayList<>();
        new Parser(target, out, 0).run();
        return out.isEmpty() ? List.of() : out.getFirst().argv();
    }

    private static final class Parser {
        private final String s;
        private final List<Simple> out;
        private final int depth;
        private int i;
        private boolean plain = true;

        Parser(String s, List<Simple> out, int depth) {
            this.s = s;
            this.out = out;
            this.depth = depth;
        }

        /** Parses the whole string; returns whether it held nothing but plain words. */
        boolean run() {
            List<String> words = new ArrayList<>();
            StringBuilder w = null;
            while (true) {
                boolean end = i >= s.length();             // also after an unterminated quote or substitution
                char c = end ? '\n' : s.charAt(i);
                if (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')'
                        || c == '<' || c == '>') {
                    if (w != null) {
                        if (isRedirectFd(w, c)) {
                            w = null;                           // the 2 of 2>: part of the redirection
                        } else {
                            words.add(w.toString());
                            w = null;
                        }
                    }
                    if (c == '<' || c == '>') {
                        plain = false;
                        skipRedirection();
                        continue;
                    }
                    if (c != ' ' && c != '\t') {
                        if (!end) plain = false;
                        emit(words);
                        words = new ArrayList<>();
                    }
                    if (end) return plain;
                    i++;
                    continue;
                }
                if (w == null) w = new StringBuilder();
                switch (c) {
                    case '\\' -> {
                        if (i + 1 < s.length()) w.append(s.charAt(i + 1));
                        i += 2;
                    }
                    case '\'' -> {
                        int close = s.indexOf('\'', i + 1);
                        if (close < 0) close = s.length();
                        w.append(s, i + 1, close);
                        i = close + 1;
                    }
                    case '"' -> i = doubleQuoted(w);
                    case '$', '`' -> {
                        plain = false;
                        i = expansion(w);
                    }
                    default -> {
                        w.append(c);
                        i++;
                    }
                }
            }
        }

        private static boolean isRedirectFd(StringBuilder w, char next) {
            if (next != '<' && next != '>') return false;
            for (int k = 0; k < w.length(); k++) if (!Character.isDigit(w.charAt(k))) return false;
            return true;
        }

        /** Skips {@code >}, {@code >>}, {@code >&}, {@code <<<}, {@code >|}... and the word they take. */
        private void skipRedirection() {
            while (i < s.length() && "<>&|".indexOf(s.charAt(i)) >= 0) i++;
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) i++;
            StringBuilder target = new StringBuilder();
            while (i < s.length() && " \t\n;&|()<>".indexOf(s.charAt(i)) < 0) {
                char c = s.charAt(i);
                if (c == '\'' || c == '"' || c == '\\' || c == '$' || c == '`') {
                    // a quoted or computed target: parse it as part of a throwaway word
                    switch (c) {
                        case '\\' -> i += 2;
                        case '\'' -> {
                            int end = s.indexOf('\'', i + 1);
                            i = end < 0 ? s.length() : end + 1;
                        }
                        case '"' -> i = doubleQuoted(target);
                        default -> i = expansion(target);
                    }
                } else {
                    i++;
                }
            }
        }

        /** Appends a {@code "..."} string's text; command substitutions inside are parsed. Returns the next index. */
        private int doubleQuoted(StringBuilder w) {
            i++;
            while (i < s.length() && s.charAt(i) != '"') {
                char c = s.charAt(i);
                if (c == '\\' && i + 1 < s.length()) {
                    w.append(s.charAt(i + 1));
                    i += 2;
                } else if (c == '$' || c == '`') {
                    plain = false;
                    i = expansion(w);
                } else {
                    w.append(c);
                    i++;
                }
            }
            return i + 1;
        }

        /**
         * An expansion at {@code i}: {@code $( )} and backquotes are parsed as command lines of their own (their
         * commands run too); {@code ${ }}, {@code $(( ))} and {@code $NAME} only make the word dynamic. Returns the
         * next index. The word gets a character no program name has, so a dynamic word never equals a rule's word.
         */
        private int expansion(StringBuilder w) {
            w.append('\u0000');
            char c = s.charAt(i);
            if (c == '`') {
                int end = s.indexOf('`', i + 1);
                if (end < 0) end = s.length();
                nested(s.substring(i + 1, end));
                return end + 1;
            }
            if (i + 1 >= s.length()) return i + 1;
            char n = s.charAt(i + 1);
            if (n == '(' || n == '{') {
                char close = n == '(' ? ')' : '}';
                int level = 0, k = i + 1;
                for (; k < s.length(); k++) {
                    char d = s.charAt(k);
                    if (d == n) level++;
                    else if (d == close && --level == 0) break;
                }
                if (n == '(') nested(s.substring(i + 2, Math.min(k, s.length())));
                else substitutionsIn(i + 2, Math.min(k, s.length()));
                return k + 1;
            }
            int k = i + 1;
            while (k < s.length() && (Character.isLetterOrDigit(s.charAt(k)) || s.charAt(k) == '_')) k++;
            return k == i + 1 ? i + 2 : k;                  // $? $$ $1 ...: one character
        }

        /**
         * The command substitutions inside {@code ${...}} (its default, alternative or pattern words, as in
         * {@code ${x:-$(curl evil)}}): their commands run too. Quotes are not told apart here, so a quoted one counts
         * as well, which only finds more.
         */
        private void substitutionsIn(int from, int to) {
            int saved = i;
            for (int k = from; k < to; ) {
                char d = s.charAt(k);
                if (d == '\\') {
                    k += 2;
                } else if (d == '`' || (d == '$' && k + 1 < to && (s.charAt(k + 1) == '(' || s.charAt(k + 1) == '{'))) {
                    i = k;
                    k = Math.max(k + 1, expansion(new StringBuilder()));
                } else {
                    k++;
                }
            }
            i = saved;
        }

        private void nested(String inner) {
            if (depth >= MAX_DEPTH) {
                out.add(new Simple(List.of("\u0000"), true, true));
                return;
            }
            new Parser(inner, out, depth + 1).run();
        }

        /** Adds a simple command, and what it runs in turn (a wrapped command, a shell's -c string, eval's words). */
        private void emit(List<String> words) {
            int k = 0;
            while (k < words.size() && (KEYWORDS.contains(words.get(k)) || assignment(words.get(k)))) {
                // "function NAME { ...": the name is not a program, the body that follows is a command
                k += words.get(k).equals("function") ? 2 : 1;
            }
            if (k >= words.size()) return;
            List<String> argv = add(words.subList(k, words.size()));
            if (depth >= MAX_DEPTH) return;
            String program = argv.getFirst();
            if (SHELLS.contains(program)) shell(argv);
            if ((program.equals(".") || program.equals("source")) && argv.size() > 1 && fromStdin(argv.get(1))) unknown();
            if (program.equals("eval") && argv.size() > 1) nested(String.join(" ", argv.subList(1, argv.size())));
            if (program.equals("alias")) {
                for (String def : argv.subList(1, argv.size())) {
                    int eq = def.indexOf('=');
                    if (eq > 0) nested(def.substring(eq + 1));     // the alias runs its value wherever it is used
                }
            }
            if (program.equals("find")) {
                for (int a = 1; a < argv.size(); a++) {
                    if (!Set.of("-exec", "-execdir", "-ok", "-okdir").contains(argv.get(a))) continue;
                    int end = a + 1;
                    while (end < argv.size() && !argv.get(end).equals(";") && !argv.get(end).equals("+")) end++;
                    if (end > a + 1) add(argv.subList(a + 1, end));
                    a = end;
                }
            }
            if (WRAPPERS.contains(program)) {
                // Which argument starts the wrapped command depends on each wrapper's options; every argument that
                // is not an option, an assignment or a number may be it, and checking them all only checks more.
                for (int a = 1; a < argv.size(); a++) {
                    String x = argv.get(a);
                    if (x.startsWith("-") || assignment(x) || x.chars().allMatch(ch -> Character.isDigit(ch) || ch == '.')) {
                        continue;
                    }
                    add(argv.subList(a, argv.size()));
                }
            }
        }

        /** Adds one simple command (its program by file name); returns its argv. */
        private List<String> add(List<String> words) {
            List<String> argv = new ArrayList<>(words);
            argv.set(0, fileName(argv.getFirst()));
            boolean computed = false;
            for (String w : argv.subList(1, argv.size())) computed |= computed(w);
            out.add(new Simple(List.copyOf(argv), dynamic(argv.getFirst()), computed));
            return argv;
        }

        /** A command whose program cannot be known: it matches every deny and ask rule. */
        private void unknown() {
            out.add(new Simple(List.of("\u0000"), true, true));
        }

        /**
         * A shell's command: its {@code -c} string (the first operand after the options, {@code --} included) is a
         * command line of its own; with neither {@code -c} nor a script operand it reads its commands from standard
         * input (a pipe, a here-document), which no rule can see.
         */
        private void shell(List<String> argv) {
            boolean c = false;
            int a = 1;
            for (; a < argv.size(); a++) {
                String x = argv.get(a);
                if (x.equals("--")) {
                    a++;
                    break;
                }
                if (x.length() < 2 || (x.charAt(0) != '-' && x.charAt(0) != '+')) break;
                if (x.charAt(0) == '-' && x.charAt(1) != '-' && x.indexOf('c') > 0) c = true;
                if (x.equals("-o") || x.equals("+o") || x.equals("-O") || x.equals("+O")) a++;   // takes a name
            }
            if (a >= argv.size()) {
                unknown();                              // commands from standard input
            } else if (c) {
                nested(argv.get(a));
            }
        }

        private static boolean fromStdin(String file) {
            return file.equals("/dev/stdin") || file.equals("-") || file.startsWith("/dev/fd/")
                    || file.startsWith("/proc/self/fd/") || file.indexOf('\u0000') >= 0;
        }

        /**
         * An argument the shell computes when the command runs (an expansion, a substitution, a brace list): it
         * may turn into any flags, so a deny rule on the program cannot tell it is not one of its own.
         */
        private static boolean computed(String word) {
            if (word.indexOf('\u0000') >= 0) return true;
            int brace = word.indexOf('{');
            return brace >= 0 && word.indexOf(',', brace) > 0 && word.indexOf('}', brace) > 0;
        }

        /** A program name that an expansion or a glob decides when the command runs. */
        private static boolean dynamic(String program) {
            if (program.isEmpty() || computed(program)) return true;
            for (int k = 0; k < program.length(); k++) {
                char c = program.charAt(k);
                // a [ with no ] after it matches only itself: the program [ (test) is no glob
                if (c == '*' || c == '?' || (c == '[' && program.indexOf(']', k + 1) > k)) return true;
            }
            return false;
        }

        private static boolean assignment(String word) {
            int eq = word.indexOf('=');
            if (eq <= 0) return false;
            for (int k = 0; k < eq; k++) {
                char c = word.charAt(k);
                if (!(c == '_' || Character.isLetter(c) || (k > 0 && Character.isDigit(c)))) return false;
            }
            return true;
        }

        private static String fileName(String program) {
            int slash = program.lastIndexOf('/');
            return slash >= 0 && slash < program.length() - 1 ? program.substring(slash + 1) : program;
        }
    }
}
