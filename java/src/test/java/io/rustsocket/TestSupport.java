package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.rustsocket.internal.Descriptors;
import io.rustsocket.internal.NativeLibrary;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
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
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.provider.Arguments;

/** Helpers shared by the tests. */
public final class TestSupport {
    private TestSupport() {}

    /** JDK-8343791 (JDK 24): Socket.connect closes the Socket, not just its SocketImpl, on failure. */
    public static final boolean SOCKET_CLOSED_BY_FAILED_CONNECT = Runtime.version().feature() >= 24;

    private static final String OS = System.getProperty("os.name", "");
    /** Whether the tests run on Linux. */
    public static final boolean LINUX = OS.startsWith("Linux");
    /** Whether the tests run on Windows. */
    public static final boolean WINDOWS = OS.startsWith("Windows");
    /**
     * Whether the tests run on Windows under Wine, which sets WINECONFIGDIR in every process it
     * runs. Wine's Winsock differs from Windows' in the ways listed in docs/windows.md (each shown
     * there with a plain program, and where the suite has one, with the JDK's own row); a test
     * that meets one of them skips itself under Wine with {@link #assumeNotWine}.
     */
    public static final boolean WINE = WINDOWS && System.getenv("WINECONFIGDIR") != null;

    /**
     * Under Wine a connection reset (a peer's close with SO_LINGER 0, a listener closed with
     * connections queued) reaches a reader that waited for readiness first as end of stream;
     * only a read already blocked in the kernel sees the reset. Every read of ours waits first on
     * Windows, and so does the JDK's timed read.
     */
    public static final String WINE_RESET_READS_AS_EOF =
            "a reset reaches a reader that waited for readiness as end of stream (Windows: WSAECONNRESET)";

    /** Skips the test under Wine, where {@code difference} (docs/windows.md) makes it fail. */
    public static void assumeNotWine(String difference) {
        Assumptions.assumeFalse(WINE, () -> "Wine's Winsock is not Windows': " + difference);
    }

    /**
     * Whether this system makes AF_UNIX stream sockets, as the JDK finds: Linux, macOS and
     * Windows 10 1803+ do, Wine's Winsock does not.
     */
    public static final boolean UNIX_SOCKETS = jdkMakesUnixSockets();

