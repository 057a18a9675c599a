package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.TestSupport.FullBacklog;
import io.rustsocket.TestSupport.Pair;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The checks, runnable in any JVM with virtual threads (this one, or a child's through
 * {@link VirtualThreadsChild}). Each throws on failure and closes what it opened.
 */
final class VirtualThreadChecks {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /** Every wait on a virtual thread is bounded by this; a starved or pinned carrier fails here. */
    static final long WAIT_MS = 10_000;

    /** The blocking operations a virtual thread can park in. */
    enum Op { READ, ACCEPT, CONNECT, WRITE }

    static final String STARVE_READ = "starve-read";
    static final String STARVE_ACCEPT = "starve-accept";
    static final String STARVE_CONNECT = "starve-connect";
    static final String STARVE_WRITE = "starve-write";
    static final String STARVE_READ_UNIX = "starve-read-unix";
    static final String TIMEOUT_READ = "timeout-read";
    static final String TIMEOUT_ACCEPT = "timeout-accept";
    static final String TIMEOUT_CONNECT = "timeout-connect";
    static final String PRE_INTERRUPTED_READ = "pre-interrupted-read";
    static final String ECHO_BYTES = "echo-bytes";
    static final String DESCRIPTORS = "descriptors";

    /** Checks that run under the carrier-starvation scheduler flags. */
    static final List<String> STARVED = TestSupport.UNIX_SOCKETS
            ? List.of(STARVE_READ, STARVE_ACCEPT, STARVE_CONNECT, STARVE_WRITE, STARVE_READ_UNIX)
            : List.of(STARVE_READ, STARVE_ACCEPT, STARVE_CONNECT, STARVE_WRITE);

    /** Checks that run with the default scheduler. */
    static final List<String> PLAIN;

    static {
        List<String> plain = new ArrayList<>();
        for (Op op : Op.values()) {
            plain.add("close-" + op);
        }
        plain.add(TIMEOUT_READ);
        plain.add(TIMEOUT_ACCEPT);
        plain.add(TIMEOUT_CONNECT);
        for (Op op : Op.values()) {
            plain.add("interrupt-" + op);
        }
        plain.add(PRE_INTERRUPTED_READ);
        plain.add(ECHO_BYTES);
        plain.addAll(ShortReadChecks.ALL);
        PLAIN = Collections.unmodifiableList(plain);
    }

    /** Virtual threads blocked in read during the starvation check. */
    static final int READERS = 1000;
    /** Virtual threads blocked in accept/connect/write during the starvation checks: more than the 2 carriers. */
    static final int BLOCKERS = 3;
    /** Clients of the echo check and the bytes each echoes. */
    static final int ECHO_CLIENTS = 200;
    static final int ECHO_BYTES_EACH = 256 * 1024;
    /** A write this large blocks against a peer that does not read (both buffers are shrunk). */
    static final int BIG_WRITE = 8 * 1024 * 1024;
    static final int SMALL_BUFFER = 64 * 1024;
    /** The timeout of the timed read, accept and connect: long enough to see the thread parked on a loaded machine. */
    static final int TIMEOUT_MS = 1500;

    private VirtualThreadChecks() {}

    static void info(String message) {
        System.out.println("VT-INFO " + message);
    }

    static void run(String name, Engine engine) throws Exception {
        if (name.startsWith(UnixDatagramChecks.PREFIX)) {
            UnixDatagramChecks.run(name);
            return;
        }
        if (name.startsWith(ShortReadChecks.PREFIX)) {
            ShortReadChecks.run(name, engine);
            return;
        }
        if (name.startsWith("close-")) {
            closeWakesParked(engine, Op.valueOf(name.substring("close-".length())));
            return;
        }
        if (name.startsWith("interrupt-")) {
            interruptClosesParked(engine, Op.valueOf(name.substring("interrupt-".length())));
            return;
        }
        switch (name) {
            case STARVE_READ:
                CarrierStarvationChecks.starveRead(engine);
                break;
            case STARVE_ACCEPT:
                CarrierStarvationChecks.starveAccept(engine);
                break;
            case STARVE_CONNECT:
                CarrierStarvationChecks.starveConnect(engine);
                break;
            case STARVE_WRITE:
                CarrierStarvationChecks.starveWrite(engine);
                break;
            case STARVE_READ_UNIX:
                CarrierStarvationChecks.starveReadUnix(engine);
                break;
            case TIMEOUT_READ:
                timeoutRead(engine);
                break;
            case TIMEOUT_ACCEPT:
                timeoutAccept(engine);
                break;
            case TIMEOUT_CONNECT:
                timeoutConnect(engine);
                break;
            case PRE_INTERRUPTED_READ:
                preInterruptedRead(engine);
                break;
            case ECHO_BYTES:
                echoBytes(engine);
                break;
            default:
                throw new IllegalArgumentException("unknown check " + name);
        }
    }

