package dev.carapace.guard.egress;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Random;

/**
 * What scrubbing an injected credential out of a response costs per MiB, against a plain copy of the same bytes,
 * alternately in one run. The body is random printable text with no credential in it (the common case: nothing
 * to mask, every byte still examined). Lives beside the package-private scrubber; {@code bench/} does not run it.
 *
 * <pre>java -cp target/test-classes:target/classes dev.carapace.guard.egress.CredentialScrubBench [rounds]</pre>
 */
public final class CredentialScrubBench {

    public static void main(String[] args) throws IOException {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        byte[] body = new byte[16 << 20];
        Random random = new Random(12);
        for (int i = 0; i < body.length; i++) body[i] = (byte) (' ' + random.nextInt(95));
        List<CredentialScrubber.Injected> injected = List.of(new CredentialScrubber.Injected("github_token",
                "ghp_Zq81LkV0aX3mPq9sT4uW7yB2cD5eF6gH", "Authorization", "Bearer ghp_Zq81LkV0aX3mPq9sT4uW7yB2cD5eF6gH"));
        double plain = 0, scrubbed = 0;
        for (int r = -3; r < rounds; r++) {            // three warm-up rounds
            double p = drain(new ByteArrayInputStream(body));
            double s = drain(CredentialScrubber.of(injected).body(new ByteArrayInputStream(body)));
            if (r >= 0) {
                plain += p;
                scrubbed += s;
            }
        }
        double mib = body.length / (double) (1 << 20);
        System.out.printf("16 MiB body, %d rounds: plain copy %.3f ms/MiB, scrubbed %.3f ms/MiB, ratio %.1f%n",
                rounds, plain / rounds / mib, scrubbed / rounds / mib, scrubbed / plain);
    }

    /** Reads {@code in} to its end in 16 KiB reads; returns the milliseconds it took. */
    private static double drain(InputStream in) throws IOException {
        byte[] buf = new byte[16 * 1024];
        long start = System.nanoTime();
        while (in.read(buf) >= 0) {
            // consume
        }
        return (System.nanoTime() - start) / 1e6;
    }
}
