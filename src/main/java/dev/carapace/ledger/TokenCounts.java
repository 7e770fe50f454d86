package dev.carapace.ledger;

import dev.carapace.model.TokenCounter;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The o200k counts of long texts the ledger has counted lately. A harness resends its system prompt, tool schemas
 * and history with every turn, so a conversation whose budget is tight would otherwise pay for tokenizing all of them
 * again each turn (about 2.5 ms per 60 KB): with this, only what is new. Texts shorter than {@value #MIN_CHARS}
 * characters are counted afresh (cheaper than the lookup); the least recently used go once the texts held pass
 * {@code maxChars} characters together.
 */
final class TokenCounts {

    static final int MIN_CHARS = 256;

    private final long maxChars;
    private long chars;
    private final LinkedHashMap<String, Integer> counts = new LinkedHashMap<>(64, 0.75f, true);

    TokenCounts(long maxChars) { this.maxChars = maxChars; }

    /** The characters of the texts held. */
    synchronized long heldChars() { return chars; }

    /** The o200k tokens of {@code text} (0 for null). */
    int count(String text) {
        if (text == null || text.length() < MIN_CHARS) return TokenCounter.count(text);
        synchronized (this) {
            Integer known = counts.get(text);
            if (known != null) return known;
        }
        int n = TokenCounter.count(text);   // outside the lock: tokenizing is the slow part
        synchronized (this) {
            if (text.length() <= maxChars && counts.put(text, n) == null) {
                chars += text.length();
                for (var it = counts.entrySet().iterator(); chars > maxChars && it.hasNext(); ) {
                    Map.Entry<String, Integer> eldest = it.next();
                    chars -= eldest.getKey().length();
                    it.remove();
                }
            }
        }
        return n;
    }
}
