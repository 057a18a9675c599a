package io.rustsocket;

import static io.rustsocket.TestSupport.WINE_RESET_READS_AS_EOF;
import static io.rustsocket.TestSupport.assumeNotWine;
import static io.rustsocket.TestSupport.assertSocketException;
import static io.rustsocket.TestSupport.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Failures: every exception class and message must be the JDK's. Each JDK row proves the
 * expectation is really the JDK's; each RUST row proves rustsocket matches it.
 */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ErrorsTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final String REFUSED = TestSupport.refused(false);
    /** A name that can never resolve (RFC 6761 reserves .invalid). */
    private static final String UNRESOLVABLE = "no-such-host.rustsocket.invalid";

    private static ExecutorService pool;

    @BeforeAll
    static void startPool() {
        pool = TestSupport.daemonPool("ErrorsTest-worker");
    }

    @AfterAll
    static void stopPool() {
        pool.shutdownNow();
    }

    /**
     * For a message that differs between JDK releases: runs {@code jdkBody} on JDK sockets,
     * requires it to throw exactly {@code type} with one of the {@code known} JDK messages, and
     * returns the message this JDK gives.
     */
    static String jdkMessage(Class<? extends Throwable> type, Executable jdkBody, String... known) {
        Throwable e = assertThrows(type, jdkBody);
        assertEquals(type, e.getClass(), () -> "JDK exception class; got " + e);
        assertTrue(java.util.Arrays.asList(known).contains(e.getMessage()), () -> "unknown JDK message: " + e);
        return e.getMessage();
    }

    private static ServerSocket serverSocket(Engine engine, int port, int backlog, InetAddress bindAddr)
            throws IOException {
        return engine == Engine.JDK ? new ServerSocket(port, backlog, bindAddr)
                : new RustServerSocket(port, backlog, bindAddr);
    }

    private static ServerSocket serverSocket(Engine engine, int port) throws IOException {
        return engine == Engine.JDK ? new ServerSocket(port) : new RustServerSocket(port);
    }

    private static Socket socketByName(Engine engine, String host, int port) throws IOException {
        return engine == Engine.JDK ? new Socket(host, port) : new RustSocket(host, port);
    }

    private static Socket socketByAddress(Engine engine, InetAddress address, int port) throws IOException {
        return engine == Engine.JDK ? new Socket(address, port) : new RustSocket(address, port);
    }

    /** Runs {@code body} on the pool; the future gives what it threw, or null if it returned normally. */
    private static Future<Throwable> failureOf(Executable body) {
        return pool.submit(() -> {
            try {
                body.execute();
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
    }

    /** The peer (the pair's server side) closes with SO_LINGER 0, which sends a reset. */
    private static void resetByPeer(TestSupport.Pair p) throws IOException {
        p.server.setSoLinger(true, 0);
        p.server.close();
    }

    // ---------------------------------------------------------------- connect

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectRefusedByConstructor(Engine engine) throws Exception {
        int port = TestSupport.refusedPort();
        assertThrowsExactly(ConnectException.class, REFUSED, () -> engine.connect(LOOPBACK, port).close());
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectRefusedByHostNameConstructor(Engine engine) throws Exception {
        int port = TestSupport.refusedPort();
        assertThrowsExactly(ConnectException.class, REFUSED,
                () -> socketByName(engine, "127.0.0.1", port).close());
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectRefusedByConnectMethod(Engine engine) throws Exception {
        assertConnectMethodRefused(engine, false);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectRefusedWithTimeout(Engine engine) throws Exception {
        assertConnectMethodRefused(engine, true);
    }

    /** connect(address), or connect(address, 1500) if {@code timed}, to a closed port is refused. */
    private static void assertConnectMethodRefused(Engine engine, boolean timed) throws Exception {
        InetSocketAddress target = new InetSocketAddress(LOOPBACK, TestSupport.refusedPort());
        try (Socket s = engine.socket()) {
            assertThrowsExactly(ConnectException.class, TestSupport.refused(timed), () -> {
                if (timed) {
                    s.connect(target, 1500);
                } else {
                    s.connect(target);
                }
            });
            assertFalse(s.isConnected());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectAgainAfterRefusedConnectFailsAsInTheJdk(Engine engine) throws Exception {
        int port = TestSupport.refusedPort();
        try (Socket s = engine.socket(); ServerSocket listener = Engine.JDK.listen()) {
            assertThrows(ConnectException.class, () -> s.connect(new InetSocketAddress(LOOPBACK, port)));
            // The JDK closes the SocketImpl after a failed connect, so the socket cannot be reused.
            // JDK 17 says "Socket closed"; newer JDKs close the Socket too and say "Socket is closed".
            String expected = jdkMessage(SocketException.class, () -> {
                try (Socket jdk = new Socket()) {
                    assertThrows(ConnectException.class, () -> jdk.connect(new InetSocketAddress(LOOPBACK, port)));
                    jdk.connect(new InetSocketAddress(LOOPBACK, listener.getLocalPort()));
                }
            }, "Socket closed", "Socket is closed");
            assertThrowsExactly(SocketException.class, expected,
                    () -> s.connect(new InetSocketAddress(LOOPBACK, listener.getLocalPort())));
            assertEquals(expected.equals("Socket is closed"), s.isClosed());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectTwiceIsRefused(Engine engine) throws Exception {
        try (TestSupport.Pair p = new TestSupport.Pair(engine)) {
            // java.net.Socket's own check; JDK 17 says "already connected", newer JDKs "Already connected"
            String expected = jdkMessage(SocketException.class, () -> {
                try (TestSupport.Pair jdk = new TestSupport.Pair(Engine.JDK)) {
                    jdk.client.connect(new InetSocketAddress(LOOPBACK, jdk.listener.getLocalPort()));
                }
            }, "already connected", "Already connected");
            assertThrowsExactly(SocketException.class, expected,
                    () -> p.client.connect(new InetSocketAddress(LOOPBACK, p.listener.getLocalPort())));
            assertTrue(p.client.isConnected());
        }
    }

    // ---------------------------------------------------------------- bind

    @ParameterizedTest
    @EnumSource(Engine.class)
    void serverBindToPortInUse(Engine engine) throws Exception {
        try (ServerSocket first = engine.listen(); ServerSocket second = engine.serverSocket()) {
            assertThrowsExactly(BindException.class, TestSupport.ADDRESS_IN_USE,
                    () -> second.bind(new InetSocketAddress(LOOPBACK, first.getLocalPort())));
            assertFalse(second.isBound());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void serverConstructorOnPortInUse(Engine engine) throws Exception {
        try (ServerSocket first = engine.listen()) {
            assertThrowsExactly(BindException.class, TestSupport.ADDRESS_IN_USE,
                    () -> serverSocket(engine, first.getLocalPort(), 50, LOOPBACK).close());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void clientBindToPortInUse(Engine engine) throws Exception {
        try (ServerSocket listener = engine.listen(); Socket s = engine.socket()) {
            assertThrowsExactly(BindException.class, TestSupport.ADDRESS_IN_USE,
                    () -> s.bind(new InetSocketAddress(LOOPBACK, listener.getLocalPort())));
            assertFalse(s.isBound());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void bindTwiceIsRefused(Engine engine) throws Exception {
        try (Socket s = engine.socket()) {
            s.bind(new InetSocketAddress(LOOPBACK, 0));
            assertThrowsExactly(SocketException.class, "Already bound",
                    () -> s.bind(new InetSocketAddress(LOOPBACK, 0)));
        }
    }

    // ---------------------------------------------------------------- reset and broken pipe

    @ParameterizedTest
    @EnumSource(Engine.class)
    void readAfterPeerResetThrowsConnectionResetEveryTime(Engine engine) throws Exception {
        assumeNotWine(WINE_RESET_READS_AS_EOF);
        // the reader is the engine under test; the peer that resets is always the JDK's
        try (TestSupport.Pair p = new TestSupport.Pair(engine, Engine.JDK)) {
            p.client.setSoTimeout(5000);
            resetByPeer(p);
            InputStream in = p.client.getInputStream();
            assertThrowsExactly(SocketException.class, "Connection reset", () -> in.read());
            // sticky, as in the JDK: every later read reports the reset again
            assertThrowsExactly(SocketException.class, "Connection reset", () -> in.read(new byte[16]));
            assertThrowsExactly(SocketException.class, "Connection reset", () -> in.read(new byte[16], 0, 16));
            assertFalse(p.client.isClosed());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void shutdownAfterPeerResetReturnsNormally(Engine engine) throws Exception {
        assumeNotWine(WINE_RESET_READS_AS_EOF);
        // the kernel answers ENOTCONN once the connection is reset; the JDK ignores it
        try (TestSupport.Pair p = new TestSupport.Pair(engine, Engine.JDK)) {
            p.client.setSoTimeout(5000);
            resetByPeer(p);
            InputStream in = p.client.getInputStream();
            assertThrowsExactly(SocketException.class, "Connection reset", () -> in.read());
            p.client.shutdownInput();
            p.client.shutdownOutput();
            assertTrue(p.client.isInputShutdown());
            assertTrue(p.client.isOutputShutdown());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void untimedReadAfterPeerResetThrowsConnectionReset(Engine engine) throws Exception {
        // the JDK's untimed read blocks in the kernel and sees the reset even under Wine; ours
        // waits for readiness first, as every read on Windows does
        assumeNotWine(WINE_RESET_READS_AS_EOF);
        // no SO_TIMEOUT: the blocking (untimed) read path
        try (TestSupport.Pair p = new TestSupport.Pair(engine, Engine.JDK)) {
            InputStream in = p.client.getInputStream();
            Future<Throwable> reader = failureOf(() -> in.read());
            Thread.sleep(50);
            resetByPeer(p);
            assertSocketException(reader.get(5, TimeUnit.SECONDS), "Connection reset");
        }
    }

    /** Writes {@code chunk} bytes at a time until a write fails, and returns that failure; fails after 3 s. */
    private static IOException writeUntilFailure(OutputStream out, int chunk) throws InterruptedException {
        byte[] b = new byte[chunk];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() < deadline) {
            try {
                out.write(b);
            } catch (IOException e) {
                return e;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("writes of " + chunk + " bytes kept succeeding for 3 s");
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void writeAfterPeerResetThrowsSocketExceptionAndDoesNotKillTheJvm(Engine engine) throws Exception {
        try (TestSupport.Pair p = new TestSupport.Pair(engine, Engine.JDK)) {
            resetByPeer(p);
            Thread.sleep(100); // let the reset arrive before the first write
            OutputStream out = p.client.getOutputStream();
            // What the JDK reports for the first write after a reset arrived, and the next.
            assertSocketException(writeUntilFailure(out, 1), "Connection reset by peer");
            assertSocketException(writeUntilFailure(out, 1), TestSupport.BROKEN_PIPE);
        }
        // Still here: no SIGPIPE killed the JVM. Prove the process still works.
        try (TestSupport.Pair p = new TestSupport.Pair(engine)) {
            p.client.getOutputStream().write(7);
            p.server.setSoTimeout(2000);
            assertEquals(7, p.server.getInputStream().read());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void writeAfterReadSawResetThrowsBrokenPipe(Engine engine) throws Exception {
        assumeNotWine(WINE_RESET_READS_AS_EOF);
        try (TestSupport.Pair p = new TestSupport.Pair(engine, Engine.JDK)) {
            p.client.setSoTimeout(5000);
            resetByPeer(p);
            assertThrowsExactly(SocketException.class, "Connection reset", () -> p.client.getInputStream().read());
            assertSocketException(writeUntilFailure(p.client.getOutputStream(), 1), TestSupport.BROKEN_PIPE);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void writeToPeerThatClosedNormallyEventuallyThrowsBrokenPipe(Engine engine) throws Exception {
        try (TestSupport.Pair p = new TestSupport.Pair(engine, Engine.JDK)) {
            p.server.close(); // an orderly close: FIN, then a reset answers our data
            OutputStream out = p.client.getOutputStream();
            assertSocketException(writeUntilFailure(out, 1024), TestSupport.BROKEN_PIPE);
            // and the JVM is still alive to run this line
            assertFalse(p.client.isClosed());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void readAfterPeerClosedNormallyReturnsEofEveryTime(Engine engine) throws Exception {
        try (TestSupport.Pair p = new TestSupport.Pair(engine, Engine.JDK)) {
            p.client.setSoTimeout(2000);
            p.server.close();
            InputStream in = p.client.getInputStream();
            assertEquals(-1, in.read());
            assertEquals(-1, in.read(new byte[8]));
        }
    }

    // ---------------------------------------------------------------- host names and ports

    @ParameterizedTest
    @EnumSource(Engine.class)
    void unknownHostFromHostNameConstructor(Engine engine) {
        assertThrowsExactly(UnknownHostException.class, UNRESOLVABLE, () -> socketByName(engine, UNRESOLVABLE, 80).close());
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void unknownHostFromHostNameConstructorWithLocalAddress(Engine engine) {
        assertThrowsExactly(UnknownHostException.class, UNRESOLVABLE, () -> {
            Socket s = engine == Engine.JDK ? new Socket(UNRESOLVABLE, 80, LOOPBACK, 0)
                    : new RustSocket(UNRESOLVABLE, 80, LOOPBACK, 0);
            s.close();
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void unknownHostFromConnectToUnresolvedAddress(Engine engine) throws Exception {
        try (Socket s = engine.socket()) {
            assertThrowsExactly(UnknownHostException.class, UNRESOLVABLE,
                    () -> s.connect(InetSocketAddress.createUnresolved(UNRESOLVABLE, 80)));
            assertFalse(s.isConnected());
        }
        try (Socket s = engine.socket()) {
            assertThrowsExactly(UnknownHostException.class, UNRESOLVABLE,
                    () -> s.connect(InetSocketAddress.createUnresolved(UNRESOLVABLE, 80), 1000));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void serverPortOutOfRange(Engine engine) {
        assertThrowsExactly(IllegalArgumentException.class, "Port value out of range: 70000",
                () -> serverSocket(engine, 70000).close());
        assertThrowsExactly(IllegalArgumentException.class, "Port value out of range: -1",
                () -> serverSocket(engine, -1).close());
        assertThrowsExactly(IllegalArgumentException.class, "Port value out of range: 65536",
                () -> serverSocket(engine, 65536, 50, LOOPBACK).close());
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void clientPortOutOfRangeWithHostName(Engine engine) {
        assertThrowsExactly(IllegalArgumentException.class, "port out of range:-1",
                () -> socketByName(engine, "localhost", -1).close());
        assertThrowsExactly(IllegalArgumentException.class, "port out of range:65536",
                () -> socketByName(engine, "localhost", 65536).close());
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void clientPortOutOfRangeWithAddress(Engine engine) {
        assertThrowsExactly(IllegalArgumentException.class, "port out of range:70000",
                () -> socketByAddress(engine, LOOPBACK, 70000).close());
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void portIsCheckedBeforeTheHostNameIsResolved(Engine engine) {
        // the JDK builds an InetSocketAddress first, so a bad port wins over a bad name
        assertThrowsExactly(IllegalArgumentException.class, "port out of range:-1",
                () -> socketByName(engine, UNRESOLVABLE, -1).close());
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void localPortOutOfRange(Engine engine) {
        assertThrowsExactly(IllegalArgumentException.class, "port out of range:70000", () -> {
            Socket s = engine == Engine.JDK ? new Socket("localhost", 80, null, 70000)
                    : new RustSocket("localhost", 80, null, 70000);
            s.close();
        });
        assertThrowsExactly(IllegalArgumentException.class, "port out of range:70000", () -> {
            Socket s = engine == Engine.JDK ? new Socket(LOOPBACK, 80, null, 70000)
                    : new RustSocket(LOOPBACK, 80, null, 70000);
            s.close();
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void nullAddressIsANullPointerException(Engine engine) {
        // a plain NullPointerException without a message, as java.net.Socket throws it
        assertThrowsExactly(NullPointerException.class, null, () -> socketByAddress(engine, null, 80).close());
        assertThrowsExactly(NullPointerException.class, null, () -> {
            Socket s = engine == Engine.JDK ? new Socket((InetAddress) null, 80, null, 0)
                    : new RustSocket((InetAddress) null, 80, null, 0);
            s.close();
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectToPortOutOfRangeIsRejectedByTheAddress(Engine engine) throws Exception {
        try (Socket s = engine.socket()) {
            assertThrowsExactly(IllegalArgumentException.class, "port out of range:-5",
                    () -> s.connect(new InetSocketAddress(LOOPBACK, -5)));
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS) // the polls take 20 s only when it fails
    void failedConstructorsLeakNoDescriptor() throws Exception {
        new RustSocket().close(); // load the library first
        int refusedPort = TestSupport.refusedPort();
        try (ServerSocket busy = Engine.JDK.listen()) {
            DescriptorBaseline baseline = DescriptorBaseline.now();
            for (int i = 0; i < 20; i++) {
                assertThrows(IllegalArgumentException.class, () -> new RustServerSocket(70000).close());
                assertThrows(IllegalArgumentException.class, () -> new RustSocket("localhost", -1).close());
                assertThrows(BindException.class, () -> new RustServerSocket(busy.getLocalPort(), 50, LOOPBACK).close());
                assertThrows(ConnectException.class, () -> new RustSocket(LOOPBACK, refusedPort).close());
                assertThrows(ConnectException.class, () -> new RustSocket("localhost", refusedPort).close());
                assertThrows(ConnectException.class, () -> new RustSocket("localhost", refusedPort, LOOPBACK, 0).close());
                assertThrows(UnknownHostException.class, () -> new RustSocket(UNRESOLVABLE, 80).close());
            }
            baseline.assertBack();
        }
    }

    // ---------------------------------------------------------------- state errors

    @ParameterizedTest
    @EnumSource(Engine.class)
    void acceptOnUnboundServerSocket(Engine engine) throws Exception {
        try (ServerSocket s = engine.serverSocket()) {
            assertThrowsExactly(SocketException.class, "Socket is not bound yet", s::accept);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void acceptOnClosedServerSocket(Engine engine) throws Exception {
        ServerSocket s = engine.listen();
        s.close();
        assertThrowsExactly(SocketException.class, "Socket is closed", s::accept);
        ServerSocket unbound = engine.serverSocket();
        unbound.close();
        assertThrowsExactly(SocketException.class, "Socket is closed", unbound::accept);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void acceptWokenByCloseFromAnotherThread(Engine engine) throws Exception {
        ServerSocket s = engine.listen();
        Future<Throwable> acceptor = failureOf(() -> s.accept().close());
        Thread.sleep(100);
        s.close();
        assertSocketException(acceptor.get(5, TimeUnit.SECONDS), "Socket closed");
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void streamsOfUnconnectedSocket(Engine engine) throws Exception {
        try (Socket s = engine.socket()) {
            assertThrowsExactly(SocketException.class, "Socket is not connected", s::getInputStream);
            assertThrowsExactly(SocketException.class, "Socket is not connected", s::getOutputStream);
            s.bind(new InetSocketAddress(LOOPBACK, 0));
            assertThrowsExactly(SocketException.class, "Socket is not connected", s::getInputStream);
            assertThrowsExactly(SocketException.class, "Socket is not connected", s::getOutputStream);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void streamsOfClosedSocket(Engine engine) throws Exception {
        Socket unconnected = engine.socket();
        unconnected.close();
        assertThrowsExactly(SocketException.class, "Socket is closed", unconnected::getInputStream);
        assertThrowsExactly(SocketException.class, "Socket is closed", unconnected::getOutputStream);
        try (TestSupport.Pair p = new TestSupport.Pair(engine)) {
            InputStream in = p.client.getInputStream();
            OutputStream out = p.client.getOutputStream();
            p.client.close();
            assertThrowsExactly(SocketException.class, "Socket is closed", p.client::getInputStream);
            assertThrowsExactly(SocketException.class, "Socket is closed", p.client::getOutputStream);
            // streams obtained before close
            assertThrowsExactly(SocketException.class, "Socket closed", () -> in.read());
            assertThrowsExactly(SocketException.class, "Socket closed", () -> out.write(1));
            assertThrowsExactly(SocketException.class, "Socket closed", in::available);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void streamsAfterShutdown(Engine engine) throws Exception {
        try (TestSupport.Pair p = new TestSupport.Pair(engine)) {
            InputStream in = p.client.getInputStream();
            OutputStream out = p.client.getOutputStream();
            p.client.shutdownInput();
            p.client.shutdownOutput();
            assertThrowsExactly(SocketException.class, "Socket input is shutdown", p.client::getInputStream);
            assertThrowsExactly(SocketException.class, "Socket output is shutdown", p.client::getOutputStream);
            assertEquals(-1, in.read());
            // NioSocketImpl has no check of its own: the kernel's EPIPE comes through (on Windows
            // WSAESHUTDOWN, with the system's text, empty where it has none: as the JDK's)
            String shutdown = TestSupport.WINDOWS ? jdkWriteAfterShutdownOutput() : "Broken pipe";
            assertThrowsExactly(SocketException.class, shutdown, () -> out.write(1));
            assertThrowsExactly(SocketException.class, "Socket input is already shutdown", p.client::shutdownInput);
            assertThrowsExactly(SocketException.class, "Socket output is already shutdown", p.client::shutdownOutput);
        }
    }

    /** What the JDK's own socket says for a write after shutdownOutput (the system's text on Windows). */
    private static String jdkWriteAfterShutdownOutput() throws IOException {
        try (TestSupport.Pair p = new TestSupport.Pair(Engine.JDK)) {
            OutputStream out = p.client.getOutputStream();
            p.client.shutdownOutput();
            return assertThrows(SocketException.class, () -> out.write(1)).getMessage();
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void shutdownOfUnconnectedSocket(Engine engine) throws Exception {
        try (Socket s = engine.socket()) {
            assertThrowsExactly(SocketException.class, "Socket is not connected", s::shutdownInput);
            assertThrowsExactly(SocketException.class, "Socket is not connected", s::shutdownOutput);
        }
    }
}
