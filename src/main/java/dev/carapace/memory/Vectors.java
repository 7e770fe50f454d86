package dev.carapace.memory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Vector arithmetic and the vectors' stored form (float32s, little-endian). */
final class Vectors {

    private Vectors() {}

    /** {@code v} scaled to unit length (a copy); a zero vector stays zero. */
    static float[] normalized(float[] v) {
        double sum = 0;
        for (float f : v) sum += (double) f * f;
        float[] out = v.clone();
        if (sum == 0) return out;
        float scale = (float) (1 / Math.sqrt(sum));
        for (int i = 0; i < out.length; i++) out[i] *= scale;
        return out;
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** The dot product of {@code q} with the row at {@code offset} of a flattened matrix. */
    static double dot(float[] q, float[] matrix, int offset) {
        float s = 0;
        for (int i = 0; i < q.length; i++) s += q[i] * matrix[offset + i];
        return s;
    }

    static byte[] toBytes(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    /** Reads {@code bytes} into {@code into} from {@code offset}; false (nothing read) when the length is not the dimension's. */
    static boolean fromBytes(byte[] bytes, float[] into, int offset, int dimension) {
        if (bytes == null || bytes.length != dimension * 4) return false;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < dimension; i++) into[offset + i] = b.getFloat();
        return true;
    }
}
