package dev.carapace.bench;

import dev.carapace.skill.Skill;
import dev.carapace.skill.SkillCache;
import dev.carapace.skill.SkillFolders;
import dev.carapace.skill.SkillGate;
import dev.carapace.skill.SkillHost;
import dev.carapace.skill.SkillSettings;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Loading 500 skills from one folder, as each agent run does: list, parse every SKILL.md (front matter and OpenClaw
 * metadata), hash every skill's files, then gate each against this host (os, PATH lookups, env). The skills are the
 * 51 OpenClaw fixtures copied under new names (ten rounds, less one), each with a references/ file. Cold: every
 * skill parsed and hashed; cached: unchanged folders listed and reused.
 * Run with {@code bench/jmh SkillLoadBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SkillLoadBench {

    static final int SKILLS = 500;

    private Path dir;
    private SkillHost host;
    private final SkillCache cache = new SkillCache();

    @Setup
    public void setUp() throws Exception {
        Path fixtures = Path.of(SkillLoadBench.class.getResource("/openclaw-skills/LICENSE").toURI()).getParent();
        List<Path> sources;
        try (Stream<Path> s = Files.list(fixtures)) {
            sources = s.filter(Files::isDirectory).sorted().toList();
        }
        dir = Files.createTempDirectory("skill-bench");
        for (int i = 0; i < SKILLS; i++) {
            Path from = sources.get(i % sources.size());
            String name = from.getFileName() + "-" + i;
            String text = Files.readString(from.resolve("SKILL.md"))
                    .replaceFirst("(?m)^name: .*$", "name: " + name);
            Path to = Files.createDirectories(dir.resolve(name).resolve("references"));
            Files.writeString(to.getParent().resolve("SKILL.md"), text);
            Files.writeString(to.resolve("notes.md"), "More about " + name + ".\n".repeat(20));
        }
        host = SkillHost.of(System::getenv, java.util.Map.of());
    }

    @TearDown
    public void tearDown() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** Every skill parsed and hashed: a gateway's first run after a start, or after every skill changed. */
    @Benchmark
    public int loadAndGate500() {
        return gate(SkillFolders.load(dir, "workspace").skills());
    }

    /** Skills whose files did not change since the last look come from the cache: every later run and skill call. */
    @Benchmark
    public int loadAndGate500Cached() {
        return gate(SkillFolders.load(dir, "workspace", cache, null).skills());
    }

    private int gate(List<Skill> skills) {
        if (skills.size() != SKILLS) throw new IllegalStateException("loaded " + skills.size());
        SkillGate gate = new SkillGate(host, SkillSettings.DEFAULT);
        int available = 0;
        for (Skill s : skills) if (gate.check(s).available()) available++;
        return available;
    }
}
