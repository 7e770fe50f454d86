package dev.carapace.guard.policy;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A tool rule's target for {@code exec}, matched on the parsed argv of each command a line runs (see
 * {@link CommandLine}), not on its text. A rule such as {@code rm -rf *} is a program, a set of flags and a list
 * of operands:
 * <ul>
 *   <li>the program is compared by file name ({@code /bin/rm} is {@code rm});</li>
 *   <li>flags are compared as a set: {@code -rf}, {@code -fr}, {@code -r -f} and {@code -f x -r} are the same, short
 *       clusters are split, a long option is its name ({@code --force=yes} is {@code --force}). Long and short
 *       spellings of one option ({@code --recursive}, {@code -r}) are not known to be the same: name both in rules;</li>
 *   <li>operands are globs matched in order; a last word ending in {@code *} also covers any further words (as
 *       {@code mvn test*} covers {@code mvn test -q}).</li>
 * </ul>
 * A deny or ask rule matches any command of the line that has its program, at least its flags and operands starting
 * with its operands: adding a flag or an argument never escapes it, and a command whose program is computed when it
 * runs is treated as matching (it might be that program), as is one of its program with an argument computed when it
 * runs (it might be any flags). An allow rule matches only a plain line (one command, no
 * expansion, substitution, redirection or chaining) with exactly its flags and operands, or more where its last word
 * ends in {@code *}.
 */
final class CommandRule {

    private final Predicate<String> program;
    private final Set<String> flags;
    private final List<Predicate<String>> operands;
    private final boolean open;

    private CommandRule(Predicate<String> program, Set<String> flags, List<Predicate<String>> operands, boolean open) {
        this.program = program;
        this.flags = flags;
        this.operands = operands;
        this.open = open;
    }

    static CommandRule of(String target) {
        List<String> words = CommandLine.ruleWords(target);
        if (words.isEmpty()) return new CommandRule(p -> false, Set.of(), List.of(), false);
        String last = words.getLast();
        boolean open = words.size() > 1 && last.endsWith("*") || words.size() == 1 && last.equals("*");
        Set<String> flags = new LinkedHashSet<>();
        List<Predicate<String>> operands = new ArrayList<>();
        List<String> args = words.subList(1, words.size());
        for (int k = 0; k < args.size(); k++) {
            String a = args.get(k);
            boolean trailingStar = open && k == args.size() - 1;
            if (trailingStar && a.equals("*")) continue;
            if (trailingStar && isFlag(a)) {
                addFlags(a.substring(0, a.length() - 1), flags);     // "--force*": the flag, then anything
            } else if (isFlag(a)) {
                addFlags(a, flags);
            } else {
                operands.add(Globs.text(a));
            }
        }
        return new CommandRule(Globs.text(words.getFirst()), Set.copyOf(flags), List.copyOf(operands), open);
    }

    /** Whether a deny or ask rule covers some command of {@code line}. */
    boolean covers(CommandLine.Parsed line) {
        for (CommandLine.Simple c : line.commands()) {
            if (c.dynamic()) return true;
            if (!program.test(c.program())) continue;
            if (c.computedArgs()) return true;         // its flags are only known when it runs
            Args a = Args.of(c.argv());
            if (!a.flags.containsAll(flags) || a.operands.size() < operands.size()) continue;
            if (operandsMatch(a.operands)) return true;
        }
        return false;
    }

    /** Whether an allow rule allows {@code line}. */
    boolean allows(CommandLine.Parsed line) {
        if (!line.plain()) return false;
        CommandLine.Simple c = line.commands().getFirst();
        if (!program.test(c.program())) return false;
        Args a = Args.of(c.argv());
        if (open) {
            return a.flags.containsAll(flags) && a.operands.size() >= operands.size() && operandsMatch(a.operands);
        }
        return a.flags.equals(flags) && a.operands.size() == operands.size() && operandsMatch(a.operands);
    }

    private boolean operandsMatch(List<String> given) {
        for (int k = 0; k < operands.size(); k++) if (!operands.get(k).test(given.get(k))) return false;
        return true;
    }

    private record Args(Set<String> flags, List<String> operands) {
        static Args of(List<String> argv) {
            Set<String> flags = new LinkedHashSet<>();
            List<String> operands = new ArrayList<>();
            boolean endOfOptions = false;
            for (String a : argv.subList(1, argv.size())) {
                if (!endOfOptions && a.equals("--")) {
                    endOfOptions = true;
                } else if (!endOfOptions && isFlag(a)) {
                    addFlags(a, flags);
                } else {
                    operands.add(a);
                }
            }
            return new Args(flags, operands);
        }
    }

    private static boolean isFlag(String word) {
        return word.length() > 1 && word.charAt(0) == '-';
    }

    private static void addFlags(String word, Set<String> into) {
        if (word.startsWith("--")) {
            int eq = word.indexOf('=');
            into.add(eq < 0 ? word : word.substring(0, eq));
            return;
        }
        for (int k = 1; k < word.length(); k++) into.add("-" + word.charAt(k));
    }
}
