package dev.carapace.privacy;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Precision and recall per type on the labeled corpus ({@link Corpus}): a finding counts only if its type and span are
 * exactly a label's. Targets: 0.95 for the structured types, 0.9 for phone numbers and the softer detectors.
 */
class CorpusTest {

    static final Set<String> STRUCTURED = Set.of("email", "card", "iban", "ssn", "openai_key", "anthropic_key",
            "aws_access_key", "github_token", "gitlab_token", "slack_token", "jwt", "private_key");

    record Score(int tp, int fp, int fn) {
        double precision() { return tp + fp == 0 ? 1 : (double) tp / (tp + fp); }

        double recall() { return tp + fn == 0 ? 1 : (double) tp / (tp + fn); }
    }

    static Map<String, Score> score(Scanner scanner, List<Corpus.Document> docs) {
        Map<String, int[]> counts = new TreeMap<>();
        for (Corpus.Document d : docs) {
            Set<String> expected = new HashSet<>();
            for (Corpus.Label l : d.labels()) expected.add(l.type() + "@" + l.start() + "-" + l.end());
            Set<String> found = new HashSet<>();
            for (Finding f : scanner.scan(d.text())) found.add(f.type() + "@" + f.start() + "-" + f.end());
            for (String f : found) counts.computeIfAbsent(type(f), t -> new int[3])[expected.contains(f) ? 0 : 1]++;
            for (String e : expected) if (!found.contains(e)) counts.computeIfAbsent(type(e), t -> new int[3])[2]++;
        }
        Map<String, Score> out = new TreeMap<>();
        counts.forEach((t, c) -> out.put(t, new Score(c[0], c[1], c[2])));
        return out;
    }

    private static String type(String key) { return key.substring(0, key.indexOf('@')); }

    @Test
    void everyTypeMeetsItsPrecisionAndRecallTarget() {
        List<Corpus.Document> docs = new Corpus(20261123).documents(4200);
        Map<String, Score> scores = score(new Scanner(PrivacySpec.DEFAULT), docs);
        StringBuilder table = new StringBuilder("| type | labels | found | precision | recall |\n|---|---|---|---|---|\n");
        List<String> misses = new ArrayList<>();
        scores.forEach((type, s) -> {
            table.append(String.format("| %s | %d | %d | %.3f | %.3f |%n", type, s.tp + s.fn, s.tp + s.fp, s.precision(), s.recall()));
            double target = STRUCTURED.contains(type) ? 0.95 : 0.9;
            if (s.precision() < target || s.recall() < target) misses.add(type + " " + s);
        });
        System.out.println("privacy corpus, " + docs.size() + " documents:\n" + table);
        assertThat(scores.keySet()).containsAll(STRUCTURED).contains("phone", "ipv4", "ipv6", "credential");
        assertThat(misses).as("types below target").isEmpty();
    }
}
