package dev.carapace.server;

import com.sun.management.UnixOperatingSystemMXBean;

import java.lang.management.ManagementFactory;

/**
 * Caps derived from the process's open-files limit ({@code ulimit -n}), so Carapace refuses the excess cleanly before
 * the kernel refuses it a descriptor. A streamed call holds two descriptors (client and upstream connection); the
 * caps leave a fifth of the limit for the store, logs, policy files, sandboxes and the egress proxy.
 */
final class OpenFiles {

    /** Descriptors kept back whatever the limit: the JVM, the store and the log need these to stay alive. */
    private static final long RESERVED = 64;

    private OpenFiles() {}

    /** The process's open-files limit, or 65,536 where the JVM cannot tell. */
    static long limit() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix) {
            long max = unix.getMaxFileDescriptorCount();
            if (max > 0) return max;
        }
        return 65_536;
    }

    /** The configured cap on client connections, or (when 0) two fifths of what the limit leaves. */
    static int clientConnections(int configured) {
        return configured > 0 ? configured : share(limit());
    }

    static int share(long limit) {
        return (int) Math.max(16, Math.min(1_000_000, (limit - RESERVED) * 2 / 5));
    }
}
