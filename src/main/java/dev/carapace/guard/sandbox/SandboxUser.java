package dev.carapace.guard.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The host user and group that sandboxed commands run as when the gateway runs as root ({@code tools.sandbox_user}).
 * Root inside bubblewrap's user namespace is root on the host for everything the namespace does not fence off
 * ({@code /proc/sys}, files of mode 0600): so a root gateway switches to this identity before bubblewrap starts. A
 * gateway that is not root cannot switch, and its commands run as its own user.
 *
 * @param uid never 0
 * @param gid never 0
 */
public record SandboxUser(int uid, int gid) {

    /** {@code nobody}/{@code nogroup} on Debian and most distributions. */
    public static final SandboxUser NOBODY = new SandboxUser(65534, 65534);
    /** What {@code tools.sandbox_user} is when the config says nothing. */
    public static final String DEFAULT_SPEC = "nobody";

    public SandboxUser {
        if (uid <= 0 || gid <= 0) {
            throw new IllegalArgumentException("the sandbox user must not be root: uid and gid must be above 0, got "
                    + uid + ":" + gid);
        }
    }

    /**
     * Whether {@code spec} is written as {@code tools.sandbox_user} may be: a user name or {@code UID:GID}. Says what
     * is wrong, or null.
     */
    public static String problem(String spec) {
        if (spec.matches("\\d{1,9}:\\d{1,9}")) {
            String[] ids = spec.split(":");
            return Integer.parseInt(ids[0]) == 0 || Integer.parseInt(ids[1]) == 0
                    ? "the sandbox user must not be root (uid or gid 0): commands would act as root on the host" : null;
        }
        if (spec.equals("root")) return "the sandbox user must not be root: commands would act as root on the host";
        return spec.matches("[a-z_][a-z0-9_.-]{0,31}") ? null
                : "expected a user name (e.g. nobody) or UID:GID (e.g. 65534:65534)";
    }

    /**
     * The identity {@code spec} names: {@code UID:GID} as written, or a user name looked up in {@code passwd} (its
     * uid and primary group). The default {@code nobody} is 65534:65534 where passwd does not list it.
     *
     * @throws SandboxUnavailableException the name is not a user here, or names root
     */
    public static SandboxUser resolve(String spec, Path passwd) {
        String problem = problem(spec);
        if (problem != null) throw new SandboxUnavailableException("tools.sandbox_user '" + spec + "': " + problem);
        if (spec.contains(":")) {
            String[] ids = spec.split(":");
            return new SandboxUser(Integer.parseInt(ids[0]), Integer.parseInt(ids[1]));
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(passwd);
        } catch (IOException e) {
            lines = List.of();
        }
        for (String line : lines) {
            String[] f = line.split(":", -1);
            if (f.length < 4 || !f[0].equals(spec)) continue;
            int uid = Integer.parseInt(f[2]);
            int gid = Integer.parseInt(f[3]);
            if (uid == 0 || gid == 0) {
                throw new SandboxUnavailableException("tools.sandbox_user '" + spec + "' is uid " + uid + " gid " + gid
                        + " in " + passwd + ": the sandbox user must not be root");
            }
            return new SandboxUser(uid, gid);
        }
        if (spec.equals(DEFAULT_SPEC)) return NOBODY;
        throw new SandboxUnavailableException("tools.sandbox_user '" + spec + "' is not a user in " + passwd
                + ": create it (useradd --system --no-create-home " + spec + "), or write UID:GID");
    }

    @Override
    public String toString() {
        return uid + ":" + gid;
    }
}
