package dev.carapace.guard.sandbox;

import java.time.Duration;

/**
 * What one sandboxed command may use. Wall time and output size are the caller's (per call); these are the kernel's
 * limits, set inside the sandbox with {@code prlimit} and, where the kernel would not apply them, a cgroup.
 *
 * @param cpuTime     CPU time of each process; past it the kernel kills the process (RLIMIT_CPU)
 * @param memoryBytes address space of each process (RLIMIT_AS), where an allocation past it fails; and where a
 *                    memory cgroup is available, the memory of all the command's processes together, past which the
 *                    kernel kills one of them. The address space is virtual, not resident: runtimes that reserve
 *                    large regions up front (V8, the JVM, Go) need a generous value
 * @param processes   processes and threads the command may have at once (RLIMIT_NPROC counted in the sandbox's own
 *                    user namespace, or a pids cgroup when the gateway runs as root, whom RLIMIT_NPROC exempts)
 * @param fileBytes   largest file the command may write (RLIMIT_FSIZE), in the workspace or in /tmp
 * @param tmpBytes    size of the private /tmp (a tmpfs, so memory)
 * @param openFiles   open file descriptors per process (RLIMIT_NOFILE)
 */
public record SandboxLimits(Duration cpuTime, long memoryBytes, int processes, long fileBytes, long tmpBytes,
                            int openFiles) {

    private static final long MIB = 1024 * 1024;

    public static final SandboxLimits DEFAULT =
            new SandboxLimits(Duration.ofMinutes(2), 4096 * MIB, 256, 1024 * MIB, 512 * MIB, 1024);

    public SandboxLimits {
        if (cpuTime == null || cpuTime.toSeconds() < 1) throw new IllegalArgumentException("cpuTime must be at least 1 s");
        if (memoryBytes < 16 * MIB) throw new IllegalArgumentException("memoryBytes must be at least 16 MiB");
        // The sandbox's own init and the egress bridge are processes too.
        if (processes < 4) throw new IllegalArgumentException("processes must be at least 4");
        if (fileBytes < 1) throw new IllegalArgumentException("fileBytes must be positive");
        if (tmpBytes < MIB) throw new IllegalArgumentException("tmpBytes must be at least 1 MiB");
        if (openFiles < 16) throw new IllegalArgumentException("openFiles must be at least 16");
    }
}
