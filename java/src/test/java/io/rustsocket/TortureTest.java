package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.rustsocket.TestSupport.FullBacklog;
import io.rustsocket.internal.Descriptors;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Proof under load: close(), shutdownInput(), shutdownOutput() and setSoTimeout() raced against
 * threads blocked in, or just entering, read, write, accept and connect, thousands of times with
 * random timing, while other threads keep opening and closing sockets, files and pipes.
 *
 * <p>What is checked, on every iteration:
 * <ul>
 *   <li>every operation ends with a result or a {@link SocketException} (a
 *       {@link SocketTimeoutException} only where a timeout was set), never with another
 *       exception, never with a message that says the descriptor was gone or was not a socket;</li>
 *   <li>nothing hangs: every wait is bounded, and a thread that does not return within
 *       {@link #WAKE_MILLIS} of the close or shutdown that must wake it fails the test with a
 *       dump of its stack, instead of hanging the suite;</li>
 *   <li>every byte that arrives on any connection is the byte its own peer sent at that position:
 *       streams are made of 16-byte cells derived from a per-connection random key and the cell
 *       index ({@link Cells}), so a byte read through a reused descriptor number (a stale
 *       descriptor now naming another socket) is caught at once;</li>
 *   <li>with many writers and many readers on one connection, every write call's bytes (many of
 *       them larger than the 128 KiB chunks the library splits writes into) arrive contiguous and
 *       in order, and the reads of many threads tile the peer's stream with no byte lost or
 *       delivered twice;</li>
 *   <li>close() of a socket with unread data resets the connection, even when it races a reader
 *       entering read() on a full receive window: the peer's blocked writer fails at once, as with
 *       the JDK's sockets (which that test runs first, as the control);</li>
 *   <li>afterwards, {@link Descriptors#openCount()} and the process's descriptor count are back to
 *       their baseline.</li>
 * </ul>
 *
 * <p>A hang report names the stuck threads and their stacks, the iteration's set-up and racers,
 * and the kernel's view of the connection (state, queues, timer, whether a descriptor is left).
 *
 * <p>The short versions here run in the normal suite; {@link TortureSoakTest} runs the same bodies
 * for minutes under {@code gradle soak}. Each prints a one-line summary and appends it to
 * {@code torture.txt} in {@code -Drustsocket.reportDir}. {@code -Drustsocket.tortureSeed=N} repeats
 * a run's random decisions (the timing is the machine's).
 *
 * <p>Unconnected sockets always have their SocketImpl created before connect is raced:
 * {@code java.net.Socket} creates it lazily, outside its close lock, so a close() that comes
 * before that leaves the later connect running on a fresh, open descriptor (java.net.Socket does
 * the same with the JDK's own SocketImpl); that race is java.net.Socket's, not the library's.
 */
class TortureTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /** A thread must return this long after the close or shutdown that must wake it, or it is a hang. */
    static final long WAKE_MILLIS = 10_000;
    /** Bound of set-up steps (connect, accept) that complete at once on loopback. */
    static final int SETUP_MILLIS = 10_000;
    /** A receiver waits this long for bytes or EOF from a peer that is about to close. */
    static final int RECEIVE_MILLIS = 10_000;
    /** The peer of a socket closed with unread data must see the reset this soon (the JDK's sees it at once). */
    static final long PEER_RESET_MILLIS = 3_000;
    /** Largest single write call. */
    static final int MAX_WRITE = 600 * 1024;
    /** The library's internal chunk (RustSocketImpl.MAX_BUFFER_SIZE). */
    static final int CHUNK = 128 * 1024;

    /** Messages of errno values that mean a descriptor was used after close, or was reused. */
    private static final String[] FORBIDDEN_MESSAGES = {
        "Bad file descriptor", "Socket operation on non-socket", "Not a socket", "Unknown error",
    };

    /** Sizes of a run. */
    static final class Config {
        final String label;
        final int connectedIterations;
        final int acceptConnectIterations;
        final int streamRounds;
        final int streamRoundMiB;
        final int fullWindowIterations;
        final int fullWindowControlIterations;
        final int maxDelayMicros;
        final Duration limit;

        Config(String label, int connectedIterations, int acceptConnectIterations, int streamRounds,
                int streamRoundMiB, int fullWindowIterations, int fullWindowControlIterations, int maxDelayMicros,
                Duration limit) {
            this.label = label;
            this.connectedIterations = connectedIterations;
            this.acceptConnectIterations = acceptConnectIterations;
            this.streamRounds = streamRounds;
            this.streamRoundMiB = streamRoundMiB;
            this.fullWindowIterations = fullWindowIterations;
            this.fullWindowControlIterations = fullWindowControlIterations;
            this.maxDelayMicros = maxDelayMicros;
            this.limit = limit;
        }
    }

    /** The normal suite: a few seconds per test. */
    static final Config SHORT = new Config("short", 1_500, 1_500, 16, 32, 200, 60, 2_000, Duration.ofSeconds(90));
    /** gradle soak: minutes. */
    static final Config SOAK = new Config("soak", 40_000, 40_000, 300, 32, 10_000, 1_000, 5_000, Duration.ofMinutes(40));

    // ================================================================== the tests

    @Test
    void closeAndShutdownRaceReadsAndWrites() {
        runConnectedRaces(SHORT, "closeAndShutdownRaceReadsAndWrites");
    }

    @Test
    void closeRacesAcceptAndConnect() {
        runAcceptConnectRaces(SHORT, "closeRacesAcceptAndConnect");
    }

    @Test
    void manyWritersAndReadersUnderRaces() {
        runStreams(SHORT, "manyWritersAndReadersUnderRaces");
    }

    @Test
    void closeRacingAReaderOnAFullReceiveWindowResetsThePeer() {
        runFullWindowCloseRaces(SHORT, "closeRacingAReaderOnAFullReceiveWindowResetsThePeer");
    }

    // ================================================================== bodies (shared with the soak)

    /**
     * Connected pairs (both ends RustSocket). Each iteration starts, at random, a reader and a
     * writer on each end (a side without a peer reader soon blocks in write, one without a peer
     * writer blocks in read), an option prober, and one to three racers that, after a random delay,
     * close, shut down or change the timeout of either end. Whatever a racer did must wake the
     * threads it concerns; then both ends are closed and every thread must return.
     */
    static void runConnectedRaces(Config cfg, String name) {
        torture(name, cfg, run -> {
            try (ServerSocket listener = new RustServerSocket(0, 50, LOOPBACK)) {
                listener.setSoTimeout(SETUP_MILLIS);
                SplittableRandom rnd = new SplittableRandom(run.seed);
                for (int i = 0; i < cfg.connectedIterations; i++) {
                    connectedIteration(run, listener, i, rnd.split());
                    run.check();
                }
            }
            return cfg.connectedIterations + " iterations";
        });
    }

    /**
     * Accept raced by close() and setSoTimeout() of the listener, with one to three acceptors and
     * up to three connectors; and connect (to a full backlog, to a live listener, to a closed port,
     * timed and untimed) raced by close(), setSoTimeout() and shutdowns of the connecting socket.
     */
    static void runAcceptConnectRaces(Config cfg, String name) {
        torture(name, cfg, run -> {
            int accepts = 0;
            int connects = 0;
            try (FullBacklog full = new FullBacklog(); LiveTarget live = new LiveTarget(run)) {
                SplittableRandom rnd = new SplittableRandom(run.seed);
                for (int i = 0; i < cfg.acceptConnectIterations; i++) {
                    if (rnd.nextBoolean()) {
                        acceptIteration(run, i, rnd.split());
                        accepts++;
                    } else {
                        connectIteration(run, i, rnd.split(), full.address, live);
                        connects++;
                    }
                    run.check();
                }
            }
            return cfg.acceptConnectIterations + " iterations (" + accepts + " accept, " + connects + " connect)";
        });
    }

    /**
     * One connection A-B per round. On A, 4 to 8 threads write records (one write call each, a fifth
     * of them 128 KiB to 600 KiB) that B's reader checks are contiguous and in order; on B one thread
     * writes a self-locating stream that 3 to 6 threads read concurrently from A, and the pieces
     * they got must tile the stream. Meanwhile timeouts of both ends change every few milliseconds
     * (switching descriptors to non-blocking under writers in flight), a prober calls available()
     * and options, and in half the rounds a racer closes or shuts down an end mid-flight.
     */
    static void runStreams(Config cfg, String name) {
        torture(name, cfg, run -> {
            SplittableRandom rnd = new SplittableRandom(run.seed);
            for (int round = 0; round < cfg.streamRounds; round++) {
                streamRound(run, round, rnd.split());
                run.check();
            }
            return cfg.streamRounds + " rounds (" + run.counter("rounds graceful") + " graceful, "
                    + run.counter("rounds abrupt") + " abrupt), " + run.counter("records") + " records ("
                    + run.counter("records > 128 KiB") + " larger than 128 KiB) from "
                    + run.counter("writers") + " writers, " + run.counter("pieces") + " pieces read by "
                    + run.counter("readers") + " readers (" + run.counter("pieces placed by content")
                    + " short pieces placed by content), " + run.counter("stream A->B ended inside a record")
                    + " streams cut inside a record";
        });
    }

    /**
     * close() raced against a reader entering read() on a socket whose receive buffer is full (the
     * peer's writer is blocked on a zero window). Closing with unread data resets the connection, so
     * the peer's blocked write must fail at once, as it does with the JDK's sockets (run first, as the
     * control). The failure this guards against (first seen in the stream test): if the read in
     * flight empties the receive queue after close() has shut the input down to wake it, Linux sends
     * no window update (the input is shut down), the final close(2) finds nothing unread and sends
     * FIN instead of RST, and the closed end lingers as an orphan in FIN_WAIT2 whose window stays
     * zero: the peer's writer blocks for a minute or two (tcp_fin_timeout, then the probe back-off).
     */
    static void runFullWindowCloseRaces(Config cfg, String name) {
        torture(name, cfg, run -> {
            SplittableRandom rnd = new SplittableRandom(run.seed);
            for (int i = 0; i < cfg.fullWindowControlIterations; i++) {
                fullWindowIteration(run, Engine.JDK, i, rnd.split());
                run.check();
            }
            for (int i = 0; i < cfg.fullWindowIterations; i++) {
                fullWindowIteration(run, Engine.RUST, i, rnd.split());
                run.check();
            }
            return cfg.fullWindowIterations + " iterations with RustSocket, " + cfg.fullWindowControlIterations
                    + " with JDK sockets (the control)";
        });
    }

    static void fullWindowIteration(Run run, Engine engine, int iter, SplittableRandom rnd) throws Exception {
        ServerSocket l = engine.listen();
        Socket a = engine.socket();
        Socket b = null;
        List<Task> all = new ArrayList<>();
        String ctx = engine + " full-window iteration " + iter;
        try {
            a.setReceiveBufferSize(16 * 1024); // before connect: the window is small from the start
            a.connect(new InetSocketAddress(LOOPBACK, l.getLocalPort()), SETUP_MILLIS);
            l.setSoTimeout(SETUP_MILLIS);
            b = l.accept();
            b.setSendBufferSize(16 * 1024);
            run.watchPorts = new int[] {a.getLocalPort(), b.getLocalPort()};
            ctx += " (A on port " + a.getLocalPort() + ")";
            String c = ctx;
            long key = rnd.nextLong();
            OutputStream out = b.getOutputStream();
            Task writer = run.start(ctx + ": B-writer (the peer)", () -> {
                byte[] buf = BUFFER.get();
                long pos = 0;
                while (true) {
                    Cells.fill(key, pos, buf, 0, 64 * 1024);
                    try {
                        out.write(buf, 0, 64 * 1024);
                    } catch (IOException e) {
                        run.ended(c, "write (peer of the closed end)", e, false);
                        return;
                    }
                    pos += 64 * 1024;
                }
            });
            all.add(writer);
            InputStream in = a.getInputStream();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETUP_MILLIS);
            while (in.available() < 8 * 1024 && System.nanoTime() < deadline) {
                LockSupport.parkNanos(100_000);
            }
            LockSupport.parkNanos(1_000_000 + rnd.nextInt(2_000_000)); // full: the peer sees a zero window
            AtomicBoolean entering = new AtomicBoolean();
            Task reader = run.start(ctx + ": A-reader", () -> {
                byte[] buf = new byte[256 * 1024];
                long pos = 0;
                entering.set(true);
                while (true) {
                    int n;
                    try {
                        n = in.read(buf);
                    } catch (IOException e) {
                        run.ended(c, "read (full window)", e, false);
                        return;
                    }
                    if (n < 0) {
                        run.count("read (full window)", "-1");
                        return;
                    }
                    int bad = Cells.check(key, pos, buf, 0, n);
                    if (bad >= 0) {
                        throw foreignByte(c + ": A-reader", key, pos + bad, buf[bad]);
                    }
                    pos += n;
                    run.verified.add(n);
                    run.count("read (full window)", "data");
                }
            });
            all.add(reader);
            // spin (not park) so that close() follows the reader into read() within microseconds
            while (!entering.get()) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(ctx + ": the reader did not start");
                }
                Thread.onSpinWait();
            }
            long end = System.nanoTime() + rnd.nextInt(10_000); // 0..10 µs into the read
            while (System.nanoTime() < end) {
                Thread.onSpinWait();
            }
            a.close();
            run.count("close (full window, read entering)", "ok");
            long t0 = System.nanoTime();
            run.awaitAll(List.of(writer), PEER_RESET_MILLIS, ctx + ": A, whose receive buffer was full (the peer"
                    + " blocked on a zero window), was closed while a read was entering; closing with unread data"
                    + " resets the connection, so the peer's blocked write must fail at once (the JDK's does)");
            run.wakeNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
            run.awaitAll(List.of(reader), WAKE_MILLIS, ctx + ": the reader of the closed socket must return");
            run.count("iterations", engine + " full window");
        } finally {
            closeQuietly(a);
            if (b != null) {
                closeQuietly(b);
            }
            closeQuietly(l);
        }
        run.awaitAll(all, WAKE_MILLIS, ctx + ": after both ends were closed");
    }

    // ================================================================== connected pairs

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
            c.peer = s;
            s.peer = c;
            c.in = c.socket.getInputStream();
            c.out = c.socket.getOutputStream();
            s.in = s.socket.getInputStream();
            s.out = s.socket.getOutputStream();
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
                    addIfPresent(a.mustEnd, x.reader);
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
            StringBuilder labels = new StringBuilder();
            for (Action a : actions) {
                labels.append(labels.length() == 0 ? "" : ", ").append(a.label);
            }
            String ctx = ctx0 + "; racers: " + labels;
            List<Task> racerTasks = new ArrayList<>();
            for (Action a : actions) {
                racerTasks.add(startRacer(run, ctx, a, rnd.split()));
            }
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
    private static void configureUnconnected(Side x, SplittableRandom rnd, StringBuilder ctx) throws IOException {
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

    /** Calls available() and option getters/setters until the socket is closed. */
    static void probeLoop(Run run, Side x, SplittableRandom rnd, String ctx) throws IOException {
        for (int i = 0; i < 1_000_000; i++) {
            if (rnd.nextInt(4) != 0) {
                pause(rnd, 200);
            }
            String op = "probe";
            try {
                switch (rnd.nextInt(6)) {
                    case 0:
                        op = "available()";
                        if (x.in.available() < 0) {
                            throw new AssertionError(ctx + ": available() < 0");
                        }
                        break;
                    case 1:
                        op = "getReceiveBufferSize()";
                        if (x.socket.getReceiveBufferSize() <= 0) {
                            throw new AssertionError(ctx + ": getReceiveBufferSize() <= 0");
                        }
                        break;
                    case 2:
                        op = "setTcpNoDelay()";
                        x.socket.setTcpNoDelay(rnd.nextBoolean());
                        break;
                    case 3:
                        op = "getSoLinger()";
                        x.socket.getSoLinger();
                        break;
                    case 4:
                        op = "getKeepAlive()";
                        x.socket.getKeepAlive();
                        break;
                    default:
                        op = "getTrafficClass()";
                        x.socket.getTrafficClass();
                        break;
                }
                run.count("probe", "ok");
            } catch (IOException e) {
                run.ended(ctx, "probe", e, false);
                return;
            }
        }
    }

    // ================================================================== accept and connect

    static void acceptIteration(Run run, int iter, SplittableRandom rnd) throws Exception {
        int max = run.cfg.maxDelayMicros;
        int backlog = 4 + rnd.nextInt(47);
        ServerSocket l = new RustServerSocket(0, backlog, LOOPBACK);
        List<Task> all = new ArrayList<>();
        try {
            AtomicBoolean timeoutSet = new AtomicBoolean();
            StringBuilder ctxb = new StringBuilder("accept iteration ").append(iter).append(": backlog ").append(backlog);
            if (rnd.nextInt(4) == 0) {
                int t = 1 + rnd.nextInt(20);
                timeoutSet.set(true);
                l.setSoTimeout(t);
                ctxb.append(", soTimeout ").append(t);
            }
            int acceptors = 1 + rnd.nextInt(3);
            int connectors = rnd.nextInt(4);
            ctxb.append(", ").append(acceptors).append(" acceptors, ").append(connectors).append(" connectors");
            Set<Long> keys = ConcurrentHashMap.newKeySet();
            Map<Long, Integer> connectorPorts = new ConcurrentHashMap<>();
            Map<Long, Integer> acceptedPorts = new ConcurrentHashMap<>();
            long[] connectorKeys = new long[connectors];
            for (int k = 0; k < connectors; k++) {
                connectorKeys[k] = rnd.nextLong();
                keys.add(connectorKeys[k]);
            }
            List<Action> actions = new ArrayList<>();
            int racers = 1 + rnd.nextInt(2);
            for (int k = 0; k < racers; k++) {
                if (rnd.nextInt(10) < 7) {
                    actions.add(new Action("close (listener)", "close(listener)", l::close));
                } else {
                    int v = pick(rnd, 0, 1, 3, 30);
                    actions.add(new Action("setSoTimeout (listener)", "setSoTimeout(listener, " + v + ")", () -> {
                        if (v > 0) {
                            timeoutSet.set(true);
                        }
                        l.setSoTimeout(v);
                    }));
                }
            }
            StringBuilder labels = new StringBuilder();
            for (Action a : actions) {
                labels.append(labels.length() == 0 ? "" : ", ").append(a.label);
            }
            String ctx = ctxb + "; racers: " + labels;
            List<Task> acceptorTasks = new ArrayList<>();
            List<Task> connectorTasks = new ArrayList<>();
            InetSocketAddress address = new InetSocketAddress(LOOPBACK, l.getLocalPort());
            for (int k = 0; k < acceptors; k++) {
                SplittableRandom r = rnd.split();
                String role = ctx + ": acceptor " + k;
                acceptorTasks.add(run.start(role, () -> acceptLoop(run, l, timeoutSet, keys, acceptedPorts, r, role)));
            }
            for (int k = 0; k < connectors; k++) {
                SplittableRandom r = rnd.split();
                long key = connectorKeys[k];
                String role = ctx + ": connector " + k;
                connectorTasks.add(run.start(role, () -> connectAndSend(run, address, key, connectorPorts, r, role)));
            }
            for (Action a : actions) {
                if (a.op.startsWith("close")) {
                    a.mustEnd.addAll(acceptorTasks);
                }
            }
            List<Task> racerTasks = new ArrayList<>();
            for (Action a : actions) {
                racerTasks.add(startRacer(run, ctx, a, rnd.split()));
            }
            all.addAll(acceptorTasks);
            all.addAll(connectorTasks);
            all.addAll(racerTasks);
            run.awaitAll(racerTasks, WAKE_MILLIS, ctx + ": the racers themselves");
            awaitWoken(run, actions, ctx);
            run.awaitAll(connectorTasks, WAKE_MILLIS, ctx + ": connectors (connect, send a little, close)");
            pause(rnd, max);
            l.close();
            run.awaitAll(all, WAKE_MILLIS, ctx + ": after the listener was closed");
            checkPorts(ctx, connectorPorts, acceptedPorts);
            run.count("iterations", "accept");
        } finally {
            closeQuietly(l);
        }
    }

    /** Accepts until the listener is closed; checks what each accepted connection carries. */
    static void acceptLoop(Run run, ServerSocket l, AtomicBoolean timeoutSet, Set<Long> keys,
            Map<Long, Integer> acceptedPorts, SplittableRandom rnd, String ctx) throws IOException {
        while (true) {
            if (rnd.nextInt(4) == 0) {
                pause(rnd, run.cfg.maxDelayMicros);
            }
            Socket a;
            try {
                a = l.accept();
            } catch (IOException e) {
                run.ended(ctx, "accept", e, timeoutSet.get());
                if (e instanceof SocketTimeoutException) {
                    continue;
                }
                return;
            }
            run.count("accept", "connection");
            try (Socket s = a) {
                receive(run, s, keys, acceptedPorts, ctx);
            }
        }
    }

    /** Connects to a live listener and sends its key, then cells of its stream, then closes. */
    static void connectAndSend(Run run, InetSocketAddress address, long key, Map<Long, Integer> ports,
            SplittableRandom rnd, String ctx) throws IOException {
        Socket x = new RustSocket();
        try {
            x.setTcpNoDelay(true); // creates the impl
            pause(rnd, run.cfg.maxDelayMicros);
            int timeout = rnd.nextBoolean() ? 0 : SETUP_MILLIS;
            try {
                x.connect(address, timeout);
            } catch (IOException e) {
                run.ended(ctx, "connect", e, timeout > 0);
                return;
            }
            run.count("connect", "connected");
            ports.put(key, x.getLocalPort());
            send(run, x, key, rnd, ctx);
        } finally {
            x.close();
        }
    }

    private static void send(Run run, Socket x, long key, SplittableRandom rnd, String ctx) {
        int n = rnd.nextInt(4096);
        byte[] b = new byte[8 + n];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (key >>> (8 * i));
        }
        Cells.fill(key, 0, b, 8, n);
        try {
            x.getOutputStream().write(b);
            run.count("write (after connect)", "ok");
        } catch (IOException e) {
            run.ended(ctx, "write (after connect)", e, false);
        }
    }

    /** Reads a connector's key and stream until EOF: the key must be one of ours, each byte the one sent. */
    static void receive(Run run, Socket s, Set<Long> keys, Map<Long, Integer> acceptedPorts, String ctx) throws IOException {
        s.setSoTimeout(RECEIVE_MILLIS);
        InputStream in = s.getInputStream();
        byte[] buf = new byte[8192];
        int have = 0;
        try {
            while (have < 8) {
                int n = in.read(buf, have, 8 - have);
                if (n < 0) {
                    run.count("receive", have == 0 ? "EOF before any byte" : "EOF inside the key");
                    return;
                }
                have += n;
            }
            long key = Cells.le(buf, 0);
            if (!keys.contains(key)) {
                throw new AssertionError(ctx + ": an accepted connection from port " + s.getPort() + " carries key "
                        + Long.toHexString(key) + ", which no connector of ours sent (foreign bytes)");
            }
            Integer earlier = acceptedPorts.putIfAbsent(key, s.getPort());
            if (earlier != null) {
                throw new AssertionError(ctx + ": the connection with key " + Long.toHexString(key)
                        + " was accepted twice (ports " + earlier + " and " + s.getPort() + ")");
            }
            long pos = 0;
            while (true) {
                int n = in.read(buf);
                if (n < 0) {
                    run.count("receive", "complete");
                    return;
                }
                int bad = Cells.check(key, pos, buf, 0, n);
                if (bad >= 0) {
                    throw foreignByte(ctx + ": accepted connection", key, pos + bad, buf[bad]);
                }
                pos += n;
                run.verified.add(n);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError(ctx + ": an accepted connection got neither bytes nor EOF for "
                    + RECEIVE_MILLIS + " ms although its peer closes at once", e);
        } catch (SocketException e) {
            run.ended(ctx, "receive", e, false);
        }
    }

    private static void checkPorts(String ctx, Map<Long, Integer> connectorPorts, Map<Long, Integer> acceptedPorts) {
        for (Map.Entry<Long, Integer> e : acceptedPorts.entrySet()) {
            Integer port = connectorPorts.get(e.getKey());
            if (port != null && !port.equals(e.getValue())) {
                throw new AssertionError(ctx + ": the connector on port " + port + " sent key "
                        + Long.toHexString(e.getKey()) + " but it arrived on a connection from port " + e.getValue());
            }
        }
    }

    static void connectIteration(Run run, int iter, SplittableRandom rnd, InetSocketAddress fullBacklog,
            LiveTarget live) throws Exception {
        int max = run.cfg.maxDelayMicros;
        int t = rnd.nextInt(10);
        String target = t < 4 ? "full backlog" : t < 8 ? "live listener" : "closed port";
        InetSocketAddress address = t < 4 ? fullBacklog : t < 8 ? live.address
                : new InetSocketAddress(LOOPBACK, TestSupport.closedPort());
        Side x = new Side("x", new RustSocket(), rnd.nextLong());
        List<Task> all = new ArrayList<>();
        try {
            StringBuilder ctxb = new StringBuilder("connect iteration ").append(iter).append(" to a ").append(target);
            configureUnconnected(x, rnd, ctxb);
            int timeout = 0;
            if (rnd.nextInt(3) == 0) {
                timeout = t < 4 ? 1 + rnd.nextInt(100) : SETUP_MILLIS;
            }
            ctxb.append(", connect timeout ").append(timeout);
            boolean isLive = t >= 4 && t < 8;
            if (isLive) {
                live.keys.add(x.key);
            }
            List<Action> actions = new ArrayList<>();
            int racers = 1 + rnd.nextInt(2);
            for (int k = 0; k < racers; k++) {
                int kind = rnd.nextInt(10);
                if (kind < 6) {
                    actions.add(new Action("close (connecting)", "close(x)", x.socket::close));
                } else if (kind < 8) {
                    int v = pick(rnd, 0, 1, 50);
                    actions.add(new Action("setSoTimeout (connecting)", "setSoTimeout(x, " + v + ")", () -> {
                        if (v > 0) {
                            x.timeoutSet = true;
                        }
                        x.socket.setSoTimeout(v);
                    }));
                } else if (kind < 9) {
                    actions.add(new Action("shutdownOutput (connecting)", "shutdownOutput(x)", x.socket::shutdownOutput));
                } else {
                    actions.add(new Action("shutdownInput (connecting)", "shutdownInput(x)", x.socket::shutdownInput));
                }
            }
            StringBuilder labels = new StringBuilder();
            for (Action a : actions) {
                labels.append(labels.length() == 0 ? "" : ", ").append(a.label);
            }
            String ctx = ctxb + "; racers: " + labels;
            int connectTimeout = timeout;
            SplittableRandom cr = rnd.split();
            Task connector = run.start(ctx + ": connector", () -> {
                pause(cr, max);
                try {
                    x.socket.connect(address, connectTimeout);
                } catch (IOException e) {
                    run.ended(ctx, "connect", e, connectTimeout > 0);
                    return;
                }
                run.count("connect", "connected");
                if (isLive) {
                    live.connectorPorts.put(x.key, x.socket.getLocalPort());
                    send(run, x.socket, x.key, cr, ctx);
                }
            });
            all.add(connector);
            for (Action a : actions) {
                if (a.op.startsWith("close")) {
                    a.mustEnd.add(connector);
                }
            }
            List<Task> racerTasks = new ArrayList<>();
            for (Action a : actions) {
                racerTasks.add(startRacer(run, ctx, a, rnd.split()));
            }
            all.addAll(racerTasks);
            run.awaitAll(racerTasks, WAKE_MILLIS, ctx + ": the racers themselves");
            awaitWoken(run, actions, ctx);
            pause(rnd, max);
            x.socket.close();
            run.awaitAll(all, WAKE_MILLIS, ctx + ": after the connecting socket was closed");
            run.count("iterations", "connect to a " + target);
        } finally {
            closeQuietly(x.socket);
        }
    }

    /** A loopback listener that accepts everything and checks what arrives, for the whole test. */
    static final class LiveTarget implements AutoCloseable {
        final Run run;
        final ServerSocket listener;
        final InetSocketAddress address;
        final Set<Long> keys = ConcurrentHashMap.newKeySet();
        final Map<Long, Integer> connectorPorts = new ConcurrentHashMap<>();
        final Map<Long, Integer> acceptedPorts = new ConcurrentHashMap<>();
        final Queue<Task> receivers = new ConcurrentLinkedQueue<>();
        final Task acceptor;
        volatile boolean closing;

        LiveTarget(Run run) throws IOException {
            this.run = run;
            listener = new RustServerSocket(0, 200, LOOPBACK);
            address = new InetSocketAddress(LOOPBACK, listener.getLocalPort());
            acceptor = run.start("live target: acceptor", () -> {
                while (true) {
                    Socket a;
                    try {
                        a = listener.accept();
                    } catch (IOException e) {
                        if (closing && e.getClass() == SocketException.class) {
                            return;
                        }
                        throw new AssertionError("live target: accept failed: " + e, e);
                    }
                    receivers.add(run.start("live target: receiver", () -> {
                        try (Socket s = a) {
                            receive(run, s, keys, acceptedPorts, "live target");
                        }
                    }));
                    // finished receivers need not be kept
                    receivers.removeIf(Task::isDone);
                }
            });
        }

        @Override
        public void close() throws IOException {
            closing = true;
            listener.close();
            run.awaitAll(List.of(acceptor), WAKE_MILLIS, "closing the live target listener");
            run.awaitAll(new ArrayList<>(receivers), WAKE_MILLIS, "the live target's receivers, once every connector closed");
            checkPorts("live target", connectorPorts, acceptedPorts);
        }
    }

    // ================================================================== many writers, many readers

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
            a.peer = b;
            b.peer = a;
            a.in = a.socket.getInputStream();
            a.out = a.socket.getOutputStream();
            b.in = b.socket.getInputStream();
            b.out = b.socket.getOutputStream();

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

    // ================================================================== shared pieces

    /** One end of a connection in an iteration, and what its threads did. */
    static final class Side {
        final String name;
        final Socket socket;
        /** Key of the stream this end sends. */
        final long key;
        Side peer;
        InputStream in;
        OutputStream out;
        volatile boolean timeoutSet;
        long budget;
        boolean shutdownAfterWrites;
        boolean probes;
        volatile Task reader;
        volatile Task writer;
        volatile Task prober;
        volatile long written = -1;
        volatile long received;
        volatile boolean eof;

        Side(String name, Socket socket, long key) {
            this.name = name;
            this.socket = socket;
            this.key = key;
        }
    }

    /** Something that may throw an IOException. */
    interface IoAction {
        void run() throws IOException;
    }

    /** A racer's action, and the threads that must return once it succeeded. */
    static final class Action {
        final String op;
        final String label;
        final IoAction act;
        final List<Task> mustEnd = new ArrayList<>();
        volatile boolean succeeded;

        Action(String op, String label, IoAction act) {
            this.op = op;
            this.label = label;
            this.act = act;
        }
    }

    static Task startRacer(Run run, String ctx, Action a, SplittableRandom rnd) {
        return run.start(ctx + ": racer " + a.label, () -> {
            pause(rnd, run.cfg.maxDelayMicros);
            try {
                a.act.run();
                a.succeeded = true;
                run.count(a.op, "ok");
            } catch (IOException e) {
                run.ended(ctx, a.op, e, false);
            }
        });
    }

    /** Waits for the threads that the successful racers must have woken. */
    static void awaitWoken(Run run, List<Action> actions, String ctx) {
        Set<Task> must = new LinkedHashSet<>();
        StringBuilder why = new StringBuilder();
        for (Action a : actions) {
            if (a.succeeded && !a.mustEnd.isEmpty()) {
                must.addAll(a.mustEnd);
                why.append(why.length() == 0 ? "" : " and ").append(a.label);
            }
        }
        if (must.isEmpty()) {
            return;
        }
        long t0 = System.nanoTime();
        run.awaitAll(must, WAKE_MILLIS, ctx + ": after " + why + " these threads must return");
        run.wakeNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
        run.count("wake-ups checked", must.size());
    }

    /** Cells of 16 bytes: the cell index XOR the key, then a keyed hash of the index; little-endian. */
    static final class Cells {
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

    /** Per pool thread: the buffer writers fill (up to 600 KiB plus an offset). */
    static final ThreadLocal<byte[]> BUFFER = ThreadLocal.withInitial(() -> new byte[MAX_WRITE + 64]);

    /** Sleeps or spins a random 0..max microseconds (log-uniform); a quarter of the time not at all. */
    static void pause(SplittableRandom rnd, int maxMicros) {
        int mode = rnd.nextInt(8);
        if (mode < 2 || maxMicros <= 0) {
            return;
        }
        if (mode == 2) {
            Thread.yield();
            return;
        }
        long micros = (long) Math.exp(rnd.nextDouble() * Math.log(maxMicros + 1.0));
        long nanos = micros * 1000;
        if (micros <= 100 && mode < 6) {
            long end = System.nanoTime() + nanos;
            while (System.nanoTime() < end) {
                Thread.onSpinWait();
            }
        } else {
            LockSupport.parkNanos(nanos);
        }
    }

    static int pick(SplittableRandom rnd, int... values) {
        return values[rnd.nextInt(values.length)];
    }

    static <T> void shuffle(List<T> list, SplittableRandom rnd) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            T t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }

    static void addIfPresent(Collection<Task> to, Task... tasks) {
        for (Task t : tasks) {
            if (t != null) {
                to.add(t);
            }
        }
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignore) {
            // the test has failed already or will
        }
    }

    // ================================================================== runs, tasks, hangs

    /** A task body. */
    interface Body {
        void run() throws Exception;
    }

    /** What a test does inside a run; returns what it did, for the summary. */
    interface RunBody {
        String run(Run run) throws Exception;
    }

    /** A body running on a pool thread, with its role for messages and thread dumps. */
    static final class Task {
        final String role;
        final FutureTask<Void> future;
        volatile Thread thread;

        Task(Run run, String role, Body body) {
            this.role = role;
            this.future = new FutureTask<>(() -> {
                Thread t = Thread.currentThread();
                String old = t.getName();
                t.setName("torture: " + role);
                thread = t;
                try {
                    body.run();
                } catch (Throwable e) {
                    run.failures.add(e instanceof AssertionError ? e
                            : new AssertionError(role + ": unexpected " + e, e));
                } finally {
                    t.setName(old);
                }
                return null;
            });
        }

        boolean isDone() {
            return future.isDone();
        }
    }

    /** One test's run: its pool, failures, counters and churn. */
    static final class Run implements AutoCloseable {
        final String name;
        final Config cfg;
        final long seed;
        final ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "torture-pool");
            t.setDaemon(true);
            return t;
        });
        final Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        final Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
        final LongAdder verified = new LongAdder();
        final AtomicLong wakeNanos = new AtomicLong();
        /** The two ports of the connection under test now, for the kernel's view of it in hang reports. */
        volatile int[] watchPorts = new int[0];
        /** The slowest waits (for diagnosis and the summary), longest first. */
        final java.util.concurrent.ConcurrentSkipListMap<Long, String> slowest = new java.util.concurrent.ConcurrentSkipListMap<>(Comparator.reverseOrder());
        Churn churn;

        Run(String name, Config cfg, long seed) {
            this.name = name;
            this.cfg = cfg;
            this.seed = seed;
        }

        Task start(String role, Body body) {
            Task t = new Task(this, role, body);
            pool.execute(t.future);
            return t;
        }

        void count(String op, String outcome) {
            outcomes.computeIfAbsent(op + "\u0000" + outcome, k -> new LongAdder()).increment();
        }

        void count(String counter) {
            count(counter, 1);
        }

        void count(String counter, long n) {
            outcomes.computeIfAbsent("\u0001" + counter, k -> new LongAdder()).add(n);
        }

        long counter(String counter) {
            LongAdder a = outcomes.get("\u0001" + counter);
            return a == null ? 0 : a.sum();
        }

        /**
         * Accounts for an operation that threw: a SocketException is fine (counted by message) unless
         * its message says the descriptor was bad; a SocketTimeoutException only where a timeout was set.
         */
        void ended(String ctx, String op, IOException e, boolean timeoutAllowed) {
            if (e instanceof SocketTimeoutException) {
                if (!timeoutAllowed) {
                    throw new AssertionError(ctx + ": " + op + " threw " + e + " but no timeout was set", e);
                }
                count(op, "SocketTimeoutException");
                return;
            }
            if (e instanceof SocketException) {
                if (e.getClass().getName().startsWith("io.rustsocket.")) {
                    throw new AssertionError(ctx + ": " + op + " threw the library's internal " + e.getClass().getName(), e);
                }
                String m = String.valueOf(e.getMessage());
                for (String bad : FORBIDDEN_MESSAGES) {
                    if (m.contains(bad)) {
                        throw new AssertionError(ctx + ": " + op + " threw " + e
                                + ": the descriptor was closed, or reused, under the operation", e);
                    }
                }
                count(op, e.getClass().getSimpleName() + "(" + m + ")");
                return;
            }
            throw new AssertionError(ctx + ": " + op + " threw " + e + "; only a result or a SocketException is allowed", e);
        }

        /**
         * Waits for all tasks; any still running after {@code millis} is a hang, reported with stacks.
         * Fails at once, with the first failure, as soon as any thread has recorded one (threads
         * that depend on a failed one would otherwise be reported as hanging).
         */
        void awaitAll(Collection<Task> tasks, long millis, String what) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            List<Task> stuck = new ArrayList<>();
            for (Task t : tasks) {
                while (true) {
                    check();
                    long left = deadline - System.nanoTime();
                    try {
                        t.future.get(Math.max(0, Math.min(left, 50_000_000L)), TimeUnit.NANOSECONDS);
                        break;
                    } catch (TimeoutException e) {
                        if (left <= 50_000_000L) {
                            stuck.add(t);
                            break;
                        }
                    } catch (ExecutionException e) {
                        failures.add(e.getCause());
                        break;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new AssertionError(what + ": interrupted", e);
                    }
                }
            }
            check();
            long waited = System.nanoTime() - (deadline - TimeUnit.MILLISECONDS.toNanos(millis));
            if (waited > 100_000_000L) {
                slowest.put(waited, what);
                while (slowest.size() > 5) {
                    slowest.pollLastEntry();
                }
            }
            if (!stuck.isEmpty()) {
                StringBuilder sb = new StringBuilder("HANG in ").append(name).append(" (seed ").append(seed)
                        .append("): ").append(what).append(": ").append(stuck.size())
                        .append(" thread(s) still running after ").append(millis).append(" ms:");
                for (Task t : stuck) {
                    sb.append("\n  - ").append(t.role);
                }
                sb.append("\n\nStacks of the stuck threads:\n");
                for (Task t : stuck) {
                    Thread th = t.thread;
                    sb.append(th == null ? "  (task never started: the pool is starved)\n" : dump(th));
                }
                sb.append("\nThe kernel's view of the connection (/proc/net/tcp*):\n").append(kernelView(watchPorts));
                sb.append("\nOther threads of the run:\n");
                for (Thread th : Thread.getAllStackTraces().keySet()) {
                    if (th.getName().startsWith("torture") && stuck.stream().noneMatch(t -> t.thread == th)) {
                        StackTraceElement[] st = th.getStackTrace();
                        sb.append("  \"").append(th.getName()).append("\" ").append(th.getState())
                                .append(st.length > 0 ? " at " + st[0] : "").append('\n');
                    }
                }
                AssertionError e = new AssertionError(sb.toString());
                failures.add(e);
                throw e;
            }
        }

        /** Throws the first failure any thread recorded, with the others as suppressed. */
        void check() {
            Throwable first = failures.peek();
            if (first == null) {
                return;
            }
            AssertionError e = first instanceof AssertionError ? (AssertionError) first
                    : new AssertionError(first.toString(), first);
            addOthers(e);
            throw e;
        }

        /** Adds (once) up to five other recorded failures to {@code e} as suppressed. */
        void addOthers(Throwable e) {
            List<Throwable> already = Arrays.asList(e.getSuppressed());
            int i = already.size();
            for (Throwable t : failures) {
                if (t != e && !already.contains(t) && i++ < 5) {
                    e.addSuppressed(t);
                }
            }
        }

        String outcomes() {
            Map<String, Map<String, Long>> byOp = new TreeMap<>();
            for (Map.Entry<String, LongAdder> e : outcomes.entrySet()) {
                String k = e.getKey();
                if (k.startsWith("\u0001")) {
                    continue;
                }
                int z = k.indexOf('\u0000');
                byOp.computeIfAbsent(k.substring(0, z), x -> new TreeMap<>()).put(k.substring(z + 1), e.getValue().sum());
            }
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<String, Map<String, Long>> e : byOp.entrySet()) {
                sb.append(sb.length() == 0 ? "" : "; ").append(e.getKey()).append(':');
                for (Map.Entry<String, Long> o : e.getValue().entrySet()) {
                    sb.append(' ').append(o.getKey()).append('=').append(o.getValue());
                }
            }
            return sb.toString();
        }

        @Override
        public void close() {
            pool.shutdownNow();
        }
    }

    static String dump(Thread t) {
        StringBuilder sb = new StringBuilder("  \"").append(t.getName()).append("\" ").append(t.getState());
        ThreadInfo info = ManagementFactory.getThreadMXBean().getThreadInfo(t.getId());
        if (info != null && info.getLockName() != null) {
            sb.append(" waiting for ").append(info.getLockName());
            if (info.getLockOwnerName() != null) {
                sb.append(" held by \"").append(info.getLockOwnerName()).append('"');
            }
        }
        sb.append('\n');
        for (StackTraceElement e : t.getStackTrace()) {
            sb.append("        at ").append(e).append('\n');
        }
        return sb.toString();
    }

    private static final String[] TCP_STATES = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
        "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};
    private static final String[] TCP_TIMERS = {"none", "retransmit", "keepalive", "timewait", "zero-window probe"};

    /**
     * The TCP sockets between the two given ports, from /proc/net/tcp and tcp6 (Linux): state,
     * queues, timer, and inode (0: no descriptor left, an orphan or timewait socket).
     */
    static String kernelView(int... ports) {
        StringBuilder sb = new StringBuilder();
        for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            List<String> lines;
            try {
                lines = Files.readAllLines(Paths.get(table));
            } catch (IOException e) {
                continue;
            }
            for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 10) {
                    continue;
                }
                int local = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16);
                int remote = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
                if (ports.length != 2 || !(local == ports[0] && remote == ports[1] || local == ports[1] && remote == ports[0])) {
                    continue;
                }
                int st = Integer.parseInt(f[3], 16);
                String[] q = f[4].split(":");
                int timer = Integer.parseInt(f[5].substring(0, f[5].indexOf(':')), 16);
                sb.append("  port ").append(local).append(" -> ").append(remote).append(": ")
                        .append(st < TCP_STATES.length ? TCP_STATES[st] : "state " + st)
                        .append(", send queue ").append(Long.parseLong(q[0], 16))
                        .append(", receive queue ").append(Long.parseLong(q[1], 16))
                        .append(", timer ").append(timer < TCP_TIMERS.length ? TCP_TIMERS[timer] : "" + timer)
                        .append(", inode ").append(f[9]).append(f[9].equals("0") ? " (no descriptor left)" : "")
                        .append('\n');
            }
        }
        return sb.length() == 0 ? "  (no sockets of ports " + Arrays.toString(ports) + ")\n" : sb.toString();
    }

    static String dumpAll() {
        StringBuilder sb = new StringBuilder();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            sb.append(dump(t));
        }
        return sb.toString();
    }

    /**
     * Runs a test body: warm-up, descriptor baseline, churn threads, the body, then every descriptor
     * back to baseline; the whole bounded by {@code cfg.limit} with a thread dump if exceeded.
     */
    static void torture(String name, Config cfg, RunBody body) {
        String seedProperty = System.getProperty("rustsocket.tortureSeed");
        long seed = seedProperty != null ? Long.parseLong(seedProperty) : System.nanoTime();
        assertTimeoutPreemptively(cfg.limit, () -> {
            long start = System.nanoTime();
            Run run = new Run(name, cfg, seed);
            String status = "FAILED";
            String what = "";
            String descriptors = "";
            try {
                // warm up: whatever the JDK opens lazily on first use is open before the baseline
                try (Churn warm = new Churn(run)) {
                    SplittableRandom r = new SplittableRandom(seed);
                    for (int i = 0; i < 3; i++) {
                        warm.cycleSockets(r);
                        warm.cycleFiles(r);
                    }
                }
                int baseLib = Descriptors.openCount();
                int baseProc = TestSupport.processFdCount();
                run.churn = new Churn(run);
                run.churn.start();
                Throwable primary = null;
                try {
                    what = body.run(run);
                } catch (Throwable t) {
                    primary = t;
                    // what the worker threads recorded first usually explains the rest
                    run.addOthers(t);
                    throw t;
                } finally {
                    try {
                        run.churn.close();
                    } catch (Throwable t2) {
                        if (primary == null) {
                            throw t2;
                        }
                        if (t2 != primary) {
                            primary.addSuppressed(t2);
                        }
                    }
                }
                run.check();
                boolean libBack = TestSupport.eventually(() -> Descriptors.openCount() <= baseLib);
                boolean procBack = TestSupport.eventually(() -> TestSupport.processFdCount() <= baseProc);
                descriptors = "descriptors: library " + baseLib + " -> " + Descriptors.openCount() + ", process "
                        + baseProc + " -> " + TestSupport.processFdCount();
                if (!libBack || !procBack) {
                    throw new AssertionError(name + ": descriptors leaked: " + descriptors);
                }
                status = "PASSED";
            } catch (Throwable t) {
                String m = String.valueOf(t.getMessage());
                int nl = m.indexOf('\n');
                m = nl >= 0 ? m.substring(0, nl) : m;
                status = "FAILED (" + (m.length() > 300 ? m.substring(0, 300) + "..." : m) + ")";
                throw t;
            } finally {
                run.close();
                double secs = (System.nanoTime() - start) / 1e9;
                Churn ch = run.churn;
                String line = String.format("TortureTest.%s [%s, seed %d]: %s in %.1f s; %s; %.1f MiB verified; "
                        + "slowest wake-up %.1f ms; churn: %d socket and %d file/pipe cycles; %s; %s",
                        name, cfg.label, seed, status, secs, what, run.verified.sum() / 1048576.0,
                        run.wakeNanos.get() / 1e6, ch == null ? 0 : ch.socketCycles.sum(),
                        ch == null ? 0 : ch.fileCycles.sum(), descriptors, run.outcomes());
                report(line);
                for (Map.Entry<Long, String> e : run.slowest.entrySet()) {
                    System.out.println(String.format("  slow wait %.0f ms: %s", e.getKey() / 1e6, e.getValue()));
                }
            }
        }, () -> "the whole test " + name + " (seed " + seed + ") is still running after " + cfg.limit
                + " (a hang somewhere); all threads:\n" + dumpAll());
    }

    static void report(String line) {
        System.out.println(line);
        String dir = System.getProperty("rustsocket.reportDir");
        if (dir == null || dir.isEmpty()) {
            return;
        }
        try {
            Path d = Paths.get(dir);
            Files.createDirectories(d);
            Files.writeString(d.resolve("torture.txt"), line + System.lineSeparator(), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.out.println("could not append to " + dir + "/torture.txt: " + e);
        }
    }

    // ================================================================== churn

    /**
     * Threads that keep opening and closing other descriptors while the races run: connected pairs
     * (RustSocket and JDK, both directions checked), files and pipes. Linux hands out the lowest
     * free descriptor number, so a number the races release is soon one of these; if any operation
     * of the races used a number after releasing it, it would hit one of these and be caught here
     * (a foreign or missing byte, or a wrong error) or there.
     */
    static final class Churn implements AutoCloseable {
        final Run run;
        final Path dir;
        final ServerSocket rustListener;
        final ServerSocket jdkListener;
        final LongAdder socketCycles = new LongAdder();
        final LongAdder fileCycles = new LongAdder();
        final AtomicBoolean stop = new AtomicBoolean();
        final List<Task> tasks = new ArrayList<>();
        int fileNo;

        Churn(Run run) throws IOException {
            this.run = run;
            dir = Files.createTempDirectory("torture-churn");
            rustListener = new RustServerSocket(0, 50, LOOPBACK);
            jdkListener = new ServerSocket(0, 50, LOOPBACK);
            rustListener.setSoTimeout(SETUP_MILLIS);
            jdkListener.setSoTimeout(SETUP_MILLIS);
        }

        void start() {
            SplittableRandom r1 = new SplittableRandom(run.seed ^ 1);
            SplittableRandom r2 = new SplittableRandom(run.seed ^ 2);
            tasks.add(run.start("churn: sockets", () -> {
                while (!stop.get()) {
                    cycleSockets(r1);
                    LockSupport.parkNanos(250_000);
                }
            }));
            tasks.add(run.start("churn: files and pipes", () -> {
                while (!stop.get()) {
                    cycleFiles(r2);
                    LockSupport.parkNanos(250_000);
                }
            }));
        }

        void cycleSockets(SplittableRandom rnd) throws IOException {
            ServerSocket l = rnd.nextBoolean() ? rustListener : jdkListener;
            boolean rustClient = rnd.nextBoolean();
            String what = "churn: " + (rustClient ? "RustSocket" : "JDK socket") + " to a "
                    + (l == rustListener ? "RustServerSocket" : "JDK ServerSocket");
            try (Socket c = rustClient ? new RustSocket(LOOPBACK, l.getLocalPort()) : new Socket(LOOPBACK, l.getLocalPort());
                    Socket s = l.accept()) {
                if (s.getPort() != c.getLocalPort()) {
                    throw new AssertionError(what + ": accepted a foreign connection");
                }
                c.setSoTimeout(RECEIVE_MILLIS);
                s.setSoTimeout(RECEIVE_MILLIS);
                exchange(c, s, rnd, what + ", client to server");
                exchange(s, c, rnd, what + ", server to client");
                if (rnd.nextBoolean()) {
                    c.shutdownOutput();
                    if (s.getInputStream().read() != -1) {
                        throw new AssertionError(what + ": a byte after shutdownOutput");
                    }
                }
            } catch (IOException e) {
                throw new AssertionError(what + " failed: " + e
                        + " (no racing thread may touch this socket: was a descriptor closed or reused under it?)", e);
            }
            socketCycles.increment();
        }

        private static void exchange(Socket from, Socket to, SplittableRandom rnd, String what) throws IOException {
            long key = rnd.nextLong();
            int n = 1 + rnd.nextInt(4096);
            byte[] b = new byte[n];
            Cells.fill(key, 0, b, 0, n);
            from.getOutputStream().write(b);
            byte[] got = TestSupport.readExactly(to.getInputStream(), n);
            int bad = Cells.check(key, 0, got, 0, n);
            if (bad >= 0) {
                throw foreignByte(what, key, bad, got[bad]);
            }
        }

        void cycleFiles(SplittableRandom rnd) throws IOException {
            long key = rnd.nextLong();
            int n = 1 + rnd.nextInt(8192);
            byte[] b = new byte[n];
            Cells.fill(key, 0, b, 0, n);
            Path f = dir.resolve("f" + (fileNo++ % 4));
            try {
                try (FileOutputStream out = new FileOutputStream(f.toFile())) {
                    out.write(b);
                }
                byte[] got;
                try (FileInputStream in = new FileInputStream(f.toFile())) {
                    got = in.readAllBytes();
                }
                if (got.length != n || Cells.check(key, 0, got, 0, n) >= 0) {
                    throw new AssertionError("churn: a file read back " + got.length + " bytes, " + n
                            + " were written" + (got.length == n ? ", with other contents" : "")
                            + " (was its descriptor closed or written by someone else?)");
                }
                Pipe p = Pipe.open();
                try (Pipe.SinkChannel sink = p.sink(); Pipe.SourceChannel source = p.source()) {
                    int m = Math.min(n, 4096);
                    ByteBuffer w = ByteBuffer.wrap(b, 0, m);
                    while (w.hasRemaining()) {
                        sink.write(w);
                    }
                    ByteBuffer r = ByteBuffer.allocate(m);
                    while (r.hasRemaining()) {
                        if (source.read(r) < 0) {
                            throw new AssertionError("churn: EOF from a pipe");
                        }
                    }
                    if (Cells.check(key, 0, r.array(), 0, m) >= 0) {
                        throw new AssertionError("churn: a pipe returned other bytes than were written");
                    }
                }
            } catch (IOException e) {
                throw new AssertionError("churn: a file or pipe failed: " + e
                        + " (was its descriptor closed or reused by someone else?)", e);
            }
            fileCycles.increment();
        }

        @Override
        public void close() throws IOException {
            stop.set(true);
            try {
                run.awaitAll(tasks, WAKE_MILLIS, "stopping the churn threads");
            } finally {
                rustListener.close();
                jdkListener.close();
                try (java.util.stream.Stream<Path> files = Files.list(dir)) {
                    for (Path p : (Iterable<Path>) files::iterator) {
                        Files.deleteIfExists(p);
                    }
                }
                Files.deleteIfExists(dir);
            }
        }
    }
}
