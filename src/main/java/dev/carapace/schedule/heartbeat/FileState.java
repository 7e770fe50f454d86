package dev.carapace.schedule.heartbeat;

/**
 * What a watched file looked like at a beat: whether it existed, and if so the SHA-256 of its content and its size.
 * Compared beat to beat to tell created, deleted and changed apart.
 *
 * @param sha256 lower-case hex; null when the file does not exist
 * @param size   bytes; -1 when the file does not exist
 */
public record FileState(boolean exists, String sha256, long size) {

    public FileState {
        if (exists && (sha256 == null || size < 0)) throw new IllegalArgumentException("an existing file has a hash and a size");
        if (!exists) {
            sha256 = null;
            size = -1;
        }
    }

    public static FileState absent() {
        return new FileState(false, null, -1);
    }

    public static FileState of(String sha256, long size) {
        return new FileState(true, sha256, size);
    }
}
