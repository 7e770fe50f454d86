package dev.carapace.ledger;

import java.util.concurrent.ConcurrentHashMap;

/**
 * What each model's calls have used against what the ledger could know before their answers: prompt tokens per
 * unit of the prompt's byte bound, and output tokens per call. A call cut off by a crash, whose answer never came,
 * is charged at these (its prompt's bound scaled as the model's recent calls scaled, its output as long as they ran,
 * never past its {@code max_tokens}), not at its reservation: the bound is up to four times a prompt's tokens, and
 * {@code max_tokens} often many times an answer.
 *
 * <p>Each figure is a moving average of the calls that completed on this gateway, updated without a lock: two calls
 * ending at once may each miss the other's update, which an average does not notice. A model with no completed call
 * yet has no figure; its calls are estimated at their bounds.
 */
final class UsageCalibration {

    /** Weight of each new call in the averages: about the last fifty calls count. */
    private static final double WEIGHT = 0.02;

    private final ConcurrentHashMap<String, Averages> models = new ConcurrentHashMap<>();

    private static final class Averages {
        volatile double promptPerBound = Double.NaN;
        volatile double output = Double.NaN;
    }

    /** A completed call's usage as its upstream reported it, against its prompt bound; 0 output for none asked. */
    void observe(String model, long promptBound, long promptTokens, boolean hasOutput, long outputTokens) {
        if (promptBound <= 0 || promptTokens < 0 || promptTokens > promptBound) return;   // implausible: not a guide
        Averages a = models.computeIfAbsent(model, m -> new Averages());
        a.promptPerBound = next(a.promptPerBound, (double) promptTokens / promptBound);
        if (hasOutput && outputTokens >= 0) a.output = next(a.output, outputTokens);
    }

    private static double next(double average, double x) {
        return Double.isNaN(average) ? x : average + WEIGHT * (x - average);
    }

    /** The prompt tokens of a call of {@code model} whose prompt's bound is {@code bound}: at most the bound. */
    long prompt(String model, long bound) {
        Averages a = models.get(model);
        double f = a == null ? Double.NaN : a.promptPerBound;
        return Double.isNaN(f) ? bound : Math.min(bound, (long) Math.ceil(bound * f));
    }

    /** The output tokens of a call of {@code model} that may write {@code maxOutput}: at most that. */
    long output(String model, long maxOutput) {
        Averages a = models.get(model);
        double o = a == null ? Double.NaN : a.output;
        return Double.isNaN(o) ? maxOutput : Math.min(maxOutput, (long) Math.ceil(o));
    }
}
