package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Paths;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The harness of {@link TortureTest} (and {@link TortureSoakTest}): the run of a test body with
 * its warm-up, descriptor baseline, churn and summary ({@link #torture}); tasks on a pool whose
 * hangs are reported with stacks and the kernel's view of the connection ({@link Run#awaitAll});
 * the accounting of how each operation ended ({@link Run#ended}); racers and the threads they
 * must wake ({@link Action}); and the random pauses that shake the timing.
 */
final class Torture {
    private Torture() {}

    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

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
    /** The library's internal chunk (SocketStreams.MAX_BUFFER_SIZE). */
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

        /** Makes the two connected ends each other's peer and takes their streams. */
        static void connect(Side a, Side b) throws IOException {
            a.peer = b;
            b.peer = a;
            a.in = a.socket.getInputStream();
            a.out = a.socket.getOutputStream();
            b.in = b.socket.getInputStream();
            b.out = b.socket.getOutputStream();
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

        /** The labels of the actions, for messages: "close(c), setSoTimeout(s, 5)". */
        static String labels(List<Action> actions) {
            StringBuilder labels = new StringBuilder();
            for (Action a : actions) {
                labels.append(labels.length() == 0 ? "" : ", ").append(a.label);
            }
            return labels.toString();
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

    /** Starts a racer for each action, in order, each with its own split of {@code rnd}. */
    static List<Task> startRacers(Run run, String ctx, List<Action> actions, SplittableRandom rnd) {
        List<Task> racerTasks = new ArrayList<>();
        for (Action a : actions) {
            racerTasks.add(startRacer(run, ctx, a, rnd.split()));
        }
        return racerTasks;
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
        TortureChurn churn;

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
                try (TortureChurn warm = new TortureChurn(run)) {
                    SplittableRandom r = new SplittableRandom(seed);
                    for (int i = 0; i < 3; i++) {
                        warm.cycleSockets(r);
                        warm.cycleFiles(r);
                    }
                }
                DescriptorBaseline baseline = DescriptorBaseline.now();
                run.churn = new TortureChurn(run);
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
                boolean libBack = baseline.libraryBack();
                boolean procBack = baseline.processBack();
                descriptors = "descriptors: " + baseline.change();
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
                TortureChurn ch = run.churn;
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
        try {
            TestSupport.appendToReport("torture.txt", line);
        } catch (IOException e) {
            System.out.println("could not append to torture.txt in " + System.getProperty("rustsocket.reportDir")
                    + ": " + e);
        }
    }
}
