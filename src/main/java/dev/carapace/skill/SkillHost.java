package dev.carapace.skill;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * What the gateway's host offers a skill: its operating system (in OpenClaw's words: {@code linux}, {@code darwin},
 * {@code win32}), its environment, the config's secrets and the programs on its {@code PATH}.
 *
 * @param os      the operating system in OpenClaw's words
 * @param env     the gateway's environment variables (read only to tell whether one is set)
 * @param secrets the config's {@code secrets:} section, name to reference ({@code env:VAR}, {@code file:/path})
 */
public record SkillHost(String os, Function<String, String> env, Map<String, String> secrets) {

    public SkillHost {
        secrets = Map.copyOf(secrets);
    }

    public SkillHost(String os, Function<String, String> env) {
        this(os, env, Map.of());
    }

    /** A program name: no path, nothing a shell would read. */
    private static final Pattern PROGRAM = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+-]{0,127}");

    /** This JVM's host, the given environment (the gateway's, as the composition root reads it) and secrets. */
    public static SkillHost of(Function<String, String> env, Map<String, String> secrets) {
        return new SkillHost(osName(System.getProperty("os.name", "")), env, secrets);
    }

    /**
     * Whether the variable {@code name} has a value here: set in the gateway's environment, or a secret of that name
     * whose reference resolves (its variable set, its file readable). The value itself is never read from a file.
     */
    public boolean hasVariable(String name) {
        String v = env.apply(name);
        if (v != null && !v.isEmpty()) return true;
        String ref = secrets.get(name);
        if (ref == null) return false;
        if (ref.startsWith("env:")) {
            String other = env.apply(ref.substring(4));
            return other != null && !other.isEmpty();
        }
        if (!ref.startsWith("file:")) return false;
        Path p = Path.of(ref.substring(5));
        return Files.isRegularFile(p) && Files.isReadable(p);
    }

    /** {@code os.name} in OpenClaw's words (Node's {@code process.platform}). */
    static String osName(String javaName) {
        String n = javaName.toLowerCase(Locale.ROOT);
        if (n.startsWith("mac") || n.contains("darwin")) return "darwin";
        if (n.startsWith("windows")) return "win32";
        if (n.startsWith("linux")) return "linux";
        return n.replace(" ", "");
    }

    /** Whether {@code program} is an executable file in a directory of the host's {@code PATH}. */
    public boolean onPath(String program) {
        if (!PROGRAM.matcher(program).matches()) return false;
        String path = env.apply("PATH");
        if (path == null) return false;
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, program);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return true;
        }
        return false;
    }
}
