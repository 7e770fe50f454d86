package dev.carapace.memory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The labeled set of {@code memory/recall-set.json} (40 notes, 30 queries with the note each should find) and recall@k
 * over it: the share of queries whose note is among the first k results. Used by the test and the benchmark.
 */
public final class RecallSet {

    public record Note(String path, String text) {}

    public record Query(String kind, String query, String expect) {}

    public final List<Note> notes = new ArrayList<>();
    public final List<Query> queries = new ArrayList<>();

    public static RecallSet load() {
        try (InputStream in = RecallSet.class.getResourceAsStream("/memory/recall-set.json")) {
            JsonNode root = new ObjectMapper().readTree(in);
            RecallSet set = new RecallSet();
            for (JsonNode n : root.get("notes")) set.notes.add(new Note(n.get("path").asText(), n.get("text").asText()));
            for (JsonNode q : root.get("queries")) {
                set.queries.add(new Query(q.get("kind").asText(), q.get("query").asText(), q.get("expect").asText()));
            }
            return set;
        } catch (IOException e) {
            throw new IllegalStateException("memory/recall-set.json", e);
        }
    }

    /** Writes every note into {@code scope}. */
    public void writeInto(Memory memory, Scope scope) {
        for (Note n : notes) memory.write(scope, n.path(), n.text(), Memory.Mode.REPLACE, new Memory.Writer(null, null));
    }

    /** The queries whose note {@code strategy} does not put among the first k, with where it did put it. */
    public List<String> misses(Memory memory, List<Scope> scopes, int k, Memory.Strategy strategy) {
        List<String> out = new ArrayList<>();
        for (Query q : queries) {
            List<Memory.Hit> hits = memory.search(scopes, q.query(), k, strategy);
            if (hits.stream().noneMatch(h -> h.path().equals(q.expect()))) {
                out.add(q.query() + " -> " + hits.stream().map(Memory.Hit::path).toList());
            }
        }
        return out;
    }

    /** Recall@k of each strategy, overall ({@code null} key) and per query kind, as fractions. */
    public Map<Memory.Strategy, Map<String, Double>> recall(Memory memory, List<Scope> scopes, int k) {
        Map<Memory.Strategy, Map<String, Double>> out = new EnumMap<>(Memory.Strategy.class);
        for (Memory.Strategy s : Memory.Strategy.values()) {
            Map<String, int[]> counts = new java.util.TreeMap<>();
            for (Query q : queries) {
                boolean hit = memory.search(scopes, q.query(), k, s).stream().anyMatch(h -> h.path().equals(q.expect()));
                for (String key : List.of("all", q.kind())) {
                    int[] c = counts.computeIfAbsent(key, x -> new int[2]);
                    c[1]++;
                    if (hit) c[0]++;
                }
            }
            Map<String, Double> r = new java.util.TreeMap<>();
            counts.forEach((key, c) -> r.put(key, (double) c[0] / c[1]));
            out.put(s, r);
        }
        return out;
    }
}
