package dev.carapace.bench;

import dev.carapace.server.adapter.StoreSkillVersions;
import dev.carapace.skill.repo.AgentOwners;
import dev.carapace.skill.repo.Caller;
import dev.carapace.skill.repo.Scope;
import dev.carapace.skill.repo.SkillRepository;
import dev.carapace.skill.scan.SkillScanner;
import dev.carapace.store.PostgresForTests;
import dev.carapace.store.Store;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The org skill repository's costs (bench/skills-repo): the scanner's throughput on real skills and on one 2 MiB file,
 * publishing N versions (scan, hash, store), installing them at org scope, and resolving an agent's installed skills
 * (what each turn's catalog reads). Args: the OpenClaw skills folder, N, and {@code sqlite DIR} or {@code postgres}.
 */
public final class SkillRepoBench {

    public static void main(String[] args) throws Exception {
        Path fixtures = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        boolean postgres = args[2].equals("postgres");
        List<Map<String, byte[]>> skills = new ArrayList<>();
        try (Stream<Path> s = Files.list(fixtures)) {
            for (Path d : s.filter(Files::isDirectory).sorted().toList()) {
                skills.add(new TreeMap<>(Map.of("SKILL.md", Files.readAllBytes(d.resolve("SKILL.md")))));
            }
        }
        SkillScanner scanner = new SkillScanner();
        long bytes = skills.stream().mapToLong(m -> m.get("SKILL.md").length).sum();
        for (int warm = 0; warm < 5; warm++) for (var m : skills) scanner.scan(m, Set.of());
        long t0 = System.nanoTime();
        int rounds = 20;
        for (int r = 0; r < rounds; r++) for (var m : skills) scanner.scan(m, Set.of());
        double scanSec = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "scan: %d real skills (%d bytes) x %d: %.2f ms per skill, %.1f MB/s%n", skills.size(),
                bytes, rounds, scanSec * 1000 / (rounds * skills.size()), rounds * bytes / scanSec / 1e6);
        byte[] big = new byte[2 * 1024 * 1024];
        byte[] line = "Run the tool with `tool --fast` and read the notes in references/guide.md before you start.\n"
                .getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < big.length; i++) big[i] = line[i % line.length];
        t0 = System.nanoTime();
        scanner.scan(Map.of("big.md", big), Set.of());
        System.out.printf(Locale.ROOT, "scan: one 2 MiB markdown file: %.0f ms%n", (System.nanoTime() - t0) / 1e6);

        String url = postgres ? PostgresForTests.createDatabase() : "jdbc:sqlite:" + Path.of(args[3]).resolve("bench.db");
        try (Store store = Store.open(url, postgres ? PostgresForTests.USER : null, "", 8)) {
            AgentOwners owners = new AgentOwners() {
                @Override
                public Optional<Owner> owner(String agent) { return Optional.of(new Owner("platform", null)); }

                @Override
                public Set<String> teams() { return Set.of("platform"); }
            };
            SkillRepository repo = new SkillRepository(new StoreSkillVersions(store.skillVersions()), scanner,
                    (a, c, t, o, r) -> { }, owners, dev.carapace.skill.AutoApprove.UNBLOCKED, Clock.systemUTC());
            Caller admin = new Caller("bench", "platform", true);
            long[] publish = new long[n];
            List<String> names = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Map<String, byte[]> base = skills.get(i % skills.size());
                String text = new String(base.get("SKILL.md"), StandardCharsets.UTF_8);
                String name = "s" + i;
                text = text.replaceFirst("(?m)^name:.*$", "name: " + name);
                long s = System.nanoTime();
                repo.publish(Map.of("SKILL.md", text.getBytes(StandardCharsets.UTF_8)), null, admin);
                publish[i] = System.nanoTime() - s;
                names.add(name);
            }
            long[] install = new long[Math.min(n, 50)];
            for (int i = 0; i < install.length; i++) {
                long s = System.nanoTime();
                repo.install(names.get(i), null, Scope.ORG, admin);
                install[i] = System.nanoTime() - s;
            }
            long[] resolve = new long[200];
            for (int i = 0; i < resolve.length; i++) {
                long s = System.nanoTime();
                int got = repo.resolvedFor("helper").size();
                resolve[i] = System.nanoTime() - s;
                if (got != install.length) throw new AssertionError("resolved " + got);
            }
            System.out.printf(Locale.ROOT, "%s: publish %d versions: p50 %.1f ms, p99 %.1f ms, total %.1f s%n",
                    postgres ? "postgresql" : "sqlite", n, pct(publish, 50), pct(publish, 99), Arrays.stream(publish).sum() / 1e9);
            System.out.printf(Locale.ROOT, "%s: install %d at org: p50 %.1f ms; an agent's %d installed skills resolved: p50 %.1f ms, p99 %.1f ms%n",
                    postgres ? "postgresql" : "sqlite", install.length, pct(install, 50), install.length, pct(resolve, 50), pct(resolve, 99));
        }
    }

    private static double pct(long[] nanos, int p) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)] / 1e6;
    }
}
