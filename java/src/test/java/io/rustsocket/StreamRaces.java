package io.rustsocket;

import static io.rustsocket.Cells.foreignByte;
import static io.rustsocket.Cells.hex;
import static io.rustsocket.StreamChecks.*;
import static io.rustsocket.Torture.*;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * {@link TortureTest#manyWritersAndReadersUnderRaces}: one round of many writers and many readers
 * on one connection, with timeouts toggling, probes and, in abrupt rounds, a racer that closes or
 * shuts down an end mid-flight; what arrived is checked by {@link StreamChecks}.
 */
final class StreamRaces {
    private StreamRaces() {}

    static void streamRound(Run run, int round, SplittableRandom rnd) throws Exception {
        int max = run.cfg.maxDelayMicros;
        boolean graceful = round % 2 == 0;
        int nw = 4 + rnd.nextInt(5);
        int nr = 3 + rnd.nextInt(4);
        boolean small = rnd.nextBoolean();
        boolean toggle = rnd.nextInt(10) < 7;
        boolean probe = rnd.nextBoolean();
        long connKey = rnd.nextLong();
        long bytesPerDirection = (long) run.cfg.streamRoundMiB << 20;
        StringBuilder ctxb = new StringBuilder("round ").append(round).append(graceful ? " (graceful)" : " (abrupt)")
                .append(": ").append(nw).append(" writers on A, ").append(nr).append(" readers on A")
                .append(small ? ", small buffers" : "").append(toggle ? ", timeouts toggling" : "")
                .append(probe ? ", prober" : "");
        run.count("rounds " + (graceful ? "graceful" : "abrupt"));
        run.count("writers", nw);
        run.count("readers", nr);
        List<Task> all = new ArrayList<>();
        ServerSocket l = new RustServerSocket();
        Side a = new Side("A", new RustSocket(), rnd.nextLong());
        Side b = null;
        try {
            if (small) {
                l.setReceiveBufferSize(16 * 1024);
                a.socket.setSendBufferSize(16 * 1024);
                a.socket.setReceiveBufferSize(16 * 1024);
            } else {
                a.socket.setTcpNoDelay(true);
            }
            l.bind(new InetSocketAddress(LOOPBACK, 0), 1);
            l.setSoTimeout(SETUP_MILLIS);
            a.socket.connect(new InetSocketAddress(LOOPBACK, l.getLocalPort()), SETUP_MILLIS);
            b = new Side("B", l.accept(), rnd.nextLong());
            if (b.socket.getPort() != a.socket.getLocalPort()) {
                throw new AssertionError(ctxb + ": accepted a foreign connection");
            }
            ctxb.append(" (A on port ").append(a.socket.getLocalPort()).append(", B on port ")
                    .append(b.socket.getLocalPort()).append(')');
            run.watchPorts = new int[] {a.socket.getLocalPort(), b.socket.getLocalPort()};
            if (small) {
                b.socket.setSendBufferSize(16 * 1024);
            }
            Side.connect(a, b);

            Side bb = b;
            AtomicBoolean abrupt = new AtomicBoolean();
            AtomicBoolean stop = new AtomicBoolean();
            // A -> B: records from many writers, one checking reader
            AtomicIntegerArray recordsWritten = new AtomicIntegerArray(nw);
            RecordReader records = new RecordReader(connKey, nw, ctxb.toString());
            List<Task> writers = new ArrayList<>();
            String ctx0 = ctxb.toString();
            for (int w = 0; w < nw; w++) {
                int writer = w;
                SplittableRandom r = rnd.split();
                long quota = bytesPerDirection / nw;
                writers.add(run.start(ctx0 + ": A-writer " + w, () -> recordWriter(run, a, writer, connKey, quota,
                        recordsWritten, abrupt, r, ctx0 + ": A-writer " + writer)));
            }
            SplittableRandom brr = rnd.split();
            Task bReader = run.start(ctx0 + ": B-reader", () -> recordReader(run, bb, records, abrupt, brr, ctx0 + ": B-reader"));
            // B -> A: one writer of a self-locating stream, many readers
            long cellKey = bb.key;
            AtomicLong bAttempted = new AtomicLong();
            SplittableRandom bwr = rnd.split();
            Task bWriter = run.start(ctx0 + ": B-writer", () -> cellWriter(run, bb, bytesPerDirection, bAttempted,
                    abrupt, bwr, ctx0 + ": B-writer"));
            long maxCells = bytesPerDirection / Cells.SIZE + 2;
            List<List<Piece>> pieces = new ArrayList<>();
            List<Task> readers = new ArrayList<>();
            for (int r = 0; r < nr; r++) {
                List<Piece> mine = new ArrayList<>();
                pieces.add(mine);
                int reader = r;
                SplittableRandom rr = rnd.split();
                readers.add(run.start(ctx0 + ": A-reader " + r, () -> pieceReader(run, a, reader, cellKey, maxCells,
                        mine, abrupt, rr, ctx0 + ": A-reader " + reader)));
            }
            all.addAll(writers);
            all.add(bReader);
            all.add(bWriter);
            all.addAll(readers);
            List<Task> helpers = new ArrayList<>();
            if (toggle) {
                SplittableRandom tr = rnd.split();
                helpers.add(run.start(ctx0 + ": timeout toggler", () -> toggleTimeouts(run, a, bb, stop, tr, ctx0 + ": toggler")));
            }
            if (probe) {
                SplittableRandom pr = rnd.split();
                helpers.add(run.start(ctx0 + ": prober of A", () -> probeLoop(run, a, pr, ctx0 + ": prober of A")));
                SplittableRandom pr2 = rnd.split();
                helpers.add(run.start(ctx0 + ": prober of B", () -> probeLoop(run, bb, pr2, ctx0 + ": prober of B")));
            }
            all.addAll(helpers);

            String ctx = ctx0;
            if (graceful) {
                run.awaitAll(writers, 4 * WAKE_MILLIS, ctx + ": A-writers (graceful round)");
                a.socket.shutdownOutput();
                run.awaitAll(List.of(bReader, bWriter), 4 * WAKE_MILLIS, ctx + ": B-reader to EOF and B-writer (graceful round)");
                run.awaitAll(readers, 4 * WAKE_MILLIS, ctx + ": A-readers to EOF (graceful round)");
                if (!records.eof || !records.atBoundary()) {
                    throw new AssertionError(ctx + ": B-reader ended " + (records.eof ? "with EOF" : "without EOF")
                            + (records.atBoundary() ? "" : " inside a record") + " after " + records.records + " records");
                }
                for (int w = 0; w < nw; w++) {
                    if (records.next[w] != recordsWritten.get(w)) {
                        throw new AssertionError(ctx + ": writer " + w + " wrote " + recordsWritten.get(w)
                                + " records, B-reader got " + records.next[w]);
                    }
                }
            } else {
                // one racer closes or shuts down an end mid-flight
                Action act;
                Side x = rnd.nextBoolean() ? a : bb;
                int kind = rnd.nextInt(6);
                List<Task> xWriters = x == a ? writers : List.of(bWriter);
                List<Task> xReaders = x == a ? readers : List.of(bReader);
                List<Task> yReaders = x == a ? List.of(bReader) : readers;
                if (kind < 2) {
                    act = new Action("close (mid-flight)", "close(" + x.name + ")", () -> {
                        abrupt.set(true);
                        x.socket.close();
                    });
                    act.mustEnd.addAll(all);
                    act.mustEnd.removeAll(helpers);
                } else if (kind < 4) {
                    act = new Action("shutdownOutput (mid-flight)", "shutdownOutput(" + x.name + ")", () -> {
                        abrupt.set(true);
                        x.socket.shutdownOutput();
                    });
                    act.mustEnd.addAll(xWriters);
                    act.mustEnd.addAll(yReaders);
                } else {
                    act = new Action("shutdownInput (mid-flight)", "shutdownInput(" + x.name + ")", () -> {
                        abrupt.set(true);
                        x.socket.shutdownInput();
                    });
                    act.mustEnd.addAll(xReaders);
                }
                ctx = ctx0 + "; racer: " + act.label;
                long delay = (long) Math.exp(rnd.nextDouble() * Math.log(200_000));
                String rctx = ctx;
                Task racer = run.start(ctx + ": racer", () -> {
                    LockSupport.parkNanos(delay * 1000);
                    try {
                        act.act.run();
                        act.succeeded = true;
                        run.count(act.op, "ok");
                    } catch (IOException e) {
                        run.ended(rctx, act.op, e, false);
                    }
                });
                all.add(racer);
                run.awaitAll(List.of(racer), WAKE_MILLIS + 1000, ctx + ": the racer itself");
                awaitWoken(run, List.of(act), ctx);
                pause(rnd, 20 * max);
            }
            stop.set(true);
            a.socket.close();
            bb.socket.close();
            run.awaitAll(all, WAKE_MILLIS, ctx + ": after both ends were closed");

            // checks of what arrived
            run.count("records", records.records);
            run.count("records > 128 KiB", records.largeRecords);
            if (!records.atBoundary()) {
                run.count("stream A->B ended inside a record", 1);
            }
            long upTo = graceful ? bytesPerDirection : bAttempted.get();
            Tiling.check(pieces, cellKey, upTo, graceful, ctx, run);
            run.count("iterations", graceful ? "graceful round" : "abrupt round");
        } finally {
            closeQuietly(a.socket);
            if (b != null) {
                closeQuietly(b.socket);
            }
            closeQuietly(l);
        }
    }

    /** Writes records, one write call each, until {@code quota} bytes are written or a write fails. */
    static void recordWriter(Run run, Side a, int writer, long connKey, long quota, AtomicIntegerArray written,
            AtomicBoolean abrupt, SplittableRandom rnd, String ctx) throws IOException {
        byte[] buf = BUFFER.get();
        long bytes = 0;
        int seq = 0;
        while (bytes < quota) {
            if (rnd.nextInt(16) == 0) {
                pause(rnd, run.cfg.maxDelayMicros);
            }
            int body = recordLength(rnd);
            int off = rnd.nextInt(8);
            int len = Records.build(connKey, writer, seq, body, buf, off);
            try {
                a.out.write(buf, off, len);
            } catch (IOException e) {
                if (!abrupt.get()) {
                    throw new AssertionError(ctx + ": a write failed although nothing was closed or shut down", e);
                }
                run.ended(ctx, "write (record)", e, false);
                return;
            }
            seq++;
            written.set(writer, seq);
            bytes += len;
            run.count("write (record)", body > CHUNK ? "ok (> 128 KiB)" : "ok");
        }
    }

    private static int recordLength(SplittableRandom rnd) {
        int r = rnd.nextInt(100);
        if (r < 50) {
            return 1 + rnd.nextInt(1000);
        } else if (r < 80) {
            return 1000 + rnd.nextInt(64 * 1024);
        }
        return CHUNK + 1 + rnd.nextInt(MAX_WRITE - CHUNK - Records.HEADER);
    }

    /** B's single reader: feeds everything to the record checker. */
    static void recordReader(Run run, Side b, RecordReader records, AtomicBoolean abrupt, SplittableRandom rnd,
            String ctx) throws IOException {
        byte[] buf = new byte[256 * 1024];
        while (true) {
            if (rnd.nextInt(50) == 0) {
                LockSupport.parkNanos(rnd.nextInt(500_000)); // back-pressure on the writers
            }
            int n;
            try {
                n = b.in.read(buf, 0, 1 + rnd.nextInt(buf.length));
            } catch (IOException e) {
                if (!(e instanceof SocketTimeoutException) && !abrupt.get()) {
                    throw new AssertionError(ctx + ": a read failed although nothing was closed or shut down", e);
                }
                run.ended(ctx, "read (records)", e, b.timeoutSet);
                if (e instanceof SocketTimeoutException) {
                    continue;
                }
                return;
            }
            if (n < 0) {
                records.eof = true;
                run.count("read (records)", "-1");
                return;
            }
            records.accept(buf, 0, n);
            run.verified.add(n);
            run.count("read (records)", "data");
        }
    }

    /** B's single writer of the self-locating cell stream; then shuts its output down. */
    static void cellWriter(Run run, Side b, long total, AtomicLong attempted, AtomicBoolean abrupt,
            SplittableRandom rnd, String ctx) throws IOException {
        byte[] buf = BUFFER.get();
        long pos = 0;
        while (pos < total) {
            int len = (int) Math.min(total - pos, rnd.nextInt(10) == 0 ? 1 + rnd.nextInt(64) : 1 + rnd.nextInt(300 * 1024));
            int off = rnd.nextInt(8);
            Cells.fill(b.key, pos, buf, off, len);
            attempted.set(pos + len);
            try {
                b.out.write(buf, off, len);
            } catch (IOException e) {
                if (!abrupt.get()) {
                    throw new AssertionError(ctx + ": a write failed although nothing was closed or shut down", e);
                }
                run.ended(ctx, "write (cells)", e, false);
                return;
            }
            pos += len;
            run.count("write (cells)", len > CHUNK ? "ok (> 128 KiB)" : "ok");
        }
        try {
            b.socket.shutdownOutput();
        } catch (IOException e) {
            if (!abrupt.get()) {
                throw new AssertionError(ctx + ": shutdownOutput failed although nothing was closed", e);
            }
            run.ended(ctx, "shutdownOutput (cells)", e, false);
        }
    }

    /** One of A's many readers: locates and checks each piece it reads in B's stream. */
    static void pieceReader(Run run, Side a, int reader, long cellKey, long maxCells, List<Piece> mine,
            AtomicBoolean abrupt, SplittableRandom rnd, String ctx) throws IOException {
        byte[] buf = new byte[256 * 1024];
        int seq = 0;
        while (true) {
            if (rnd.nextInt(50) == 0) {
                LockSupport.parkNanos(rnd.nextInt(300_000));
            }
            int len = rnd.nextBoolean() ? 32 + rnd.nextInt(1024) : 32 + rnd.nextInt(buf.length - 32);
            int n;
            try {
                n = a.in.read(buf, 0, len);
            } catch (IOException e) {
                if (!(e instanceof SocketTimeoutException) && !abrupt.get()) {
                    throw new AssertionError(ctx + ": a read failed although nothing was closed or shut down", e);
                }
                run.ended(ctx, "read (pieces)", e, a.timeoutSet);
                if (e instanceof SocketTimeoutException) {
                    continue;
                }
                return;
            }
            if (n < 0) {
                run.count("read (pieces)", "-1");
                return;
            }
            if (n == 0 || n > len) {
                throw new AssertionError(ctx + ": read of up to " + len + " bytes returned " + n);
            }
            long start = Cells.locate(cellKey, buf, 0, n, maxCells);
            if (start >= 0) {
                int bad = Cells.check(cellKey, start, buf, 0, n);
                if (bad >= 0) {
                    throw foreignByte(ctx + " (piece of " + n + " bytes located at " + start + ")", cellKey, start + bad, buf[bad]);
                }
                mine.add(new Piece(reader, seq, start, n, null));
                run.verified.add(n);
            } else if (n >= 2 * Cells.SIZE - 1) {
                throw new AssertionError(ctx + ": read " + n + " bytes that are nowhere in the peer's stream (foreign bytes): "
                        + hex(buf, 0, Math.min(n, 48)));
            } else {
                mine.add(new Piece(reader, seq, -1, n, Arrays.copyOf(buf, n)));
            }
            seq++;
            run.count("read (pieces)", "data");
        }
    }

    /** Changes the timeouts of both ends every few milliseconds until told to stop or an end is closed. */
    static void toggleTimeouts(Run run, Side a, Side b, AtomicBoolean stop, SplittableRandom rnd, String ctx) throws IOException {
        while (!stop.get()) {
            pause(rnd, 3_000);
            Side x = rnd.nextBoolean() ? a : b;
            int v = pick(rnd, 0, 0, 1, 2, 5, 50, 500);
            if (v > 0) {
                x.timeoutSet = true;
            }
            try {
                x.socket.setSoTimeout(v);
                run.count("setSoTimeout (toggler)", "ok");
            } catch (IOException e) {
                run.ended(ctx, "setSoTimeout (toggler)", e, false);
                return;
            }
        }
    }
}