    private static boolean jdkMakesUnixSockets() {
        try {
            java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX).close();
            return true;
        } catch (UnsupportedOperationException | IOException e) {
            return false;
        }
    }

    /** Skips the test where the system makes no AF_UNIX sockets (Wine). */
    public static void assumeUnixSockets() {
        Assumptions.assumeTrue(UNIX_SOCKETS, "this system makes no AF_UNIX sockets");
    }

    /** Skips the test off Linux, for {@code reason} (what it needs that only Linux has). */
    public static void assumeLinux(String reason) {
        Assumptions.assumeTrue(LINUX, () -> "needs Linux: " + reason);
    }

    /**
     * The JDK's message on this system: on Linux the C library's text ({@code linux}), on Windows
     * the JDK's own wording ({@code windows}: its Winsock table's text and the failing call, as in
     * "Connection refused: connect", or the system's text).
     */
    public static String osMessage(String linux, String windows) {
        return WINDOWS ? windows : linux;
    }

    /**
     * The JDK's message for a refused connect. On Windows it names the call that saw the
     * failure: connect for a blocking connect (a platform thread, no timeout), getsockopt for one
     * that was waited for (a timeout, or a virtual thread).
     */
    public static String refused(boolean waited) {
        return osMessage("Connection refused", waited ? "Connection refused: getsockopt" : "Connection refused: connect");
    }

    /** Whether the JDK's sockets have SO_REUSEPORT here (Windows has none). */
    public static final boolean REUSE_PORT = jdkSupports(java.net.StandardSocketOptions.SO_REUSEPORT);

    private static boolean jdkSupports(java.net.SocketOption<?> option) {
        try (Socket s = new Socket()) {
            return s.supportedOptions().contains(option);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The JDK's message for a bind to an address in use. */
    public static final String ADDRESS_IN_USE = osMessage("Address already in use", "Address already in use: bind");

    /**
     * The JDK's message for a write after the connection was reset and the reset reported:
     * Linux says "Broken pipe" then, Windows keeps saying the reset's words (WSAECONNRESET).
     */
    public static final String BROKEN_PIPE = osMessage("Broken pipe", "Connection reset by peer");

    /** The JDK's message for a datagram longer than the protocol allows. */
    public static final String MESSAGE_TOO_LONG = osMessage("Message too long",
            "The message is larger than the maximum supported by the underlying transport: sendto");

    /**
     * Under Wine a datagram socket's disconnect drops its local port and it cannot be bound
     * again (WSAEINVAL); the JDK's own disconnect fails there the same way. Windows keeps the port.
     */
    public static final String WINE_DISCONNECT_DROPS_THE_PORT =
            "a datagram socket's disconnect drops its port, and a bind after it fails";

    /** Wine never reports an ICMP port unreachable to a datagram socket (Windows: WSAECONNRESET). */
    public static final String WINE_NO_PORT_UNREACHABLE = "a datagram socket never learns of ICMP port unreachable";

    /**
     * Wine refuses an IPv4 multicast interface given by index (the address 0.0.0.index, which
     * Windows takes for IP_MULTICAST_IF and IP_ADD_MEMBERSHIP); the JDK's sockets name the
     * interface by its address instead.
     */
    public static final String WINE_NO_IPV4_INTERFACE_INDEX = "no IPv4 multicast interface given by index (0.0.0.x)";

    /**
     * Wine's server frees the port of a closed socket (one whose connect was refused) a little
     * after closesocket returns, so binding the same port at once may meet "Address already in use".
     */
    public static final String WINE_PORT_FREED_LATE = "a closed socket's port is freed a little after closesocket returns";

    /** Wine 8 has no TCP_KEEPIDLE, TCP_KEEPINTVL or TCP_KEEPCNT (Windows 10 1709 and later have). */
    public static final String WINE_NO_KEEPALIVE_TRIO = "no TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT";

    /**
     * The open-file flags of this process's descriptor {@code fd}, as fcntl(F_GETFL) gives them
     * (Linux's /proc/self/fdinfo).
     */
    public static long fdFlags(int fd) throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/fdinfo", Integer.toString(fd)))) {
            if (line.startsWith("flags:")) {
                return Long.parseLong(line.substring(6).trim(), 8);
            }
        }
        throw new IOException("no flags for descriptor " + fd);
    }

    /**
     * Descriptors open in this process right now: on Linux the entries of /proc/self/fd; where
     * Java cannot count the process's handles (Windows), the library's own count
     * ({@link Descriptors#openCount()}) stands in.
     */
    public static int processFdCount() {
        if (!LINUX) {
            return Descriptors.openCount();
        }
        String[] entries = new File("/proc/self/fd").list();
        return Objects.requireNonNull(entries, "/proc/self/fd").length;
    }

    /**
     * Extra options for a child JVM that runs our native code, as the build asks for them (empty in
     * an ordinary run): {@code -Xcheck:jni} when {@code -Drustsocket.childCheckJni=true}, and when
     * {@code -Drustsocket.childVmLogDir} names a directory, the child's VM output (where CheckJNI
     * reports) goes to {@code <dir>/<name>-pid<pid>.log} instead of its standard output, which some
     * parents parse. The build's junitCheckJni task sets both and CI reads the logs.
     */
    public static List<String> childJvmOptions(String name) {
        List<String> options = new ArrayList<>();
        if (Boolean.getBoolean("rustsocket.childCheckJni")) {
            options.add("-Xcheck:jni");
        }
        String dir = System.getProperty("rustsocket.childVmLogDir");
        if (dir != null && !dir.isEmpty()) {
            options.add("-XX:+UnlockDiagnosticVMOptions");
            options.add("-XX:+LogVMOutput");
            options.add("-XX:-DisplayVMOutput");
            options.add("-XX:LogFile=" + Paths.get(dir, name + "-%p.log"));
        }
        return options;
    }

    /** Random bytes of the given length. */
    public static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    /** Reads exactly n bytes or fails. */
    public static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new IOException("EOF after " + b.length + " of " + n + " bytes");
        }
        return b;
    }

    /**
     * Writes 2 MiB of random bytes from {@code writer} in writes of {@code writeSize} (on a
     * platform thread, then shuts its output) while {@code reader} reads them into a buffer of
     * {@code readSize}; the side that is {@code slow} pauses 1 ms every 20 of its calls. Fails
     * unless the bytes arrive whole and in order. A slow reader makes large writes find the send
     * buffer full; a slow writer makes large reads empty the socket and stop short.
     */
    public static void assertBytesArriveIntact(Socket writer, int writeSize, Socket reader, int readSize,
            boolean slowReader) throws Exception {
        byte[] data = randomBytes(2 << 20);
        OutputStream out = writer.getOutputStream();
        FutureTask<Void> writes = async("writer", () -> {
            for (int off = 0, calls = 1; off < data.length; off += writeSize, calls++) {
                out.write(data, off, Math.min(writeSize, data.length - off));
                if (!slowReader && calls % 20 == 0) {
                    Thread.sleep(1);
                }
            }
            writer.shutdownOutput();
            return null;
        });
        InputStream in = reader.getInputStream();
        ByteArrayOutputStream got = new ByteArrayOutputStream(data.length);
        byte[] piece = new byte[readSize];
        int n;
        for (int calls = 1; (n = in.read(piece)) >= 0; calls++) {
            got.write(piece, 0, n);
            if (slowReader && calls % 20 == 0) {
                Thread.sleep(1);
            }
        }
        await(writes, 20_000);
        Assertions.assertArrayEquals(data, got.toByteArray(), "bytes arrived altered");
    }

    /** Writes back everything read from {@code in}, through a buffer of {@code bufferSize}, until EOF. */
    public static void copyUntilEof(InputStream in, OutputStream out, int bufferSize) throws IOException {
        byte[] buf = new byte[bufferSize];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
        }
    }

    /** A connected pair: client made by one engine, server side accepted by another. */
    public static final class Pair implements AutoCloseable {
        public final ServerSocket listener;
        public final Socket client;
        public final Socket server;

        public Pair(Engine clientEngine, Engine serverEngine) throws IOException {
            listener = serverEngine.listen();
            client = clientEngine.connect(InetAddress.getLoopbackAddress(), listener.getLocalPort());
            server = listener.accept();
        }

        public Pair(Engine engine) throws IOException {
            this(engine, engine);
        }

        @Override
        public void close() throws IOException {
            client.close();
            server.close();
            listener.close();
        }
    }

    /**
     * A loopback listener with backlog 1 that never accepts, with its accept queue filled by JDK
     * sockets, so that a further connect gets no answer (Linux drops the SYN). The constructor
     * proves the setup works on this machine: it fills until a JDK connect times out.
     */
    public static final class FullBacklog implements AutoCloseable {
        public final ServerSocket listener;
        public final InetSocketAddress address;
        private final List<Socket> queued = new ArrayList<>();

        public FullBacklog() throws IOException {
            this(InetAddress.getLoopbackAddress());
        }

        /** The same on another local address (::1 for an IPv6 one). */
        public FullBacklog(InetAddress bindAddress) throws IOException {
            this(bindAddress, 0);
        }

        /** The same on a given port (0: one the kernel picks). */
        public FullBacklog(InetAddress bindAddress, int port) throws IOException {
            listener = new ServerSocket(port, 1, bindAddress);
            address = new InetSocketAddress(bindAddress, listener.getLocalPort());
            boolean full = false;
            try {
                for (int i = 0; i < 16 && !full; i++) {
                    Socket s = new Socket();
                    try {
                        s.connect(address, 250);
                        queued.add(s);
                    } catch (SocketTimeoutException e) {
                        s.close();
                        full = true;
                    }
                }
            } catch (IOException | RuntimeException e) {
                close();
                throw e;
            }
            if (!full) {
                close();
                throw new AssertionError("setup: a backlog-1 listener kept accepting connections ("
                        + queued.size() + " queued); connects to a full backlog do not hang here");
            }
        }

        @Override
        public void close() throws IOException {
            for (Socket s : queued) {
                s.close();
            }
            listener.close();
        }
    }

    /**
     * A port on 127.0.0.1 that was free a moment ago (bound briefly, then released): for a test
     * that binds a socket to a fixed port. Connects to it are not sure to be refused: see
     * {@link #refusedPort()}.
     */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * A port on 127.0.0.1 where every connect is refused, for the life of this JVM; successive calls
     * cycle through a few distinct ones. A port merely released is not enough: another test may
     * listen on it since, and a connect from an ephemeral port can pick the target port itself as
     * its source and succeed by a TCP self-connect (seen once in CI). Each of these ports is held
     * by a bound socket that never listens and does not allow address reuse, so no listener can
     * take it and the kernel never picks it as an ephemeral port; the sockets are opened when this
     * class loads, before any descriptor count a test takes through {@link #processFdCount()}.
     */
    public static int refusedPort() {
        return REFUSED_PORTS[Math.floorMod(NEXT_REFUSED_PORT.getAndIncrement(), REFUSED_PORTS.length)];
    }

    // held for the life of the JVM: an unreachable socket would be closed by the JDK's cleaner
    private static final List<Socket> REFUSED_PORT_HOLDERS = new ArrayList<>();
    private static final int[] REFUSED_PORTS = holdRefusedPorts(3);
    private static final AtomicInteger NEXT_REFUSED_PORT = new AtomicInteger();

    private static int[] holdRefusedPorts(int count) {
        int[] ports = new int[count];
        for (int i = 0; i < count; i++) {
            try {
                Socket holder = new Socket();
                REFUSED_PORT_HOLDERS.add(holder);
                holder.setReuseAddress(false);
                holder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                ports[i] = holder.getLocalPort();
            } catch (IOException e) {
                throw new UncheckedIOException("setup: binding a port that refuses connects", e);
            }
        }
        return ports;
    }

    /** Waits up to 10 s for the condition, polling; returns whether it became true. */
    public static boolean eventually(java.util.function.BooleanSupplier condition) throws InterruptedException {
        return within(10_000, 5, condition);
    }

    /** Waits up to {@code millis} for the condition, polling every {@code pollMillis}; whether it became true. */
    public static boolean within(long millis, long pollMillis, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(pollMillis);
        }
        return condition.getAsBoolean();
    }

    // ---------------------------------------------------------------- child JVMs

    /** The java launcher for child JVMs: the one the tests run on ({@code -Drustsocket.testJava}, else this JVM's). */
    public static String childJava() {
        String java = System.getProperty("rustsocket.testJava");
        if (java == null || java.isEmpty()) {
            java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        }
        return java;
    }

    /**
     * {@code java OPTIONS -cp CLASSPATH MAIN ARGS}: a child JVM on this JVM's class path, with the
     * options of {@link #childJvmOptions} (the CheckJNI pass's) after {@code options}.
     */
    public static List<String> javaCommand(String java, List<String> options, Class<?> main, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(options);
        cmd.addAll(childJvmOptions(main.getSimpleName()));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(args);
        return cmd;
    }

    /**
     * {@code java -Xmx64m -Xshare:auto [-Dlibrary path] -cp CLASSPATH MAIN ARGS}: a small child JVM
     * on the launcher of {@link #childJava()} that loads the library this JVM loaded.
     */
    public static List<String> childCommand(Class<?> main, String... args) {
        List<String> options = new ArrayList<>(List.of("-Xmx64m", "-Xshare:auto"));
        String lib = System.getProperty(NativeLibrary.PATH_PROPERTY);
        if (lib != null) {
            options.add("-D" + NativeLibrary.PATH_PROPERTY + "=" + lib);
        }
        return javaCommand(childJava(), options, main, List.of(args));
    }

    // ---------------------------------------------------------------- parameters

    /**
     * Every engine with {@code false}, then {@code true}: the arguments of a test parameterized by
     * an engine and a flag. Use as {@code @MethodSource("io.rustsocket.TestSupport#enginesAndBooleans")}.
     */
    public static Stream<Arguments> enginesAndBooleans() {
        return Stream.of(Engine.values()).flatMap(e -> Stream.of(Arguments.of(e, false), Arguments.of(e, true)));
    }

    // ---------------------------------------------------------------- threads

    /** Runs {@code c} on a daemon thread; the caller bounds every wait on the result. */
    public static <T> FutureTask<T> async(String name, Callable<T> c) {
        FutureTask<T> f = new FutureTask<>(c);
        Thread t = new Thread(f, name);
        t.setDaemon(true);
        t.start();
        return f;
    }

    /**
     * Like {@link #async}, but returns only once the daemon thread has started running {@code c}
     * (it counts down a latch just before calling it).
     */
    public static <T> FutureTask<T> asyncStarted(String name, Callable<T> c) throws InterruptedException {
        CountDownLatch started = new CountDownLatch(1);
        FutureTask<T> f = async(name, () -> {
            started.countDown();
            return c.call();
        });
        started.await();
        return f;
    }

    /** The task's result, failing if it threw or did not finish within {@code millis}. */
    public static <T> T await(FutureTask<T> f, long millis) throws InterruptedException {
        try {
            return f.get(millis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("task failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError("task still running after " + millis + " ms");
        }
    }

    /** What the task threw; fails if it returned normally or is still running after {@code millis}. */
    public static Throwable failureOf(FutureTask<?> f, long millis) throws InterruptedException {
        try {
            Object r = f.get(millis, TimeUnit.MILLISECONDS);
            throw new AssertionError("task returned " + r + " instead of throwing");
        } catch (ExecutionException e) {
            return Objects.requireNonNull(e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError("task still blocked after " + millis + " ms");
        }
    }

    /** How the task ended, for failure messages: "still running", "completed normally" or what it threw. */
    public static String describe(FutureTask<?> f) {
        if (!f.isDone()) {
            return "still running";
        }
        try {
            f.get();
            return "completed normally";
        } catch (ExecutionException e) {
            return String.valueOf(e.getCause());
        } catch (InterruptedException e) {
            return "interrupted";
        }
    }

    /** A cached thread pool of daemon threads, each named {@code threadName}. */
    public static ExecutorService daemonPool(String threadName) {
        return Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Appends {@code line} to {@code file} in the directory of {@code -Drustsocket.reportDir}
     * (made if missing), where the build collects the figures of a run; nothing when it is unset.
     */
    public static void appendToReport(String file, String line) throws IOException {
        String dir = System.getProperty("rustsocket.reportDir");
        if (dir == null || dir.isEmpty()) {
            return;
        }
        Path d = Paths.get(dir);
        Files.createDirectories(d);
        Files.writeString(d.resolve(file), line + System.lineSeparator(), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** The stack trace of {@code t} as text. */
    public static String traceOf(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString();
    }

    // ---------------------------------------------------------------- assertions

    /**
     * Asserts that {@code body} throws exactly {@code type} (no subclass) with {@code message}
     * (which may be null). Note the order: unlike JUnit's three-argument
     * {@code assertThrowsExactly}, the expected message comes before the body.
     */
    public static <T extends Throwable> T assertThrowsExactly(Class<T> type, String message, Executable body) {
        T e = assertThrows(type, body);
        assertEquals(type, e.getClass(), () -> "exception class; got " + e);
        assertEquals(message, e.getMessage(), () -> "message of " + e);
        return e;
    }

    /**
     * {@code t}, what an operation threw, is exactly a java.net.SocketException (no subclass) with
     * {@code message}; fails too if {@code t} is null (nothing was thrown).
     */
    public static void assertSocketException(Throwable t, String message) {
        if (t == null) {
            throw new AssertionError("nothing was thrown; expected java.net.SocketException: " + message);
        }
        if (t.getClass() != SocketException.class) {
            throw new AssertionError("expected exactly java.net.SocketException, got " + t, t);
        }
        assertEquals(message, t.getMessage());
    }

    /**
     * After a connect of {@code s} failed ({@code after} says how, for the messages): the socket is
     * closed, java.net.Socket itself only from JDK 24 on (JDK-8343791), its SocketImpl on every
     * version; so {@code connectAgain} and {@code option} must both throw exactly SocketException
     * with the message of that JDK.
     */
    public static void assertClosedByFailedConnect(Socket s, String after, Executable connectAgain,
            Executable option) {
        assertEquals(SOCKET_CLOSED_BY_FAILED_CONNECT, s.isClosed(), "isClosed() after " + after);
        String closedMessage = SOCKET_CLOSED_BY_FAILED_CONNECT ? "Socket is closed" : "Socket closed";
        SocketException e = Assertions.assertThrowsExactly(SocketException.class, connectAgain);
        assertEquals(closedMessage, e.getMessage(), "connecting again");
        e = Assertions.assertThrowsExactly(SocketException.class, option);
        assertEquals(closedMessage, e.getMessage(), "an option");
    }
}
