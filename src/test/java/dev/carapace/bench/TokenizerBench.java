package dev.carapace.bench;

import dev.carapace.ledger.LedgerTestKit;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.TokenCounter;
import dev.carapace.testing.RealisticPrompt;

import java.util.Arrays;

/**
 * What the ledger's prompt bounds cost on the request path, for harness-shaped requests ({@link RealisticPrompt}) of
 * 6 KB, 60 KB and 1 MB: the byte bound every budgeted call pays, and the o200k estimate that only a call the byte
 * bound would refuse pays (issue 14, item 6). Also the body's parse, for scale. Median of many runs, after warm-up.
 *
 * <pre>
 * mvn -q -o dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=cp.txt
 * java -cp target/test-classes:target/classes:$(cat cp.txt) dev.carapace.bench.TokenizerBench
 * </pre>
 */
public final class TokenizerBench {

    private TokenizerBench() {}

    public static void main(String[] args) {
        for (int size : new int[] {30_000, 60_000, 1_000_000}) {
            String body = RealisticPrompt.openAiBody("m", size, 14, "");
            byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            ChatRequest r = LedgerTestKit.parseOpenAi(body);
            int runs = size >= 1_000_000 ? 20 : size >= 60_000 ? 200 : 2_000;
            double parse = median(runs, () -> LedgerTestKit.parseOpenAi(body));
            double bound = median(runs, () -> LedgerTestKit.promptBound(r));
            double estimate = median(runs, () -> LedgerTestKit.promptEstimate(r, 1.35));
            // The next turn: the same prompt and one new user message, through the ledger's cache of counts.
            var cached = LedgerTestKit.cachedPromptEstimate(1.35);
            cached.applyAsLong(r);
            ChatRequest next = LedgerTestKit.parseOpenAi(body.substring(0, body.lastIndexOf(']')) + ",{\"role\":\"user\",\"content\":\"and then?\"}]}");
            double nextTurn = median(runs, () -> cached.applyAsLong(next));
            System.out.printf("%,9d bytes, %,7d o200k tokens: parse %8.3f ms | byte bound %7.3f ms (%,d) | o200k estimate %8.3f ms (%,d at 1.35), %.1f MB/s | next turn, cached %7.3f ms%n",
                    bytes.length, TokenCounter.prompt(r), parse, bound, LedgerTestKit.promptBound(r), estimate,
                    LedgerTestKit.promptEstimate(r, 1.35), bytes.length / estimate / 1e3, nextTurn);
        }
    }

    private static double median(int runs, Runnable task) {
        for (int i = 0; i < Math.max(5, runs / 2); i++) task.run();   // warm-up
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            task.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms[runs / 2];
    }
}
