package io.rustsocket;

import io.rustsocket.internal.Descriptors;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import javax.net.ServerSocketFactory;
import javax.net.SocketFactory;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Property-based tests of the public API with the JDK as the oracle.
 *
 * <p>jqwik generates random sequences of {@link Step}s: calls of the public methods of
 * {@link Socket}, {@link ServerSocket}, their streams, the constructors and the factories, with
 * random arguments (null, negative, zero, {@code Integer.MAX_VALUE}/{@code MIN_VALUE},
 * out-of-range ports, unresolvable and non-local addresses, bad array offsets and lengths, every
 * standard option with random values of right and wrong types through the legacy setters and
 * {@code setOption}), on objects in random states (unconnected, unbound, bound, connected,
 * accepted, shut down, closed, closed by another thread while blocked in read, write, accept or
 * connect). Each sequence runs step by step on two {@link World}s of fresh objects, one made by
 * {@link Engine#JDK}, one by {@link Engine#RUST}; after every step both must have observed the
 * same thing: the same return value, the same exception class and message, and the same flags
 * ({@code isClosed/isConnected/isBound/isInputShutdown/isOutputShutdown}), ports and addresses of
 * the objects the step touched; at the end, of every object.
 *
 * <p>Compared by class only, because the kernel or the clock decides them, not the library:
 * <ul>
 *   <li>ephemeral port numbers: the fixed ports and listeners' ports are compared by name
 *       (L0, S2, CLOSED, FREE, FULL), any other port only as "(ephemeral)";</li>
 *   <li>{@code SO_SNDBUF}/{@code SO_RCVBUF} of a socket whose size was never set (TCP
 *       auto-tuning moves them), and the jdk.net values the kernel sets by itself
 *       (TCP_QUICKACK, SO_INCOMING_NAPI_ID);</li>
 *   <li>the message of a connect's SocketTimeoutException (java.net.Socket's SOCKS layer throws
 *       one without a message when the timeout ran out before it handed over), and whether a
 *       timed connect to a non-local address (192.0.2.1) times out or is refused by the network;</li>
 *   <li>{@code available()} after urgent data (the count stops at the urgent mark): its sign;</li>
 *   <li>the message of a NullPointerException (HotSpot drops it once the throwing code is
 *       compiled, OmitStackTraceInFastThrow).</li>
 * </ul>
 * The jdk.net options are compared in a property of their own ({@code supportedOptions()} in
 * the others lists the standard ones only), so that their absence does not hide other
 * differences. The one exclusion is a JDK-version artefact: see {@link #CLOSED_SOCKET_CREATES_IMPL}.
 *
 * <p>Nothing may block without bound, and nothing may depend on the other world: a model of
 * each world (bytes in flight per direction, accept queues, who closed or shut down what, which
 * listener owns which port on which address) decides before each call that could block whether
 * it returns at once. A call that would block runs only when it is bounded (a read or accept
 * timeout of at most {@value #SHORT_TIMEOUT} ms, a connect timeout of {@value #CONNECT_TIMEOUT}
 * ms, at most {@value #TIMED_BUDGET} per world and sequence) or when another thread closes the
 * socket under it; otherwise it is skipped, the same way in both worlds. Calls whose outcome
 * other sockets on the host could decide (a port released by a closed listener, a port the
 * kernel chose for another address) are skipped too. A watchdog closes a world whose step runs
 * longer than {@value #STEP_HANG_MILLIS} ms and fails the property; every sequence runs under a
 * deadline of {@value #SEQUENCE_HANG_MILLIS} ms; after every sequence
 * {@link Descriptors#openCount()} must be back to its value before.
 *
 * <p>The class counts the random API calls it made per engine (probes after each step not
 * included), asserts at least {@value #MIN_RANDOM_CALLS} on each when every property passed,
 * prints them with a tally of outcomes, and appends that line to {@code random-api.txt} in the
 * directory of {@code -Drustsocket.reportDir} when set. {@code -Drustsocket.randomApi.selfCheck=true}
 * runs JDK against JDK, which checks that the harness itself is deterministic;
 * {@code -Drustsocket.randomApi.slowStepMillis=N} lists steps slower than N ms in the summary.
 *
 * <p>A failing sequence is reported with its steps; {@link Step#toString()} gives the raw
 * choices ({@code a..e} index tables such as {@link #INTS}, {@code d} is a raw int), the failure
 * message the calls they stand for.
 */
class RandomApiTest {

    // ---------------------------------------------------------------- configuration

    /** At least this many random calls must run on each engine. */
    static final long MIN_RANDOM_CALLS = 100_000;
    /** Timeouts up to this many milliseconds are waited out (a few times per sequence). */
    static final int SHORT_TIMEOUT = 3;
    /**
     * The timeout of a connect that gets no answer. Not shorter: java.net.Socket's SOCKS layer
     * spends up to a millisecond or so before it hands over, and when the timeout runs out in
     * there the impl is left open instead of closed, so the clock would pick the outcome.
     */
    static final int CONNECT_TIMEOUT = 25;
    /** Timeouts from this many milliseconds on are long enough for a blocked call to be closed. */
    static final int LONG_TIMEOUT = 10_000;
    /** Calls that wait for a timeout or a close, per world and sequence. */
    static final int TIMED_BUDGET = 3;
    /** Bytes in flight per direction, at most; keeps every write from blocking. */
    static final int PENDING_CAP = 2048;
    /** A step running longer than this is a hang. */
    static final long STEP_HANG_MILLIS = 3_000;
    /** A whole sequence running longer than this is a hang. */
    static final long SEQUENCE_HANG_MILLIS = 60_000;
    /** Longest wait for bytes known to be in flight. */
    static final long SYNC_MILLIS = 1_000;
    /** Steps slower than this are listed in the summary. */
    static final long SLOW_STEP_MILLIS = Long.getLong("rustsocket.randomApi.slowStepMillis", 100);

    private static final boolean SELF_CHECK = Boolean.getBoolean("rustsocket.randomApi.selfCheck");
    private static final Engine SECOND = SELF_CHECK ? Engine.JDK : Engine.RUST;

    /**
     * JDK-version artefact, the only exclusion here. On JDK 17, java.net.Socket and ServerSocket
     * create their SocketImpl lazily, and a few methods that do not check {@code isClosed()}
     * first ({@code supportedOptions()}, {@code getTrafficClass()}) create it even after close:
     * the new impl opens a descriptor that nothing closes, with the JDK's own impl just as with
     * ours (both engines return the same values). Newer JDKs refuse to create an impl for a
     * closed socket. So on a JDK that behaves like 17, every new unconnected socket or server
     * socket gets its impl created at once (by a getSoTimeout() that is not counted); the state
     * "closed before its impl was created" is then left to newer JDKs.
     */
    static final boolean CLOSED_SOCKET_CREATES_IMPL = closedSocketCreatesImpl();

    // ---------------------------------------------------------------- counters

    /** Random API calls made, by world: [0] the JDK's, [1] the one under test. */
    private static final AtomicLong[] RANDOM_CALLS = {new AtomicLong(), new AtomicLong()};
    private static final AtomicLong PROBE_CALLS = new AtomicLong();
    private static final AtomicLong STEPS = new AtomicLong();
    private static final AtomicLong SKIPPED_STEPS = new AtomicLong();
    private static final AtomicLong SEQUENCES = new AtomicLong();
    /** Waits for bytes in flight that ran into their deadline (the bytes did not all arrive). */
    private static final AtomicLong SYNC_TIMEOUTS = new AtomicLong();
    /** Calls that waited out a short timeout, and blocked calls closed by another thread. */
    private static final AtomicLong TIMED_CALLS = new AtomicLong();
    private static final AtomicLong CLOSED_UNDER = new AtomicLong();
    /** Outcomes of the random calls of the world under test: "ok" or the exception's simple name. */
    private static final Map<String, LongAdder> TALLY = new ConcurrentSkipListMap<>();
    private static final Map<String, LongAdder> SKIP_TALLY = new ConcurrentSkipListMap<>();
    /** Random calls on the engine under test, by property. */
    private static final Map<String, LongAdder> CALLS_BY_PROPERTY = new ConcurrentSkipListMap<>();
    private static volatile long startNanos;
    /** Nanoseconds spent per kind of step, both worlds together. */
    private static final Map<Op, LongAdder> OP_NANOS = new ConcurrentSkipListMap<>();
    /** Steps slower than {@link #SLOW_STEP_MILLIS} (both worlds together), for the summary. */
    private static final List<String> SLOW_STEPS = new CopyOnWriteArrayList<>();

    // ---------------------------------------------------------------- fixed arguments

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final InetAddress RAW_127_0_0_1 = address(127, 0, 0, 1);
    private static final InetAddress ANY4 = address(0, 0, 0, 0);
    private static final InetAddress LOOPBACK6 = address(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    private static final InetAddress ANY6 = address(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    /** TEST-NET-1: never local; a connect to it may get no answer at all. */
    private static final InetAddress NON_LOCAL = address(192, 0, 2, 1);
    private static final InetAddress LOOPBACK_2 = address(127, 0, 0, 2);
    /** ::ffff:127.0.0.1, which InetAddress turns into an Inet4Address. */
    private static final InetAddress MAPPED = address(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1);
    /** Where the JDK sends a connect to the wildcard address. */
    private static final InetAddress LOCAL_HOST = localHost();

    /** InetAddress arguments. */
    private static final InetAddress[] INET = {LOOPBACK, null, ANY4, LOOPBACK6, ANY6, NON_LOCAL, LOOPBACK_2, MAPPED,
        RAW_127_0_0_1};
    private static final String[] INET_NAMES = {"loopback", "null", "0.0.0.0", "::1", "::", "192.0.2.1", "127.0.0.2",
        "::ffff:127.0.0.1", "127.0.0.1(raw)"};

    /** Host name arguments; "[::1" fails to resolve at once, without DNS. */
    private static final String[] HOSTS = {"127.0.0.1", null, "localhost", "", "::1", "[::1", "0.0.0.0", "127.0.0.2"};

    /** Interesting ints; the last two entries take the step's raw value. */
    private static final int[] INTS = {0, 1, -1, 2, 3, 8, 64, 255, 256, 1000, 1024, 4096, 65535, 65536,
        Integer.MAX_VALUE, Integer.MIN_VALUE, -2, 5, 16, 100, 128, 131072, 1 << 20, -1000, Integer.MAX_VALUE - 1, 10,
        20_000, 512, 127, Integer.MIN_VALUE + 1, 0, 0};
    private static final int RAW_INT = 30;
    private static final int RAW_SMALL_INT = 31;

    /** Symbolic ports: resolved per world. */
    enum Port {
        L0, ZERO, CLOSED, FREE, S1, NEG1, P65536, MAX, MIN, FULL, SLAST, ZERO2
    }

    /** Kinds of SocketAddress argument. */
    enum Addr {
        LOOPBACK, NULL_INET, ANY4, LOOPBACK6, ANY6, NON_LOCAL, LOOPBACK_2, MAPPED, NULL, UNRESOLVED, UNRESOLVED_BAD,
        CUSTOM
    }

    /** Every standard option, the jdk.net ones where present, an option of no implementation's, and null. */
    private static final List<SocketOption<?>> STANDARD_OPTIONS = optionsOf(StandardSocketOptions.class);
    private static final List<SocketOption<?>> EXTENDED_OPTIONS = extendedOptions();
    /** rustsocket's own Linux options: the JDK has none of them, so comparisons leave them out. */
    private static final List<SocketOption<?>> RUST_ONLY_OPTIONS = optionsOf(RustSocketOptions.class);
    private static final SocketOption<Integer> CUSTOM_OPTION = new SocketOption<>() {
        @Override
        public String name() {
            return "CUSTOM";
        }

        @Override
        public Class<Integer> type() {
            return Integer.class;
        }

        @Override
        public String toString() {
            return "CUSTOM";
        }
    };
    /** jdk.net options whose value the kernel sets by itself: compared by type only. */
    private static final Set<String> KERNEL_OWNED = Set.of("TCP_QUICKACK", "SO_INCOMING_NAPI_ID");
    private static final List<SocketOption<?>> OPTIONS;
    private static final List<SocketOption<?>> OPTIONS_WITH_EXTENDED;

    static {
        List<SocketOption<?>> o = new ArrayList<>(STANDARD_OPTIONS);
        o.add(CUSTOM_OPTION);
        o.add(null);
        OPTIONS = Collections.unmodifiableList(o);
        List<SocketOption<?>> x = new ArrayList<>(EXTENDED_OPTIONS);
        x.addAll(o);
        OPTIONS_WITH_EXTENDED = Collections.unmodifiableList(x);
    }

    /** The address of a listener whose accept queue is full: a connect to it gets no answer. */
    private static TestSupport.FullBacklog fullBacklog;
    private static int fullPort;

    /** Runs the sequences (so that a hung one can be left behind). */
    private static volatile ExecutorService runner;
    /** The other thread that closes objects. */
    private static volatile ExecutorService closer;

    // ---------------------------------------------------------------- steps

    /** What a step does; S_ ops act on a socket slot, SS_ ops on a server socket slot. */
    enum Op {
        S_NEW, S_LEGACY_SET, S_LEGACY_GET, S_SET_OPTION, S_GET_OPTION, S_SUPPORTED, S_BIND, S_CONNECT, S_CLOSE,
        S_SHUTDOWN, S_GET_STREAM, S_READ, S_WRITE, S_AVAILABLE, S_STREAM_MISC, S_URGENT, S_ASYNC_CLOSE, S_MISC,
        SS_NEW, SS_BIND, SS_ACCEPT, SS_CLOSE, SS_LEGACY_SET, SS_LEGACY_GET, SS_SET_OPTION, SS_GET_OPTION,
        SS_SUPPORTED, SS_MISC, SS_ASYNC_CLOSE, X_SET_OPTION, X_GET_OPTION, X_SUPPORTED, SS_X_SET_OPTION,
        SS_X_GET_OPTION, SS_X_SUPPORTED;

        boolean onServer() {
            return name().startsWith("SS_");
        }
    }

    /**
     * One random call (or a few that belong together). {@code t} picks the target object (modulo
     * the number of objects), {@code a}, {@code b}, {@code c}, {@code e} pick arguments from
     * tables (shrinking moves them to the simplest entries), {@code d} is a raw random int.
     */
    record Step(Op op, int t, int a, int b, int c, int e, int d) {
        @Override
        public String toString() {
            return describe(this);
        }
    }

    // ---------------------------------------------------------------- properties

    @BeforeContainer
    static void setUp() throws IOException {
        startNanos = System.nanoTime();
        runner = newRunner();
        closer = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "random-api-closer");
            t.setDaemon(true);
            return t;
        });
        fullBacklog = new TestSupport.FullBacklog();
        fullPort = fullBacklog.address.getPort();
    }

    /** Legacy setters and getters, setOption/getOption and supportedOptions in every state. */
    @Property(tries = 550, edgeCases = EdgeCasesMode.NONE)
    void optionsBehaveLikeTheJdk(@ForAll("optionSteps") List<Step> steps) throws Exception {
        check("optionsBehaveLikeTheJdk", steps);
    }

    /** Constructors, factories, bind, connect, accept, shutdown and close with random arguments. */
    @Property(tries = 480, edgeCases = EdgeCasesMode.NONE)
    void lifeCycleBehavesLikeTheJdk(@ForAll("lifeCycleSteps") List<Step> steps) throws Exception {
        check("lifeCycleBehavesLikeTheJdk", steps);
    }

    /** Reads, writes, available, skip and urgent data on connected pairs, with random offsets and lengths. */
    @Property(tries = 480, edgeCases = EdgeCasesMode.NONE)
    void streamsBehaveLikeTheJdk(@ForAll("streamSteps") List<Step> steps) throws Exception {
        check("streamsBehaveLikeTheJdk", steps);
    }

    /** Server sockets: constructors, factories, bind with backlogs, accept, options, close. */
    @Property(tries = 420, edgeCases = EdgeCasesMode.NONE)
    void serverSocketsBehaveLikeTheJdk(@ForAll("serverSteps") List<Step> steps) throws Exception {
        check("serverSocketsBehaveLikeTheJdk", steps);
    }

    /** Every kind of step in one sequence. */
    @Property(tries = 700, edgeCases = EdgeCasesMode.NONE)
    void everythingBehavesLikeTheJdk(@ForAll("allSteps") List<Step> steps) throws Exception {
        check("everythingBehavesLikeTheJdk", steps);
    }

    /** Reads, writes, accepts and connects blocked in another thread while this one closes the socket. */
    @Property(tries = 80, edgeCases = EdgeCasesMode.NONE)
    void closeByAnotherThreadBehavesLikeTheJdk(@ForAll("asyncCloseSteps") List<Step> steps) throws Exception {
        check("closeByAnotherThreadBehavesLikeTheJdk", steps);
    }

    /**
     * The JDK-specific options of {@code jdk.net.ExtendedSocketOptions} (TCP_KEEPIDLE,
     * TCP_QUICKACK, ...) through setOption, getOption and supportedOptions. Kept apart from the
     * other properties so that a difference here does not hide the others.
     */
    @Property(tries = 80, edgeCases = EdgeCasesMode.NONE)
    void extendedOptionsBehaveLikeTheJdk(@ForAll("extendedOptionSteps") List<Step> steps) throws Exception {
        check("extendedOptionsBehaveLikeTheJdk", steps);
    }

    @Provide
    Arbitrary<List<Step>> optionSteps() {
        Map<Op, Integer> w = new EnumMap<>(Op.class);
        w.put(Op.S_LEGACY_SET, 20);
        w.put(Op.S_LEGACY_GET, 20);
        w.put(Op.S_SET_OPTION, 20);
        w.put(Op.S_GET_OPTION, 20);
        w.put(Op.S_SUPPORTED, 2);
        w.put(Op.SS_LEGACY_SET, 6);
        w.put(Op.SS_LEGACY_GET, 6);
        w.put(Op.SS_SET_OPTION, 6);
        w.put(Op.SS_GET_OPTION, 6);
        w.put(Op.SS_SUPPORTED, 1);
        w.put(Op.S_NEW, 2);
        w.put(Op.S_BIND, 2);
        w.put(Op.S_CONNECT, 3);
        w.put(Op.S_CLOSE, 2);
        w.put(Op.S_SHUTDOWN, 2);
        w.put(Op.SS_NEW, 1);
        w.put(Op.SS_BIND, 1);
        w.put(Op.SS_CLOSE, 1);
        w.put(Op.SS_ACCEPT, 2);
        w.put(Op.S_MISC, 2);
        w.put(Op.SS_MISC, 1);
        return sequences(w, 120);
    }

    @Provide
    Arbitrary<List<Step>> lifeCycleSteps() {
        Map<Op, Integer> w = new EnumMap<>(Op.class);
        w.put(Op.S_NEW, 12);
        w.put(Op.S_BIND, 12);
        w.put(Op.S_CONNECT, 15);
        w.put(Op.S_CLOSE, 6);
        w.put(Op.S_SHUTDOWN, 8);
        w.put(Op.S_GET_STREAM, 8);
        w.put(Op.SS_NEW, 6);
        w.put(Op.SS_BIND, 8);
        w.put(Op.SS_ACCEPT, 12);
        w.put(Op.SS_CLOSE, 3);
        w.put(Op.S_MISC, 5);
        w.put(Op.SS_MISC, 3);
        w.put(Op.S_LEGACY_SET, 3);
        w.put(Op.S_LEGACY_GET, 3);
        w.put(Op.S_READ, 3);
        w.put(Op.S_WRITE, 3);
        return sequences(w, 100);
    }

    @Provide
    Arbitrary<List<Step>> streamSteps() {
        Map<Op, Integer> w = new EnumMap<>(Op.class);
        w.put(Op.S_READ, 30);
        w.put(Op.S_WRITE, 30);
        w.put(Op.S_AVAILABLE, 8);
        w.put(Op.S_STREAM_MISC, 6);
        w.put(Op.S_GET_STREAM, 5);
        w.put(Op.S_SHUTDOWN, 5);
        w.put(Op.S_CLOSE, 2);
        w.put(Op.S_URGENT, 3);
        w.put(Op.S_LEGACY_SET, 5);
        w.put(Op.SS_ACCEPT, 2);
        w.put(Op.S_NEW, 1);
        return sequences(w, 120);
    }

    @Provide
    Arbitrary<List<Step>> serverSteps() {
        Map<Op, Integer> w = new EnumMap<>(Op.class);
        w.put(Op.SS_NEW, 10);
        w.put(Op.SS_BIND, 10);
        w.put(Op.SS_ACCEPT, 10);
        w.put(Op.SS_CLOSE, 4);
        w.put(Op.SS_LEGACY_SET, 10);
        w.put(Op.SS_LEGACY_GET, 10);
        w.put(Op.SS_SET_OPTION, 10);
        w.put(Op.SS_GET_OPTION, 10);
        w.put(Op.SS_SUPPORTED, 2);
        w.put(Op.SS_MISC, 5);
        w.put(Op.S_NEW, 6);
        w.put(Op.S_CONNECT, 6);
        w.put(Op.S_READ, 2);
        w.put(Op.S_WRITE, 2);
        w.put(Op.S_LEGACY_GET, 2);
        return sequences(w, 100);
    }

    @Provide
    Arbitrary<List<Step>> allSteps() {
        Map<Op, Integer> w = new EnumMap<>(Op.class);
        for (Op op : Op.values()) {
            w.put(op, 4);
        }
        w.remove(Op.X_SET_OPTION);
        w.remove(Op.X_GET_OPTION);
        w.remove(Op.SS_X_SET_OPTION);
        w.remove(Op.SS_X_GET_OPTION);
        w.remove(Op.X_SUPPORTED);
        w.remove(Op.SS_X_SUPPORTED);
        w.put(Op.S_ASYNC_CLOSE, 1);
        w.put(Op.SS_ASYNC_CLOSE, 1);
        return sequences(w, 120);
    }

    @Provide
    Arbitrary<List<Step>> asyncCloseSteps() {
        Map<Op, Integer> w = new EnumMap<>(Op.class);
        w.put(Op.S_ASYNC_CLOSE, 6);
        w.put(Op.SS_ASYNC_CLOSE, 3);
        w.put(Op.S_READ, 4);
        w.put(Op.S_WRITE, 4);
        w.put(Op.S_LEGACY_SET, 3);
        w.put(Op.SS_LEGACY_SET, 2);
        w.put(Op.S_NEW, 3);
        w.put(Op.SS_ACCEPT, 2);
        w.put(Op.S_SHUTDOWN, 2);
        w.put(Op.S_CONNECT, 2);
        w.put(Op.S_CLOSE, 2);
        w.put(Op.S_AVAILABLE, 2);
        return sequences(w, 30);
    }

    @Provide
    Arbitrary<List<Step>> extendedOptionSteps() {
        Map<Op, Integer> w = new EnumMap<>(Op.class);
        w.put(Op.X_SET_OPTION, 10);
        w.put(Op.X_GET_OPTION, 10);
        w.put(Op.SS_X_SET_OPTION, 4);
        w.put(Op.SS_X_GET_OPTION, 4);
        w.put(Op.X_SUPPORTED, 2);
        w.put(Op.SS_X_SUPPORTED, 1);
        w.put(Op.S_CLOSE, 1);
        w.put(Op.S_CONNECT, 1);
        w.put(Op.S_NEW, 1);
        return sequences(w, 40);
    }

    private static Arbitrary<List<Step>> sequences(Map<Op, Integer> weights, int maxSize) {
        List<Tuple.Tuple2<Integer, Op>> freq = new ArrayList<>();
        weights.forEach((op, weight) -> freq.add(Tuple.of(weight, op)));
        Arbitrary<Op> ops = Arbitraries.frequency(freq);
        Arbitrary<Integer> target = Arbitraries.integers().between(0, 7);
        Arbitrary<Integer> choice = Arbitraries.integers().between(0, 31);
        Arbitrary<Integer> raw = Arbitraries.integers();
        Arbitrary<Step> step = Combinators.combine(ops, target, choice, choice, choice, choice, raw).as(Step::new);
        return step.list().ofMinSize(1).ofMaxSize(maxSize).withSizeDistribution(RandomDistribution.uniform());
    }

    @AfterContainer
    static void summary() throws IOException {
        try {
            if (fullBacklog != null) {
                fullBacklog.close();
            }
        } finally {
            runner.shutdownNow();
            closer.shutdownNow();
        }
        long jdk = RANDOM_CALLS[0].get();
        long ours = RANDOM_CALLS[1].get();
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
        String tally = TALLY.entrySet().stream().map(en -> en.getKey() + "=" + en.getValue().sum())
                .collect(Collectors.joining(", "));
        String skips = SKIP_TALLY.entrySet().stream().map(en -> en.getKey() + "=" + en.getValue().sum())
                .collect(Collectors.joining(", "));
        String byProperty = CALLS_BY_PROPERTY.entrySet().stream().map(en -> en.getKey() + "=" + en.getValue().sum())
                .collect(Collectors.joining(", "));
        String line = String.format("RandomApiTest: %d random calls on %s and %d on %s [by property: %s]"
                + " (%d steps in %d sequences, %d steps skipped as unbounded, %d calls waited for a timeout or a"
                + " close, %d blocked calls closed by another thread, %d probe calls, %d waits for bytes in flight"
                + " timed out) in %d ms; %s outcomes: %s; skipped: %s",
                jdk, Engine.JDK, ours, SECOND, byProperty, STEPS.get(), SEQUENCES.get(), SKIPPED_STEPS.get(),
                TIMED_CALLS.get(), CLOSED_UNDER.get(), PROBE_CALLS.get(), SYNC_TIMEOUTS.get(), millis, SECOND, tally,
                skips);
        System.out.println(line);
        System.out.println("RandomApiTest: slowest kinds of step (ms): " + OP_NANOS.entrySet().stream()
                .sorted((x, y) -> Long.compare(y.getValue().sum(), x.getValue().sum())).limit(8)
                .map(en -> en.getKey() + "=" + en.getValue().sum() / 1_000_000).collect(Collectors.joining(", "))
                + "; " + SLOW_STEPS.size() + " steps over " + SLOW_STEP_MILLIS + " ms"
                + (SLOW_STEPS.isEmpty() ? "" : ", e.g.\n  "
                        + String.join("\n  ", SLOW_STEPS.subList(0, Math.min(10, SLOW_STEPS.size())))));
        String dir = System.getProperty("rustsocket.reportDir");
        if (dir != null) {
            Path d = Paths.get(dir);
            Files.createDirectories(d);
            Files.write(d.resolve("random-api.txt"), (Instant.now() + " " + line + System.lineSeparator())
                    .getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
        if (anyFailure) {
            System.out.println("RandomApiTest: a property failed, so fewer calls ran; their number is not asserted");
        } else if (jdk < MIN_RANDOM_CALLS || ours < MIN_RANDOM_CALLS) {
            throw new AssertionError("expected at least " + MIN_RANDOM_CALLS + " random calls per engine; " + line);
        }
    }

    // ---------------------------------------------------------------- running a sequence

    private static ExecutorService newRunner() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "random-api-runner");
            t.setDaemon(true);
            return t;
        });
    }

    /** Runs the sequence on both engines under an overall deadline. */
    private static void check(String property, List<Step> steps) throws Exception {
        long before = RANDOM_CALLS[1].get();
        try {
            check(steps);
        } finally {
            CALLS_BY_PROPERTY.computeIfAbsent(property, k -> new LongAdder()).add(RANDOM_CALLS[1].get() - before);
        }
    }

    private static void check(List<Step> steps) throws Exception {
        Future<?> f = runner.submit(() -> {
            try {
                runBoth(steps);
            } catch (Exception | Error e) {
                anyFailure = true;
                throw e;
            }
            return null;
        });
        try {
            f.get(SEQUENCE_HANG_MILLIS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Error) {
                throw (Error) cause;
            }
            throw (Exception) cause;
        } catch (TimeoutException e) {
            f.cancel(true);
            anyFailure = true;
            runner = newRunner(); // the old thread is stuck; leave it
            throw new AssertionError("sequence still running after " + SEQUENCE_HANG_MILLIS + " ms: " + steps);
        }
    }

    /** Set when a property failed: the count of calls is then not asserted (fewer calls ran). */
    private static volatile boolean anyFailure;

    private static void runBoth(List<Step> steps) throws Exception {
        SEQUENCES.incrementAndGet();
        int baseline = Descriptors.openCount();
        World jdk = null;
        World ours = null;
        AssertionError failure = null;
        try {
            jdk = new World(Engine.JDK, 0);
            ours = new World(SECOND, 1);
            List<String> history = new ArrayList<>();
            for (int i = 0; i < steps.size() && failure == null; i++) {
                Step step = steps.get(i);
                STEPS.incrementAndGet();
                long t0 = System.nanoTime();
                List<String> a = jdk.run(step);
                List<String> b = ours.run(step);
                long took = System.nanoTime() - t0;
                OP_NANOS.computeIfAbsent(step.op(), k -> new LongAdder()).add(took);
                if (took > TimeUnit.MILLISECONDS.toNanos(SLOW_STEP_MILLIS)) {
                    SLOW_STEPS.add(TimeUnit.NANOSECONDS.toMillis(took) + " ms: " + a);
                }
                history.add("#" + i + " " + step + "  ->  " + a);
                if (!a.equals(b)) {
                    failure = new AssertionError(mismatch(i, step, a, b, history));
                } else if (jdk.hung != null || ours.hung != null) {
                    failure = new AssertionError("step #" + i + " " + step + " hung: JDK " + jdk.hung + ", "
                            + SECOND + " " + ours.hung + "\n" + String.join("\n", history));
                }
            }
            if (failure == null) {
                List<String> a = jdk.probeAll();
                List<String> b = ours.probeAll();
                if (!a.equals(b)) {
                    failure = new AssertionError(mismatch(steps.size(), null, a, b, history));
                }
            }
        } finally {
            if (jdk != null) {
                jdk.closeAll();
            }
            if (ours != null) {
                ours.closeAll();
            }
        }
        if (failure != null) {
            throw failure;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (Descriptors.openCount() > baseline && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        int open = Descriptors.openCount();
        if (open > baseline) {
            throw new AssertionError((open - baseline) + " descriptor(s) of the library still open after the"
                    + " sequence (openCount " + open + ", baseline " + baseline + "): " + steps);
        }
    }

    private static String mismatch(int index, Step step, List<String> jdk, List<String> ours, List<String> history) {
        StringBuilder sb = new StringBuilder();
        sb.append(step == null ? "final state" : "step #" + index + " " + step).append(" differs from the JDK:\n");
        for (int i = 0; i < Math.max(jdk.size(), ours.size()); i++) {
            String x = i < jdk.size() ? jdk.get(i) : "<nothing>";
            String y = i < ours.size() ? ours.get(i) : "<nothing>";
            if (x.equals(y)) {
                sb.append("      same: ").append(x).append('\n');
            } else {
                sb.append("   JDK    : ").append(x).append('\n');
                sb.append("   ").append(SECOND).append("   : ").append(y).append('\n');
            }
        }
        sb.append("sequence so far:\n").append(String.join("\n", history.subList(0, Math.min(index, history.size()))));
        return sb.toString();
    }

    // ---------------------------------------------------------------- watchdog

    /** Closes the world of a step that runs too long, so that the step returns and fails. */
    private static final class Watchdog implements Runnable {
        private final AtomicReference<World> world = new AtomicReference<>();
        private volatile long since;
        private volatile String label;

        static final Watchdog INSTANCE = start();

        private static Watchdog start() {
            Watchdog w = new Watchdog();
            Thread t = new Thread(w, "random-api-watchdog");
            t.setDaemon(true);
            t.start();
            return w;
        }

        void begin(World w, String what) {
            label = what;
            since = System.nanoTime();
            world.set(w);
        }

        void end() {
            world.set(null);
        }

        @Override
        public void run() {
            while (true) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                World w = world.get();
                if (w != null && System.nanoTime() - since > TimeUnit.MILLISECONDS.toNanos(STEP_HANG_MILLIS)) {
                    if (world.compareAndSet(w, null)) {
                        w.hung = label + " (still running after " + STEP_HANG_MILLIS + " ms; world closed)";
                        w.closeAll();
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- the model

    /** A TCP connection between two sockets of a world (the second may still wait in an accept queue). */
    static final class Conn {
        /** Bytes written toward end i and not read yet (urgent bytes not counted). */
        final int[] pending = new int[2];
        /** Urgent bytes sent toward end i. */
        final int[] urgent = new int[2];
        final boolean[] closed = new boolean[2];
        final boolean[] outputShut = new boolean[2];

        /** So many bytes went toward end i that its reads are no longer planned (nor made). */
        final boolean[] flooded = new boolean[2];

        /** A read at end i cannot block for want of data: the other end sent FIN or RST. */
        boolean eofComing(int i) {
            return closed[1 - i] || outputShut[1 - i];
        }
    }

    /** What the world knows of a socket beyond what its getters say. */
    static final class SockModel {
        final Map<String, String> names = new HashMap<>();
        Conn conn;
        int side;
        InputStream in;
        OutputStream out;
        boolean sndSet;
        boolean rcvSet;
        boolean closedSeen;
        boolean connectFailed;
        boolean sawEof;
    }

    /** What the world knows of a server socket beyond what its getters say. */
    static final class ServerModel {
        int port = -1;
        World.Endpoint endpoint;
        final Map<String, String> names = new HashMap<>();
        int capacity = 50;
        final ArrayDeque<Conn> queue = new ArrayDeque<>();
        boolean rcvSet;
        boolean closedSeen;
    }

    /** How a call that may block goes ahead. */
    enum Plan {
        /** It returns or throws at once. */
        NOW,
        /** It waits out a short timeout. */
        TIMED,
        /** It would block without bound: not made. */
        SKIP
    }

    /** A call of the API, recorded by {@link World#call}. */
    private interface Call<T> {
        T call() throws Exception;
    }

    /** The objects of one engine and its model, and the execution of steps on them. */
    static final class World {
        final Engine engine;
        final int index;
        final List<Socket> socks = new CopyOnWriteArrayList<>();
        final List<SockModel> sm = new CopyOnWriteArrayList<>();
        final List<ServerSocket> servers = new CopyOnWriteArrayList<>();
        final List<ServerModel> svm = new CopyOnWriteArrayList<>();
        final List<Thread> threads = new CopyOnWriteArrayList<>();
        final Map<Integer, String> portNames = new HashMap<>();
        final int closedPort;
        final int freePort;
        int budget = TIMED_BUDGET;
        volatile String hung;

        /** Observations of the current step. */
        private List<String> obs;
        /** Whether the last call returned normally. */
        private boolean lastOk;

        World(Engine engine, int index) throws IOException {
            this.engine = engine;
            this.index = index;
            closedPort = quietPort();
            freePort = quietPort();
            portNames.put(closedPort, "CLOSED");
            portNames.put(freePort, "FREE");
            endpoints.add(new Endpoint("FULL", RAW_127_0_0_1, fullPort));
            try {
                ServerSocket l0 = engine.listen();
                addServer(l0, 50);
                addServer(engine.serverSocket(), 50);
                addSocket(engine.socket());
                Socket client = engine.connect(LOOPBACK, l0.getLocalPort());
                SockModel cm = addSocket(client);
                Conn conn = new Conn();
                cm.conn = conn;
                cm.side = 0;
                Socket server = l0.accept();
                SockModel sm = addSocket(server);
                sm.conn = conn;
                sm.side = 1;
            } catch (IOException | RuntimeException e) {
                closeAll();
                throw e;
            }
        }

        private SockModel addSocket(Socket s) {
            if (CLOSED_SOCKET_CREATES_IMPL && !s.isClosed()) {
                try {
                    s.getSoTimeout(); // creates the impl now (see CLOSED_SOCKET_CREATES_IMPL)
                } catch (IOException ignore) {
                    // then it exists already or the socket is unusable anyway
                }
            }
            SockModel m = new SockModel();
            sm.add(m);
            socks.add(s);
            return m;
        }

        private ServerModel addServer(ServerSocket ss, int capacity) {
            if (CLOSED_SOCKET_CREATES_IMPL && !ss.isClosed()) {
                try {
                    ss.getSoTimeout(); // creates the impl now (see CLOSED_SOCKET_CREATES_IMPL)
                } catch (IOException ignore) {
                    // then it exists already or the socket is unusable anyway
                }
            }
            ServerModel m = new ServerModel();
            m.capacity = capacity;
            svm.add(m);
            servers.add(ss);
            if (ss.isBound()) {
                bound(svm.size() - 1);
            }
            return m;
        }

        /** Server socket i is bound now: its port gets its name. */
        private void bound(int i) {
            ServerModel m = svm.get(i);
            ServerSocket ss = servers.get(i);
            m.port = ss.getLocalPort();
            if (!portNames.containsKey(m.port)) {
                m.endpoint = new Endpoint(i == 0 ? "L0" : "S" + i, ss.getInetAddress(), m.port);
                endpoints.add(m.endpoint);
                m.names.put(ss.getInetAddress().getHostAddress() + "|" + m.port, m.endpoint.name);
            }
        }

        void closeAll() {
            for (Socket s : socks) {
                try {
                    s.close();
                } catch (IOException | RuntimeException ignore) {
                    // best effort
                }
            }
            for (ServerSocket s : servers) {
                try {
                    s.close();
                } catch (IOException | RuntimeException ignore) {
                    // best effort
                }
            }
            for (Thread t : threads) {
                try {
                    t.join(2000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        // ------------------------------------------------------------ naming and rendering

        /**
         * A port by name: the fixed ones, and those of server sockets by slot; any other port is
         * ephemeral, chosen by the kernel (which may even give one port to two connections), so
         * only its class is compared.
         */
        String port(InetAddress address, int p) {
            if (p <= 0) {
                return String.valueOf(p);
            }
            if (context != null) {
                String key = (address == null ? "*" : address.getHostAddress()) + "|" + p;
                return context.computeIfAbsent(key, k -> lookUp(address, p));
            }
            return lookUp(address, p);
        }

        /**
         * The name of a port seen with an address: a quiet port's by number; a listener's only
         * while it is open and on an address that reaches it (a port the kernel chose for one
         * address may be given out again on another).
         */
        private String lookUp(InetAddress address, int p) {
            String quiet = portNames.get(p);
            if (quiet != null) {
                return quiet;
            }
            for (Endpoint e : endpoints) {
                if (e.live && e.port == p && (e.address == null || address == null || address.isAnyLocalAddress()
                        || address.equals(e.address))) {
                    return e.name;
                }
            }
            return "(ephemeral)";
        }

        /** A listening port with a name. */
        static final class Endpoint {
            final String name;
            /** null for the wildcard. */
            final InetAddress address;
            final int port;
            boolean live = true;

            Endpoint(String name, InetAddress address, int port) {
                this.name = name;
                this.address = address == null || address.isAnyLocalAddress() ? null : address;
                this.port = port;
            }
        }

        final List<Endpoint> endpoints = new ArrayList<>();

        /**
         * The names of the ports of the object being called or probed, fixed when first seen: a
         * socket keeps reporting its ports after they were released (after close, or after its
         * listener closed), and the kernel may have given the numbers to someone else since.
         */
        private Map<String, String> context;

        private void own(Map<String, String> names) {
            context = names;
        }

        private void disown() {
            context = null;
        }

        String render(Object v) {
            if (v == null) {
                return "null";
            }
            if (v instanceof InetSocketAddress) {
                InetSocketAddress a = (InetSocketAddress) v;
                return (a.isUnresolved() ? a.getHostString() + "(unresolved)" : String.valueOf(a.getAddress())) + ":"
                        + port(a.getAddress(), a.getPort());
            }
            if (v instanceof Set) {
                Set<String> names = new TreeSet<>();
                for (Object o : (Set<?>) v) {
                    names.add(String.valueOf(o));
                }
                return names.toString();
            }
            if (v instanceof Socket) {
                return "a connected=" + ((Socket) v).isConnected() + " socket";
            }
            if (v instanceof ServerSocket) {
                return "a bound=" + ((ServerSocket) v).isBound() + " server socket";
            }
            if (v instanceof InputStream || v instanceof OutputStream) {
                return v.getClass().getName();
            }
            if (v instanceof byte[]) {
                byte[] b = (byte[]) v;
                return b.length + " bytes #" + Arrays.hashCode(b);
            }
            return String.valueOf(v);
        }

        /** Socket and ServerSocket toString with port numbers replaced by their names. */
        String renderToString(String s, InetAddress remote, InetAddress local) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(local)?port=(\\d+)").matcher(s);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                boolean isLocal = m.group(1) != null;
                m.appendReplacement(sb, m.group(0).replaceAll("\\d+", "")
                        + port(isLocal ? local : remote, Integer.parseInt(m.group(2))));
            }
            m.appendTail(sb);
            return sb.toString();
        }

        static String renderException(Throwable e) {
            if (e instanceof NullPointerException) {
                // HotSpot drops the (helpful) message once the throwing code is compiled
                // (OmitStackTraceInFastThrow), so the JIT decides it: the class only
                return e.getClass().getName() + " (message not compared)";
            }
            return e.getClass().getName() + ": " + e.getMessage();
        }

        // ------------------------------------------------------------ recording calls

        /** Makes one random API call, records its outcome and counts it. */
        <T> T call(String label, Call<T> c) {
            return call(label, c, this::render);
        }

        <T> T call(String label, Call<T> c, java.util.function.Function<T, String> renderer) {
            RANDOM_CALLS[index].incrementAndGet();
            try {
                T v = c.call();
                lastOk = true;
                obs.add(label + " -> " + renderer.apply(v));
                if (index == 1) {
                    tally("ok");
                }
                return v;
            } catch (Exception | Error e) {
                if (e instanceof AssertionError) {
                    throw (AssertionError) e;
                }
                lastOk = false;
                obs.add(label + " -> " + renderException(e));
                if (index == 1) {
                    tally(e.getClass().getSimpleName());
                }
                return null;
            }
        }

        /** A void call. */
        void run(String label, VoidCall c) {
            call(label, () -> {
                c.run();
                return "ok";
            }, String::valueOf);
        }

        void skip(String reason) {
            obs.add("skipped: " + reason);
            if (index == 1) {
                SKIPPED_STEPS.incrementAndGet();
                SKIP_TALLY.computeIfAbsent(reason, k -> new LongAdder()).increment();
            }
        }

        /** A probe: an observation that is not a random call. */
        void probe(String label, Call<Object> c) {
            PROBE_CALLS.incrementAndGet();
            try {
                obs.add(label + "=" + render(c.call()));
            } catch (Exception e) {
                obs.add(label + "=" + renderException(e));
            }
        }

        private static void tally(String key) {
            TALLY.computeIfAbsent(key, k -> new LongAdder()).increment();
        }

        // ------------------------------------------------------------ probes

        void probeSocket(int i) {
            own(sm.get(i).names);
            try {
                probeSocket0(i);
            } finally {
                disown();
            }
        }

        private void probeSocket0(int i) {
            Socket s = socks.get(i);
            StringBuilder sb = new StringBuilder("s" + i + ":");
            PROBE_CALLS.addAndGet(11);
            sb.append(" closed=").append(s.isClosed());
            sb.append(" connected=").append(s.isConnected());
            sb.append(" bound=").append(s.isBound());
            sb.append(" inShut=").append(s.isInputShutdown());
            sb.append(" outShut=").append(s.isOutputShutdown());
            sb.append(" port=").append(port(s.getInetAddress(), s.getPort()));
            sb.append(" localPort=").append(port(s.getLocalAddress(), s.getLocalPort()));
            sb.append(" inet=").append(render(s.getInetAddress()));
            sb.append(" local=").append(render(s.getLocalAddress()));
            sb.append(" remote=").append(render(s.getRemoteSocketAddress()));
            sb.append(" localAddr=").append(render(s.getLocalSocketAddress()));
            obs.add(sb.toString());
        }

        void probeServer(int i) {
            own(svm.get(i).names);
            try {
                probeServer0(i);
            } finally {
                disown();
            }
        }

        private void probeServer0(int i) {
            ServerSocket s = servers.get(i);
            StringBuilder sb = new StringBuilder("ss" + i + ":");
            PROBE_CALLS.addAndGet(5);
            sb.append(" closed=").append(s.isClosed());
            sb.append(" bound=").append(s.isBound());
            sb.append(" localPort=").append(port(s.getInetAddress(), s.getLocalPort()));
            sb.append(" inet=").append(render(s.getInetAddress()));
            sb.append(" localAddr=").append(render(s.getLocalSocketAddress()));
            obs.add(sb.toString());
        }

        List<String> probeAll() {
            obs = new ArrayList<>();
            for (int i = 0; i < socks.size(); i++) {
                probeSocket(i);
            }
            for (int i = 0; i < servers.size(); i++) {
                probeServer(i);
            }
            return obs;
        }

        // ------------------------------------------------------------ resolving arguments

        int intArg(int choice, int raw) {
            int i = Math.floorMod(choice, INTS.length);
            if (i == RAW_INT) {
                return raw;
            }
            if (i == RAW_SMALL_INT) {
                return Math.floorMod(raw, 200_000) - 1000;
            }
            return INTS[i];
        }

        int port(Port p) {
            return port(p, false);
        }

        /** The port number of a symbolic port; {@code forBind} for a local port to bind to. */
        int port(Port p, boolean forBind) {
            switch (p) {
                case L0:
                    return svm.get(0).port;
                case ZERO:
                case ZERO2:
                    return 0;
                case CLOSED:
                    return closedPort;
                case FREE:
                    return freePort;
                case S1:
                    return Math.max(0, svm.get(1).port);
                case NEG1:
                    return -1;
                case P65536:
                    return 65536;
                case MAX:
                    return Integer.MAX_VALUE;
                case MIN:
                    return Integer.MIN_VALUE;
                case FULL:
                    // shared by both worlds: where it would be bound to, each world uses its own L0
                    return forBind ? svm.get(0).port : fullPort;
                case SLAST:
                    return Math.max(0, svm.get(svm.size() - 1).port);
                default:
                    throw new AssertionError(p);
            }
        }

        /** A SocketAddress argument; ports outside 0..65535 (which InetSocketAddress refuses) become 0. */
        SocketAddress socketAddress(Addr kind, Port p, boolean forBind) {
            int port = port(p, forBind);
            if (port < 0 || port > 0xFFFF) {
                port = 0;
            }
            switch (kind) {
                case NULL:
                    return null;
                case UNRESOLVED:
                    return InetSocketAddress.createUnresolved("localhost", port);
                case UNRESOLVED_BAD:
                    return InetSocketAddress.createUnresolved("[::1", port);
                case CUSTOM:
                    return new SocketAddress() {
                        private static final long serialVersionUID = 1L;

                        @Override
                        public String toString() {
                            return "custom";
                        }
                    };
                default:
                    return new InetSocketAddress(INET[kind.ordinal()], port);
            }
        }

        // ------------------------------------------------------------ running a step

        List<String> run(Step step) {
            obs = new ArrayList<>();
            Watchdog.INSTANCE.begin(this, engine + " " + step);
            try {
                if (step.op().onServer()) {
                    int i = Math.floorMod(step.t(), servers.size());
                    int before = servers.size();
                    own(svm.get(i).names);
                    try {
                        runServerStep(step, i);
                    } finally {
                        disown();
                    }
                    afterStep();
                    if (step.op() != Op.SS_NEW) {
                        probeServer(i);
                    }
                    for (int j = before; j < servers.size(); j++) {
                        probeServer(j);
                    }
                } else {
                    int i = Math.floorMod(step.t(), socks.size());
                    int before = socks.size();
                    int beforeServers = servers.size();
                    own(sm.get(i).names);
                    try {
                        runSocketStep(step, i);
                    } finally {
                        disown();
                    }
                    afterStep();
                    if (step.op() != Op.S_NEW) {
                        probeSocket(i);
                    }
                    for (int j = before; j < socks.size(); j++) {
                        probeSocket(j);
                    }
                    for (int j = beforeServers; j < servers.size(); j++) {
                        probeServer(j);
                    }
                }
            } catch (IOException e) {
                obs.add("harness: " + renderException(e));
            } finally {
                Watchdog.INSTANCE.end();
            }
            return obs;
        }

        /** Brings the model up to date with closes, whichever way they happened. */
        private void afterStep() {
            for (int i = 0; i < socks.size(); i++) {
                SockModel m = sm.get(i);
                if (!m.closedSeen && socks.get(i).isClosed()) {
                    m.closedSeen = true;
                    if (m.conn != null) {
                        m.conn.closed[m.side] = true;
                    }
                }
            }
            for (int i = 0; i < servers.size(); i++) {
                ServerModel m = svm.get(i);
                if (!m.closedSeen && servers.get(i).isClosed()) {
                    m.closedSeen = true;
                    if (m.endpoint != null) {
                        m.endpoint.live = false; // the kernel may give the number to another socket now
                    }
                    for (Conn c : m.queue) {
                        c.closed[1] = true;
                    }
                    m.queue.clear();
                }
            }
        }

        /**
         * The in-world listener that takes a connection to {@code address}:{@code port}, if any:
         * one bound to that very address, else one bound to the wildcard; with a null address,
         * any listener on the port (the caller only asks whether its queue is full).
         */
        private ServerModel listenerFor(InetAddress address, int port) {
            if (port <= 0) {
                return null;
            }
            ServerModel wildcard = null;
            for (int i = 0; i < servers.size(); i++) {
                ServerSocket ss = servers.get(i);
                if (svm.get(i).port != port || !ss.isBound() || ss.isClosed()) {
                    continue;
                }
                InetAddress local = ss.getInetAddress();
                if (address == null || address.equals(local)) {
                    return svm.get(i);
                }
                if (local != null && local.isAnyLocalAddress()) {
                    wildcard = svm.get(i);
                }
            }
            return wildcard;
        }

        /**
         * Whether {@code address} is not an address of the listener behind {@code p}. A port that
         * the kernel chose for one address of a listener is only unique on that address; on another
         * one, the other world may be using the same number, so the outcome would be theirs.
         */
        boolean otherAddress(InetAddress address, Port p, boolean forBind) {
            InetAddress local;
            if (p == Port.FULL && !forBind) {
                local = RAW_127_0_0_1;
            } else {
                int k;
                switch (p) {
                    case L0:
                    case FULL:
                        k = 0;
                        break;
                    case S1:
                        k = 1;
                        break;
                    case SLAST:
                        k = servers.size() - 1;
                        break;
                    default:
                        return false;
                }
                ServerSocket ss = servers.get(k);
                if (ss.isClosed() && svm.get(k).port > 0) {
                    return true; // its port is released: someone else on this host may have it now
                }
                local = ss.getInetAddress();
            }
            if (local == null || local.isAnyLocalAddress() || address == null) {
                return false;
            }
            if (address.isAnyLocalAddress()) {
                if (forBind) {
                    return false;
                }
                address = LOCAL_HOST; // where a connect to the wildcard goes
            }
            return !local.equals(address);
        }

        /** A connect to this port could wait in a full accept queue. */
        private boolean queueFull(int port) {
            for (int i = 0; i < servers.size(); i++) {
                ServerModel m = svm.get(i);
                if (m.port == port && port > 0 && m.queue.size() >= Math.min(m.capacity, 4096)) {
                    return true;
                }
            }
            return false;
        }

        /** After a connect succeeded: the connection joins the accept queue of the listener. */
        private void connected(SockModel m, Socket s) {
            Conn conn = new Conn();
            m.conn = conn;
            m.side = 0;
            ServerModel l = listenerFor(s.getInetAddress(), s.getPort());
            if (l != null) {
                l.queue.add(conn);
            } else {
                conn.closed[1] = true; // nobody in this world will read or write the other end
            }
        }

        private boolean takeBudget() {
            if (budget > 0) {
                budget--;
                if (index == 1) {
                    TIMED_CALLS.incrementAndGet();
                }
                return true;
            }
            return false;
        }

        private int soTimeout(Socket s) {
            try {
                return s.getSoTimeout();
            } catch (IOException e) {
                return -1;
            }
        }

        private int soTimeout(ServerSocket s) {
            try {
                return s.getSoTimeout();
            } catch (IOException e) {
                return -1;
            }
        }

        /** How a call that waits for data (or a connection) can go when nothing is coming. */
        private Plan whenNothingComes(int timeout) {
            if (timeout >= 1 && timeout <= SHORT_TIMEOUT && takeBudget()) {
                return Plan.TIMED;
            }
            return Plan.SKIP;
        }

        // ------------------------------------------------------------ socket steps

        private void runSocketStep(Step st, int i) throws IOException {
            Socket s = socks.get(i);
            SockModel m = sm.get(i);
            String p = "s" + i + ".";
            switch (st.op()) {
                case S_NEW:
                    newSocket(st);
                    break;
                case S_LEGACY_SET:
                    legacySet(s, m, p, st);
                    break;
                case S_LEGACY_GET:
                    legacyGet(s, m, p, st);
                    break;
                case S_SET_OPTION:
                case X_SET_OPTION:
                    setOption(p, st, st.op() == Op.X_SET_OPTION, m, (o, v) -> s.setOption(o, v));
                    break;
                case S_GET_OPTION:
                case X_GET_OPTION: {
                    SocketOption<?> o = option(st, st.op() == Op.X_GET_OPTION);
                    call(p + "getOption(" + o + ")", () -> s.getOption(o), v -> renderOption(o, v, m.sndSet, m.rcvSet));
                    break;
                }
                case S_SUPPORTED:
                case X_SUPPORTED:
                    call(p + "supportedOptions()", s::supportedOptions,
                            v -> renderOptions(v, st.op() == Op.X_SUPPORTED));
                    break;
                case S_BIND: {
                    Addr kind = Addr.values()[Math.floorMod(st.a(), Addr.values().length)];
                    Port port = Port.values()[Math.floorMod(st.b(), Port.values().length)];
                    SocketAddress sa = socketAddress(kind, port, true);
                    if (sa instanceof InetSocketAddress && !((InetSocketAddress) sa).isUnresolved()
                            && otherAddress(((InetSocketAddress) sa).getAddress(), port, true)) {
                        skip("bind to the port of a listener on another address");
                        break;
                    }
                    run(p + "bind(" + kind + ":" + port + ")", () -> s.bind(sa));
                    break;
                }
                case S_CONNECT:
                    connect(s, m, p, st);
                    break;
                case S_CLOSE:
                    close(s, p, st);
                    break;
                case S_SHUTDOWN:
                    if (st.a() % 2 == 0) {
                        run(p + "shutdownInput()", s::shutdownInput);
                    } else {
                        run(p + "shutdownOutput()", s::shutdownOutput);
                        if (lastOk && m.conn != null) {
                            m.conn.outputShut[m.side] = true;
                        }
                    }
                    break;
                case S_GET_STREAM:
                    if (st.a() % 2 == 0) {
                        InputStream in = call(p + "getInputStream()", s::getInputStream);
                        if (in != null) {
                            m.in = in;
                        }
                    } else {
                        OutputStream out = call(p + "getOutputStream()", s::getOutputStream);
                        if (out != null) {
                            m.out = out;
                        }
                    }
                    break;
                case S_READ:
                    read(s, m, p, st);
                    break;
                case S_WRITE:
                    write(s, m, p, st);
                    break;
                case S_AVAILABLE:
                    available(s, m, p, st);
                    break;
                case S_STREAM_MISC:
                    streamMisc(s, m, p, st);
                    break;
                case S_URGENT:
                    urgent(s, m, p, st);
                    break;
                case S_ASYNC_CLOSE:
                    asyncClose(s, m, p, st);
                    break;
                case S_MISC:
                    switch (Math.floorMod(st.a(), 3)) {
                        case 0:
                            call(p + "toString()", s::toString,
                                    v -> renderToString(v, s.getInetAddress(), s.getLocalAddress()));
                            break;
                        case 1:
                            call(p + "getChannel()", s::getChannel);
                            break;
                        default: {
                            int x = intArg(st.b(), st.d());
                            int y = intArg(st.c(), st.d());
                            int z = intArg(st.e(), st.d());
                            run(p + "setPerformancePreferences(" + x + "," + y + "," + z + ")",
                                    () -> s.setPerformancePreferences(x, y, z));
                        }
                    }
                    break;
                default:
                    throw new AssertionError(st.op());
            }
        }

        private void legacySet(Socket s, SockModel m, String p, Step st) {
            int v = intArg(st.b(), st.d());
            boolean on = st.c() % 2 == 1;
            switch (Math.floorMod(st.a(), 9)) {
                case 0:
                    run(p + "setSoTimeout(" + v + ")", () -> s.setSoTimeout(v));
                    break;
                case 1:
                    run(p + "setTcpNoDelay(" + on + ")", () -> s.setTcpNoDelay(on));
                    break;
                case 2:
                    run(p + "setSoLinger(" + on + "," + v + ")", () -> s.setSoLinger(on, v));
                    break;
                case 3:
                    run(p + "setSendBufferSize(" + v + ")", () -> s.setSendBufferSize(v));
                    m.sndSet |= lastOk;
                    break;
                case 4:
                    run(p + "setReceiveBufferSize(" + v + ")", () -> s.setReceiveBufferSize(v));
                    m.rcvSet |= lastOk;
                    break;
                case 5:
                    run(p + "setKeepAlive(" + on + ")", () -> s.setKeepAlive(on));
                    break;
                case 6:
                    run(p + "setTrafficClass(" + v + ")", () -> s.setTrafficClass(v));
                    break;
                case 7:
                    run(p + "setReuseAddress(" + on + ")", () -> s.setReuseAddress(on));
                    break;
                default:
                    run(p + "setOOBInline(" + on + ")", () -> s.setOOBInline(on));
            }
        }

        private void legacyGet(Socket s, SockModel m, String p, Step st) {
            switch (Math.floorMod(st.a(), 9)) {
                case 0:
                    call(p + "getSoTimeout()", s::getSoTimeout);
                    break;
                case 1:
                    call(p + "getTcpNoDelay()", s::getTcpNoDelay);
                    break;
                case 2:
                    call(p + "getSoLinger()", s::getSoLinger);
                    break;
                case 3:
                    call(p + "getSendBufferSize()", s::getSendBufferSize, v -> bufferSize(v, m.sndSet));
                    break;
                case 4:
                    call(p + "getReceiveBufferSize()", s::getReceiveBufferSize, v -> bufferSize(v, m.rcvSet));
                    break;
                case 5:
                    call(p + "getKeepAlive()", s::getKeepAlive);
                    break;
                case 6:
                    call(p + "getTrafficClass()", s::getTrafficClass);
                    break;
                case 7:
                    call(p + "getReuseAddress()", s::getReuseAddress);
                    break;
                default:
                    call(p + "getOOBInline()", s::getOOBInline);
            }
        }

        /** A buffer size read back: exact once set, else only its sign (TCP auto-tuning moves it). */
        static String bufferSize(Integer v, boolean set) {
            if (v == null || set) {
                return String.valueOf(v);
            }
            return v > 0 ? "(a positive size)" : String.valueOf(v);
        }

        /**
         * A set of supported options: all of it with {@code extended}, else the standard ones and
         * any that are neither standard nor jdk.net's (the jdk.net ones are compared by the
         * extended-option property, so that their absence does not hide other differences).
         */
        static String renderOptions(Set<SocketOption<?>> v, boolean extended) {
            Set<String> names = new TreeSet<>();
            for (SocketOption<?> o : v) {
                if ((extended || !EXTENDED_OPTIONS.contains(o)) && !RUST_ONLY_OPTIONS.contains(o)) {
                    names.add(o.name());
                }
            }
            return names.toString();
        }

        String renderOption(SocketOption<?> o, Object v, boolean sndSet, boolean rcvSet) {
            if (o != null && KERNEL_OWNED.contains(o.name()) && v != null) {
                // the kernel changes these by itself (quick-ack mode comes and goes with traffic)
                return "(a " + v.getClass().getSimpleName() + ")";
            }
            if (o == StandardSocketOptions.SO_SNDBUF && v instanceof Integer) {
                return bufferSize((Integer) v, sndSet);
            }
            if (o == StandardSocketOptions.SO_RCVBUF && v instanceof Integer) {
                return bufferSize((Integer) v, rcvSet);
            }
            return render(v);
        }

        static SocketOption<?> option(Step st, boolean extended) {
            List<SocketOption<?>> list = extended ? OPTIONS_WITH_EXTENDED : OPTIONS;
            if (extended && !EXTENDED_OPTIONS.isEmpty() && st.e() % 4 != 0) {
                // mostly the extended ones
                return EXTENDED_OPTIONS.get(Math.floorMod(st.a(), EXTENDED_OPTIONS.size()));
            }
            return list.get(Math.floorMod(st.a(), list.size()));
        }

        Object optionValue(Step st) {
            int v = intArg(st.c(), st.d());
            switch (Math.floorMod(st.b(), 6)) {
                case 0:
                case 3:
                    return v;
                case 1:
                    return st.c() % 2 == 1;
                case 2:
                    return null;
                case 4:
                    return "x";
                default:
                    return (long) v;
            }
        }

        /** setOption on a socket or server socket. */
        private interface OptionSetter {
            void set(SocketOption<Object> o, Object v) throws IOException;
        }

        @SuppressWarnings("unchecked")
        private void setOption(String p, Step st, boolean extended, Object model, OptionSetter setter) {
            SocketOption<Object> o = (SocketOption<Object>) option(st, extended);
            Object v = optionValue(st);
            String shown = v instanceof Long ? v + "L" : v instanceof String ? "\"" + v + "\"" : String.valueOf(v);
            run(p + "setOption(" + o + "," + shown + ")", () -> setter.set(o, v));
            if (lastOk && model instanceof SockModel) {
                SockModel m = (SockModel) model;
                m.sndSet |= (Object) o == StandardSocketOptions.SO_SNDBUF;
                m.rcvSet |= (Object) o == StandardSocketOptions.SO_RCVBUF;
            } else if (lastOk && model instanceof ServerModel) {
                ((ServerModel) model).rcvSet |= (Object) o == StandardSocketOptions.SO_RCVBUF;
            }
        }

        // ------------------------------------------------------------ new sockets

        private static final String[] CTOR = {"Socket()", "Socket(String,int)", "Socket(InetAddress,int)",
            "Socket(String,int,InetAddress,int)", "Socket(InetAddress,int,InetAddress,int)"};

        private void newSocket(Step st) {
            if (socks.size() >= 10) {
                skip("enough sockets");
                return;
            }
            int kind = Math.floorMod(st.a(), 10);
            boolean factory = kind >= 5;
            int shape = kind % 5;
            String host = HOSTS[Math.floorMod(st.b(), HOSTS.length)];
            InetAddress addr = INET[Math.floorMod(st.b(), INET.length)];
            String addrName = INET_NAMES[Math.floorMod(st.b(), INET.length)];
            Port rp = Port.values()[Math.floorMod(st.c(), Port.values().length)];
            InetAddress local = INET[Math.floorMod(st.e(), INET.length)];
            String localName = INET_NAMES[Math.floorMod(st.e(), INET.length)];
            Port lp = Port.values()[Math.floorMod(st.d(), Port.values().length)];
            int remotePort = port(rp);
            int localPort = port(lp, true);
            boolean rust = engine == Engine.RUST;
            String label;
            Call<Socket> c;
            switch (shape) {
                case 0:
                    label = "()";
                    c = () -> factory ? factory(rust).createSocket() : engine.socket();
                    break;
                case 1:
                    label = "(\"" + host + "\"," + rp + ")";
                    c = () -> factory ? factory(rust).createSocket(host, remotePort)
                            : rust ? new RustSocket(host, remotePort) : new Socket(host, remotePort);
                    break;
                case 2:
                    label = "(" + addrName + "," + rp + ")";
                    c = () -> factory ? factory(rust).createSocket(addr, remotePort)
                            : rust ? new RustSocket(addr, remotePort) : new Socket(addr, remotePort);
                    break;
                case 3:
                    label = "(\"" + host + "\"," + rp + "," + localName + "," + lp + ")";
                    c = () -> factory ? factory(rust).createSocket(host, remotePort, local, localPort)
                            : rust ? new RustSocket(host, remotePort, local, localPort)
                                    : new Socket(host, remotePort, local, localPort);
                    break;
                default:
                    label = "(" + addrName + "," + rp + "," + localName + "," + lp + ")";
                    c = () -> factory ? factory(rust).createSocket(addr, remotePort, local, localPort)
                            : rust ? new RustSocket(addr, remotePort, local, localPort)
                                    : new Socket(addr, remotePort, local, localPort);
            }
            if (shape != 0) {
                // a connect that could get no answer, or wait in a full accept queue, is not made
                boolean remoteNonLocal = shape == 2 || shape == 4 ? addr == NON_LOCAL : false;
                if (rp == Port.FULL || remoteNonLocal || queueFull(remotePort)) {
                    skip("connect without a timeout could block");
                    return;
                }
                InetAddress dest = shape == 1 || shape == 3 ? resolve(host) : addr;
                if (dest != null && otherAddress(dest, rp, false)
                        || (shape == 3 || shape == 4) && otherAddress(local, lp, true)) {
                    skip("connect to, or bind to, the port of a listener on another address");
                    return;
                }
                if ((shape == 3 || shape == 4) && localPort == remotePort && localPort > 0) {
                    skip("self-connect");
                    return;
                }
            }
            String name = (factory ? "factory.createSocket" : "new " + CTOR[shape].replaceAll("\\(.*", "")) + label;
            Socket s = call(name, c);
            if (s != null) {
                SockModel m = addSocket(s);
                if (s.isConnected()) {
                    connected(m, s);
                }
            }
        }

        private static SocketFactory factory(boolean rust) {
            return rust ? RustSocketFactory.getDefault() : SocketFactory.getDefault();
        }

        private static ServerSocketFactory serverFactory(boolean rust) {
            return rust ? RustServerSocketFactory.getDefault() : ServerSocketFactory.getDefault();
        }

        // ------------------------------------------------------------ connect and close

        /** -100 stands for connect(address) without a timeout. */
        private static final int[] CONNECT_TIMEOUTS = {-100, 0, -1, CONNECT_TIMEOUT, 1, 1000, Integer.MAX_VALUE,
            Integer.MIN_VALUE};

        private void connect(Socket s, SockModel m, String p, Step st) {
            Addr kind = Addr.values()[Math.floorMod(st.a(), Addr.values().length)];
            Port port = Port.values()[Math.floorMod(st.b(), Port.values().length)];
            int tc = Math.floorMod(st.c(), CONNECT_TIMEOUTS.length);
            int timeout = CONNECT_TIMEOUTS[tc];
            boolean untimed = timeout == -100;
            SocketAddress sa = socketAddress(kind, port, false);
            int target = sa instanceof InetSocketAddress ? ((InetSocketAddress) sa).getPort() : -1;
            // refused by java.net.Socket itself, before the impl (and the clock) has a say
            boolean refusedBySocket = s.isClosed() || s.isConnected() || timeout < 0 && !untimed
                    || !(sa instanceof InetSocketAddress);
            boolean immediate = refusedBySocket || m.connectFailed || ((InetSocketAddress) sa).isUnresolved();
            if (!refusedBySocket && timeout >= 1 && timeout < CONNECT_TIMEOUT) {
                skip("connect with a timeout so short that the clock decides");
                return;
            }
            if (!immediate) {
                boolean noAnswer = port == Port.FULL || kind == Addr.NON_LOCAL;
                InetAddress dest = ((InetSocketAddress) sa).getAddress();
                if (noAnswer) {
                    if (!(timeout == CONNECT_TIMEOUT && takeBudget())) {
                        skip("connect that may get no answer, without a short timeout");
                        return;
                    }
                } else if (otherAddress(dest, port, false)) {
                    skip("connect to the port of a listener on another address");
                    return;
                } else if (queueFull(target)) {
                    skip("connect to a full accept queue");
                    return;
                } else if (target > 0 && target == s.getLocalPort()) {
                    skip("self-connect");
                    return;
                }
            }
            String label = p + "connect(" + kind + ":" + port + (untimed ? "" : "," + timeout) + ")";
            if (untimed) {
                run(label, () -> s.connect(sa));
            } else {
                // java.net.Socket's SOCKS layer throws its own SocketTimeoutException, without a
                // message, when the timeout has run out before it hands over: the clock picks the message
                run(label, () -> {
                    try {
                        s.connect(sa, timeout);
                    } catch (java.net.SocketTimeoutException e) {
                        throw new java.net.SocketTimeoutException("(message not compared)");
                    } catch (IOException e) {
                        if (kind == Addr.NON_LOCAL && !immediate) {
                            // whether a non-local address answers, and how fast, is the network's
                            // business (some sandboxes refuse it after a while): failed is failed
                            throw new java.net.SocketTimeoutException("(message not compared)");
                        }
                        throw e;
                    }
                });
            }
            if (lastOk) {
                connected(m, s);
            } else if (!s.isConnected()) {
                m.connectFailed |= !immediate;
            }
        }

        private void close(Socket s, String p, Step st) {
            switch (Math.floorMod(st.a(), 4)) {
                case 0:
                    run(p + "close()", s::close);
                    break;
                case 1:
                    run(p + "close() by another thread", () -> inOtherThread(s::close));
                    break;
                case 2: {
                    InputStream in = call(p + "getInputStream()", s::getInputStream);
                    if (in != null) {
                        run(p + "getInputStream().close()", in::close);
                    }
                    break;
                }
                default: {
                    OutputStream out = call(p + "getOutputStream()", s::getOutputStream);
                    if (out != null) {
                        run(p + "getOutputStream().close()", out::close);
                    }
                }
            }
        }

        /** Runs {@code c} in the closer thread and waits for it. */
        private static void inOtherThread(VoidCall c) throws Exception {
            Future<?> f = closer.submit(() -> {
                c.run();
                return null;
            });
            try {
                f.get(STEP_HANG_MILLIS, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                throw (Exception) e.getCause();
            } catch (TimeoutException e) {
                throw new AssertionError("close() in another thread still running after " + STEP_HANG_MILLIS + " ms");
            }
        }

        // ------------------------------------------------------------ streams

        private static final int[] BUFFERS = {0, 1, 8, 64, 1000, 3000};
        private static final int[] OFFSETS = {0, 1, -1, 2, 7, 8, 63, 64, 999, Integer.MAX_VALUE, Integer.MIN_VALUE, 3};
        private static final int[] LENGTHS = {1, 0, -1, 2, 7, 8, 64, 1000, Integer.MAX_VALUE, Integer.MIN_VALUE, 3000,
            500};

        /** The socket's input stream, the cached one or a fresh getInputStream() call (recorded). */
        private InputStream in(Socket s, SockModel m, String p, boolean cached) {
            if (cached && m.in != null) {
                return m.in;
            }
            InputStream in = call(p + "getInputStream()", s::getInputStream);
            if (in != null) {
                m.in = in;
            }
            return in;
        }

        private OutputStream out(Socket s, SockModel m, String p, boolean cached) {
            if (cached && m.out != null) {
                return m.out;
            }
            OutputStream out = call(p + "getOutputStream()", s::getOutputStream);
            if (out != null) {
                m.out = out;
            }
            return out;
        }

        /**
         * Whether a read that needs {@code need} bytes (or EOF) returns at once: from the flags of
         * the socket and the model of the connection.
         */
        private Plan planRead(Socket s, SockModel m, int need) {
            if (need <= 0 || s.isClosed() || !s.isConnected() || s.isInputShutdown() || m.sawEof) {
                return Plan.NOW;
            }
            Conn c = m.conn;
            if (c != null && c.flooded[m.side]) {
                return Plan.SKIP;
            }
            if (c != null && (c.eofComing(m.side) || c.pending[m.side] >= need)) {
                return Plan.NOW;
            }
            if (c != null && c.pending[m.side] > 0) {
                return Plan.SKIP; // some bytes, not enough: a timeout would cut the read in the middle
            }
            return whenNothingComes(soTimeout(s));
        }

        /** Waits until the bytes the model says are in flight toward this socket have arrived. */
        private void sync(Socket s, SockModel m, int want) {
            Conn c = m.conn;
            if (c == null || s.isClosed() || !s.isConnected() || s.isInputShutdown()) {
                return;
            }
            int target = Math.min(c.pending[m.side], want);
            if (target <= 0) {
                return;
            }
            // after urgent data, available() stops at the urgent mark: then any byte will do
            boolean urgent = c.urgent[m.side] > 0;
            long limit = urgent ? 5 : SYNC_MILLIS;
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limit);
            try {
                InputStream in = s.getInputStream();
                int n;
                while ((n = in.available()) < target && !(urgent && n > 0)) {
                    if (System.nanoTime() > deadline) {
                        SYNC_TIMEOUTS.incrementAndGet();
                        break;
                    }
                    LockSupport.parkNanos(20_000);
                }
            } catch (IOException e) {
                // the read itself will tell
            }
        }

        private void consumed(SockModel m, int n) {
            if (m.conn != null && n > 0) {
                m.conn.pending[m.side] = Math.max(0, m.conn.pending[m.side] - n);
            }
        }

        private void read(Socket s, SockModel m, String p, Step st) {
            boolean cached = (st.d() & 1) == 0;
            int kind = Math.floorMod(st.a(), 8);
            int size = BUFFERS[Math.floorMod(st.b(), BUFFERS.length)];
            int off = OFFSETS[Math.floorMod(st.c(), OFFSETS.length)];
            int len = LENGTHS[Math.floorMod(st.e(), LENGTHS.length)];
            boolean valid = off >= 0 && len >= 0 && off <= size - len;
            int need;
            String label;
            switch (kind) {
                case 0:
                    need = 1;
                    label = "read()";
                    break;
                case 1:
                    need = size > 0 ? 1 : 0;
                    label = "read(byte[" + size + "])";
                    break;
                case 2:
                    need = valid ? Math.min(len, 1) : 0;
                    label = "read(byte[" + size + "]," + off + "," + len + ")";
                    break;
                case 3:
                    need = 0;
                    label = "read(null," + off + "," + len + ")";
                    break;
                case 4:
                    need = valid ? len : 0;
                    label = "readNBytes(byte[" + size + "]," + off + "," + len + ")";
                    break;
                case 5:
                    need = len < 0 ? 0 : Math.min(len, size);
                    label = "readNBytes(" + Math.min(len, size) + (len < 0 ? "" : "") + ")";
                    break;
                case 6:
                    need = len <= 0 ? 0 : Math.min(len, 3000);
                    label = "skip(" + (len <= 0 ? (long) len : Math.min(len, 3000)) + ")";
                    break;
                default:
                    need = Integer.MAX_VALUE; // only when EOF is coming
                    label = "readAllBytes()";
            }
            Plan plan = planRead(s, m, need);
            if (kind == 7 && plan == Plan.NOW && !s.isClosed() && s.isConnected() && !s.isInputShutdown()
                    && !m.sawEof && (m.conn == null || !m.conn.eofComing(m.side))) {
                plan = Plan.SKIP;
            }
            if (plan == Plan.SKIP) {
                obs.add(p + "in." + label);
                skip("read that could block");
                return;
            }
            InputStream in = in(s, m, p, cached);
            if (in == null) {
                return;
            }
            if (plan == Plan.NOW) {
                sync(s, m, need == Integer.MAX_VALUE ? Integer.MAX_VALUE : Math.max(need, Math.min(len, size)));
            }
            String l = p + "in." + label;
            byte[] b = new byte[size];
            switch (kind) {
                case 0: {
                    Integer v = call(l, in::read);
                    if (v != null && v >= 0) {
                        consumed(m, 1);
                    }
                    m.sawEof |= v != null && v < 0;
                    break;
                }
                case 1: {
                    Integer n = call(l, () -> in.read(b));
                    readResult(m, b, 0, n);
                    break;
                }
                case 2: {
                    Integer n = call(l, () -> in.read(b, off, len));
                    readResult(m, b, off, n);
                    break;
                }
                case 3:
                    call(l, () -> in.read(null, off, len));
                    break;
                case 4: {
                    Integer n = call(l, () -> in.readNBytes(b, off, len));
                    readResult(m, b, off, n);
                    break;
                }
                case 5: {
                    int n = Math.min(len, size);
                    byte[] r = call(l, () -> in.readNBytes(n));
                    if (r != null) {
                        consumed(m, r.length);
                    }
                    break;
                }
                case 6: {
                    long n = len <= 0 ? len : Math.min(len, 3000);
                    Long k = call(l, () -> in.skip(n));
                    if (k != null) {
                        consumed(m, k.intValue());
                    }
                    break;
                }
                default: {
                    byte[] r = call(l, in::readAllBytes);
                    if (r != null) {
                        consumed(m, r.length);
                        m.sawEof = true;
                    }
                }
            }
            if (plan == Plan.TIMED && !lastOk && m.conn != null) {
                m.conn.pending[m.side] = 0;
            }
        }

        private void readResult(SockModel m, byte[] b, int off, Integer n) {
            if (n == null) {
                return;
            }
            if (n > 0) {
                consumed(m, n);
                obs.add("  bytes read: #" + Arrays.hashCode(Arrays.copyOfRange(b, off, off + n)));
            } else if (n < 0) {
                m.sawEof = true;
            }
        }

        private void write(Socket s, SockModel m, String p, Step st) {
            boolean cached = (st.d() & 1) == 0;
            int kind = Math.floorMod(st.a(), 5);
            int size = BUFFERS[Math.floorMod(st.b(), BUFFERS.length)];
            int off = OFFSETS[Math.floorMod(st.c(), OFFSETS.length)];
            int len = LENGTHS[Math.floorMod(st.e(), LENGTHS.length)];
            boolean valid = off >= 0 && len >= 0 && off <= size - len;
            int bytes;
            String label;
            switch (kind) {
                case 0:
                    bytes = 1;
                    label = "write(" + st.d() + ")";
                    break;
                case 1:
                    bytes = size;
                    label = "write(byte[" + size + "])";
                    break;
                case 2:
                case 4:
                    bytes = valid ? len : 0;
                    label = "write(byte[" + size + "]," + off + "," + len + ")";
                    break;
                default:
                    bytes = 0;
                    label = "write(null," + off + "," + len + ")";
            }
            Conn c = m.conn;
            if (c != null && bytes > 0 && !c.closed[1 - m.side]
                    && c.pending[1 - m.side] + c.urgent[1 - m.side] + bytes > PENDING_CAP) {
                skip("write beyond what the buffers surely hold");
                return;
            }
            OutputStream out = out(s, m, p, cached || kind == 4);
            if (out == null) {
                return;
            }
            byte[] b = new byte[size];
            for (int k = 0; k < size; k++) {
                b[k] = (byte) (st.d() + 31 * k);
            }
            String l = p + "out." + label;
            switch (kind) {
                case 0:
                    run(l, () -> out.write(st.d()));
                    break;
                case 1:
                    run(l, () -> out.write(b));
                    break;
                case 2:
                case 4:
                    run(l, () -> out.write(b, off, len));
                    break;
                default:
                    run(l, () -> out.write(null, off, len));
            }
            if (lastOk && c != null) {
                c.pending[1 - m.side] += bytes;
            }
        }

        private void available(Socket s, SockModel m, String p, Step st) {
            if (m.conn != null && m.conn.flooded[m.side] && !s.isClosed() && !s.isInputShutdown()) {
                skip("available() after a flood: the clock decides");
                return;
            }
            InputStream in = in(s, m, p, (st.d() & 1) == 0);
            if (in == null) {
                return;
            }
            sync(s, m, Integer.MAX_VALUE);
            Conn c = m.conn;
            if (c != null && c.urgent[m.side] > 0) {
                // after urgent data the count depends on where the urgent mark is: compare its sign
                call(p + "in.available()", in::available, v -> v > 0 ? "(positive)" : String.valueOf(v));
            } else {
                call(p + "in.available()", in::available);
            }
        }

        private void streamMisc(Socket s, SockModel m, String p, Step st) {
            boolean cached = (st.d() & 1) == 0;
            switch (Math.floorMod(st.a(), 5)) {
                case 0: {
                    InputStream in = in(s, m, p, cached);
                    if (in != null) {
                        call(p + "in.markSupported()", in::markSupported);
                    }
                    break;
                }
                case 1: {
                    InputStream in = in(s, m, p, cached);
                    int v = intArg(st.b(), st.d());
                    if (in != null) {
                        run(p + "in.mark(" + v + ")", () -> in.mark(v));
                    }
                    break;
                }
                case 2: {
                    InputStream in = in(s, m, p, cached);
                    if (in != null) {
                        run(p + "in.reset()", in::reset);
                    }
                    break;
                }
                case 3: {
                    OutputStream out = out(s, m, p, cached);
                    if (out != null) {
                        run(p + "out.flush()", out::flush);
                    }
                    break;
                }
                default: {
                    if (st.b() % 2 == 0) {
                        InputStream in = in(s, m, p, cached);
                        if (in != null) {
                            run(p + "in.close()", in::close);
                        }
                    } else {
                        OutputStream out = out(s, m, p, cached);
                        if (out != null) {
                            run(p + "out.close()", out::close);
                        }
                    }
                }
            }
        }

        private void urgent(Socket s, SockModel m, String p, Step st) {
            Conn c = m.conn;
            if (c != null && !c.closed[1 - m.side] && c.pending[1 - m.side] + c.urgent[1 - m.side] + 1 > PENDING_CAP) {
                skip("urgent data beyond what the buffers surely hold");
                return;
            }
            int v = st.d();
            run(p + "sendUrgentData(" + v + ")", () -> s.sendUrgentData(v));
            if (lastOk && c != null) {
                c.urgent[1 - m.side]++;
            }
        }

        // ------------------------------------------------------------ close by another thread

        /** Natives in which a thread waits for the socket. */
        private static final Set<String> BLOCKING_NATIVES = Set.of("read0", "read", "accept", "accept0", "poll",
                "poll0", "connect", "connect0", "write0", "write");

        /** What a flooding writer writes, again and again. */
        private static final byte[] FLOOD = new byte[1 << 20];

        /**
         * Starts {@code blocking} in a new thread, waits until it sits in a blocking native call,
         * closes with {@code closer} from this thread, and records how both ended.
         */
        private void closeUnder(String what, Call<Object> blocking, String closeLabel, VoidCall closer) {
            AtomicReference<String> outcome = new AtomicReference<>("still running");
            Thread t = new Thread(() -> {
                try {
                    outcome.set("returned " + render(blocking.call()));
                } catch (Exception e) {
                    outcome.set(renderException(e));
                }
            }, "random-api-blocked");
            t.setDaemon(true);
            threads.add(t);
            RANDOM_CALLS[index].incrementAndGet();
            if (index == 1) {
                CLOSED_UNDER.incrementAndGet();
            }
            t.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            int seen = 0;
            while (seen < 3 && t.isAlive() && System.nanoTime() < deadline) {
                StackTraceElement[] st = t.getStackTrace();
                if (st.length > 0 && st[0].isNativeMethod() && BLOCKING_NATIVES.contains(st[0].getMethodName())) {
                    seen++;
                } else {
                    seen = 0;
                }
                LockSupport.parkNanos(200_000);
            }
            LockSupport.parkNanos(1_000_000);
            obs.add(what + " in another thread: " + (t.isAlive() ? "blocked" : "ended: " + outcome.get()));
            run(closeLabel, closer);
            try {
                t.join(STEP_HANG_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            String o = outcome.get();
            obs.add(what + " -> " + o);
            if (index == 1) {
                tally(o.startsWith("returned") ? "ok" : o.replaceAll(":.*", "").replaceAll(".*\\.", ""));
            }
        }

        private void asyncClose(Socket s, SockModel m, String p, Step st) {
            int kind = Math.floorMod(st.a(), 3);
            if (kind == 2) {
                // writes until the buffers are full, closed under it
                Conn c = m.conn;
                boolean canFlood = !s.isClosed() && s.isConnected() && !s.isOutputShutdown() && c != null
                        && !c.closed[1 - m.side];
                if (!canFlood || !takeBudget()) {
                    skip("write would not block, or no budget");
                    return;
                }
                OutputStream out = out(s, m, p, true);
                if (out == null) {
                    return;
                }
                c.flooded[1 - m.side] = true;
                closeUnder(p + "out.write(byte[1 MiB]) until it blocks", () -> {
                    while (true) {
                        out.write(FLOOD);
                    }
                }, p + "close()", s::close);
            } else if (kind == 0) {
                // a read with nothing coming, closed under it
                Conn c = m.conn;
                int timeout = soTimeout(s);
                boolean blocks = !s.isClosed() && s.isConnected() && !s.isInputShutdown() && !m.sawEof && c != null
                        && c.pending[m.side] == 0 && c.urgent[m.side] == 0 && !c.eofComing(m.side)
                        && (timeout == 0 || timeout >= LONG_TIMEOUT);
                if (!blocks || !takeBudget()) {
                    skip("read would not block, or no budget");
                    return;
                }
                InputStream in = in(s, m, p, true);
                if (in == null) {
                    return;
                }
                closeUnder(p + "in.read()", () -> in.read(), p + "close()", s::close);
            } else {
                // a connect that gets no answer, closed under it
                if (s.isClosed() || s.isConnected() || m.connectFailed || !takeBudget()) {
                    skip("socket cannot connect, or no budget");
                    return;
                }
                InetSocketAddress full = new InetSocketAddress(LOOPBACK, fullPort);
                closeUnder(p + "connect(FULL)", () -> {
                    s.connect(full);
                    return "connected";
                }, p + "close()", s::close);
                m.connectFailed = !s.isConnected();
            }
        }

        // ------------------------------------------------------------ server socket steps

        private void runServerStep(Step st, int i) throws IOException {
            ServerSocket ss = servers.get(i);
            ServerModel m = svm.get(i);
            String p = "ss" + i + ".";
            switch (st.op()) {
                case SS_NEW:
                    newServer(st);
                    break;
                case SS_BIND: {
                    Addr kind = Addr.values()[Math.floorMod(st.a(), Addr.values().length)];
                    Port port = Port.values()[Math.floorMod(st.b(), Port.values().length)];
                    SocketAddress sa = socketAddress(kind, port, true);
                    if (sa instanceof InetSocketAddress && !((InetSocketAddress) sa).isUnresolved()
                            && otherAddress(((InetSocketAddress) sa).getAddress(), port, true)) {
                        skip("bind to the port of a listener on another address");
                        break;
                    }
                    boolean withBacklog = st.c() % 4 != 0;
                    int backlog = intArg(st.e(), st.d());
                    if (withBacklog) {
                        run(p + "bind(" + kind + ":" + port + "," + backlog + ")", () -> ss.bind(sa, backlog));
                    } else {
                        run(p + "bind(" + kind + ":" + port + ")", () -> ss.bind(sa));
                    }
                    if (lastOk) {
                        bound(i);
                        m.capacity = withBacklog && backlog >= 1 ? backlog : 50;
                    }
                    break;
                }
                case SS_ACCEPT:
                    accept(ss, m, p);
                    break;
                case SS_CLOSE:
                    if (st.a() % 2 == 0) {
                        run(p + "close()", ss::close);
                    } else {
                        run(p + "close() by another thread", () -> inOtherThread(ss::close));
                    }
                    break;
                case SS_LEGACY_SET: {
                    int v = intArg(st.b(), st.d());
                    boolean on = st.c() % 2 == 1;
                    switch (Math.floorMod(st.a(), 3)) {
                        case 0:
                            run(p + "setSoTimeout(" + v + ")", () -> ss.setSoTimeout(v));
                            break;
                        case 1:
                            run(p + "setReceiveBufferSize(" + v + ")", () -> ss.setReceiveBufferSize(v));
                            m.rcvSet |= lastOk;
                            break;
                        default:
                            run(p + "setReuseAddress(" + on + ")", () -> ss.setReuseAddress(on));
                    }
                    break;
                }
                case SS_LEGACY_GET:
                    switch (Math.floorMod(st.a(), 3)) {
                        case 0:
                            call(p + "getSoTimeout()", ss::getSoTimeout);
                            break;
                        case 1:
                            call(p + "getReceiveBufferSize()", ss::getReceiveBufferSize, v -> bufferSize(v, m.rcvSet));
                            break;
                        default:
                            call(p + "getReuseAddress()", ss::getReuseAddress);
                    }
                    break;
                case SS_SET_OPTION:
                case SS_X_SET_OPTION:
                    setOption(p, st, st.op() == Op.SS_X_SET_OPTION, m, (o, v) -> ss.setOption(o, v));
                    break;
                case SS_GET_OPTION:
                case SS_X_GET_OPTION: {
                    SocketOption<?> o = option(st, st.op() == Op.SS_X_GET_OPTION);
                    call(p + "getOption(" + o + ")", () -> ss.getOption(o), v -> renderOption(o, v, false, m.rcvSet));
                    break;
                }
                case SS_SUPPORTED:
                case SS_X_SUPPORTED:
                    call(p + "supportedOptions()", ss::supportedOptions,
                            v -> renderOptions(v, st.op() == Op.SS_X_SUPPORTED));
                    break;
                case SS_MISC:
                    switch (Math.floorMod(st.a(), 3)) {
                        case 0:
                            call(p + "toString()", ss::toString,
                                    v -> renderToString(v, ss.getInetAddress(), ss.getInetAddress()));
                            break;
                        case 1:
                            call(p + "getChannel()", ss::getChannel);
                            break;
                        default: {
                            int x = intArg(st.b(), st.d());
                            int y = intArg(st.c(), st.d());
                            int z = intArg(st.e(), st.d());
                            run(p + "setPerformancePreferences(" + x + "," + y + "," + z + ")",
                                    () -> ss.setPerformancePreferences(x, y, z));
                        }
                    }
                    break;
                case SS_ASYNC_CLOSE: {
                    int timeout = soTimeout(ss);
                    boolean blocks = ss.isBound() && !ss.isClosed() && m.queue.isEmpty()
                            && (timeout == 0 || timeout >= LONG_TIMEOUT);
                    if (!blocks || !takeBudget()) {
                        skip("accept would not block, or no budget");
                        break;
                    }
                    closeUnder(p + "accept()", ss::accept, p + "close()", ss::close);
                    break;
                }
                default:
                    throw new AssertionError(st.op());
            }
        }

        private void accept(ServerSocket ss, ServerModel m, String p) {
            Plan plan = Plan.NOW;
            if (ss.isBound() && !ss.isClosed() && m.queue.isEmpty()) {
                plan = whenNothingComes(soTimeout(ss));
            }
            if (plan == Plan.SKIP) {
                skip("accept that could block");
                return;
            }
            if (socks.size() >= 12) {
                skip("enough sockets");
                return;
            }
            Socket s = call(p + "accept()", ss::accept);
            if (s != null) {
                SockModel sm = addSocket(s);
                Conn c = m.queue.poll();
                if (c == null) {
                    c = new Conn();
                    c.closed[0] = true;
                }
                sm.conn = c;
                sm.side = 1;
                sm.rcvSet = m.rcvSet;
            }
        }

        private static final String[] SERVER_CTOR = {"()", "(port)", "(port,backlog)", "(port,backlog,addr)"};

        private void newServer(Step st) {
            if (servers.size() >= 6) {
                skip("enough server sockets");
                return;
            }
            int kind = Math.floorMod(st.a(), 8);
            boolean factory = kind >= 4;
            int shape = kind % 4;
            Port pp = Port.values()[Math.floorMod(st.b(), Port.values().length)];
            int port = port(pp, true);
            int backlog = intArg(st.c(), st.d());
            InetAddress addr = INET[Math.floorMod(st.e(), INET.length)];
            String addrName = INET_NAMES[Math.floorMod(st.e(), INET.length)];
            boolean rust = engine == Engine.RUST;
            String label;
            Call<ServerSocket> c;
            switch (shape) {
                case 0:
                    label = "()";
                    c = () -> factory ? serverFactory(rust).createServerSocket() : engine.serverSocket();
                    break;
                case 1:
                    label = "(" + pp + ")";
                    c = () -> factory ? serverFactory(rust).createServerSocket(port)
                            : rust ? new RustServerSocket(port) : new ServerSocket(port);
                    break;
                case 2:
                    label = "(" + pp + "," + backlog + ")";
                    c = () -> factory ? serverFactory(rust).createServerSocket(port, backlog)
                            : rust ? new RustServerSocket(port, backlog) : new ServerSocket(port, backlog);
                    break;
                default:
                    label = "(" + pp + "," + backlog + "," + addrName + ")";
                    c = () -> factory ? serverFactory(rust).createServerSocket(port, backlog, addr)
                            : rust ? new RustServerSocket(port, backlog, addr) : new ServerSocket(port, backlog, addr);
            }
            if (shape != 0 && otherAddress(shape == 3 ? addr : null, pp, true)) {
                skip("bind to the port of a listener on another address");
                return;
            }
            ServerSocket ss = call((factory ? "serverFactory.createServerSocket" : "new ServerSocket") + label, c);
            if (ss != null) {
                addServer(ss, shape >= 2 && backlog >= 1 ? backlog : 50);
            }
        }
    }

    /** A call without a result. */
    private interface VoidCall {
        void run() throws Exception;
    }

    // ---------------------------------------------------------------- describing steps

    static String describe(Step s) {
        String target = (s.op().onServer() ? "ss" : "s") + "[" + s.t() + "]";
        return s.op() + "(" + target + ",a=" + s.a() + ",b=" + s.b() + ",c=" + s.c() + ",e=" + s.e() + ",d=" + s.d()
                + ")";
    }

    // ---------------------------------------------------------------- helpers

    private static final AtomicLong NEXT_QUIET_PORT = new AtomicLong(System.nanoTime());

    /**
     * A port with nothing bound to it, below the ephemeral range, so that no socket of either
     * world can be given it by the kernel (which would give it another name in one world only).
     */
    static int quietPort() throws IOException {
        int low = 32768;
        try {
            String range = new String(Files.readAllBytes(Paths.get("/proc/sys/net/ipv4/ip_local_port_range")),
                    StandardCharsets.US_ASCII).trim();
            low = Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            // keep the default
        }
        int from = Math.max(1024, low - 12_000);
        int span = low - from;
        for (int attempt = 0; attempt < 1000; attempt++) {
            int port = from + (int) Math.floorMod(NEXT_QUIET_PORT.getAndIncrement(), (long) span);
            try (ServerSocket probe = new ServerSocket()) {
                probe.setReuseAddress(false);
                probe.bind(new InetSocketAddress(port));
                return port;
            } catch (IOException busy) {
                // next one
            }
        }
        throw new IOException("no free port in " + from + ".." + low);
    }

    private static boolean closedSocketCreatesImpl() {
        try {
            Socket s = new Socket();
            s.close();
            return !s.supportedOptions().isEmpty();
        } catch (IOException e) {
            return true;
        }
    }

    private static InetAddress localHost() {
        try {
            return InetAddress.getByAddress(InetAddress.getLocalHost().getAddress());
        } catch (UnknownHostException e) {
            return RAW_127_0_0_1;
        }
    }

    /** The address a host name argument stands for, or null if it does not resolve. */
    private static InetAddress resolve(String host) {
        try {
            return InetAddress.getByAddress(InetAddress.getByName(host).getAddress());
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static InetAddress address(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) bytes[i];
        }
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static List<SocketOption<?>> optionsOf(Class<?> holder) {
        List<SocketOption<?>> list = new ArrayList<>();
        for (Field f : holder.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && SocketOption.class.isAssignableFrom(f.getType())) {
                try {
                    list.add((SocketOption<?>) f.get(null));
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        list.sort(Comparator.comparing(SocketOption::name));
        return Collections.unmodifiableList(list);
    }

    private static List<SocketOption<?>> extendedOptions() {
        try {
            return optionsOf(Class.forName("jdk.net.ExtendedSocketOptions"));
        } catch (ClassNotFoundException e) {
            return List.of();
        }
    }
}