    // -------------------------------------------------------------- helpers

    static String describeThread(Thread t) {
        StringBuilder sb = new StringBuilder();
        sb.append(t).append(" state ").append(t.getState());
        for (StackTraceElement e : t.getStackTrace()) {
            sb.append("\n\tat ").append(e);
        }
        return sb.toString();
    }

    /**
     * Waits until every task's virtual thread is parked (WAITING or TIMED_WAITING, seen three
     * times in a row) and none has ended. A virtual thread blocked in native code shows
     * RUNNABLE; one that never got a carrier too: both fail here after {@link #WAIT_MS}.
     */
    static void awaitParked(String what, List<? extends Task<?>> tasks) throws InterruptedException {
        String problem = parkedProblem(what, tasks);
        if (problem != null) {
            throw new AssertionError(problem);
        }
    }

    /** As {@link #awaitParked}, but returns what went wrong (null: all parked) instead of failing. */
    static String parkedProblem(String what, List<? extends Task<?>> tasks) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        int stable = 0;
        // what the first task was seen doing, for the failure message
        StringBuilder seen = new StringBuilder();
        Thread.State last = null;
        int repeats = 0;
        while (true) {
            Task<?> notParked = null;
            Map<Thread.State, Integer> states = new EnumMap<>(Thread.State.class);
            Thread.State first = tasks.get(0).thread.getState();
            if (first == last) {
                repeats++;
            } else {
                if (last != null) {
                    seen.append(last).append(" x").append(repeats).append(", ");
                }
                last = first;
                repeats = 1;
            }
            for (Task<?> t : tasks) {
                if (t.future.isDone()) {
                    return what + ": " + t.name + " ended before it was seen parked: "
                            + TestSupport.describe(t.future) + " (" + TimeUnit.NANOSECONDS.toMillis(t.endedAt - start)
                            + " ms after the wait began; " + tasks.get(0).name + " seen every 20 ms as: " + seen
                            + last + " x" + repeats + ")";
                }
                Thread.State s = t.thread.getState();
                states.merge(s, 1, Integer::sum);
                if (s != Thread.State.WAITING && s != Thread.State.TIMED_WAITING && notParked == null) {
                    notParked = t;
                }
            }
            if (notParked == null) {
                if (++stable >= 3) {
                    return null;
                }
            } else {
                stable = 0;
                if (System.nanoTime() - deadline > 0) {
                    return what + ": after " + WAIT_MS + " ms not every virtual thread is"
                            + " parked (carrier blocked in native code, or starved?); states of the "
                            + tasks.size() + ": " + states + "; for example " + describeThread(notParked.thread);
                }
            }
            Thread.sleep(20);
        }
    }

    static void awaitParked(String what, Task<?> task) throws InterruptedException {
        awaitParked(what, Collections.singletonList(task));
    }

    /** {@code t} is exactly {@code type} (no subclass) with {@code message}. */
    static void assertThrown(Throwable t, Class<? extends Throwable> type, String message, String context) {
        if (t == null) {
            throw new AssertionError(context + ": nothing was thrown; expected " + type.getName() + ": " + message);
        }
        if (t.getClass() != type || !message.equals(t.getMessage())) {
            throw new AssertionError(context + ": expected exactly " + type.getName() + ": " + message
                    + ", got " + t, t);
        }
    }

    static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignore) {
                // cleanup
            }
        }
    }

    /** A listening socket of the engine on loopback with the given backlog. */
    static ServerSocket listen(Engine engine, int backlog) throws IOException {
        ServerSocket ss = engine.serverSocket();
        try {
            ss.bind(new InetSocketAddress(LOOPBACK, 0), backlog);
        } catch (IOException e) {
            ss.close();
            throw e;
        }
        return ss;
    }

    /** /proc/self/fd: descriptor number to what it points at, for diagnostics. */
    static Map<String, Integer> fdTargets() {
        Map<String, Integer> targets = new TreeMap<>();
        String[] fds = new File("/proc/self/fd").list();
        if (fds != null) {
            for (String fd : fds) {
                String target;
                try {
                    target = Files.readSymbolicLink(Paths.get("/proc/self/fd", fd)).toString();
                } catch (IOException e) {
                    continue; // the directory's own descriptor, gone already
                }
                targets.merge(target.startsWith("socket:") ? "socket" : target, 1, Integer::sum);
            }
        }
        return targets;
    }

    static String fdDiff(Map<String, Integer> before, Map<String, Integer> after) {
        Map<String, Integer> diff = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> e : after.entrySet()) {
            int d = e.getValue() - before.getOrDefault(e.getKey(), 0);
            if (d != 0) {
                diff.put(e.getKey(), d);
            }
        }
        for (Map.Entry<String, Integer> e : before.entrySet()) {
            if (!after.containsKey(e.getKey())) {
                diff.put(e.getKey(), -e.getValue());
            }
        }
        return diff.toString();
    }

    /**
     * Makes every engine park once in read, write and accept on a virtual thread, so that both
     * the JDK's and the library's pollers (and their descriptors) exist before a baseline is taken.
     */
    static void warmUp() throws Exception {
        // the probe's digest and the tests' random bytes open /dev/random and /dev/urandom once
        MessageDigest.getInstance("SHA-256").update(TestSupport.randomBytes(16));
        new java.security.SecureRandom().nextInt();
        for (Engine engine : Engine.values()) {
            try (Pair p = new Pair(engine)) {
                Task<Integer> reader = Task.start("warm-read", () -> p.client.getInputStream().read());
                awaitParked("warm-up read " + engine, reader);
                p.server.getOutputStream().write(1);
                assertEquals(1, reader.get(WAIT_MS, "warm-up read " + engine));

                p.client.setSendBufferSize(SMALL_BUFFER);
                p.server.setReceiveBufferSize(SMALL_BUFFER);
                byte[] big = new byte[BIG_WRITE];
                Task<Void> writer = Task.start("warm-write", () -> {
                    p.client.getOutputStream().write(big);
                    return null;
                });
                awaitParked("warm-up write " + engine, writer);
                TestSupport.readExactly(p.server.getInputStream(), big.length);
                writer.get(WAIT_MS, "warm-up write " + engine);

                Task<Void> acceptor = Task.start("warm-accept", () -> {
                    p.listener.accept().close();
                    return null;
                });
                awaitParked("warm-up accept " + engine, acceptor);
                engine.connect(LOOPBACK, p.listener.getLocalPort()).close();
                acceptor.get(WAIT_MS, "warm-up accept " + engine);
            }
            if (TestSupport.UNIX_SOCKETS) {
                CarrierStarvationChecks.warmUpUnix(engine);
            }
        }
    }

    // -------------------------------------------------------------- close, timeout, interrupt

    /** A socket operation parked on a virtual thread, and what it parks on. */
    static final class Parked implements AutoCloseable {
        final Op op;
        Pair pair;
        ServerSocket listener;
        FullBacklog backlog;
        Socket connecting;
        Task<Object> task;

        Parked(Op op) {
            this.op = op;
        }

        /** Starts op on a virtual thread and waits until it is parked. */
        static Parked start(Engine engine, Op op) throws Exception {
            Parked p = new Parked(op);
            try {
                p.begin(engine);
                awaitParked(engine + " " + op + " parked", p.task);
            } catch (Exception | Error e) {
                p.close();
                throw e;
            }
            return p;
        }

        private void begin(Engine engine) throws Exception {
            switch (op) {
                case READ:
                    pair = new Pair(engine);
                    task = Task.start("read", () -> pair.client.getInputStream().read());
                    break;
                case ACCEPT:
                    listener = engine.listen();
                    task = Task.start("accept", () -> listener.accept());
                    break;
                case CONNECT:
                    backlog = new FullBacklog();
                    connecting = engine.socket();
                    task = Task.start("connect", () -> {
                        connecting.connect(backlog.address);
                        return connecting;
                    });
                    break;
                case WRITE:
                    pair = new Pair(engine);
                    pair.client.setSendBufferSize(SMALL_BUFFER);
                    pair.server.setReceiveBufferSize(SMALL_BUFFER);
                    byte[] big = new byte[BIG_WRITE];
                    task = Task.start("write", () -> {
                        pair.client.getOutputStream().write(big);
                        return null;
                    });
                    break;
                default:
                    throw new AssertionError(op);
            }
        }

        /** Closes the socket the operation is parked on. */
        void closeTarget() throws Exception {
            target().close();
        }

        AutoCloseable target() {
            switch (op) {
                case READ:
                case WRITE:
                    return pair.client;
                case ACCEPT:
                    return listener;
                case CONNECT:
                    return connecting;
                default:
                    throw new AssertionError(op);
            }
        }

        boolean targetClosed() {
            AutoCloseable t = target();
            return t instanceof Socket ? ((Socket) t).isClosed() : ((ServerSocket) t).isClosed();
        }

        @Override
        public void close() {
            closeQuietly(pair);
            closeQuietly(listener);
            closeQuietly(connecting);
            closeQuietly(backlog);
            if (task != null) {
                try {
                    task.future.get(WAIT_MS, TimeUnit.MILLISECONDS);
                } catch (Exception ignore) {
                    // ended one way or the other: its descriptors are closed
                }
            }
        }
    }

    /** For a failure message: what getSoTimeout() on the socket says (a closed one throws). */
    static String whatAnOptionSays(AutoCloseable socket) {
        try {
            int t = socket instanceof Socket ? ((Socket) socket).getSoTimeout() : ((ServerSocket) socket).getSoTimeout();
            return "getSoTimeout() returns " + t;
        } catch (IOException e) {
            return "yet getSoTimeout() throws " + e;
        }
    }

    /** close() from another thread wakes the parked thread with SocketException("Socket closed"). */
    static void closeWakesParked(Engine engine, Op op) throws Exception {
        try (Parked p = Parked.start(engine, op)) {
            long t0 = System.nanoTime();
            p.closeTarget();
            Throwable t = p.task.failure(WAIT_MS, "parked " + op + " after close");
            assertThrown(t, SocketException.class, "Socket closed", engine + " " + op + " woken by close");
            assertTrue(p.targetClosed(), "isClosed() after close");
            info(String.format("%s close woke a parked %s in %.1f ms", engine, op, (System.nanoTime() - t0) / 1e6));
        }
    }

    /**
     * Thread.interrupt() on the parked virtual thread closes the socket: the operation throws
     * SocketException("Closed by interrupt"), isClosed() is true, the interrupt status stays set.
     */
    static void interruptClosesParked(Engine engine, Op op) throws Exception {
        try (Parked p = Parked.start(engine, op)) {
            p.task.thread.interrupt();
            Throwable t = p.task.failure(WAIT_MS, "parked " + op + " after interrupt");
            assertThrown(t, SocketException.class, "Closed by interrupt", engine + " " + op + " interrupted");
            assertTrue(p.targetClosed(), () -> engine + " " + op + ": isClosed() after the interrupt; "
                    + whatAnOptionSays(p.target()));
            assertTrue(p.task.interruptedAtEnd, engine + " " + op + ": interrupt status still set");
        }
    }

    /**
     * Interrupted before reading: a read with data ready returns it; the next, which would
     * park, closes the socket by interrupt.
     */
    static void preInterruptedRead(Engine engine) throws Exception {
        try (Pair p = new Pair(engine)) {
            p.server.getOutputStream().write(7);
            Task<Integer> task = Task.start("pre-interrupted", () -> {
                Thread.currentThread().interrupt();
                InputStream in = p.client.getInputStream();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (in.available() == 0 && System.nanoTime() - deadline < 0) {
                    Thread.onSpinWait();
                }
                int first = in.read();
                if (first != 7) {
                    throw new AssertionError("first read returned " + first);
                }
                return in.read();
            });
            Throwable t = task.failure(WAIT_MS, "read of an interrupted virtual thread");
            assertThrown(t, SocketException.class, "Closed by interrupt", engine + " read after interrupt");
            assertTrue(p.client.isClosed(), () -> "isClosed() after the interrupt; " + whatAnOptionSays(p.client));
            assertTrue(task.interruptedAtEnd, "interrupt status still set");
        }
    }

    /** The read times out while parked with "Read timed out"; the socket then works both ways. */
    static void timeoutRead(Engine engine) throws Exception {
        try (Pair p = new Pair(engine)) {
            p.client.setSoTimeout(TIMEOUT_MS);
            long t0 = System.nanoTime();
            Task<Integer> reader = Task.start("timed-read", () -> p.client.getInputStream().read());
            awaitParked(engine + " timed read parked", reader);
            Throwable t = reader.failure(WAIT_MS, "timed read");
            long took = TimeUnit.NANOSECONDS.toMillis(reader.endedAt - t0);
            assertThrown(t, SocketTimeoutException.class, "Read timed out", engine + " timed read");
            assertTrue(took >= TIMEOUT_MS - 10, "timed out after " + took + " ms, timeout " + TIMEOUT_MS + " ms");
            assertFalse(p.client.isClosed(), "isClosed() after a read timeout");
            p.server.getOutputStream().write(new byte[] {1, 2, 3});
            Task<byte[]> again = Task.start("read-again", () -> {
                byte[] b = TestSupport.readExactly(p.client.getInputStream(), 3);
                p.client.getOutputStream().write(b);
                return b;
            });
            assertArrayEquals(new byte[] {1, 2, 3}, again.get(WAIT_MS, "read after the timeout"));
            assertArrayEquals(new byte[] {1, 2, 3}, TestSupport.readExactly(p.server.getInputStream(), 3));
        }
    }

    /** The accept times out while parked with "Accept timed out"; the listener then accepts. */
    static void timeoutAccept(Engine engine) throws Exception {
        try (ServerSocket listener = engine.listen()) {
            listener.setSoTimeout(TIMEOUT_MS);
            long t0 = System.nanoTime();
            Task<Socket> acceptor = Task.start("timed-accept", listener::accept);
            awaitParked(engine + " timed accept parked", acceptor);
            Throwable t = acceptor.failure(WAIT_MS, "timed accept");
            long took = TimeUnit.NANOSECONDS.toMillis(acceptor.endedAt - t0);
            assertThrown(t, SocketTimeoutException.class, "Accept timed out", engine + " timed accept");
            assertTrue(took >= TIMEOUT_MS - 10, "timed out after " + took + " ms, timeout " + TIMEOUT_MS + " ms");
            assertFalse(listener.isClosed(), "isClosed() after an accept timeout");
            Task<Integer> again = Task.start("accept-again", () -> {
                try (Socket s = listener.accept()) {
                    return s.getInputStream().read();
                }
            });
            awaitParked(engine + " accept after the timeout parked", again);
            try (Socket c = engine.connect(LOOPBACK, listener.getLocalPort())) {
                c.getOutputStream().write(9);
                assertEquals(9, again.get(WAIT_MS, "accept after the timeout"));
            }
        }
    }

    /** connect(address, TIMEOUT_MS) to a full backlog times out while parked with "Connect timed out". */
    static void timeoutConnect(Engine engine) throws Exception {
        try (FullBacklog backlog = new FullBacklog(); Socket s = engine.socket()) {
            long t0 = System.nanoTime();
            Task<Void> connector = Task.start("timed-connect", () -> {
                s.connect(backlog.address, TIMEOUT_MS);
                return null;
            });
            awaitParked(engine + " timed connect parked", connector);
            Throwable t = connector.failure(WAIT_MS, "timed connect");
            long took = TimeUnit.NANOSECONDS.toMillis(connector.endedAt - t0);
            assertThrown(t, SocketTimeoutException.class, "Connect timed out", engine + " timed connect");
            assertTrue(took >= TIMEOUT_MS - 10, "timed out after " + took + " ms, timeout " + TIMEOUT_MS + " ms");
            assertEquals(TestSupport.SOCKET_CLOSED_BY_FAILED_CONNECT, s.isClosed(), "isClosed() after the timeout");
        }
    }

    // -------------------------------------------------------------- bytes intact

    /**
     * 200 virtual-thread clients each echo 256 KiB of random bytes (written by a second virtual
     * thread in random-sized chunks) through a server whose acceptor and handlers are virtual
     * threads; each must get back exactly what it sent, then EOF.
     */
    static void echoBytes(Engine engine) throws Exception {
        List<Socket> open = Collections.synchronizedList(new ArrayList<>());
        ServerSocket listener = listen(engine, ECHO_CLIENTS + 64);
        try {
            long t0 = System.nanoTime();
            Task<Void> acceptor = Task.start("echo-acceptor", () -> {
                for (int i = 0; i < ECHO_CLIENTS; i++) {
                    Socket s = listener.accept();
                    open.add(s);
                    Task.start("echo-handler-" + i, () -> {
                        try (Socket h = s) {
                            TestSupport.copyUntilEof(h.getInputStream(), h.getOutputStream(), 16 * 1024);
                        }
                        return null;
                    });
                }
                return null;
            });
            List<Task<Void>> clients = new ArrayList<>();
            for (int i = 0; i < ECHO_CLIENTS; i++) {
                clients.add(Task.start("echo-client-" + i, () -> {
                    byte[] data = TestSupport.randomBytes(ECHO_BYTES_EACH);
                    try (Socket s = engine.connect(LOOPBACK, listener.getLocalPort())) {
                        open.add(s);
                        Task<Void> writer = Task.start("echo-writer", () -> {
                            OutputStream out = s.getOutputStream();
                            ThreadLocalRandom rnd = ThreadLocalRandom.current();
                            int pos = 0;
                            while (pos < data.length) {
                                int n = Math.min(data.length - pos, 1 + rnd.nextInt(40_000));
                                out.write(data, pos, n);
                                pos += n;
                            }
                            s.shutdownOutput();
                            return null;
                        });
                        ByteArrayOutputStream got = new ByteArrayOutputStream(data.length);
                        InputStream in = s.getInputStream();
                        byte[] buf = new byte[1 + ThreadLocalRandom.current().nextInt(32 * 1024)];
                        int n;
                        while ((n = in.read(buf)) > 0) {
                            got.write(buf, 0, n);
                        }
                        writer.get(WAIT_MS, "echo writer");
                        byte[] back = got.toByteArray();
                        if (!Arrays.equals(data, back)) {
                            int at = Arrays.mismatch(data, back);
                            throw new AssertionError("echoed bytes differ: sent " + data.length + ", got "
                                    + back.length + ", first difference at " + at);
                        }
                    }
                    return null;
                }));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            for (Task<Void> c : clients) {
                long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                c.get(left, "echo client");
            }
            acceptor.get(WAIT_MS, "echo acceptor");
            double secs = (System.nanoTime() - t0) / 1e9;
            info(String.format("%s %d clients echoed %d KiB each in %.2f s (%.0f MiB/s each way)", engine,
                    ECHO_CLIENTS, ECHO_BYTES_EACH / 1024, secs,
                    ECHO_CLIENTS * (double) ECHO_BYTES_EACH / (1 << 20) / secs));
        } finally {
            closeQuietly(listener);
            synchronized (open) {
                open.forEach(VirtualThreadChecks::closeQuietly);
            }
        }
    }

    /** A callable running on its own virtual thread; every wait on it is bounded. */
    static final class Task<T> {
        final String name;
        final FutureTask<T> future;
        Thread thread;
        /** The thread's interrupt status when the body ended (normally or not). */
        volatile boolean interruptedAtEnd;
        /** System.nanoTime() when the body ended. */
        volatile long endedAt;

        private Task(String name, FutureTask<T> future) {
            this.name = name;
            this.future = future;
        }

        static <T> Task<T> start(String name, Callable<T> body) {
            Object[] holder = new Object[1];
            FutureTask<T> f = new FutureTask<>(() -> {
                try {
                    return body.call();
                } finally {
                    Task<?> self = (Task<?>) holder[0];
                    self.interruptedAtEnd = Thread.currentThread().isInterrupted();
                    self.endedAt = System.nanoTime();
                }
            });
            Task<T> task = new Task<>(name, f);
            holder[0] = task;
            task.thread = Virtual.unstarted(name, f);
            if (!Virtual.isVirtual(task.thread)) {
                throw new IllegalStateException(task.thread + " is not a virtual thread");
            }
            task.thread.start();
            return task;
        }

        /** The result; fails if the body threw or did not end within millis. */
        T get(long millis, String what) throws InterruptedException {
            try {
                return future.get(millis, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError(what + ": " + name + " failed: " + e.getCause(), e.getCause());
            } catch (TimeoutException e) {
                throw new AssertionError(what + ": " + name + " still running after " + millis + " ms, "
                        + VirtualThreadChecks.describeThread(thread));
            }
        }

        /** What the body threw; fails if it completed normally or did not end within millis. */
        Throwable failure(long millis, String what) throws InterruptedException {
            try {
                Object r = future.get(millis, TimeUnit.MILLISECONDS);
                throw new AssertionError(what + ": " + name + " completed normally (" + r + "); expected an exception");
            } catch (ExecutionException e) {
                return e.getCause();
            } catch (TimeoutException e) {
                throw new AssertionError(what + ": " + name + " still running after " + millis + " ms, "
                        + VirtualThreadChecks.describeThread(thread));
            }
        }
    }
}
