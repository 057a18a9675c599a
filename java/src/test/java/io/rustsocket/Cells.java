package io.rustsocket;

/** Cells of 16 bytes: the cell index XOR the key, then a keyed hash of the index; little-endian. */
final class Cells {
    private Cells() {}

    static final int SIZE = 16;

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    static long mac(long key, long k) {
        return mix(key + k * 0x9E3779B97F4A7C15L);
    }

    static byte at(long key, long pos) {
        long k = pos >>> 4;
        int c = (int) (pos & 15);
        long w = c < 8 ? k ^ key : mac(key, k);
        return (byte) (w >>> ((c & 7) << 3));
    }

    static void fill(long key, long pos, byte[] b, int off, int len) {
        int i = 0;
        while (i < len) {
            long p = pos + i;
            long k = p >>> 4;
            int c = (int) (p & 15);
            long w0 = k ^ key;
            long w1 = mac(key, k);
            for (; c < 16 && i < len; c++, i++) {
                b[off + i] = (byte) ((c < 8 ? w0 : w1) >>> ((c & 7) << 3));
            }
        }
    }

    /** Index (from off) of the first byte that is not the stream's, or -1. */
    static int check(long key, long pos, byte[] b, int off, int len) {
        int i = 0;
        while (i < len) {
            long p = pos + i;
            long k = p >>> 4;
            int c = (int) (p & 15);
            long w0 = k ^ key;
            long w1 = mac(key, k);
            for (; c < 16 && i < len; c++, i++) {
                if (b[off + i] != (byte) ((c < 8 ? w0 : w1) >>> ((c & 7) << 3))) {
                    return i;
                }
            }
        }
        return -1;
    }

    /** Where in the stream a piece starts, found from any whole cell in it; -1 if it holds none. */
    static long locate(long key, byte[] b, int off, int len, long maxCells) {
        for (int a = 0; a < SIZE && a + SIZE <= len; a++) {
            long k = le(b, off + a) ^ key;
            if (k >= 0 && k < maxCells && le(b, off + a + 8) == mac(key, k) && k * SIZE - a >= 0) {
                return k * SIZE - a;
            }
        }
        return -1;
    }

    static long le(byte[] b, int i) {
        long v = 0;
        for (int j = 7; j >= 0; j--) {
            v = (v << 8) | (b[i + j] & 0xff);
        }
        return v;
    }

static AssertionError foreignByte(String ctx, long key, long pos, byte got) {
    return new AssertionError(ctx + ": byte " + pos + " of the stream is " + hex(got) + ", its peer sent "
            + hex(Cells.at(key, pos)) + " (a foreign byte: read through a wrong or reused descriptor, or lost bytes)");
}

static String hex(byte b) {
    return String.format("0x%02x", b & 0xff);
}

static String hex(byte[] b, int off, int len) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < len; i++) {
        sb.append(String.format("%02x", b[off + i] & 0xff));
    }
    return sb.toString();
}
}
