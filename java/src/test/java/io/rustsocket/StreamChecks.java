package io.rustsocket;

import static io.rustsocket.Cells.hex;
import static io.rustsocket.Torture.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What {@link StreamRaces} checks: records written by many writers must arrive whole and in
 * order ({@link Records}, {@link RecordReader}), and the pieces read by many readers must tile the
 * peer's stream ({@link Tiling}).
 */
final class StreamChecks {
    private StreamChecks() {}

    /** A read of B's stream by one of A's readers: where it was (-1 until placed) and, if short, its bytes. */
    static final class Piece {
        final int reader;
        final int seq;
        long start;
        final int len;
        final byte[] data;
        long lo;
        long hi;

        Piece(int reader, int seq, long start, int len, byte[] data) {
            this.reader = reader;
            this.seq = seq;
            this.start = start;
            this.len = len;
            this.data = data;
        }
    }

    /** Checks that the pieces read by many readers tile the stream: nothing lost, nothing twice, nothing foreign. */
    static final class Tiling {
        static void check(List<List<Piece>> perReader, long key, long upTo, boolean complete, String ctx, Run run) {
            List<Piece> located = new ArrayList<>();
            List<Piece> loose = new ArrayList<>();
            for (List<Piece> mine : perReader) {
                Piece prev = null;
                for (Piece p : mine) {
                    if (p.start >= 0) {
                        if (prev != null && prev.start + prev.len > p.start) {
                            throw new AssertionError(ctx + ": A-reader " + p.reader + " read bytes [" + p.start + ", "
                                    + (p.start + p.len) + ") after [" + prev.start + ", " + (prev.start + prev.len)
                                    + "): one thread's reads out of order or repeated");
                        }
                        prev = p;
                        located.add(p);
                    }
                }
                // the window each unplaced piece must lie in, from its reader's placed neighbours
                long lo = 0;
                for (Piece p : mine) {
                    if (p.start >= 0) {
                        lo = p.start + p.len;
                    } else {
                        p.lo = lo;
                    }
                }
                long hi = Long.MAX_VALUE;
                for (int i = mine.size() - 1; i >= 0; i--) {
                    Piece p = mine.get(i);
                    if (p.start >= 0) {
                        hi = p.start;
                    } else {
                        p.hi = hi;
                        loose.add(p);
                    }
                }
            }
            located.sort(Comparator.comparingLong(p -> p.start));
            long end = 0;
            List<long[]> gaps = new ArrayList<>();
            Piece last = null;
            for (Piece p : located) {
                if (p.start < end) {
                    throw new AssertionError(ctx + ": bytes [" + p.start + ", " + Math.min(end, p.start + p.len)
                            + ") were delivered twice (to A-readers " + last.reader + " and " + p.reader + ")");
                }
                if (p.start > end) {
                    gaps.add(new long[] {end, p.start});
                }
                end = p.start + p.len;
                last = p;
            }
            boolean[] used = new boolean[loose.size()];
            for (long[] g : gaps) {
                if (!fill(g[0], g[1], loose, used, key)) {
                    throw new AssertionError(ctx + ": bytes [" + g[0] + ", " + g[1] + ") of B's stream were never read"
                            + " by any A-reader although later bytes were (lost bytes); " + loose.size() + " short pieces unplaced");
                }
            }
            // short pieces left over must continue the stream after the last placed byte
            boolean progress = true;
            while (progress) {
                progress = false;
                for (int i = 0; i < loose.size(); i++) {
                    Piece p = loose.get(i);
                    if (!used[i] && p.lo <= end && end + p.len <= p.hi && Cells.check(key, end, p.data, 0, p.len) < 0) {
                        used[i] = true;
                        p.start = end;
                        end += p.len;
                        progress = true;
                    }
                }
            }
            for (int i = 0; i < loose.size(); i++) {
                if (!used[i]) {
                    Piece p = loose.get(i);
                    throw new AssertionError(ctx + ": A-reader " + p.reader + " read " + p.len + " bytes (its read #"
                            + p.seq + ") that fit nowhere in B's stream (foreign or repeated bytes): " + hex(p.data, 0, p.len));
                }
            }
            if (complete ? end != upTo : end > upTo) {
                throw new AssertionError(ctx + ": the A-readers got bytes [0, " + end + ") of B's stream; B "
                        + (complete ? "sent " : "tried to send at most ") + upTo);
            }
            run.count("pieces", located.size() + loose.size());
            run.count("pieces placed by content", loose.size());
        }

