package dev.carapace.skill.scan;

import java.util.Comparator;
import java.util.List;

/**
 * What a scan of one skill found, most severe first.
 *
 * @param findings  the findings, most severe first, then by file and line
 * @param truncated true when more findings were left out than the report keeps (the count kept is bounded)
 */
public record ScanReport(List<Finding> findings, boolean truncated) {

    /** Most severe first, then file, then line. */
    static final Comparator<Finding> ORDER = Comparator.comparing(Finding::severity).reversed()
            .thenComparing(Finding::file).thenComparingInt(Finding::line).thenComparing(Finding::rule);

    public ScanReport {
        findings = findings.stream().sorted(ORDER).toList();
    }

    /** True when any finding blocks (high or critical): the version needs an admin's approval. */
    public boolean blocking() { return findings.stream().anyMatch(f -> f.severity().blocks()); }

    /** The most severe finding's severity, or null when there is none. */
    public Severity highest() { return findings.isEmpty() ? null : findings.get(0).severity(); }
}
