package dev.carapace.server;

import com.sun.management.UnixOperatingSystemMXBean;

import java.lang.management.ManagementFactory;

/**
 * Caps derived from the process's open-files limit ({@code ulimit -n}), so Carapace refuses the excess cleanly before
 * the kernel refuses it a descriptor. A streamed call holds two descriptors (client and upstream connection). What is
 * shared out is what the limit leaves once the descriptors already open (the JVM's, its jars', the store's, the log's)
 * and a reserve are set aside: two fifths of it for client connections, two fifths for upstream connections, and a
 * fifth, with the reserve, for what opens later (policy files, sandboxes, the egress proxy, classes loaded late).
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

    /** Descriptors the process has open now, or 0 where the JVM cannot tell. */
    static long open() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix) {
            return Math.max(0, unix.getOpenFileDescriptorCount());
        }
        return 0;
    }

    /** The configured cap on client connections, or (when 0) two fifths of what the limit leaves. */
    static int clientConnections(int configured) {
        return configured > 0 ? configured : share(limit(), open());
    }

    /** The configured cap on upstream connections (every provider together), or (when 0) two fifths of what is left. */
    static int upstreamConnections(int configured) {
        return configured > 0 ? configured : share(limit(), open());
    }

    /** Two fifths of what {@code limit} leaves once {@code open} descriptors and the reserve are set aside. */
    static int share(long limit, long open) {
        long left = Math.min(limit, 10_000_000) - open - RESERVED;    // "unlimited" is a huge number: no overflow
        return (int) Math.max(16, Math.min(1_000_000, left * 2 / 5));
    }
}
