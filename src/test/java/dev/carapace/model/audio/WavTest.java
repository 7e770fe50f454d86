package dev.carapace.model.audio;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** What Carapace reads of a WAV header, and what it does with hostile ones: never reads past the end, never trusts a rate. */
class WavTest {

    static byte[] wav(int sampleRate, int channels, int bits, int byteRate, long dataSize, int dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(44 + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + dataBytes).put("WAVE".getBytes(StandardCharsets.US_ASCII));
        b.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) channels)
                .putInt(sampleRate).putInt(byteRate).putShort((short) (channels * bits / 8)).putShort((short) bits);
        b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt((int) dataSize);
        return b.array();
    }

    @Test
    void readsTheLengthOfAPcmFile() {
        assertThat(Wav.seconds(wav(8000, 1, 16, 16000, 32000, 32000))).isEqualTo(2.0);
        assertThat(Wav.seconds(wav(44100, 2, 16, 176400, 88200, 88200))).isEqualTo(0.5);
    }

    @Test
    void aStreamedFilesSizesAreSetToWhatItHolds() {
        byte[] streamed = wav(22050, 1, 16, 44100, 0xffffffffL, 4410);
        assertThat(Wav.seconds(streamed)).as("the data it holds, not the size it claims").isEqualTo(0.1);
        byte[] sized = Wav.sized(streamed.clone());
        ByteBuffer le = ByteBuffer.wrap(sized).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(le.getInt(4)).isEqualTo(sized.length - 8);
        assertThat(le.getInt(40)).isEqualTo(4410);
        assertThat(Wav.samples(sized)).hasSize(4410);
    }

    /** Regression (found from outside): a short or empty data chunk followed by more samples was metered as short. */
    @Test
    void aDataChunkThatSaysItIsShortCannotMakeTheAudioShort() {
        byte[] empty = wav(8000, 1, 16, 16000, 0, 700 * 16000);
        assertThat(Wav.seconds(empty)).isEqualTo(700.0);
        byte[] oneSecondThenMore = wav(8000, 1, 16, 16000, 16000, 701 * 16000 + 8);
        ByteBuffer.wrap(oneSecondThenMore).order(ByteOrder.LITTLE_ENDIAN).position(44 + 16000)
                .put("data".getBytes(StandardCharsets.US_ASCII)).putInt(700 * 16000);
        assertThat(Wav.seconds(oneSecondThenMore)).isGreaterThanOrEqualTo(701.0);
    }

    /** Regression (found from outside): a second fmt chunk with a far higher rate made 700 s of audio "0.46 s". */
    @Test
    void aSecondFormatChunkMakesItAFileWhoseLengthWeCannotTell() {
        ByteBuffer b = ByteBuffer.allocate(12 + 24 + 24 + 8 + 16000).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(b.capacity() - 8).put("WAVE".getBytes(StandardCharsets.US_ASCII));
        b.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 1)
                .putInt(8000).putInt(8000).putShort((short) 1).putShort((short) 8);
        b.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 8)
                .putInt(384000).putInt(384000 * 8 * 4).putShort((short) 32).putShort((short) 32);
        b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(16000);
        assertThat(Wav.seconds(b.array())).isEqualTo(-1);
        assertThat(OpenAiAudio.secondsBound(b.array())).as("bounded by its size at the leanest rate instead")
                .isGreaterThanOrEqualTo(2);
    }

    @Test
    void hostileHeadersAreNoWavRatherThanAnErrorOrAFalseLength() {
        assertThat(Wav.seconds("not audio at all".getBytes())).isEqualTo(-1);
        assertThat(Wav.seconds(new byte[0])).isEqualTo(-1);
        assertThat(Wav.seconds(wav(8000, 1, 16, 16_000_000, 32000, 32000))).as("a rate its format does not make").isEqualTo(-1);
        assertThat(Wav.seconds(wav(8000, 1, 16, 0, 32000, 32000))).isEqualTo(-1);
        assertThat(Wav.seconds(wav(8000, 0, 16, 0, 32000, 32000))).isEqualTo(-1);
        // a chunk whose size points far past the end, and one that would overflow an int offset
        byte[] huge = wav(8000, 1, 16, 16000, 32000, 100);
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(16, 0x7ffffff0);
        assertThat(Wav.seconds(huge)).isEqualTo(-1);
        byte[] truncated = Arrays.copyOf(wav(8000, 1, 16, 16000, 32000, 0), 30);
        assertThat(Wav.seconds(truncated)).isEqualTo(-1);
        assertThat(Wav.sized(truncated)).isNull();
    }
}
