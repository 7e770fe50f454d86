package dev.carapace.server.adapter;

import dev.carapace.memory.WriteScreen;
import dev.carapace.privacy.Finding;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.privacy.Scanner;

import java.util.ArrayList;
import java.util.List;

/**
 * Memory's privacy screen: the privacy router's detectors and the policy's action for each class of data, for the
 * writing agent and its team. A class the policy blocks is refused; one it redacts is replaced by
 * {@code [REDACTED:TYPE]} for good (a note has no answer to restore it in); one it keeps on private models, or
 * allows, is kept: memory lives in Carapace's own store, and every model call that later carries a passage of it is
 * screened again on its way out.
 */
public final class PrivacyWriteScreen implements WriteScreen {

    private final PrivacySpec spec;
    private final Scanner scanner;

    public PrivacyWriteScreen(PrivacySpec spec, Scanner scanner) {
        this.spec = spec;
        this.scanner = scanner;
    }

    @Override
    public Screened screen(String team, String agent, String text) {
        List<Finding> findings = scanner.scan(text);
        if (findings.isEmpty()) return new Screened(text, List.of());
        List<Found> found = new ArrayList<>();
        List<Finding> toRedact = new ArrayList<>();
        for (Finding f : findings) {
            Verdict v = switch (spec.actionFor(team, agent, f.dataClass())) {
                case BLOCK -> Verdict.REFUSE;
                case REDACT -> Verdict.REDACT;
                case PRIVATE, ALLOW -> Verdict.KEEP;
            };
            found.add(new Found(f.type(), f.dataClass(), Spans.line(text, f.start()), v));
            if (v == Verdict.REDACT) toRedact.add(f);
        }
        return new Screened(Spans.redact(text, toRedact), List.copyOf(found));
    }
}
