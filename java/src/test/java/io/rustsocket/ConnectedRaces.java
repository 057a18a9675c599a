package io.rustsocket;

import static io.rustsocket.Cells.foreignByte;
import static io.rustsocket.Torture.*;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@link TortureTest#closeAndShutdownRaceReadsAndWrites}: one iteration of readers, writers and
 * probers on both ends of a connected pair, raced by close, shutdowns and setSoTimeout.
 */
final class ConnectedRaces {
    private ConnectedRaces() {}

    static void connectedIteration(Run run, ServerSocket listener, int iter, SplittableRandom rnd) throws Exception {
        int max = run.cfg.maxDelayMicros;
        StringBuilder ctxb = new StringBuilder("iteration ").append(iter);
        Side c = new Side("c", new RustSocket(), rnd.nextLong());
        Side s = null;
        List<Task> all = new ArrayList<>();
        try {
            configureUnconnected(c, rnd, ctxb);
            int connectTimeout = rnd.nextBoolean() ? 0 : SETUP_MILLIS;
            c.socket.connect(new InetSocketAddress(LOOPBACK, listener.getLocalPort()), connectTimeout);
            Socket accepted = listener.accept();
            s = new Side("s", accepted, rnd.nextLong());
            if (accepted.getPort() != c.socket.getLocalPort()) {
                throw new AssertionError(ctxb + ": accepted a connection from port " + accepted.getPort()
                        + " but the client is on port " + c.socket.getLocalPort() + " (a foreign connection)");
            }
            configureUnconnected(s, rnd, ctxb);
            run.watchPorts = new int[] {c.socket.getLocalPort(), listener.getLocalPort()};
            ctxb.append(" (c on port ").append(c.socket.getLocalPort()).append(')');
            Side.connect(c, s);
            configureConnected(run, c, rnd, ctxb);
            configureConnected(run, s, rnd, ctxb);

            // only setSoTimeout races in a clean iteration, so every byte sent must arrive
            boolean clean = rnd.nextInt(4) == 0;
            boolean cs;
            boolean sc;
            boolean cWrites;
            boolean sReads;
            boolean sWrites;
            boolean cReads;
            if (clean) {
                cs = rnd.nextInt(10) < 7;
                sc = rnd.nextInt(10) < 7;
                cWrites = sReads = cs;
                sWrites = cReads = sc;
                ctxb.append(" clean");
            } else {
                cWrites = rnd.nextInt(100) < 65;
                sReads = rnd.nextInt(100) < 65;
                sWrites = rnd.nextInt(100) < 65;
                cReads = rnd.nextInt(100) < 65;
            }
            for (Side x : new Side[] {c, s}) {
                boolean writes = x == c ? cWrites : sWrites;
                boolean reads = x == c ? cReads : sReads;
                if (writes) {
                    x.budget = rnd.nextInt(10) == 0 ? 256 * 1024 + rnd.nextInt(1 << 20) : rnd.nextInt(64 * 1024);
                    x.shutdownAfterWrites = clean || rnd.nextInt(10) < 3;
                    ctxb.append(' ').append(x.name).append("-writer(").append(x.budget).append(" B")
                            .append(x.shutdownAfterWrites ? ", then shutdownOutput" : "").append(')');
                }
                if (reads) {
                    ctxb.append(' ').append(x.name).append("-reader");
                }
                if (rnd.nextInt(4) == 0) {
                    x.probes = true;
                    ctxb.append(' ').append(x.name).append("-prober");
                }
            }
            String ctx0 = ctxb.toString();
            // workers, started in random order
            List<Runnable> starts = new ArrayList<>();
            for (Side x : new Side[] {c, s}) {
                boolean writes = x == c ? cWrites : sWrites;
                boolean reads = x == c ? cReads : sReads;
                if (writes) {
                    SplittableRandom r = rnd.split();
                    starts.add(() -> x.writer = run.start(ctx0 + ": " + x.name + "-writer",
                            () -> writeLoop(run, x, r, ctx0 + ": " + x.name + "-writer")));
                }
                if (reads) {
                    SplittableRandom r = rnd.split();
                    starts.add(() -> x.reader = run.start(ctx0 + ": " + x.name + "-reader",
                            () -> readLoop(run, x, r, ctx0 + ": " + x.name + "-reader")));
                }
                if (x.probes) {
                    SplittableRandom r = rnd.split();
                    starts.add(() -> x.prober = run.start(ctx0 + ": " + x.name + "-prober",
                            () -> probeLoop(run, x, r, ctx0 + ": " + x.name + "-prober")));
                }
            }
            shuffle(starts, rnd);
            starts.forEach(Runnable::run);
            List<Task> workers = new ArrayList<>();
            for (Side x : new Side[] {c, s}) {
                addIfPresent(workers, x.reader, x.writer);
            }
            all.addAll(workers);
            addIfPresent(all, c.prober, s.prober);

            // racers
            List<Action> actions = new ArrayList<>();
            int racers = 1 + rnd.nextInt(3);
            for (int k = 0; k < racers; k++) {
                Side x = rnd.nextBoolean() ? c : s;
                int kind = clean ? 9 : rnd.nextInt(10);
                Action a;
                if (kind < 3) {
                    a = new Action("close", "close(" + x.name + ")", x.socket::close);
                    addIfPresent(a.mustEnd, x.reader, x.writer, x.peer.reader, x.peer.writer);
                } else if (kind < 5) {
                    a = new Action("shutdownInput", "shutdownInput(" + x.name + ")", x.socket::shutdownInput);
                    if (!TestSupport.WINDOWS) {
                        // as the JDK's sockets there, a read waiting for data on Windows is not
                        // ended by shutdownInput (shutdown(SD_RECEIVE) does not end the wait)
                        addIfPresent(a.mustEnd, x.reader);
                    }
                } else if (kind < 7) {
                    a = new Action("shutdownOutput", "shutdownOutput(" + x.name + ")", x.socket::shutdownOutput);
                    addIfPresent(a.mustEnd, x.writer, x.peer.reader);
                } else {
                    int v = pick(rnd, 0, 0, 1, 2, 5, 50, 10_000);
                    a = new Action("setSoTimeout", "setSoTimeout(" + x.name + ", " + v + ")", () -> {
                        if (v > 0) {
                            x.timeoutSet = true;
                        }
                        x.socket.setSoTimeout(v);
                    });
                }
                actions.add(a);
            }
            String ctx = ctx0 + "; racers: " + Action.labels(actions);
            List<Task> racerTasks = startRacers(run, ctx, actions, rnd);
            all.addAll(racerTasks);
            run.awaitAll(racerTasks, WAKE_MILLIS, ctx + ": the racers themselves (close, shutdown and setSoTimeout must return at once)");
            awaitWoken(run, actions, ctx);

            if (clean) {
                run.awaitAll(workers, WAKE_MILLIS, ctx + ": clean iteration, every transfer must complete");
                for (Side x : new Side[] {c, s}) {
                    if (x.writer != null) {
                        if (x.written != x.budget) {
                            throw new AssertionError(ctx + ": " + x.name + "-writer wrote " + x.written + " of "
                                    + x.budget + " bytes although only timeouts changed");
                        }
                        if (!x.peer.eof || x.peer.received != x.budget) {
                            throw new AssertionError(ctx + ": " + x.peer.name + "-reader got " + x.peer.received
                                    + " bytes" + (x.peer.eof ? " and EOF" : " and no EOF") + ", the peer sent "
                                    + x.budget + " and shut its output down");
                        }
                    }
                }
                run.count("clean iterations", "complete");
            }

            // finale: both ends closed (sometimes concurrently), every thread must return
            pause(rnd, max);
            if (rnd.nextBoolean()) {
                Side first = rnd.nextBoolean() ? c : s;
                first.socket.close();
                first.peer.socket.close();
            } else {
                Socket cs1 = c.socket;
                Socket ss1 = s.socket;
                List<Task> closers = List.of(run.start(ctx + ": closer of c", cs1::close),
                        run.start(ctx + ": closer of s", ss1::close));
                all.addAll(closers);
                run.awaitAll(closers, WAKE_MILLIS, ctx + ": the final close() calls");
            }
            run.awaitAll(all, WAKE_MILLIS, ctx + ": after both ends were closed");
            run.count("iterations", clean ? "clean" : "raced");
        } finally {
            closeQuietly(c.socket);
            if (s != null) {
                closeQuietly(s.socket);
            }
        }
    }

