package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.approval.ApprovalQueue;
import dev.carapace.guard.audit.AuditLog;
import dev.carapace.server.json.AgentJson;
import dev.carapace.server.json.GuardJson;
import dev.carapace.store.ApprovalRecords.ApprovalRow;
import dev.carapace.store.ApprovalRecords.GrantRow;
import dev.carapace.store.Store;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;

import static dev.carapace.text.Excerpt.clip;

/**
 * {@code carapace approvals list|show|approve|deny|grants|revoke}: operators decide pending approvals straight in the
 * store. A gateway whose run waits for the approval notices the decision within a second.
 */
@Command(name = "approvals", mixinStandardHelpOptions = true,
        description = "List, approve and deny the tool calls agents are waiting on; list and revoke standing grants.",
        subcommands = {ApprovalsCommand.List.class, ApprovalsCommand.Show.class, ApprovalsCommand.Approve.class,
                ApprovalsCommand.Deny.class, ApprovalsCommand.Grants.class, ApprovalsCommand.Revoke.class})
final class ApprovalsCommand extends GroupCommand {

    abstract static class QueueCommand extends StoreCommand {

        @Override
        int run(CarapaceConfig config, Store store) throws Exception {
            Clock clock = Clock.systemUTC();
            try (AuditLog audit = new AuditLog(store.auditRecords())) {
                return run(new ApprovalQueue(store.approvalRecords(), audit, clock, config.approvals().timeout()),
                        clock.instant(), out());
            }
        }

        abstract int run(ApprovalQueue queue, Instant now, PrintWriter out) throws Exception;

        /** Who decides from the command line: the OS user. */
        static String who() { return "cli:" + System.getProperty("user.name", "unknown"); }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List approvals, newest first (default: pending).")
    static final class List extends QueueCommand {
        @Option(names = "--status", paramLabel = "STATUS", defaultValue = "pending",
                description = "pending, approved, rejected, expired or all.") String status;
        @Option(names = "--json", description = "Print a JSON array.") boolean json;

