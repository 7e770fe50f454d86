package dev.carapace.bench;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * Turns one benchmark run (the TSV the load generators wrote, plus the facts {@code bench/run} collected about
 * the machine and the processes) into the markdown report: tables per phase with what each gateway adds over
 * calling the upstream directly, memory, a metering check and the targets.
 *
 * <pre>Report RESULTS.tsv META.properties OUT.md</pre>
 */
public final class Report {

    static final String DIRECT = "direct";
    static final String CARAPACE = "carapace";
    static final String CARAPACE_BUDGET = "carapace-budget";
    static final String FLOOR = "floor";

    // The goals of the benchmark issue.
    static final double GOAL_ADDED_P50_MS = 0.3;
    static final double GOAL_ADDED_P99_MS = 2.0;
    static final double GOAL_ADDED_TTFB_MS = 1.0;
    static final double GOAL_THROUGHPUT_RATIO = 0.5;

    record Row(String phase, String mode, String target, String metric, int concurrency, long count, long errors,
               double seconds, double p50, double p90, double p99, double p999, double max, double mean) {
        double rps() { return seconds > 0 ? count / seconds : 0; }
    }

    private final List<Row> rows;
    private final Properties meta;
    private final List<String> targets;
    private final StringBuilder md = new StringBuilder();

    Report(List<Row> rows, Properties meta) {
        this.rows = rows;
        this.meta = meta;
        List<String> t = new ArrayList<>();
        for (Row r : rows) if (!t.contains(r.target())) t.add(r.target());
        t.sort((a, b) -> Integer.compare(order(a), order(b)));
        this.targets = t;
    }