    /** Options set before the race; the socket's impl is created here (before any connect is raced). */
    static void configureUnconnected(Side x, SplittableRandom rnd, StringBuilder ctx) throws IOException {
        x.socket.setTcpNoDelay(rnd.nextBoolean());
        if (rnd.nextInt(4) == 0) {
            int t = rnd.nextBoolean() ? 1 + rnd.nextInt(20) : 10_000;
            x.timeoutSet = true;
            x.socket.setSoTimeout(t);
            ctx.append(' ').append(x.name).append(".soTimeout=").append(t);
        }
        if (rnd.nextInt(5) == 0) {
            int b = 4096 + rnd.nextInt(16 * 1024);
            x.socket.setSendBufferSize(b);
            ctx.append(' ').append(x.name).append(".sndbuf=").append(b);
        }
        // only before connect: shrinking the receive buffer below a window already advertised makes
        // Linux drop segments in flight, and the retransmission back-off stalls a transfer for seconds
        if (!x.socket.isConnected() && rnd.nextInt(10) == 0) {
            int b = 4096 + rnd.nextInt(16 * 1024);
            x.socket.setReceiveBufferSize(b);
            ctx.append(' ').append(x.name).append(".rcvbuf=").append(b);
        }
        if (rnd.nextInt(10) == 0) {
            x.socket.setSoLinger(true, 0); // close() resets the connection
            ctx.append(' ').append(x.name).append(".linger=0");
        }
    }