        @Override
        int run(ApprovalQueue queue, Instant now, PrintWriter out) throws Exception {
            if (!status.equals("all")) {
                try {
                    GuardJson.oneOf(status, GuardJson.APPROVAL_STATUSES, "status");
                } catch (IllegalArgumentException e) {
                    throw usageError("--" + e.getMessage() + " (or all)");
                }
            }
            java.util.List<ApprovalRow> rows = queue.list(status.equals("all") ? null : status, 1000);
            if (json) {
                ArrayNode a = AgentJson.JSON.createArrayNode();
                rows.forEach(r -> a.add(GuardJson.approval(r, now)));
                out.println(AgentJson.JSON.writeValueAsString(a));
                return 0;
            }
            if (rows.isEmpty()) {
                out.println("No " + (status.equals("all") ? "" : status + " ") + "approvals.");
                return 0;
            }
            String row = "%-21s %-9s %-14s %-10s %-30s %-24s %s%n";
            out.printf(row, "ID", "STATUS", "AGENT", "TOOL", "TARGET", "EXPIRES", "RULE");
            for (ApprovalRow r : rows) {
                out.printf(row, r.id(), r.status(), r.agent(), r.tool(), r.target() == null ? "-" : r.target(),
                        r.expiresAt(), r.rule() == null ? "-" : r.rule());
            }
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one approval.")
    static final class Show extends QueueCommand {
        @Parameters(paramLabel = "ID") String id;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(ApprovalQueue queue, Instant now, PrintWriter out) throws Exception {
            Optional<ApprovalRow> a = queue.find(id);
            if (a.isEmpty()) return fail("no approval '" + clip(id, 60) + "' (see 'carapace approvals list')");
            var n = GuardJson.approval(a.get(), now);
            if (json) {
                out.println(AgentJson.JSON.writeValueAsString(n));
                return 0;
            }
            n.fields().forEachRemaining(e -> {
                if (!e.getValue().isNull()) out.printf("%-16s %s%n", e.getKey(), e.getValue().asText());
            });
            return 0;
        }
    }

    @Command(name = "approve", mixinStandardHelpOptions = true,
            description = "Approve a pending approval: the waiting tool call runs.")
    static final class Approve extends QueueCommand {
        @Parameters(paramLabel = "ID") String id;
        @Option(names = "--reason", paramLabel = "TEXT", description = "Why; goes to the audit log.") String reason;
        @Option(names = "--remember", description = "Also allow this agent this tool on this target from now on (a standing grant).") boolean remember;
        @Option(names = "--pattern", paramLabel = "GLOB",
                description = "With --remember: the targets the grant covers instead of exactly this one "
                        + "(** anything, * anything but /, ? one character).") String pattern;

        @Override
        int run(ApprovalQueue queue, Instant now, PrintWriter out) {
            if (pattern != null && !remember) {
                throw usageError("--pattern: only with --remember");
            }
            Optional<ApprovalQueue.Decided> d;
            try {
                d = queue.approve(id, who(), reason, remember ? (pattern == null ? "" : pattern) : null);
            } catch (IllegalArgumentException e) {
                throw usageError("--" + e.getMessage().replace("target pattern", "pattern"));
            }
            return report(d, out);
        }
    }

    @Command(name = "deny", mixinStandardHelpOptions = true,
            description = "Deny a pending approval: the agent gets a refusal with your reason.")
    static final class Deny extends QueueCommand {
        @Parameters(paramLabel = "ID") String id;
        @Option(names = "--reason", paramLabel = "TEXT", description = "Why; the agent and the audit log see it.") String reason;

        @Override
        int run(ApprovalQueue queue, Instant now, PrintWriter out) {
            try {
                return report(queue.reject(id, who(), reason), out);
            } catch (IllegalArgumentException e) {
                throw usageError("--" + e.getMessage());
            }
        }
    }

    private static int report(Optional<ApprovalQueue.Decided> d, PrintWriter out) {
        if (d.isEmpty()) {
            out.flush();
            throw new IllegalStateException("no such approval (see 'carapace approvals list')");
        }
        ApprovalRow a = d.get().approval();
        if (!d.get().changed()) {
            throw new IllegalStateException("approval " + a.id() + " is already " + a.status()
                    + (a.decidedBy() == null ? "" : " (by " + a.decidedBy() + ")"));
        }
        out.println(a.status() + " " + a.id() + " (" + a.agent() + ": " + a.tool() + (a.target() == null ? "" : " " + a.target())
                + ")" + (a.grantId() == null ? "" : "; standing grant " + a.grantId()));
        return 0;
    }

    @Command(name = "grants", mixinStandardHelpOptions = true, description = "List standing grants (rule grant:ID).")
    static final class Grants extends QueueCommand {
        @Option(names = "--all", description = "Include revoked grants.") boolean all;
        @Option(names = "--json", description = "Print a JSON array.") boolean json;

        @Override
        int run(ApprovalQueue queue, Instant now, PrintWriter out) throws Exception {
            java.util.List<GrantRow> rows = queue.grants(all);
            if (json) {
                ArrayNode a = AgentJson.JSON.createArrayNode();
                rows.forEach(g -> a.add(GuardJson.grant(g)));
                out.println(AgentJson.JSON.writeValueAsString(a));
                return 0;
            }
            if (rows.isEmpty()) {
                out.println("No " + (all ? "" : "active ") + "grants.");
                return 0;
            }
            String row = "%-21s %-14s %-10s %-30s %-28s %s%n";
            out.printf(row, "ID", "AGENT", "TOOL", "TARGET PATTERN", "BY", "STATUS");
            for (GrantRow g : rows) {
                out.printf(row, g.id(), g.agent(), g.tool(), g.targetPattern().isEmpty() ? "(no target)" : g.targetPattern(),
                        g.createdBy(), g.revokedAt() == null ? "active" : "revoked " + g.revokedAt());
            }
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a standing grant.")
    static final class Revoke extends QueueCommand {
        @Parameters(paramLabel = "GRANT_ID") String id;

        @Override
        int run(ApprovalQueue queue, Instant now, PrintWriter out) {
            if (!queue.revoke(id, who())) return fail("no active grant '" + clip(id, 60) + "' (see 'carapace approvals grants')");
            out.println("revoked " + id);
            return 0;
        }
    }
}
