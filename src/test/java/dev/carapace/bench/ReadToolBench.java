package dev.carapace.bench;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Latency of the {@code read} tool on a small file (1 KiB, three directories deep) for two builds of Carapace in one
 * JVM, interleaved round by round so both see the same machine noise: the ratio is what matters. Each build is
 * loaded in its own class loader, so the builds may differ in anything but {@code ReadTool}'s and
 * {@code ToolContext}'s public constructors.
 *
 * <pre>
 * java -cp target/test-classes dev.carapace.bench.ReadToolBench \
 *     baseline=/tmp/main/target/classes:$DEPS  candidate=target/classes:$DEPS  [rounds] [callsPerRound]
 * </pre>
 * where {@code $DEPS} is the runtime class path ({@code mvn dependency:build-classpath}).
 */
public final class ReadToolBench {

    private record Variant(String name, Object tool, Method run, Object args, Object context, long[] samples) {}

    public static void main(String[] argv) throws Exception {
        List<String> specs = new ArrayList<>();
        List<Integer> numbers = new ArrayList<>();
        for (String a : argv) {
            if (a.contains("=")) specs.add(a);
            else numbers.add(Integer.parseInt(a));
        }
        int rounds = numbers.size() > 0 ? numbers.get(0) : 40;
        int calls = numbers.size() > 1 ? numbers.get(1) : 2000;

        Path ws = Files.createTempDirectory("read-bench").toRealPath();
        Path file = Files.createDirectories(ws.resolve("a/b/c")).resolve("f.txt");
        StringBuilder text = new StringBuilder();
        while (text.length() < 1024) text.append("line ").append(text.length()).append(" of a small source file\n");
        Files.writeString(file, text.substring(0, 1024));

        List<Variant> variants = new ArrayList<>();
        for (String spec : specs) {
            String name = spec.substring(0, spec.indexOf('='));
            URL[] urls = Arrays.stream(spec.substring(spec.indexOf('=') + 1).split(":"))
                    .filter(s -> !s.isBlank()).map(s -> {
                        try {
                            return Path.of(s).toUri().toURL();
                        } catch (Exception e) {
                            throw new IllegalArgumentException(s, e);
                        }
                    }).toArray(URL[]::new);
            ClassLoader loader = new URLClassLoader(name, urls, ClassLoader.getPlatformClassLoader());
            Object tool = loader.loadClass("dev.carapace.agent.tools.ReadTool").getConstructor().newInstance();
            Class<?> ctxType = loader.loadClass("dev.carapace.agent.ToolContext");
            Constructor<?> ctx = ctxType.getConstructor(String.class, String.class, Path.class, Duration.class, int.class);
            Object context = ctx.newInstance("bench", "s", ws, Duration.ofSeconds(10), 64 * 1024);
            Class<?> mapperType = loader.loadClass("com.fasterxml.jackson.databind.ObjectMapper");
            Object args = mapperType.getMethod("readTree", String.class)
                    .invoke(mapperType.getConstructor().newInstance(), "{\"path\":\"a/b/c/f.txt\"}");
            Method run = loader.loadClass("dev.carapace.agent.AgentTool").getMethod("run",
                    loader.loadClass("com.fasterxml.jackson.databind.JsonNode"), ctxType);
            Object first = run.invoke(tool, args, context);
            if (first.toString().contains("error=true")) throw new IllegalStateException(name + ": " + first);
            variants.add(new Variant(name, tool, run, args, context, new long[rounds * calls]));
        }

        for (int w = 0; w < 5; w++) for (Variant v : variants) measure(v, 0, calls);   // warm-up, discarded
        for (int r = 0; r < rounds; r++) {
            // alternate the order so neither build always runs right after the other
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get((r + i) % variants.size());
                measure(v, r * calls, calls);
            }
        }

        System.out.printf(Locale.ROOT, "read tool, 1 KiB file 3 dirs deep, %d rounds x %d calls per build%n", rounds, calls);
        System.out.printf(Locale.ROOT, "%-12s %10s %10s %10s %10s%n", "build", "p50 us", "p90 us", "p99 us", "mean us");
        double[] p50 = new double[variants.size()];
        double[] mean = new double[variants.size()];
        for (int i = 0; i < variants.size(); i++) {
            long[] s = variants.get(i).samples().clone();
            Arrays.sort(s);
            p50[i] = s[s.length / 2] / 1000.0;
            mean[i] = Arrays.stream(s).average().orElse(0) / 1000.0;
            System.out.printf(Locale.ROOT, "%-12s %10.1f %10.1f %10.1f %10.1f%n", variants.get(i).name(), p50[i],
                    s[(int) (s.length * 0.9)] / 1000.0, s[(int) (s.length * 0.99)] / 1000.0, mean[i]);
        }
        for (int i = 1; i < variants.size(); i++) {
            System.out.printf(Locale.ROOT, "ratio %s/%s: p50 %.3f, mean %.3f%n", variants.get(i).name(),
                    variants.get(0).name(), p50[i] / p50[0], mean[i] / mean[0]);
        }
    }

    private static void measure(Variant v, int from, int calls) throws Exception {
        for (int c = 0; c < calls; c++) {
            long t0 = System.nanoTime();
            v.run().invoke(v.tool(), v.args(), v.context());
            v.samples()[from + c] = System.nanoTime() - t0;
        }
    }
}
