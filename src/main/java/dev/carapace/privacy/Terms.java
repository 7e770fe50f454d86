package dev.carapace.privacy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * An org's dictionaries as one Aho-Corasick automaton: every term of every dictionary is found in one pass over the
 * text, whatever their number. Terms match as whole words; case is ignored unless the dictionary says otherwise.
 */
final class Terms {

    /** A term's dictionary and length, at the automaton node where the term ends. */
    private record Hit(int dictionary, int length, boolean caseSensitive, String term) {}

    private final List<PrivacySpec.Dictionary> dictionaries;
    // node -> sorted transition chars and targets
    private char[][] keys = new char[16][];
    private int[][] targets = new int[16][];
    private int[] fail = new int[16];
    private Hit[][] hits = new Hit[16][];
    private int nodes = 1;
    /**
     * Per UTF-16 char of the text, 1 + the index of its lowercase among the chars of the terms, or 0 if no term holds
     * it: such a char leads back to the root from any state, so the scan skips it without a lookup.
     */
    private final char[] classOf = new char[Character.MAX_VALUE + 1];
    private int width;
    /**
     * The automaton with its failure links folded in ({@code node * width + class - 1} -> next node): one array read
     * per char. Null when it would exceed {@link #MAX_TABLE} (a huge dictionary); the scan then follows the links.
     */
    private int[] delta;
    static final int MAX_TABLE = 1 << 21;

    Terms(List<PrivacySpec.Dictionary> dictionaries) {
        this.dictionaries = List.copyOf(dictionaries);
        keys[0] = new char[0];
        targets[0] = new int[0];
        hits[0] = new Hit[0];
        for (int d = 0; d < dictionaries.size(); d++) {
            PrivacySpec.Dictionary dict = dictionaries.get(d);
            for (String term : dict.terms()) {
                String t = term.strip();
                if (t.isEmpty()) continue;
                add(t.toLowerCase(Locale.ROOT), new Hit(d, t.length(), dict.caseSensitive(), t));
            }
        }
        link();
        table();
    }

    private void table() {
        boolean[] used = new boolean[Character.MAX_VALUE + 1];
        for (int node = 0; node < nodes; node++) for (char c : keys[node]) used[c] = true;
        char[] classes = new char[Character.MAX_VALUE + 1];
        StringBuilder alphabet = new StringBuilder();      // lowercase chars only, so far fewer than 65535 classes
        for (int c = 0; c <= Character.MAX_VALUE; c++) {
            if (used[c]) {
                classes[c] = (char) ++width;
                alphabet.append((char) c);
            }
        }
        for (int c = 0; c <= Character.MAX_VALUE; c++) classOf[c] = classes[lower((char) c)];
        if ((long) nodes * width > MAX_TABLE) return;
        int[] d = new int[nodes * width];
        // Breadth first, so a node's failure target (shallower) has its row before the node needs it.
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        queue.add(0);
        while (!queue.isEmpty()) {
            int node = queue.poll();
            for (int col = 0; col < width; col++) {
                int to = child(node, alphabet.charAt(col));
                d[node * width + col] = to >= 0 ? to : node == 0 ? 0 : d[fail[node] * width + col];
            }
            for (int child : targets[node]) queue.add(child);
        }
        delta = d;
    }

    /** The char the automaton reads for {@code c}: the terms were lowercased, so is the text. */
    private static char lower(char c) {
        return c < 128 ? (c >= 'A' && c <= 'Z' ? (char) (c + 32) : c) : Character.toLowerCase(c);
    }

    boolean isEmpty() { return nodes == 1; }

    private void add(String lowered, Hit hit) {
        int node = 0;
        for (int i = 0; i < lowered.length(); i++) {
            char c = lowered.charAt(i);
            int next = child(node, c);
            if (next < 0) {
                next = newNode();
                int at = -Arrays.binarySearch(keys[node], c) - 1;
                keys[node] = insert(keys[node], at, c);
                targets[node] = insert(targets[node], at, next);
            }
            node = next;
        }
        Hit[] h = Arrays.copyOf(hits[node], hits[node].length + 1);
        h[h.length - 1] = hit;
        hits[node] = h;
    }

