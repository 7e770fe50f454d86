package dev.carapace.server.adapter;

import dev.carapace.channel.ChannelPrivacy;
import dev.carapace.privacy.Finding;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.privacy.Scanner;
import dev.carapace.text.Invisible;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The privacy router's detectors and the policy's action per class of data, at a channel's edge. Coming in: a class
 * the policy blocks refuses the message (naming the kind and the line, never the value), one it redacts is replaced
 * for good; the rest passes, and every model call made with it is screened again by the gateway. Going out to an
 * external recipient: blocked data stops the message, and data the policy redacts or keeps on private models is
 * replaced: what may only reach Carapace's own models must not reach a stranger's inbox either.
 *
 * <p>Both ways, the text goes on as what it reads as ({@link #readable}). The detectors read through invisible
 * characters and compatibility forms by themselves ({@code Scanner}); this is for what they do not judge: text a
 * person cannot see (tag characters, bidi overrides, zero-width runs) can carry instructions to the agent, or to a
 * stranger's model, that the operator reading the message never saw.
 */
public final class ChannelPrivacyScreen implements ChannelPrivacy {

    private final PrivacySpec spec;
    private final Scanner scanner;

    public ChannelPrivacyScreen(PrivacySpec spec, Scanner scanner) {
        this.spec = spec;
        this.scanner = scanner;
    }

    @Override
    public Screened inbound(String team, String agent, String text) { return screen(team, agent, text, false); }

    @Override
    public Screened outbound(String team, String agent, String text) { return screen(team, agent, text, true); }

    private Screened screen(String team, String agent, String given, boolean leaving) {
        String text = readable(given);
        List<Finding> findings = scanner.scan(text);
        if (findings.isEmpty()) return new Screened(text, null, List.of());
        Set<String> kinds = new LinkedHashSet<>();
        List<String> blocked = new ArrayList<>();
        List<Finding> redact = new ArrayList<>();
        for (Finding f : findings) {
            kinds.add(f.type());
            switch (spec.actionFor(team, agent, f.dataClass())) {
                case BLOCK -> blocked.add(f.type() + " on line " + Spans.line(text, f.start()));
                case REDACT -> redact.add(f);
                case PRIVATE -> { if (leaving) redact.add(f); }
                case ALLOW -> { }
            }
        }
        if (!blocked.isEmpty()) {
            return new Screened(null, "it holds data the privacy policy blocks (" + String.join(", ", blocked) + ")",
                    List.copyOf(kinds));
        }
        return new Screened(Spans.redact(text, redact), null, List.copyOf(kinds));
    }

    /**
     * {@code text} in Unicode's compatibility form (NFKC: fullwidth {@code ４} is {@code 4}), without invisible
     * characters (zero-width, bidi, soft hyphens, tags) but for line breaks and tabs.
     */
    static String readable(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (cp == '\n' || cp == '\r' || cp == '\t' || !Invisible.is(cp)) sb.appendCodePoint(cp);
        });
        return Normalizer.normalize(sb, Normalizer.Form.NFKC);
    }
}
