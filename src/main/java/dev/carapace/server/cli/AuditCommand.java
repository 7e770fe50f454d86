package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.audit.AuditChain;
import dev.carapace.server.json.AgentJson;
import dev.carapace.server.json.GuardJson;
import dev.carapace.store.AuditRecords;
import dev.carapace.store.AuditRecords.AuditRow;
import dev.carapace.store.Store;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;

/** {@code carapace audit verify|tail|search}: the guard's audit log, read straight from the store. */
@Command(name = "audit", mixinStandardHelpOptions = true,
        description = "Check and read the audit log of guard decisions and approvals.",
        subcommands = {AuditCommand.Verify.class, AuditCommand.Tail.class, AuditCommand.Search.class})
final class AuditCommand extends GroupCommand {

    abstract static class LogCommand extends StoreCommand {

        @Override
        int run(CarapaceConfig config, Store store) throws Exception {
            return run(store.auditRecords(), out());
        }

        abstract int run(AuditRecords log, PrintWriter out) throws Exception;
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Check the hash chain: every record unchanged, none deleted, inserted or moved. Exits 1 and "
                    + "names each problem if not.",
                    "Prints the head (SEQ:HASH); keep it elsewhere and pass it as --anchor later to also catch a "
                            + "truncated or wholly rewritten log."})
    static final class Verify extends LogCommand {
        @Option(names = "--anchor", paramLabel = "SEQ:HASH", description = "A head printed by an earlier verify.") String anchor;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(AuditRecords log, PrintWriter out) throws Exception {
            AuditChain.Anchor a;
            try {
                a = GuardJson.anchor(anchor);
            } catch (IllegalArgumentException e) {
                throw usageError("--" + e.getMessage());
            }
            AuditChain.Verification v = AuditChain.verify(log, a);
            if (json) {
                out.println(AgentJson.JSON.writeValueAsString(GuardJson.verification(v)));
            } else if (v.ok()) {
                out.println("ok: " + v.records() + " records, chain intact; head " + v.headSeq() + ":" + v.headHash());
            } else {
                PrintWriter err = err();
                for (AuditChain.Problem p : v.problems()) err.println(p.kind().name().toLowerCase() + ": " + p.message());
                err.println("TAMPERED: " + v.problems().size() + " problem(s) in " + v.records() + " records; head "
                        + v.headSeq() + ":" + v.headHash());
            }
            return v.ok() ? 0 : 1;
        }
    }

    @Command(name = "tail", mixinStandardHelpOptions = true, description = "Show the newest records, oldest first.")
    static final class Tail extends LogCommand {
        @Option(names = {"-n", "--lines"}, paramLabel = "N", defaultValue = "20", description = "How many (default 20).") int lines;
        @Option(names = {"-f", "--follow"}, description = "Keep printing new records as they are written (until interrupted).") boolean follow;
        @Option(names = "--json", description = "One JSON object per line.") boolean json;

        @Override
        int run(AuditRecords log, PrintWriter out) throws Exception {
            if (lines < 0 || lines > 10_000) throw usageError("--lines: expected 0 to 10000; got " + lines);
            var newest = new ArrayList<>(log.search(AuditRecords.Filter.ALL, lines));
            Collections.reverse(newest);
            if (!json) header(out);
            for (AuditRow r : newest) print(r, json, out);
            out.flush();
            long last = newest.isEmpty() ? log.head().map(AuditRow::seq).orElse(0L) : newest.get(newest.size() - 1).seq();
            while (follow) {
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return 0;
                }
                for (AuditRow r : log.after(last, 1000)) {
                    print(r, json, out);
                    last = r.seq();
                }
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "search", mixinStandardHelpOptions = true,
            description = "Find records, newest first. Times: an ISO instant, a UTC date, or an age such as 15m, 2h, 7d.")
    static final class Search extends LogCommand {
        @Option(names = "--agent", paramLabel = "AGENT") String agent;
        @Option(names = "--session", paramLabel = "KEY", description = "A session key, e.g. agent:coder:main.") String session;
        @Option(names = "--outcome", paramLabel = "OUTCOME",
                description = "allow, deny, ask, audit, approved, rejected, expired, revoked; for skills also pending, "
                        + "installed, pinned, removed.") String outcome;
        @Option(names = "--layer", paramLabel = "LAYER",
                description = "tool, filesystem, network, process, approval, policy, skills or channels.") String layer;
        @Option(names = "--since", paramLabel = "TIME", description = "From this time on (inclusive).") String since;
        @Option(names = "--until", paramLabel = "TIME", description = "Before this time.") String until;
        @Option(names = "--limit", paramLabel = "N", defaultValue = "100", description = "At most this many (default 100).") int limit;
        @Option(names = "--json", description = "Print a JSON array.") boolean json;

        @Override
        int run(AuditRecords log, PrintWriter out) throws Exception {
            Instant now = Clock.systemUTC().instant();
            AuditRecords.Filter f;
            try {
                f = new AuditRecords.Filter(agent, session, GuardJson.oneOf(outcome, GuardJson.OUTCOMES, "outcome"),
                        GuardJson.oneOf(layer, GuardJson.LAYERS, "layer"), GuardJson.time(since, now, "since"),
                        GuardJson.time(until, now, "until"), 0);
            } catch (IllegalArgumentException e) {
                throw usageError("--" + e.getMessage());
            }
            if (limit < 1 || limit > 10_000) throw usageError("--limit: expected 1 to 10000; got " + limit);
            var rows = log.search(f, limit);
            if (json) {
                ArrayNode a = AgentJson.JSON.createArrayNode();
                rows.forEach(r -> a.add(GuardJson.audit(r)));
                out.println(AgentJson.JSON.writeValueAsString(a));
                return 0;
            }
            if (rows.isEmpty()) {
                out.println("No matching records.");
                return 0;
            }
            header(out);
            for (AuditRow r : rows) print(r, false, out);
            return 0;
        }
    }

    private static final String ROW = "%-7s %-24s %-8s %-10s %-14s %-10s %-28s %-22s %s%n";

    static void header(PrintWriter out) {
        out.printf(ROW, "SEQ", "AT", "OUTCOME", "LAYER", "AGENT", "ACTION", "TARGET", "RULE", "REASON");
    }

    static void print(AuditRow r, boolean json, PrintWriter out) throws Exception {
        if (json) {
            out.println(AgentJson.JSON.writeValueAsString(GuardJson.audit(r)));
            return;
        }
        out.printf(ROW, r.seq(), r.at(), r.outcome(), r.layer(), dash(r.agent()), dash(r.action()), dash(r.target()),
                dash(r.rule()), dash(r.reason()));
    }

    private static String dash(String s) { return s == null ? "-" : s.replace('\n', ' '); }
}
