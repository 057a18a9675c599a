package io.rustsocket;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What {@link RandomApiTest} and its worlds share: the bounds of a sequence, the counters of the
 * summary, the fixed arguments (addresses, ports, options, interesting ints), the steps, the model
 * of connections and listeners, and the full-backlog address and closer thread the properties set
 * up before they run.
 */
final class RandomApi {
    private RandomApi() {}

    // ---------------------------------------------------------------- configuration

    /** At least this many random calls must run on each engine. */
    static final long MIN_RANDOM_CALLS = 100_000;
    /** Timeouts up to this many milliseconds are waited out (a few times per sequence). */
    static final int SHORT_TIMEOUT = 3;
    /**
     * The timeout of a connect that gets no answer. Not shorter: java.net.Socket's SOCKS layer
     * spends up to a millisecond or so before it hands over, and when the timeout runs out in
     * there the impl is left open instead of closed, so the clock would pick the outcome. Under
     * an emulator (qemu-user runs the JDK's code tens of times slower) it spends tens of
     * milliseconds there, so the timeout is ten times longer.
     */
    static final int CONNECT_TIMEOUT = Emulation.EMULATOR == null ? 25 : 250;
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
    static final AtomicLong[] RANDOM_CALLS = {new AtomicLong(), new AtomicLong()};
    static final AtomicLong PROBE_CALLS = new AtomicLong();
    static final AtomicLong STEPS = new AtomicLong();
    static final AtomicLong SKIPPED_STEPS = new AtomicLong();
    static final AtomicLong SEQUENCES = new AtomicLong();
    /** Waits for bytes in flight that ran into their deadline (the bytes did not all arrive). */
    static final AtomicLong SYNC_TIMEOUTS = new AtomicLong();
    /** Calls that waited out a short timeout, and blocked calls closed by another thread. */
    static final AtomicLong TIMED_CALLS = new AtomicLong();
    static final AtomicLong CLOSED_UNDER = new AtomicLong();
    /** Outcomes of the random calls of the world under test: "ok" or the exception's simple name. */
    static final Map<String, LongAdder> TALLY = new ConcurrentSkipListMap<>();
    static final Map<String, LongAdder> SKIP_TALLY = new ConcurrentSkipListMap<>();
    /** Random calls on the engine under test, by property. */
    static final Map<String, LongAdder> CALLS_BY_PROPERTY = new ConcurrentSkipListMap<>();
    static volatile long startNanos;
    /** Nanoseconds spent per kind of step, both worlds together. */
    static final Map<Op, LongAdder> OP_NANOS = new ConcurrentSkipListMap<>();
    /** Steps slower than {@link #SLOW_STEP_MILLIS} (both worlds together), for the summary. */
    static final List<String> SLOW_STEPS = new CopyOnWriteArrayList<>();

    // ---------------------------------------------------------------- fixed arguments

    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final InetAddress RAW_127_0_0_1 = address(127, 0, 0, 1);
    static final InetAddress ANY4 = address(0, 0, 0, 0);
    static final InetAddress LOOPBACK6 = address(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    static final InetAddress ANY6 = address(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    /** TEST-NET-1: never local; a connect to it may get no answer at all. */
    static final InetAddress NON_LOCAL = address(192, 0, 2, 1);
    static final InetAddress LOOPBACK_2 = address(127, 0, 0, 2);
    /** ::ffff:127.0.0.1, which InetAddress turns into an Inet4Address. */
    static final InetAddress MAPPED = address(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1);
    /** Where the JDK sends a connect to the wildcard address. */
    static final InetAddress LOCAL_HOST = localHost();

    /** InetAddress arguments. */
    static final InetAddress[] INET = {LOOPBACK, null, ANY4, LOOPBACK6, ANY6, NON_LOCAL, LOOPBACK_2, MAPPED,
        RAW_127_0_0_1};
    static final String[] INET_NAMES = {"loopback", "null", "0.0.0.0", "::1", "::", "192.0.2.1", "127.0.0.2",
        "::ffff:127.0.0.1", "127.0.0.1(raw)"};

    /** Host name arguments; "[::1" fails to resolve at once, without DNS. */
    static final String[] HOSTS = {"127.0.0.1", null, "localhost", "", "::1", "[::1", "0.0.0.0", "127.0.0.2"};

    /** Interesting ints; the last two entries take the step's raw value. */
    static final int[] INTS = {0, 1, -1, 2, 3, 8, 64, 255, 256, 1000, 1024, 4096, 65535, 65536,
        Integer.MAX_VALUE, Integer.MIN_VALUE, -2, 5, 16, 100, 128, 131072, 1 << 20, -1000, Integer.MAX_VALUE - 1, 10,
        20_000, 512, 127, Integer.MIN_VALUE + 1, 0, 0};
    static final int RAW_INT = 30;
    static final int RAW_SMALL_INT = 31;

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
    static final List<SocketOption<?>> STANDARD_OPTIONS = optionsOf(StandardSocketOptions.class);
    static final List<SocketOption<?>> EXTENDED_OPTIONS = extendedOptions();
    /** rustsocket's own Linux options: the JDK has none of them, so comparisons leave them out. */
    static final List<SocketOption<?>> RUST_ONLY_OPTIONS = optionsOf(RustSocketOptions.class);
    static final SocketOption<Integer> CUSTOM_OPTION = new SocketOption<>() {
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
    static final Set<String> KERNEL_OWNED = Set.of("TCP_QUICKACK", "SO_INCOMING_NAPI_ID");
    static final List<SocketOption<?>> OPTIONS;
    static final List<SocketOption<?>> OPTIONS_WITH_EXTENDED;

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
    static TestSupport.FullBacklog fullBacklog;
    static int fullPort;

    /** The other thread that closes objects. */
    static volatile ExecutorService closer;

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
        RandomApiWorld.Endpoint endpoint;
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
    interface Call<T> {
        T call() throws Exception;
    }

    /** A call without a result. */
    interface VoidCall {
        void run() throws Exception;
    }

    // ---------------------------------------------------------------- describing steps

    static String describe(Step s) {
        String target = (s.op().onServer() ? "ss" : "s") + "[" + s.t() + "]";
        return s.op() + "(" + target + ",a=" + s.a() + ",b=" + s.b() + ",c=" + s.c() + ",e=" + s.e() + ",d=" + s.d()
                + ")";
    }

    // ---------------------------------------------------------------- helpers

    static final AtomicLong NEXT_QUIET_PORT = new AtomicLong(System.nanoTime());

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

    static boolean closedSocketCreatesImpl() {
        try {
            Socket s = new Socket();
            s.close();
            return !s.supportedOptions().isEmpty();
        } catch (IOException e) {
            return true;
        }
    }

    static InetAddress localHost() {
        try {
            return InetAddress.getByAddress(InetAddress.getLocalHost().getAddress());
        } catch (UnknownHostException e) {
            return RAW_127_0_0_1;
        }
    }

    /** The address a host name argument stands for, or null if it does not resolve. */
    static InetAddress resolve(String host) {
        try {
            return InetAddress.getByAddress(InetAddress.getByName(host).getAddress());
        } catch (UnknownHostException e) {
            return null;
        }
    }

    static InetAddress address(int... bytes) {
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

    static List<SocketOption<?>> optionsOf(Class<?> holder) {
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

    static List<SocketOption<?>> extendedOptions() {
        try {
            return optionsOf(Class.forName("jdk.net.ExtendedSocketOptions"));
        } catch (ClassNotFoundException e) {
            return List.of();
        }
    }
}
