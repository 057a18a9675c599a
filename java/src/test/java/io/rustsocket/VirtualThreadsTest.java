package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.TestSupport.FullBacklog;
import io.rustsocket.TestSupport.Pair;
import io.rustsocket.internal.Descriptors;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sockets on virtual threads (JDK 21+): a blocking read, write, accept or connect must park the
 * virtual thread, never block its carrier; close, timeouts and interrupts must reach a parked
 * virtual thread with the JDK's exceptions; descriptors and bytes must come through intact.
 * Every check runs for both engines: the JDK row proves the expectation is the JDK's own.
 *
 * <p>Where the checks run: on a JVM with virtual threads, in this JVM; on an older one (the
 * suite also runs on JDK 17), all of them in one child JVM of JDK 21+ ({@code -Drustsocket.vtJava},
 * else Temurin 25, else any JDK 21+ under /usr/lib/jvm), whose results the test methods report
 * one by one. The carrier-starvation checks always run in a child JVM, because the scheduler's
 * size is fixed at start-up: {@code parallelism=2, maxPoolSize=2}, so two carriers blocked in
 * native code would starve every other virtual thread, and the JDK may not add carriers to
 * compensate. A starved check fails after a bounded wait; nothing here can hang.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
// a backstop only: every wait inside is bounded, and so is a child JVM's run (see ChildRun.run)
@Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VirtualThreadsTest {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /** Every wait on a virtual thread is bounded by this; a starved or pinned carrier fails here. */
    static final long WAIT_MS = 10_000;

    /** The scheduler flags of the carrier-starvation child. */
    static final List<String> STARVED_SCHEDULER = List.of(
            "-Djdk.virtualThreadScheduler.parallelism=2", "-Djdk.virtualThreadScheduler.maxPoolSize=2");

    /** The blocking operations a virtual thread can park in. */
    enum Op { READ, ACCEPT, CONNECT, WRITE }

    static Stream<Arguments> enginesAndOps() {
        return Stream.of(Engine.values()).flatMap(e -> Stream.of(Op.values()).map(op -> Arguments.of(e, op)));
    }

    // ------------------------------------------------------------------ in-process baseline

    private static int baselineOpen = -1;
    private static int baselineFds = -1;
    private static Map<String, Integer> baselineFdTargets;
    // a failed warm-up fails the descriptor test only; every check then reports its own failure
    private static Throwable warmUpFailure;

    @BeforeAll
    static void warmUpAndTakeBaseline() {
        if (Virtual.AVAILABLE) {
            try {
                Checks.warmUp();
            } catch (Exception | AssertionError e) {
                warmUpFailure = e;
            }
            baselineOpen = Descriptors.openCount();
            baselineFds = TestSupport.processFdCount();
            baselineFdTargets = Checks.fdTargets();
        }
    }

    // ------------------------------------------------------------------ carrier starvation (child JVM)

    @Order(1)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void thousandReadersParkWhileAnEchoAndACpuTaskRun(Engine engine) {
        Children.starved().assertPassed(Checks.STARVE_READ, engine);
    }

    @Order(2)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void acceptorsParkWhileAnEchoAndACpuTaskRun(Engine engine) {
        Children.starved().assertPassed(Checks.STARVE_ACCEPT, engine);
    }

    @Order(3)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void connectorsToAFullBacklogParkWhileAnEchoAndACpuTaskRun(Engine engine) {
        Children.starved().assertPassed(Checks.STARVE_CONNECT, engine);
    }

    @Order(4)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void writersToAPeerThatDoesNotReadParkWhileAnEchoAndACpuTaskRun(Engine engine) {
        Children.starved().assertPassed(Checks.STARVE_WRITE, engine);
    }

    // ------------------------------------------------------------------ close, timeouts, interrupts

    @Order(10)
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("enginesAndOps")
    void closeWakesAParkedVirtualThread(Engine engine, Op op) throws Exception {
        check("close-" + op, engine);
    }

    @Order(11)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void readTimesOutWhileParkedAndTheSocketStaysUsable(Engine engine) throws Exception {
        check(Checks.TIMEOUT_READ, engine);
    }

    @Order(12)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void acceptTimesOutWhileParkedAndTheListenerStaysUsable(Engine engine) throws Exception {
        check(Checks.TIMEOUT_ACCEPT, engine);
    }

    @Order(13)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void connectToAFullBacklogTimesOutWhileParked(Engine engine) throws Exception {
        check(Checks.TIMEOUT_CONNECT, engine);
    }

    @Order(14)
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("enginesAndOps")
    void interruptClosesTheSocketOfAParkedVirtualThread(Engine engine, Op op) throws Exception {
        check("interrupt-" + op, engine);
    }

    @Order(15)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void aVirtualThreadInterruptedBeforeItReadsReadsWhatIsThereThenClosesByInterrupt(Engine engine)
            throws Exception {
        check(Checks.PRE_INTERRUPTED_READ, engine);
    }

    @Order(16)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void twoHundredVirtualThreadClientsEchoRandomBytesIntact(Engine engine) throws Exception {
        check(Checks.ECHO_BYTES, engine);
    }

    // ------------------------------------------------------------------ descriptors

    /**
     * After everything above: the library's count of open descriptors and the process's
     * /proc/self/fd are back to their baseline (taken after a warm-up that started every poller),
     * here when the checks ran in this JVM, and in every child JVM that ran.
     */
    @Order(100)
    @Test
    void descriptorsBackToBaseline() throws Exception {
        List<String> problems = new ArrayList<>();
        if (warmUpFailure != null) {
            problems.add("this JVM: the warm-up before the baseline failed: " + traceOf(warmUpFailure));
        } else if (Virtual.AVAILABLE) {
            // Other test classes of the suite may leave sockets for the GC in this JVM, whose
            // cleanup can only lower the counts: in-process, at most the baseline.
            boolean back = TestSupport.eventually(() -> Descriptors.openCount() <= baselineOpen
                    && TestSupport.processFdCount() <= baselineFds);
            if (!back) {
                problems.add("this JVM: Descriptors.openCount() " + Descriptors.openCount() + " (baseline "
                        + baselineOpen + "), /proc/self/fd " + TestSupport.processFdCount() + " (baseline "
                        + baselineFds + "); new: " + Checks.fdDiff(baselineFdTargets, Checks.fdTargets()));
            }
        }
        boolean anyChild = false;
        for (ChildRun run : Children.started()) {
            anyChild = true;
            try {
                run.assertPassed(Checks.DESCRIPTORS, null);
            } catch (AssertionError e) {
                problems.add(e.getMessage());
            }
        }
        Assumptions.assumeTrue(Virtual.AVAILABLE || anyChild, "no virtual-thread check ran");
        assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
    }

    // ------------------------------------------------------------------ dispatch

    /** Runs a check here if this JVM has virtual threads, else reports its result from the child JVM. */
    private static void check(String name, Engine engine) throws Exception {
        if (Virtual.AVAILABLE) {
            Checks.run(name, engine);
        } else {
            Children.plain().assertPassed(name, engine);
        }
    }

    // ================================================================== virtual threads by reflection

    /**
     * The virtual-thread API reached by method handles, since the tests compile with --release 17.
     * {@link #AVAILABLE} is false on JDK 17-20.
     */
    static final class Virtual {
        private static final MethodHandle OF_VIRTUAL;
        private static final MethodHandle NAME;
        private static final MethodHandle UNSTARTED;
        private static final MethodHandle IS_VIRTUAL;
        static final boolean AVAILABLE;

        static {
            MethodHandle ofVirtual = null;
            MethodHandle name = null;
            MethodHandle unstarted = null;
            MethodHandle isVirtual = null;
            try {
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                Class<?> builder = Class.forName("java.lang.Thread$Builder");
                Class<?> ofVirtualType = Class.forName("java.lang.Thread$Builder$OfVirtual");
                ofVirtual = lookup.findStatic(Thread.class, "ofVirtual", MethodType.methodType(ofVirtualType));
                name = lookup.findVirtual(builder, "name", MethodType.methodType(builder, String.class));
                unstarted = lookup.findVirtual(builder, "unstarted", MethodType.methodType(Thread.class, Runnable.class));
                isVirtual = lookup.findVirtual(Thread.class, "isVirtual", MethodType.methodType(boolean.class));
            } catch (ClassNotFoundException | NoSuchMethodException | IllegalAccessException e) {
                ofVirtual = null;
            }
            OF_VIRTUAL = ofVirtual;
            NAME = name;
            UNSTARTED = unstarted;
            IS_VIRTUAL = isVirtual;
            AVAILABLE = ofVirtual != null;
        }

        private Virtual() {}

        /** {@code Thread.ofVirtual().name(name).unstarted(body)}. */
        static Thread unstarted(String name, Runnable body) {
            if (!AVAILABLE) {
                throw new IllegalStateException("no virtual threads on " + Runtime.version());
            }
            try {
                Object builder = OF_VIRTUAL.invoke();
                builder = NAME.invoke(builder, name);
                return (Thread) UNSTARTED.invoke(builder, body);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        }

        /** {@code t.isVirtual()}; false without virtual threads. */
        static boolean isVirtual(Thread t) {
            if (!AVAILABLE) {
                return false;
            }
            try {
                return (boolean) IS_VIRTUAL.invoke(t);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException(e);
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
                        + Checks.describeThread(thread));
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
                        + Checks.describeThread(thread));
            }
        }
    }

    // ================================================================== the checks

    /**
     * The checks, runnable in any JVM with virtual threads (this one, or a child's through
     * {@link VirtualThreadsChild}). Each throws on failure and closes what it opened.
     */
    static final class Checks {
        static final String STARVE_READ = "starve-read";
        static final String STARVE_ACCEPT = "starve-accept";
        static final String STARVE_CONNECT = "starve-connect";
        static final String STARVE_WRITE = "starve-write";
        static final String TIMEOUT_READ = "timeout-read";
        static final String TIMEOUT_ACCEPT = "timeout-accept";
        static final String TIMEOUT_CONNECT = "timeout-connect";
        static final String PRE_INTERRUPTED_READ = "pre-interrupted-read";
        static final String ECHO_BYTES = "echo-bytes";
        static final String DESCRIPTORS = "descriptors";

        /** Checks that run under the carrier-starvation scheduler flags. */
        static final List<String> STARVED = List.of(STARVE_READ, STARVE_ACCEPT, STARVE_CONNECT, STARVE_WRITE);

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

        private Checks() {}

        static void info(String message) {
            System.out.println("VT-INFO " + message);
        }

        static void run(String name, Engine engine) throws Exception {
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
                    starveRead(engine);
                    break;
                case STARVE_ACCEPT:
                    starveAccept(engine);
                    break;
                case STARVE_CONNECT:
                    starveConnect(engine);
                    break;
                case STARVE_WRITE:
                    starveWrite(engine);
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
            }
        }

        // -------------------------------------------------------------- carrier starvation

        /**
         * While other virtual threads are parked: a new virtual thread connects to an echo server
         * (served by a platform thread), echoes 64 KiB and checks it, then does a CPU task
         * (SHA-256 of 8 MiB). Must finish within {@link #WAIT_MS}: with the two carriers blocked
         * in native code it could never start.
         */
        static String probe(Engine engine, String whileWhat, String parkedProblem) throws Exception {
            try (ServerSocket echo = engine.listen()) {
                echo.setSoTimeout((int) WAIT_MS);
                FutureTask<Void> server = TestSupport.async("probe-echo-server", () -> {
                    try (Socket s = echo.accept()) {
                        s.setSoTimeout((int) WAIT_MS);
                        TestSupport.copyUntilEof(s.getInputStream(), s.getOutputStream(), 8192);
                    }
                    return null;
                });
                long start = System.nanoTime();
                Task<long[]> probe = Task.start("probe", () -> {
                    byte[] data = TestSupport.randomBytes(64 * 1024);
                    long t0 = System.nanoTime();
                    try (Socket s = engine.connect(LOOPBACK, echo.getLocalPort())) {
                        s.getOutputStream().write(data);
                        byte[] back = TestSupport.readExactly(s.getInputStream(), data.length);
                        assertArrayEquals(data, back, "probe echo");
                        s.shutdownOutput();
                        assertEquals(-1, s.getInputStream().read(), "probe: EOF after the echo");
                    }
                    long t1 = System.nanoTime();
                    MessageDigest sha = MessageDigest.getInstance("SHA-256");
                    byte[] chunk = new byte[64 * 1024];
                    for (int i = 0; i < 128; i++) {
                        chunk[0] = (byte) i;
                        sha.update(chunk);
                    }
                    if (sha.digest().length != 32) {
                        throw new AssertionError("sha-256");
                    }
                    long t2 = System.nanoTime();
                    return new long[] {t1 - t0, t2 - t1};
                });
                long[] took;
                try {
                    took = probe.future.get(WAIT_MS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    throw new AssertionError("an echo over a new connection plus a CPU task on a virtual thread did"
                            + " not finish within " + WAIT_MS + " ms while " + whileWhat
                            + ": the carriers are blocked (pinned in native code?); probe: "
                            + describeThread(probe.thread)
                            + (parkedProblem == null ? "" : "\nbefore the probe, " + parkedProblem));
                } catch (ExecutionException e) {
                    throw new AssertionError("probe failed while " + whileWhat + ": " + e.getCause(), e.getCause());
                }
                TestSupport.await(server, WAIT_MS);
                String s = String.format("probe while %s: echo %.1f ms, cpu %.1f ms, total %.1f ms", whileWhat,
                        took[0] / 1e6, took[1] / 1e6, (System.nanoTime() - start) / 1e6);
                info(engine + " " + s);
                if (parkedProblem != null) {
                    throw new AssertionError("the probe ran, but not every blocked virtual thread was parked: "
                            + parkedProblem);
                }
                return s;
            }
        }

        /** The 16 bytes the server answers reader {@code id}. */
        static byte[] reply(int id) {
            byte[] b = new byte[16];
            new Random(id).nextBytes(b);
            b[0] = (byte) (id >>> 24);
            b[1] = (byte) (id >>> 16);
            b[2] = (byte) (id >>> 8);
            b[3] = (byte) id;
            return b;
        }

        /**
         * 1,000 virtual threads each block in read on their own connection (the server side is
         * accepted by a platform thread and kept); meanwhile the probe must run; then the server
         * answers every one and each must finish with its own bytes.
         */
        static void starveRead(Engine engine) throws Exception {
            List<Socket> accepted = Collections.synchronizedList(new ArrayList<>());
            List<Socket> clients = Collections.synchronizedList(new ArrayList<>());
            List<Task<Void>> readers = new ArrayList<>();
            ServerSocket listener = listen(engine, READERS + 64);
            try {
                listener.setSoTimeout((int) WAIT_MS);
                int port = listener.getLocalPort();
                long t0 = System.nanoTime();
                FutureTask<Void> acceptor = TestSupport.async("acceptor", () -> {
                    for (int i = 0; i < READERS; i++) {
                        Socket a = listener.accept();
                        a.setSoTimeout((int) WAIT_MS);
                        accepted.add(a);
                    }
                    return null;
                });
                for (int i = 0; i < READERS; i++) {
                    int id = i;
                    readers.add(Task.start("reader-" + id, () -> {
                        Socket s = engine.connect(LOOPBACK, port);
                        clients.add(s);
                        new DataOutputStream(s.getOutputStream()).writeInt(id);
                        byte[] got = TestSupport.readExactly(s.getInputStream(), 16);
                        if (!Arrays.equals(reply(id), got)) {
                            throw new AssertionError("reader " + id + " got " + Arrays.toString(got));
                        }
                        s.close();
                        return null;
                    }));
                }
                String parkedProblem;
                try {
                    acceptor.get(WAIT_MS, TimeUnit.MILLISECONDS);
                    parkedProblem = parkedProblem(READERS + " readers blocked in read", readers);
                } catch (TimeoutException e) {
                    parkedProblem = "only " + accepted.size() + " of " + READERS + " reader connections were accepted"
                            + " within " + WAIT_MS + " ms (" + clients.size() + " connected); for example "
                            + describeThread(readers.get(0).thread);
                }
                long parked = System.nanoTime();
                probe(engine, READERS + " virtual threads are blocked in read", parkedProblem);
                // answer every reader, each on its own connection
                long t1 = System.nanoTime();
                for (Socket a : accepted) {
                    int id = new DataInputStream(a.getInputStream()).readInt();
                    a.getOutputStream().write(reply(id));
                }
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
                for (Task<Void> r : readers) {
                    long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                    r.get(left, "answered readers");
                }
                info(String.format("%s %d readers connected and parked in %.0f ms; all answered and finished in %.0f ms",
                        engine, READERS, (parked - t0) / 1e6, (System.nanoTime() - t1) / 1e6));
            } finally {
                closeQuietly(listener);
                synchronized (clients) {
                    clients.forEach(Checks::closeQuietly);
                }
                synchronized (accepted) {
                    accepted.forEach(Checks::closeQuietly);
                }
            }
        }

        /** Three virtual threads block in accept on their own listeners; the probe runs; then each accepts. */
        static void starveAccept(Engine engine) throws Exception {
            List<ServerSocket> listeners = new ArrayList<>();
            List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());
            try {
                List<Task<Integer>> acceptors = new ArrayList<>();
                for (int i = 0; i < BLOCKERS; i++) {
                    ServerSocket l = engine.listen();
                    listeners.add(l);
                    acceptors.add(Task.start("acceptor-" + i, () -> {
                        Socket s = l.accept();
                        sockets.add(s);
                        return s.getInputStream().read();
                    }));
                }
                String parkedProblem = parkedProblem(BLOCKERS + " acceptors blocked in accept", acceptors);
                probe(engine, BLOCKERS + " virtual threads are blocked in accept", parkedProblem);
                for (int i = 0; i < BLOCKERS; i++) {
                    Socket c = engine.connect(LOOPBACK, listeners.get(i).getLocalPort());
                    sockets.add(c);
                    c.getOutputStream().write(100 + i);
                }
                for (int i = 0; i < BLOCKERS; i++) {
                    assertEquals(100 + i, acceptors.get(i).get(WAIT_MS, "acceptor after a connect"), "byte through acceptor " + i);
                }
            } finally {
                listeners.forEach(Checks::closeQuietly);
                synchronized (sockets) {
                    sockets.forEach(Checks::closeQuietly);
                }
            }
        }

        /**
         * Three virtual threads block in an untimed connect to a full backlog (SYNs dropped); the
         * probe runs while all three are still connecting; then the listener drains its queue and
         * the connectors get through when their SYNs are retransmitted (1 s, 3 s after the first),
         * each sends a byte and reads the one the listener's side writes to everything it accepts.
         */
        static void starveConnect(Engine engine) throws Exception {
            List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());
            FullBacklog backlog = new FullBacklog();
            try {
                List<Task<Integer>> connectors = new ArrayList<>();
                for (int i = 0; i < BLOCKERS; i++) {
                    Socket s = engine.socket();
                    sockets.add(s);
                    connectors.add(Task.start("connector-" + i, () -> {
                        s.connect(backlog.address);
                        // A connect can complete on a SYN cookie while the server drops the final
                        // ACK (accept queue full): data makes the client retransmit until accepted.
                        s.getOutputStream().write(1);
                        return s.getInputStream().read();
                    }));
                }
                String parkedProblem = parkedProblem(BLOCKERS + " connectors blocked in connect", connectors);
                probe(engine, BLOCKERS + " virtual threads are blocked in connect", parkedProblem);
                for (Task<Integer> c : connectors) {
                    assertFalse(c.future.isDone(), () -> "a connect to a full backlog ended during the probe: "
                            + TestSupport.describe(c.future));
                }
                // drain: accept everything queued (the setup's sockets too), answer one byte each
                long start = System.nanoTime();
                backlog.listener.setSoTimeout(100);
                long deadline = start + TimeUnit.SECONDS.toNanos(20);
                while (connectors.stream().anyMatch(c -> !c.future.isDone()) && System.nanoTime() - deadline < 0) {
                    try {
                        Socket a = backlog.listener.accept();
                        sockets.add(a);
                        a.getOutputStream().write(42);
                    } catch (SocketTimeoutException e) {
                        // SYNs come back on retransmission
                    }
                }
                for (Task<Integer> c : connectors) {
                    assertEquals(42, c.get(1, "connector after the backlog drained"), "byte through " + c.name);
                }
                info(String.format("%s %d connectors got through %.0f ms after the backlog began to drain",
                        engine, BLOCKERS, (System.nanoTime() - start) / 1e6));
            } finally {
                synchronized (sockets) {
                    sockets.forEach(Checks::closeQuietly);
                }
                backlog.close();
            }
        }

        /**
         * Three virtual threads write 8 MiB each to a peer that does not read (both buffers shrunk,
         * so the write blocks); the probe runs; then platform threads read everything and check it.
         */
        static void starveWrite(Engine engine) throws Exception {
            byte[] data = TestSupport.randomBytes(BIG_WRITE);
            List<Pair> pairs = new ArrayList<>();
            try {
                List<Task<Void>> writers = new ArrayList<>();
                for (int i = 0; i < BLOCKERS; i++) {
                    Pair p = new Pair(engine);
                    pairs.add(p);
                    p.client.setSendBufferSize(SMALL_BUFFER);
                    p.server.setReceiveBufferSize(SMALL_BUFFER);
                    p.server.setSoTimeout((int) WAIT_MS);
                    writers.add(Task.start("writer-" + i, () -> {
                        p.client.getOutputStream().write(data);
                        p.client.close();
                        return null;
                    }));
                }
                String parkedProblem = parkedProblem(BLOCKERS + " writers blocked in write", writers);
                probe(engine, BLOCKERS + " virtual threads are blocked in write", parkedProblem);
                List<FutureTask<Void>> drains = new ArrayList<>();
                for (Pair p : pairs) {
                    drains.add(TestSupport.async("drain", () -> {
                        byte[] got = TestSupport.readExactly(p.server.getInputStream(), data.length);
                        assertArrayEquals(data, got, "bytes through a parked writer");
                        assertEquals(-1, p.server.getInputStream().read(), "EOF after the write");
                        return null;
                    }));
                }
                for (FutureTask<Void> d : drains) {
                    TestSupport.await(d, WAIT_MS);
                }
                for (Task<Void> w : writers) {
                    w.get(WAIT_MS, "writer after the peer read");
                }
            } finally {
                for (Pair p : pairs) {
                    closeQuietly(p);
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
                    open.forEach(Checks::closeQuietly);
                }
            }
        }
    }

    // ================================================================== child JVMs

    /** The two child JVMs, each started at most once per test run. */
    static final class Children {
        private static ChildRun plain;
        private static ChildRun starved;

        private Children() {}

        /** All the default-scheduler checks, both engines (only needed when this JVM is older than 21). */
        static synchronized ChildRun plain() {
            if (plain == null) {
                List<String> checks = new ArrayList<>();
                for (String c : Checks.PLAIN) {
                    for (Engine e : Engine.values()) {
                        checks.add(c + ":" + e);
                    }
                }
                plain = ChildRun.run("default scheduler", List.of(), checks);
            }
            return plain;
        }

        /** The carrier-starvation checks under parallelism=2, maxPoolSize=2. */
        static synchronized ChildRun starved() {
            if (starved == null) {
                List<String> checks = new ArrayList<>();
                for (String c : Checks.STARVED) {
                    for (Engine e : Engine.values()) {
                        checks.add(c + ":" + e);
                    }
                }
                starved = ChildRun.run("parallelism=2 maxPoolSize=2", STARVED_SCHEDULER, checks);
            }
            return starved;
        }

        static synchronized List<ChildRun> started() {
            List<ChildRun> runs = new ArrayList<>();
            if (plain != null && plain.java != null) {
                runs.add(plain);
            }
            if (starved != null && starved.java != null) {
                runs.add(starved);
            }
            return runs;
        }
    }

    /** One child JVM's run of a list of checks, and what it reported for each. */
    static final class ChildRun {
        /** Each check must end within this (the child's own watchdog); the whole run within the sum plus start-up. */
        static final long CHECK_LIMIT_MS = 60_000;

        final String label;
        final String java;
        final Map<String, String> failures = new LinkedHashMap<>();
        final List<String> passed = new ArrayList<>();
        final List<String> output = new ArrayList<>();
        String problem;

        private ChildRun(String label, String java) {
            this.label = label;
            this.java = java;
        }

        /**
         * The java launcher of a JDK with virtual threads: -Drustsocket.vtJava, else this JVM's if
         * it has them, else Temurin 25, else any JDK 21+ under /usr/lib/jvm; null if none.
         */
        static String virtualThreadJava() {
            String configured = System.getProperty("rustsocket.vtJava");
            if (configured != null && !configured.isEmpty()) {
                return configured;
            }
            if (Virtual.AVAILABLE) {
                return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
            }
            Path temurin = Paths.get("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
            if (Files.isExecutable(temurin)) {
                return temurin.toString();
            }
            File[] jdks = new File("/usr/lib/jvm").listFiles();
            if (jdks != null) {
                Arrays.sort(jdks);
                for (File jdk : jdks) {
                    Path release = jdk.toPath().resolve("release");
                    Path java = jdk.toPath().resolve("bin/java");
                    try {
                        if (Files.isExecutable(java) && Files.isReadable(release)) {
                            for (String line : Files.readAllLines(release)) {
                                if (line.startsWith("JAVA_VERSION=")) {
                                    String v = line.substring("JAVA_VERSION=".length()).replace("\"", "");
                                    int feature = Integer.parseInt(v.split("[.+-]")[0]);
                                    if (feature >= 21) {
                                        return java.toString();
                                    }
                                }
                            }
                        }
                    } catch (IOException | NumberFormatException e) {
                        // not a JDK we can use
                    }
                }
            }
            return null;
        }

        static ChildRun run(String label, List<String> jvmFlags, List<String> checks) {
            String java = virtualThreadJava();
            ChildRun run = new ChildRun(label, java);
            if (java == null) {
                run.problem = "no JDK 21+ found (set -Drustsocket.vtJava=/path/to/bin/java)";
                return run;
            }
            List<String> cmd = new ArrayList<>();
            cmd.add(java);
            cmd.add("--enable-native-access=ALL-UNNAMED");
            cmd.add("-Xmx1g");
            cmd.addAll(TestSupport.childJvmOptions(VirtualThreadsChild.class.getSimpleName()));
            cmd.addAll(jvmFlags);
            for (String key : System.getProperties().stringPropertyNames()) {
                if (key.startsWith("io.rustsocket.") || key.startsWith("rustsocket.")) {
                    cmd.add("-D" + key + "=" + System.getProperty(key));
                }
            }
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(VirtualThreadsChild.class.getName());
            cmd.addAll(checks);
            // a passing run takes seconds; one where every check fails by its bounded waits, minutes
            long limit = Math.min(540_000, 30_000 + checks.size() * 30_000L);
            long start = System.nanoTime();
            Process process = null;
            try {
                ProcessBuilder pb = new ProcessBuilder(cmd);
                pb.redirectErrorStream(true);
                process = pb.start();
                process.getOutputStream().close();
                Process p = process;
                FutureTask<Void> reader = TestSupport.async("vt-child-output", () -> {
                    try (BufferedReader r = new BufferedReader(
                            new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                        String line;
                        while ((line = r.readLine()) != null) {
                            run.line(line);
                        }
                    }
                    return null;
                });
                if (!process.waitFor(limit, TimeUnit.MILLISECONDS)) {
                    run.problem = "child JVM killed after " + limit + " ms";
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                } else if (process.exitValue() != 0) {
                    run.problem = "child JVM exited with status " + process.exitValue();
                }
                TestSupport.await(reader, 10_000);
            } catch (IOException | InterruptedException | AssertionError e) {
                run.problem = "could not run the child JVM: " + e;
                if (process != null) {
                    process.destroyForcibly();
                }
            }
            System.out.printf("VirtualThreadsTest: child JVM (%s, %s) ran %d checks in %.1f s%s%n", label, java,
                    checks.size(), (System.nanoTime() - start) / 1e9, run.problem == null ? "" : ": " + run.problem);
            return run;
        }

        private synchronized void line(String line) {
            if (line.startsWith(VirtualThreadsChild.PASS)) {
                passed.add(line.substring(VirtualThreadsChild.PASS.length()).trim().split(" ")[0]);
            } else if (line.startsWith(VirtualThreadsChild.FAIL)) {
                String[] parts = line.substring(VirtualThreadsChild.FAIL.length()).trim().split(" ", 2);
                String trace = parts.length > 1
                        ? new String(Base64.getDecoder().decode(parts[1]), StandardCharsets.UTF_8) : "(no trace)";
                failures.put(parts[0], trace);
            } else {
                output.add(line);
                if (line.startsWith("VT-INFO")) {
                    System.out.println("  [child " + label + "] " + line.substring("VT-INFO ".length()));
                }
            }
        }

        /** Fails (or, with no JDK 21+, aborts) unless the child reported {@code name:engine} as passed. */
        synchronized void assertPassed(String name, Engine engine) {
            Assumptions.assumeTrue(java != null, problem);
            String key = engine == null ? name : name + ":" + engine;
            if (passed.contains(key)) {
                return;
            }
            String trace = failures.get(key);
            if (trace != null) {
                throw new AssertionError("in the child JVM (" + label + ", " + java + "): " + trace);
            }
            List<String> tail = output.subList(Math.max(0, output.size() - 40), output.size());
            throw new AssertionError("the child JVM (" + label + ", " + java + ") reported nothing for " + key
                    + (problem == null ? "" : " (" + problem + ")") + "; its last output:\n" + String.join("\n", tail));
        }
    }

    /** The stack trace of {@code t} as text. */
    static String traceOf(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString();
    }
}