        private static boolean fill(long pos, long end, List<Piece> loose, boolean[] used, long key) {
            if (pos == end) {
                return true;
            }
            for (int i = 0; i < loose.size(); i++) {
                Piece p = loose.get(i);
                if (!used[i] && p.len <= end - pos && p.lo <= pos && pos + p.len <= p.hi
                        && Cells.check(key, pos, p.data, 0, p.len) < 0) {
                    used[i] = true;
                    p.start = pos;
                    if (fill(pos + p.len, end, loose, used, key)) {
                        return true;
                    }
                    used[i] = false;
                    p.start = -1;
                }
            }
            return false;
        }
    }

    /** Record format on A -> B: a 24-byte header (magic, writer, seq, body length, check) then cells. */
    static final class Records {
        static final int HEADER = 24;
        static final int MAGIC = 0x70C7A5ED;

        static long recordKey(long connKey, int writer, int seq) {
            return Cells.mix(connKey ^ Cells.mix(((long) writer << 32) | (seq & 0xffffffffL)));
        }

        static long check(long connKey, int writer, int seq, int len) {
            return Cells.mix(connKey + 31L * writer + 1_000_003L * seq + ((long) len << 40));
        }

        static int build(long connKey, int writer, int seq, int bodyLen, byte[] b, int off) {
            ByteBuffer h = ByteBuffer.wrap(b, off, HEADER);
            h.putInt(MAGIC).putInt(writer).putInt(seq).putInt(bodyLen).putLong(check(connKey, writer, seq, bodyLen));
            Cells.fill(recordKey(connKey, writer, seq), 0, b, off + HEADER, bodyLen);
            return HEADER + bodyLen;
        }
    }

    /** Parses and checks B's incoming records as they arrive, byte by byte. */
    static final class RecordReader {
        final long connKey;
        final int writers;
        final int[] next;
        final String ctx;
        final byte[] header = new byte[Records.HEADER];
        int headerFill;
        boolean inBody;
        int writer;
        int seq;
        int bodyLen;
        int bodyPos;
        long recKey;
        long offset;
        volatile long records;
        volatile long largeRecords;
        volatile boolean eof;

        RecordReader(long connKey, int writers, String ctx) {
            this.connKey = connKey;
            this.writers = writers;
            this.next = new int[writers];
            this.ctx = ctx;
        }

        void accept(byte[] b, int off, int n) {
            while (n > 0) {
                if (!inBody) {
                    int t = Math.min(Records.HEADER - headerFill, n);
                    System.arraycopy(b, off, header, headerFill, t);
                    headerFill += t;
                    off += t;
                    n -= t;
                    offset += t;
                    if (headerFill == Records.HEADER) {
                        parseHeader();
                    }
                } else {
                    int t = Math.min(bodyLen - bodyPos, n);
                    int bad = Cells.check(recKey, bodyPos, b, off, t);
                    if (bad >= 0) {
                        throw new AssertionError(ctx + ": record " + seq + " of writer " + writer + " (" + bodyLen
                                + " bytes after its header, written by ONE write call) is broken at its byte "
                                + (bodyPos + bad) + " (stream offset " + (offset + bad) + "): expected "
                                + hex(Cells.at(recKey, bodyPos + bad)) + ", got " + hex(b[off + bad])
                                + "; following bytes " + hex(b, off + bad, Math.min(32, t - bad))
                                + " — another write's bytes were interleaved, or bytes were lost or foreign");
                    }
                    bodyPos += t;
                    off += t;
                    n -= t;
                    offset += t;
                    if (bodyPos == bodyLen) {
                        inBody = false;
                        headerFill = 0;
                        next[writer]++;
                        records++;
                        if (bodyLen > CHUNK) {
                            largeRecords++;
                        }
                    }
                }
            }
        }

        private void parseHeader() {
            ByteBuffer h = ByteBuffer.wrap(header);
            int magic = h.getInt();
            int w = h.getInt();
            int s = h.getInt();
            int len = h.getInt();
            long chk = h.getLong();
            long start = offset - Records.HEADER;
            if (magic != Records.MAGIC || w < 0 || w >= writers || len <= 0 || len > MAX_WRITE
                    || chk != Records.check(connKey, w, s, len)) {
                throw new AssertionError(ctx + ": no valid record header at stream offset " + start + " ("
                        + hex(header, 0, header.length) + ") after " + records + " complete records"
                        + (records > 0 ? ", the last " + bodyLen + " bytes long from writer " + writer : "")
                        + " — a write was interleaved with another, or bytes were lost or foreign");
            }
            if (s != next[w]) {
                throw new AssertionError(ctx + ": record " + s + " of writer " + w + " at stream offset " + start
                        + " where record " + next[w] + " was due: a write was lost, repeated or reordered");
            }
            writer = w;
            seq = s;
            bodyLen = len;
            bodyPos = 0;
            recKey = Records.recordKey(connKey, w, s);
            inBody = true;
        }

        boolean atBoundary() {
            return !inBody && headerFill == 0;
        }
    }
}
