package dev.carapace.store;

import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.Query;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The audit log's table: append-only rows, each sealed with a hash over its fields and its predecessor's hash. The
 * store keeps the order and the links; what the hash covers is the caller's ({@link Sealer}), so this class knows
 * nothing of the encoding.
 *
 * <p>Appends are serialized across every writer of the database, so the log stays one linear chain: on SQLite by
 * the write transaction itself ({@code BEGIN IMMEDIATE} holds the database's one write lock, also against other
 * processes); on PostgreSQL by a transaction-scoped advisory lock that every gateway on the database takes. The
 * primary key on {@code seq} is the last line: two appends can never both become record n.
 */
public final class AuditRecords {

    /** Hash of "record 0": what the first record links to. */
    public static final String GENESIS = "0".repeat(64);

    /** Advisory lock key for appends on PostgreSQL: 'audit' in ASCII, constant across versions. */
    private static final long PG_APPEND_LOCK = 0x6175646974L;

    /**
     * One record. {@code seq}, {@code prevHash} and {@code hash} are 0/null in a draft and set when it is appended.
     */
    public record AuditRow(long seq, Instant at, String principal, String agent, String session, String layer,
                           String action, String target, String outcome, String rule, String reason, String prevHash,
                           String hash) {
        public AuditRow {
            Objects.requireNonNull(at, "at");
            Objects.requireNonNull(layer, "layer");
            Objects.requireNonNull(outcome, "outcome");
        }

        /** This draft as record {@code seq} after {@code prevHash}, sealed with {@code hash}. */
        public AuditRow sealed(long seq, String prevHash, String hash) {
            return new AuditRow(seq, at, principal, agent, session, layer, action, target, outcome, rule, reason, prevHash, hash);
        }
    }

    /** Computes the hash of a draft as record {@code seq} following a record whose hash is {@code prevHash}. */
    @FunctionalInterface
    public interface Sealer {
        String hash(AuditRow draft, long seq, String prevHash);
    }

    /**
     * What to search for; null fields match anything. {@code since} is inclusive, {@code until} exclusive;
     * {@code beforeSeq} (exclusive, 0 for none) pages backwards.
     */
    public record Filter(String agent, String session, String outcome, String layer, Instant since, Instant until,
                         long beforeSeq) {
        public static final Filter ALL = new Filter(null, null, null, null, null, null, 0);
    }

    private static final String COLUMNS = "seq, at, principal, agent, session, layer, action, target, outcome, rule, "
            + "reason, prev_hash, hash";

    private static final RowMapper<AuditRow> ROW = (rs, ctx) -> new AuditRow(rs.getLong("seq"),
            Instant.ofEpochMilli(rs.getLong("at")), rs.getString("principal"), rs.getString("agent"),
            rs.getString("session"), rs.getString("layer"), rs.getString("action"), rs.getString("target"),
            rs.getString("outcome"), rs.getString("rule"), rs.getString("reason"), rs.getString("prev_hash"),
            rs.getString("hash"));

    private final Store store;

    AuditRecords(Store store) { this.store = store; }

    /**
     * Appends {@code drafts} in order at the end of the log, in one transaction, and returns them as sealed. Either
     * all are appended or none.
     */
    public List<AuditRow> append(List<AuditRow> drafts, Sealer sealer) {
        if (drafts.isEmpty()) return List.of();
        return store.write("append audit records", h -> {
            if (store.postgres()) h.execute("SELECT pg_advisory_xact_lock(" + PG_APPEND_LOCK + ")");
            AuditRow head = h.createQuery("SELECT " + COLUMNS + " FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .map(ROW).findOne().orElse(null);
            long seq = head == null ? 0 : head.seq();
            String prev = head == null ? GENESIS : head.hash();
            List<AuditRow> out = new ArrayList<>(drafts.size());
            var batch = h.prepareBatch("INSERT INTO audit_log (" + COLUMNS + ") VALUES (:seq, :at, :principal, :agent, "
                    + ":session, :layer, :action, :target, :outcome, :rule, :reason, :prev, :hash)");
            for (AuditRow d : drafts) {
                seq++;
                AuditRow r = d.sealed(seq, prev, sealer.hash(d, seq, prev));
                batch.bind("seq", r.seq()).bind("at", r.at().toEpochMilli()).bind("principal", r.principal())
                        .bind("agent", r.agent()).bind("session", r.session()).bind("layer", r.layer())
                        .bind("action", r.action()).bind("target", r.target()).bind("outcome", r.outcome())
                        .bind("rule", r.rule()).bind("reason", r.reason()).bind("prev", r.prevHash())
                        .bind("hash", r.hash()).add();
                out.add(r);
                prev = r.hash();
            }
            batch.execute();
            return out;
        });
    }

    /** The last record, if any. */
    public Optional<AuditRow> head() {
        return store.read("read audit head", h -> h.createQuery("SELECT " + COLUMNS + " FROM audit_log ORDER BY seq DESC LIMIT 1")
                .map(ROW).findOne());
    }

    /** Up to {@code limit} records with seq greater than {@code afterSeq}, in chain order: for walking the log. */
    public List<AuditRow> after(long afterSeq, int limit) {
        return store.read("read audit records", h -> h.createQuery("SELECT " + COLUMNS + " FROM audit_log "
                        + "WHERE seq > :after ORDER BY seq LIMIT :limit")
                .bind("after", afterSeq).bind("limit", limit).map(ROW).list());
    }

    /** The seqs of the records whose hash is {@code hash}: where a misplaced link points. */
    public List<Long> seqsWithHash(String hash) {
        return store.read("find audit record by hash", h -> h.createQuery("SELECT seq FROM audit_log WHERE hash = :hash ORDER BY seq")
                .bind("hash", hash).mapTo(Long.class).list());
    }

    /** The newest {@code limit} records matching {@code filter}, newest first. */
    public List<AuditRow> search(Filter filter, int limit) {
        return store.read("search audit records", h -> {
            StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM audit_log WHERE 1 = 1");
            if (filter.agent() != null) sql.append(" AND agent = :agent");
            if (filter.session() != null) sql.append(" AND session = :session");
            if (filter.outcome() != null) sql.append(" AND outcome = :outcome");
            if (filter.layer() != null) sql.append(" AND layer = :layer");
            if (filter.since() != null) sql.append(" AND at >= :since");
            if (filter.until() != null) sql.append(" AND at < :until");
            if (filter.beforeSeq() > 0) sql.append(" AND seq < :before");
            sql.append(" ORDER BY seq DESC LIMIT :limit");
            Query q = h.createQuery(sql.toString()).bind("limit", limit);
            if (filter.agent() != null) q.bind("agent", filter.agent());
            if (filter.session() != null) q.bind("session", filter.session());
            if (filter.outcome() != null) q.bind("outcome", filter.outcome());
            if (filter.layer() != null) q.bind("layer", filter.layer());
            if (filter.since() != null) q.bind("since", filter.since().toEpochMilli());
            if (filter.until() != null) q.bind("until", filter.until().toEpochMilli());
            if (filter.beforeSeq() > 0) q.bind("before", filter.beforeSeq());
            return q.map(ROW).list();
        });
    }

    /** How many records there are. */
    public long count() {
        return store.read("count audit records", h -> h.createQuery("SELECT COUNT(*) FROM audit_log").mapTo(Long.class).one());
    }
}
