package dev.carapace.ledger;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.LedgerTables;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.UUID;

/**
 * Keeps a running gateway's budgets in step with the store, so that a budget written by another process (the CLI,
 * another gateway on a shared PostgreSQL) binds at once rather than at the next poll of every budget (issue 14:
 * up to 2 s). Every budget write counts itself in the store ({@link LedgerBook#budgetChanges}); {@link #check},
 * run every {@link #CHECK_EVERY}, reads that one row and re-reads the budgets only when it moved, then acknowledges
 * the change, which the CLI waits for ({@link #await}) to tell its user whether the budget already binds. Nothing is
 * added to a call's path: the budgets a reservation reads are the in-memory mirror, as before.
 */
public final class BudgetSync {

    /** How often a running gateway looks for budget changes: the most a CLI waits for its acknowledgement. */
    public static final Duration CHECK_EVERY = Duration.ofMillis(50);
    /** How often it says it is still running; one that stopped saying so for {@link #GONE_AFTER} is not waited for. */
    public static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(10);
    static final Duration GONE_AFTER = Duration.ofSeconds(30);
    /** How long the CLI waits for a running gateway to apply its change. */
    public static final Duration ACK_WAIT = Duration.ofSeconds(1);

    private static final Logger log = LoggerFactory.getLogger(BudgetSync.class);

    private final LedgerBook book;
    private final Budgets budgets;
    private final Clock clock;
    private final String gateway = UUID.randomUUID().toString();
    /** The change count this gateway's budgets reflect; only the scheduler's thread touches it. */
    private long applied;
    /** Whether the last check failed; only the scheduler's thread touches it. */
    private boolean failing;

    /** Call once the budgets have been read; {@code budgets} reflect the store as of now. */
    public BudgetSync(LedgerBook book, Budgets budgets, Clock clock) {
        this.book = book;
        this.budgets = budgets;
        this.clock = clock;
        this.applied = book.budgetChanges();
        budgets.refresh();   // a change between the first read of the budgets and the count above is not missed
        book.acknowledgeBudgets(gateway, applied, clock.instant());
    }

    /**
     * Reads the change count; when it moved, reads the budgets again and says so. A store that cannot be read is
     * logged once, not twenty times a second, and once more when it can be read again; the budgets in memory keep
     * binding meanwhile.
     */
    public void check() {
        try {
            long now = book.budgetChanges();
            if (now != applied) {
                budgets.refresh();
                applied = now;
                book.acknowledgeBudgets(gateway, now, clock.instant());
            }
            if (failing) {
                failing = false;
                log.info("budget changes can be read from the store again");
            }
        } catch (RuntimeException e) {
            if (!failing) {
                failing = true;
                log.warn("cannot read budget changes from the store; budgets bind as last read until it can", e);
            }
        }
    }

    /** Tells the CLI this gateway still runs (it waits only for running ones). */
    public void heartbeat() { book.acknowledgeBudgets(gateway, applied, clock.instant()); }

    /** This gateway stops: nobody should wait for it. */
    public void stop() { book.forgetAcknowledgement(gateway); }

    /** What became of a budget write, for the person who made it. */
    public record Binding(int running, int applied) {
        /** Every running gateway applied it (or none runs: it binds when one starts, which reads every budget). */
        public boolean complete() { return applied >= running; }

        /** One line for the CLI. */
        public String describe() {
            if (running == 0) return "no running gateway saw it yet; it binds when one starts";
            if (applied >= running) return "binds now (" + (running == 1 ? "the running gateway has" : "all " + running
                    + " running gateways have") + " applied it)";
            return applied + " of " + running + " running gateways applied it within " + ACK_WAIT.toMillis()
                    + " ms; the others bind when they catch up";
        }
    }

    /**
     * Waits up to {@link #ACK_WAIT} for every running gateway to apply the budget writes made so far, and says how far
     * they got. Does not wait when no gateway is running.
     */
    public static Binding await(LedgerBook book, Clock clock) throws InterruptedException {
        long seq = book.budgetChanges();
        long deadline = System.nanoTime() + ACK_WAIT.toNanos();
        while (true) {
            LedgerTables.Acknowledgements a = book.acknowledgements(seq, clock.instant().minus(GONE_AFTER));
            if (a.applied() >= a.running() || System.nanoTime() >= deadline) return new Binding(a.running(), a.applied());
            Thread.sleep(10);
        }
    }

}