    private static int order(String target) {
        return switch (target) {
            case DIRECT -> 0;
            case FLOOR -> 1;
            case CARAPACE -> 2;
            case CARAPACE_BUDGET -> 3;
            case "portkey" -> 4;
            default -> 5;
        };
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: Report RESULTS.tsv META.properties OUT.md");
            System.exit(2);
        }
        Properties meta = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of(args[1]), StandardCharsets.UTF_8)) {
            meta.load(r);
        }
        String md = new Report(read(Path.of(args[0])), meta).render();
        Files.writeString(Path.of(args[2]), md, StandardCharsets.UTF_8);
        System.out.print(md);
    }

    static List<Row> read(Path tsv) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (String line : Files.readAllLines(tsv, StandardCharsets.UTF_8)) {
            if (line.isBlank() || line.startsWith("phase\t")) continue;
            String[] f = line.split("\t");
            rows.add(new Row(f[0], f[1], f[2], f[3], Integer.parseInt(f[4]), Long.parseLong(f[5]), Long.parseLong(f[6]),
                    d(f[7]), d(f[8]) / 1000, d(f[9]) / 1000, d(f[10]) / 1000, d(f[11]) / 1000, d(f[12]) / 1000,
                    d(f[13]) / 1000));
        }
        return rows;
    }

    private static double d(String s) { return Double.parseDouble(s); }

    String render() {
        md.append("# Benchmark results\n\n");
        md.append("Date: ").append(meta.getProperty("date", "?")).append(". Command: `")
                .append(meta.getProperty("command", "bench/run")).append("`.\n\n");
        md.append("- Machine: ").append(meta.getProperty("cpus", "?")).append(" CPUs (")
                .append(meta.getProperty("cpu_model", "?")).append("), ").append(meta.getProperty("memory", "?"))
                .append(" RAM, ").append(meta.getProperty("kernel", "?")).append("\n");
        md.append("- JDK: ").append(meta.getProperty("jdk", "?")).append("\n");
        md.append("- Carapace: ").append(meta.getProperty("carapace", "?")).append(", JVM options: `")
                .append(meta.getProperty("carapace_java_opts", "").isBlank() ? "(none added to the launcher's own, ./carapace)" : meta.getProperty("carapace_java_opts"))
                .append("`\n");
        if (meta.containsKey("carapace_budget")) {
            md.append("- carapace-budget: ").append(meta.getProperty("carapace_budget")).append("\n");
        }
        if (meta.containsKey("floor")) md.append("- floor: ").append(meta.getProperty("floor")).append("\n");
        if (meta.containsKey("portkey")) md.append("- Portkey: ").append(meta.getProperty("portkey")).append("\n");
        if (meta.containsKey("portkey_note")) md.append("- Portkey: ").append(meta.getProperty("portkey_note")).append("\n");
        md.append("- Upstream: scripted OpenAI-compatible server (`BenchUpstream`, on Carapace's HTTP server: Jetty 12), its own JVM; every"
                + " process on 127.0.0.1 on the same machine\n");
        md.append("- Load: ").append(meta.getProperty("load", "?")).append("\n");
        md.append("- Machine load average (1, 5, 15 min) before the run: ").append(meta.getProperty("load_before", "?"))
                .append("; after: ").append(meta.getProperty("load_after", "?"))
                .append(" (anything above what the benchmark itself runs means other work shared the CPUs)\n\n");
        md.append("Latencies in milliseconds. \"Added\" is the gateway's percentile minus the direct path's percentile,"
                + " both measured in this run, in alternating blocks.\n\n");

        latencySection("seq", "Sequential (1 connection)");
        latencySection("conc", "Concurrent (" + concurrency("conc") + " connections, Java client)");
        throughputSection();
        memorySection();
        meteringSection();
        errorsSection();
        targetsSection();
        return md.toString();
    }

    private String concurrency(String phase) {
        return rows.stream().filter(r -> r.phase().equals(phase)).map(r -> Integer.toString(r.concurrency()))
                .findFirst().orElse("?");
    }

    private void latencySection(String phase, String title) {
        if (rows.stream().noneMatch(r -> r.phase().equals(phase))) return;
        md.append("## ").append(title).append("\n\n");
        latencyTable(phase, "nonstream", "latency", "Non-streaming, whole answer");
        latencyTable(phase, "stream", "ttfb", "Streaming, time to first byte of the body");
        latencyTable(phase, "stream", "total", "Streaming, whole stream (12 chunks + usage + [DONE])");
    }

    private void latencyTable(String phase, String mode, String metric, String title) {
        Row direct = find(phase, mode, DIRECT, metric);
        if (direct == null) return;
        md.append("**").append(title).append("**\n\n");
        md.append("| path | requests | req/s | p50 | p90 | p99 | p99.9 | added p50 | added p99 |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (String t : targets) {
            Row r = find(phase, mode, t, metric);
            if (r == null) continue;
            md.append("| ").append(t).append(" | ").append(r.count()).append(" | ").append(Math.round(r.rps()))
                    .append(" | ").append(ms(r.p50())).append(" | ").append(ms(r.p90())).append(" | ").append(ms(r.p99()))
                    .append(" | ").append(ms(r.p999())).append(" | ")
                    .append(t.equals(DIRECT) ? "" : added(r.p50() - direct.p50())).append(" | ")
                    .append(t.equals(DIRECT) ? "" : added(r.p99() - direct.p99())).append(" |\n");
        }
        md.append("\n");
    }

    private void throughputSection() {
        if (rows.stream().noneMatch(r -> r.phase().equals("wrk"))) {
            md.append("## Maximum throughput\n\n`wrk` was not available, so there is no separate maximum-throughput"
                    + " measurement; see the req/s of the concurrent phase above.\n\n");
            return;
        }
        md.append("## Maximum throughput (wrk, ").append(concurrency("wrk")).append(" connections)\n\n");
        md.append("| path | mode | req/s | vs direct | p50 | p90 | p99 | errors | CPU per request: gateway | upstream |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (String mode : List.of("nonstream", "stream")) {
            Row direct = find("wrk", mode, DIRECT, "latency");
            for (String t : targets) {
                Row r = find("wrk", mode, t, "latency");
                if (r == null) continue;
                md.append("| ").append(t).append(" | ").append(mode.equals("stream") ? "streaming" : "non-streaming")
                        .append(" | ").append(Math.round(r.rps())).append(" | ")
                        .append(direct == null ? "" : pct(r.rps() / direct.rps())).append(" | ").append(ms(r.p50()))
                        .append(" | ").append(ms(r.p90())).append(" | ").append(ms(r.p99())).append(" | ")
                        .append(r.errors()).append(" | ")
                        .append(t.equals(DIRECT) ? "" : us(meta.getProperty("cpu." + t + "." + mode + ".gateway")))
                        .append(" | ").append(us(meta.getProperty("cpu." + t + "." + mode + ".upstream"))).append(" |\n");
            }
        }
        md.append("\nCPU per request: user + system CPU time the process used during the run, divided by the requests"
                + " completed (from /proc/PID/stat).\n\n");
    }

    private void memorySection() {
        md.append("## Memory (resident set size)\n\n");
        md.append("| process | after start | after warmup | after load | peak (VmHWM) |\n|---|---:|---:|---:|---:|\n");
        for (String p : List.of(FLOOR, CARAPACE, CARAPACE_BUDGET, "portkey", "upstream")) {
            if (!meta.containsKey("rss." + p + ".load")) continue;
            md.append("| ").append(p.equals("upstream") ? "upstream (reference)" : p).append(" | ")
                    .append(mib(meta.getProperty("rss." + p + ".start"))).append(" | ")
                    .append(mib(meta.getProperty("rss." + p + ".warm"))).append(" | ")
                    .append(mib(meta.getProperty("rss." + p + ".load"))).append(" | ")
                    .append(mib(meta.getProperty("hwm." + p + ".load"))).append(" |\n");
        }
        md.append("\n");
    }

    private void meteringSection() {
        List<String> gateways = new ArrayList<>();
        for (String k : meta.stringPropertyNames()) if (k.startsWith("db.")) gateways.add(k.substring(3));
        if (gateways.isEmpty()) return;
        gateways.sort((a, b) -> Integer.compare(order(a), order(b)));
        md.append("## Metering check\n\n");
        for (String gw : gateways) {
            String db = meta.getProperty("db." + gw);
            long measured = rows.stream().filter(r -> r.target().equals(gw) && !r.metric().equals("total"))
                    .mapToLong(r -> r.count() + r.errors()).sum();
            md.append("- ").append(gw).append(": ");
            if (!Files.exists(Path.of(db))) {
                md.append("no store at ").append(db).append("\n");
                continue;
            }
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("SELECT count(*), sum(stream), sum(input_tokens), sum(output_tokens)"
                        + " FROM usage_records")) {
                    rs.next();
                    md.append(rs.getLong(1)).append(" usage records (").append(rs.getLong(2)).append(" streamed; ")
                            .append(rs.getLong(3)).append(" input and ").append(rs.getLong(4))
                            .append(" output tokens) for ").append(measured)
                            .append(" measured requests plus the warmup and the checks.");
                }
                List<String> others = new ArrayList<>();
                try (ResultSet rs = s.executeQuery("SELECT status, coalesce(error_code, ''), count(*) FROM usage_records"
                        + " WHERE status <> 200 GROUP BY 1, 2 ORDER BY 3 DESC")) {
                    while (rs.next()) {
                        others.add(rs.getLong(3) + " with status " + rs.getInt(1)
                                + (rs.getString(2).isEmpty() ? "" : " (" + rs.getString(2) + ")"));
                    }
                }
                md.append(others.isEmpty() ? " All have status 200." : " Not 200: " + String.join(", ", others) + ".");
                budget(s);
            } catch (SQLException e) {
                md.append("could not read ").append(db).append(": ").append(e.getMessage());
            }
            md.append("\n");
        }
        md.append("\nStatus 499 means the client went away mid-answer: wrk drops its open connections when its time"
                + " is up.\n\n");
    }

    /** What a budget's ledger recorded, if the store has budgets (Carapace versions with a ledger). */
    private void budget(Statement s) {
        try (ResultSet rs = s.executeQuery("SELECT (SELECT count(*) FROM budgets),"
                + " (SELECT count(*) FROM reservations WHERE state = 'settled'),"
                + " (SELECT count(*) FROM reservations WHERE state <> 'settled'),"
                + " (SELECT coalesce(sum(spent_nanos), 0) FROM budget_windows)")) {
            if (!rs.next() || rs.getLong(1) == 0) return;
            md.append(" Budget: ").append(rs.getLong(2)).append(" reservations settled, ").append(rs.getLong(3))
                    .append(" not settled, ").append(String.format(Locale.ROOT, "%.6f", rs.getLong(4) / 1e9))
                    .append(" USD spent.");
        } catch (SQLException noLedger) {
            // an older schema without budgets
        }
    }

    private void errorsSection() {
        List<String> bad = new ArrayList<>();
        for (Row r : rows) {
            if (r.errors() > 0 && !r.metric().equals("total")) {
                bad.add(r.phase() + " " + r.mode() + " " + r.target() + ": " + r.errors() + " of " + (r.count() + r.errors()));
            }
        }
        md.append("## Errors\n\n").append(bad.isEmpty() ? "None: every request got a complete 200 answer.\n\n"
                : "Failed requests (not timed): " + String.join("; ", bad) + ".\n\n");
    }

    private void targetsSection() {
        List<String> gateways = new ArrayList<>();
        for (String g : List.of(CARAPACE, CARAPACE_BUDGET)) if (targets.contains(g)) gateways.add(g);
        if (gateways.isEmpty()) return;
        md.append("## Targets\n\nThe goals hold for the `carapace` path (the default configuration);");
        if (gateways.size() > 1) md.append(" `carapace-budget` is shown for comparison;");
        md.append(" \"met\" compares the measured value with the goal, nothing more.\n\n");
        md.append("| target | goal |");
        gateways.forEach(g -> md.append(" ").append(g).append(" | |"));
        md.append("\n|---|---|");
        gateways.forEach(g -> md.append("---:|---|"));
        md.append("\n");
        goalRow("added p50, sequential, non-streaming", "seq", "nonstream", "latency", false, GOAL_ADDED_P50_MS, gateways);
        goalRow("added p99, sequential, non-streaming", "seq", "nonstream", "latency", true, GOAL_ADDED_P99_MS, gateways);
        goalRow("added time to first byte p50, sequential", "seq", "stream", "ttfb", false, GOAL_ADDED_TTFB_MS, gateways);
        goalRow("added time to first byte p99, sequential", "seq", "stream", "ttfb", true, GOAL_ADDED_TTFB_MS, gateways);
        for (String phase : List.of("conc", "wrk")) {
            for (String mode : List.of("nonstream", "stream")) throughputRow(phase, mode, gateways);
        }
        md.append("\n");
        List<String> floor = new ArrayList<>();
        for (String phase : List.of("conc", "wrk")) {
            for (String mode : List.of("nonstream", "stream")) {
                String metric = wholeAnswer(phase, mode);
                Row d = find(phase, mode, DIRECT, metric), f = find(phase, mode, FLOOR, metric);
                if (d != null && f != null) {
                    floor.add(pct(f.rps() / d.rps()) + " " + throughputLabel(phase, mode));
                }
            }
        }
        if (!floor.isEmpty()) {
            md.append("For scale, the floor path reached ").append(String.join(", ", floor))
                    .append(" of direct: the most a gateway on this HTTP server and upstream client gets here.\n\n");
        }
    }

    private static String throughputLabel(String phase, String mode) {
        return (mode.equals("stream") ? "streaming" : "non-streaming") + (phase.equals("wrk") ? " (wrk)" : " (Java client)");
    }

    /** The metric that counts whole answers: the Java client times a stream to its first byte and to its end. */
    private static String wholeAnswer(String phase, String mode) {
        return phase.equals("conc") && mode.equals("stream") ? "total" : "latency";
    }

    private void throughputRow(String phase, String mode, List<String> gateways) {
        Row d = find(phase, mode, DIRECT, wholeAnswer(phase, mode));
        if (d == null) return;
        md.append("| throughput vs direct, ").append(throughputLabel(phase, mode)).append(" | >= ")
                .append(pct(GOAL_THROUGHPUT_RATIO)).append(" |");
        for (String g : gateways) {
            Row c = find(phase, mode, g, wholeAnswer(phase, mode));
            if (c == null) {
                md.append(" | |");
                continue;
            }
            double ratio = c.rps() / d.rps();
            md.append(" ").append(pct(ratio)).append(" | ").append(ratio >= GOAL_THROUGHPUT_RATIO ? "met" : "**not met**").append(" |");
        }
        md.append("\n");
    }

    private void goalRow(String what, String phase, String mode, String metric, boolean p99, double limitMs,
                         List<String> gateways) {
        Row d = find(phase, mode, DIRECT, metric);
        if (d == null) return;
        md.append("| ").append(what).append(" | < ").append(limitMs).append(" ms |");
        for (String g : gateways) {
            Row c = find(phase, mode, g, metric);
            if (c == null) {
                md.append(" | |");
                continue;
            }
            double added = p99 ? c.p99() - d.p99() : c.p50() - d.p50();
            md.append(" ").append(added(added)).append(" ms | ").append(added < limitMs ? "met" : "**not met**").append(" |");
        }
        md.append("\n");
    }

    private Row find(String phase, String mode, String target, String metric) {
        for (Row r : rows) {
            if (r.phase().equals(phase) && r.mode().equals(mode) && r.target().equals(target) && r.metric().equals(metric)) return r;
        }
        return null;
    }

    private static String ms(double v) { return String.format(Locale.ROOT, "%.3f", v); }

    private static String added(double v) { return String.format(Locale.ROOT, "%+.3f", v); }

    private static String pct(double v) { return String.format(Locale.ROOT, "%.0f%%", v * 100); }

    private static String us(String micros) { return micros == null ? "" : micros + " µs"; }

    private static String mib(String kib) {
        if (kib == null || kib.isBlank()) return "";
        return String.format(Locale.ROOT, "%.0f MiB", Long.parseLong(kib.strip()) / 1024.0);
    }
}