    private int newNode() {
        if (nodes == keys.length) {
            int cap = nodes * 2;
            keys = Arrays.copyOf(keys, cap);
            targets = Arrays.copyOf(targets, cap);
            fail = Arrays.copyOf(fail, cap);
            hits = Arrays.copyOf(hits, cap);
        }
        keys[nodes] = new char[0];
        targets[nodes] = new int[0];
        hits[nodes] = new Hit[0];
        return nodes++;
    }

    /** The node {@code c} leads to from {@code node}, or -1; while building. */
    private int child(int node, char c) {
        int at = Arrays.binarySearch(keys[node], c);
        return at >= 0 ? targets[node][at] : -1;
    }

    /** {@link #child} for a scan without the table: a plain loop over the few children most nodes have. */
    private int step(int node, char c) {
        char[] k = keys[node];
        if (k.length <= 8) {
            for (int j = 0; j < k.length; j++) if (k[j] == c) return targets[node][j];
            return -1;
        }
        int at = Arrays.binarySearch(k, c);
        return at >= 0 ? targets[node][at] : -1;
    }

    /** Failure links, breadth first; each node also inherits the hits of its failure node (shorter suffixes). */
    private void link() {
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        for (int child : targets[0]) {
            fail[child] = 0;
            queue.add(child);
        }
        while (!queue.isEmpty()) {
            int node = queue.poll();
            for (int k = 0; k < keys[node].length; k++) {
                char c = keys[node][k];
                int child = targets[node][k];
                int f = fail[node];
                while (f != 0 && child(f, c) < 0) f = fail[f];
                int to = child(f, c);
                fail[child] = to >= 0 && to != child ? to : 0;
                if (hits[fail[child]].length > 0) {
                    Hit[] merged = Arrays.copyOf(hits[child], hits[child].length + hits[fail[child]].length);
                    System.arraycopy(hits[fail[child]], 0, merged, hits[child].length, hits[fail[child]].length);
                    hits[child] = merged;
                }
                queue.add(child);
            }
        }
    }

    /** @param cs the chars of {@code s} (the scanner has them already: reading an array is faster than charAt) */
    void scan(String s, char[] cs, List<Finding> out) {
        int node = 0;
        List<Finding> found = new ArrayList<>();
        int[] d = delta;
        int w = width;
        char[] classes = classOf;
        for (int i = 0; i < cs.length; i++) {
            char c = cs[i];
            int cls = classes[c];
            if (cls == 0) {
                node = 0;                                     // the root has no hits: nothing ends here
                continue;
            }
            if (d != null) {
                node = d[node * w + cls - 1];
            } else {
                char lc = lower(c);
                int next;
                while ((next = step(node, lc)) < 0 && node != 0) node = fail[node];
                node = Math.max(next, 0);
            }
            for (Hit h : hits[node]) {
                int start = i + 1 - h.length;
                if (!Text.wordStart(s, start) || !Text.wordEnd(s, i + 1)) continue;
                if (h.caseSensitive && !s.startsWith(h.term, start)) continue;
                PrivacySpec.Dictionary dict = dictionaries.get(h.dictionary);
                found.add(new Finding(dict.type(), dict.dataClass(), start, i + 1, 1.0));
            }
        }
        out.addAll(found);
    }

    private static char[] insert(char[] a, int at, char c) {
        char[] b = new char[a.length + 1];
        System.arraycopy(a, 0, b, 0, at);
        b[at] = c;
        System.arraycopy(a, at, b, at + 1, a.length - at);
        return b;
    }

    private static int[] insert(int[] a, int at, int v) {
        int[] b = new int[a.length + 1];
        System.arraycopy(a, 0, b, 0, at);
        b[at] = v;
        System.arraycopy(a, at, b, at + 1, a.length - at);
        return b;
    }
}
