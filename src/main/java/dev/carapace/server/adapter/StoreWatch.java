package dev.carapace.server.adapter;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.CallFilter;
import dev.carapace.model.ApiException;
import dev.carapace.store.Store;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Stops the gateway from serving once its SQLite file is no longer the one it opened (replaced, truncated,
 * overwritten; see {@link Store#fileProblem}): answering from a database that is not the one on disk would lose or
 * invent spend, keys and audit records. Checked on a timer and on every {@code /healthz}; once seen, the condition
 * sticks until a restart (a file swapped back does not make the writes in between trustworthy), is logged once,
 * {@code /healthz} answers 503 with the reason, and every model call, from {@code /v1} or an agent, is refused with
 * 503 before it reaches an upstream.
 */
public final class StoreWatch implements CallFilter {

    private static final Logger log = LoggerFactory.getLogger(StoreWatch.class);

    private final Store store;
    private final String where;
    private final AtomicReference<String> problem = new AtomicReference<>();

    /** @param where how the log names the store (its file), for the operator */
    public StoreWatch(Store store, String where) {
        this.store = store;
        this.where = where;
    }

    /** Checks the file now; the reason the gateway stopped serving, or null while it is sound. */
    public String check() {
        String known = problem.get();
        if (known != null) return known;
        String now;
        try {
            now = store.fileProblem();
        } catch (RuntimeException e) {
            now = "the database file could not be checked (" + e.getClass().getSimpleName() + ")";
        }
        if (now != null && problem.compareAndSet(null, now)) {
            log.error("store {}: {}; the gateway stops serving (healthz 503, model calls refused with 503) until it is "
                    + "restarted on a sound store", where, now);
        }
        return problem.get();
    }

    /** The reason without checking again: for each request, which must not wait on the disk. */
    public String problem() { return problem.get(); }

    /** Refuses every model call once the store is unsound. */
    @Override
    public void beforeRoute(Call call) {
        String p = problem.get();
        if (p != null) throw unavailable(p);
    }

    public static ApiException unavailable(String problem) {
        return ApiException.of(ApiException.Kind.UNAVAILABLE, "store_unavailable", "Carapace cannot serve: " + problem
                + ". An operator must restore the store and restart the gateway.");
    }
}
