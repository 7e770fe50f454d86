package dev.carapace.model.audio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * What Carapace reads of a RIFF/WAVE file: its length in seconds (to reserve and meter a transcription without trusting
 * the upstream alone) and its sample data; and the sizes espeak-ng leaves unset when it writes to a pipe, set. Reads
 * bounded by the array: a hostile header cannot make it read past the end or loop.
 */
public final class Wav {

    private static final int MAX_CHUNKS = 64;

    private Wav() {}

    /** Where the sample data is and how fast it plays, or null when {@code b} is not a PCM WAVE file we can read. */
    private record Layout(int dataStart, int dataLength, long byteRate, int sizeAt) {}

    private static Layout layout(byte[] b) {
        if (b.length < 12 || !tag(b, 0, "RIFF") || !tag(b, 8, "WAVE")) return null;
        ByteBuffer in = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long byteRate = 0;
        long at = 12;
        for (int i = 0; i < MAX_CHUNKS && at + 8 <= b.length; i++) {
            int here = (int) at;
            long size = in.getInt(here + 4) & 0xffffffffL;
            if (tag(b, here, "fmt ") && size >= 16 && here + 8 + 16 <= b.length) {
                // A second format chunk: decoders read the first (ffmpeg's WAV reader says so), a later one could claim
                // a rate that makes long audio short. Not a file whose length we can tell.
                if (byteRate != 0) return null;
                byteRate = byteRate(in, here + 8);
                if (byteRate == 0) return null;
            } else if (tag(b, here, "data")) {
                if (byteRate == 0) return null;
                int start = here + 8;
                // A stream writer (espeak-ng on a pipe) cannot go back to write the size: it leaves it at the maximum.
                int length = (int) Math.min(size, b.length - start);
                return new Layout(start, length, byteRate, here + 4);
            }
            at += 8 + size + (size & 1);
        }
        return null;
    }

    /**
     * The bytes per second of a PCM format chunk, or 0 when it is not one a player would read as the header says
     * (the rate must be what the sample rate, channels and sample size make): a header cannot claim a file plays for
     * less time than an upstream takes it to.
     */
    private static long byteRate(ByteBuffer in, int fmt) {
        int format = in.getShort(fmt) & 0xffff;
        int channels = in.getShort(fmt + 2) & 0xffff;
        long sampleRate = in.getInt(fmt + 4) & 0xffffffffL;
        long byteRate = in.getInt(fmt + 8) & 0xffffffffL;
        int bits = in.getShort(fmt + 14) & 0xffff;
        boolean pcm = format == 1 || format == 3 || format == 0xfffe;
        if (!pcm || channels < 1 || channels > 8 || sampleRate < 1000 || sampleRate > 384_000 || bits < 8 || bits > 32
                || bits % 8 != 0 || byteRate != sampleRate * channels * bits / 8) {
            return 0;
        }
        return byteRate;
    }

    /**
     * How long the audio can play, in seconds: every byte from the first data chunk's start to the end of the file,
     * at the format's rate; -1 when {@code b} is not a WAVE file whose header gives a rate. Not the data chunk's own
     * size: a decoder may play what follows a data chunk that says it is short (or empty), or a second one, and the
     * call is reserved and metered on this. Chunks after the data (a few bytes of tags) count as audio.
     */
    public static double seconds(byte[] b) {
        Layout l = layout(b);
        return l == null ? -1 : (double) (b.length - l.dataStart()) / l.byteRate();
    }

    /** The sample data alone (what {@code response_format: pcm} is), or null when {@code b} is not a WAVE file. */
    public static byte[] samples(byte[] b) {
        Layout l = layout(b);
        return l == null ? null : Arrays.copyOfRange(b, l.dataStart(), l.dataStart() + l.dataLength());
    }

    /** {@code b} with its RIFF and data sizes set to what it holds (written in place), or null when it is no WAVE file. */
    public static byte[] sized(byte[] b) {
        Layout l = layout(b);
        if (l == null) return null;
        byte[] out = l.dataStart() + l.dataLength() == b.length ? b : Arrays.copyOf(b, l.dataStart() + l.dataLength());
        ByteBuffer o = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        o.putInt(4, out.length - 8);
        o.putInt(l.sizeAt(), l.dataLength());
        return out;
    }

    private static boolean tag(byte[] b, int at, String tag) {
        for (int i = 0; i < 4; i++) if (b[at + i] != tag.charAt(i)) return false;
        return true;
    }
}
