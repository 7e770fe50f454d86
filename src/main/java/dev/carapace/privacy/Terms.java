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
    }

    boolean isEmpty() { return nodes == 1; }

    private void add(String lowered, Hit hit) {
        int node = 0;
        for (int i = 0; i < lowered.length(); i++) {
            char c = lowered.charAt(i);
            int next = step(node, c);
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

    private int step(int node, char c) {
        int at = Arrays.binarySearch(keys[node], c);
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
                while (f != 0 && step(f, c) < 0) f = fail[f];
                int to = step(f, c);
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

    void scan(String s, List<Finding> out) {
        int node = 0;
        List<Finding> found = new ArrayList<>();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            char lc = c < 128 ? (c >= 'A' && c <= 'Z' ? (char) (c + 32) : c) : Character.toLowerCase(c);
            int next;
            while ((next = step(node, lc)) < 0 && node != 0) node = fail[node];
            node = Math.max(next, 0);
            for (Hit h : hits[node]) {
                int start = i + 1 - h.length;
                if (!Text.wordStart(s, start) || !Text.wordEnd(s, i + 1)) continue;
                if (h.caseSensitive && !s.startsWith(h.term, start)) continue;
                PrivacySpec.Dictionary d = dictionaries.get(h.dictionary);
                found.add(new Finding(d.type(), d.dataClass(), start, i + 1, 1.0));
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