    /** Sometimes a timed read first, so the untimed operations that follow run on a non-blocking descriptor. */
    private static void configureConnected(Run run, Side x, SplittableRandom rnd, StringBuilder ctx) throws IOException {
        if (rnd.nextInt(10) == 0) {
            x.timeoutSet = true;
            x.socket.setSoTimeout(1);
            try {
                int r = x.in.read();
                throw new AssertionError(ctx + ": a read with nothing sent returned " + r);
            } catch (SocketTimeoutException expected) {
                run.count("set-up read", "timeout");
            }
            x.socket.setSoTimeout(0);
            ctx.append(' ').append(x.name).append(".nonBlocking");
        }
    }

    /** Reads and checks the peer's stream until EOF or an exception; timeouts are counted and retried. */
    static void readLoop(Run run, Side x, SplittableRandom rnd, String ctx) throws IOException {
        byte[] buf = BUFFER.get();
        long pos = 0;
        int max = run.cfg.maxDelayMicros;
        try {
            while (true) {
                if (rnd.nextInt(8) == 0) {
                    pause(rnd, max);
                }
                int n;
                int len = 1 + rnd.nextInt(rnd.nextBoolean() ? 64 : 256 * 1024);
                try {
                    if (rnd.nextInt(32) == 0) {
                        int a = x.in.available();
                        if (a < 0) {
                            throw new AssertionError(ctx + ": available() returned " + a);
                        }
                        run.count("available", "ok");
                    }
                    if (rnd.nextInt(16) == 0) {
                        int b = x.in.read();
                        n = b < 0 ? -1 : 1;
                        buf[0] = (byte) b;
                        len = 1;
                    } else {
                        n = x.in.read(buf, 0, len);
                    }
                } catch (IOException e) {
                    run.ended(ctx, "read", e, x.timeoutSet);
                    if (e instanceof SocketTimeoutException) {
                        continue;
                    }
                    return;
                }
                if (n < 0) {
                    run.count("read", "-1");
                    x.eof = true;
                    return;
                }
                if (n == 0 || n > len) {
                    throw new AssertionError(ctx + ": read of up to " + len + " bytes returned " + n);
                }
                int bad = Cells.check(x.peer.key, pos, buf, 0, n);
                if (bad >= 0) {
                    throw foreignByte(ctx, x.peer.key, pos + bad, buf[bad]);
                }
                pos += n;
                x.received = pos;
                run.verified.add(n);
                run.count("read", "data");
            }
        } finally {
            x.received = pos;
        }
    }

    /** Writes this side's stream up to its budget, in pieces from 1 byte to 600 KiB. */
    static void writeLoop(Run run, Side x, SplittableRandom rnd, String ctx) throws IOException {
        byte[] buf = BUFFER.get();
        long pos = 0;
        int max = run.cfg.maxDelayMicros;
        while (pos < x.budget) {
            if (rnd.nextInt(8) == 0) {
                pause(rnd, max);
            }
            int len = (int) Math.min(x.budget - pos, writeLength(rnd));
            int off = rnd.nextInt(8);
            Cells.fill(x.key, pos, buf, off, len);
            try {
                if (len == 1 && rnd.nextBoolean()) {
                    x.out.write(buf[off]);
                } else {
                    x.out.write(buf, off, len);
                }
            } catch (IOException e) {
                run.ended(ctx, "write", e, false);
                x.written = -pos - 1;
                return;
            }
            pos += len;
            run.count("write", len > CHUNK ? "ok (> 128 KiB)" : "ok");
        }
        x.written = pos;
        if (x.shutdownAfterWrites) {
            try {
                x.socket.shutdownOutput();
                run.count("shutdownOutput (writer)", "ok");
            } catch (IOException e) {
                run.ended(ctx, "shutdownOutput (writer)", e, false);
            }
        }
    }

    private static int writeLength(SplittableRandom rnd) {
        int r = rnd.nextInt(10);
        if (r < 4) {
            return 1 + rnd.nextInt(100);
        } else if (r < 8) {
            return 1 + rnd.nextInt(32 * 1024);
        }
        return CHUNK + 1 + rnd.nextInt(MAX_WRITE - CHUNK);
    }

}
