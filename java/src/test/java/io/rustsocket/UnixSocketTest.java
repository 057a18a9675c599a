package io.rustsocket;

import static io.rustsocket.JdkUnixChannels.assertSameFailure;
import static io.rustsocket.JdkUnixChannels.jdkConnect;
import static io.rustsocket.JdkUnixChannels.jdkListen;
import static io.rustsocket.TestSupport.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rustsocket.internal.Platform;
import io.rustsocket.internal.RustSocketImpl;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Unix domain sockets through RustSocket and RustServerSocket. Where the JDK defines the
 * behaviour (its SocketChannel and ServerSocketChannel over a UnixDomainSocketAddress), each
 * test asks the JDK first and expects the same answer from us.
 */
class UnixSocketTest {
    @TempDir
    Path dir;

    private UnixDomainSocketAddress name(String file) {
        return UnixDomainSocketAddress.of(dir.resolve(file));
    }

    private static final UnixDomainSocketAddress UNNAMED = UnixDomainSocketAddress.of("");

    @BeforeAll
    static void unixSocketsExist() {
        TestSupport.assumeUnixSockets();
    }

    /** Skips where the system has no socketpair(2) for Unix sockets (Windows). */
    private static void assumePairs() {
        assumeFalse(TestSupport.WINDOWS, "Windows has no socketpair(2) for Unix sockets");
    }

    /** Skips where the system does not tell a Unix socket's peer (Windows). */
    private static void assumeCredentials() {
        assumeFalse(TestSupport.WINDOWS, "Windows does not tell a Unix socket's peer");
    }

    // ---------------------------------------------------------------- the JDK's answers

    private static Throwable rustConnect(SocketAddress to) {
        try (RustSocket s = new RustSocket()) {
            s.connect(to);
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private static Throwable rustListen(SocketAddress at) {
        try (RustServerSocket s = new RustServerSocket()) {
            s.bind(at);
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    // ---------------------------------------------------------------- errors

    @Test
    void aMissingSocketFileFailsAsTheJdksChannel() {
        UnixDomainSocketAddress missing = name("missing.sock");
        assertSameFailure(jdkConnect(missing), rustConnect(missing));
        assertEquals(SocketException.class, rustConnect(missing).getClass());
    }

    @Test
    void aPlainFileRefusesAsTheJdksChannel() throws IOException {
        Path plain = Files.createFile(dir.resolve("plain"));
        assertSameFailure(jdkConnect(UnixDomainSocketAddress.of(plain)), rustConnect(UnixDomainSocketAddress.of(plain)));
        assertEquals(ConnectException.class, rustConnect(UnixDomainSocketAddress.of(plain)).getClass());
    }

    @Test
    void aSocketFileNobodyListensOnRefuses() throws IOException {
        UnixDomainSocketAddress stale = name("stale.sock");
        try (RustSocket bound = new RustSocket()) {
            bound.bind(stale); // bound but not listening
            assertSameFailure(jdkConnect(stale), rustConnect(stale));
        }
    }

    @Test
    void bindingAnExistingPathFailsAsTheJdksChannel() throws IOException {
        Path plain = Files.createFile(dir.resolve("taken"));
        UnixDomainSocketAddress a = UnixDomainSocketAddress.of(plain);
        assertSameFailure(jdkListen(a), rustListen(a));
        assertEquals(BindException.class, rustListen(a).getClass());
    }

    @Test
    void bindingInAMissingDirectoryFailsAsTheJdksChannel() {
        UnixDomainSocketAddress a = name("no-such-dir/s.sock");
        assertSameFailure(jdkListen(a), rustListen(a));
    }

    @Test
    void aPathTooLongIsRefusedBeforeAnySystemCallNamingTheLimit() throws Exception {
        UnixDomainSocketAddress longName = UnixDomainSocketAddress.of("/tmp/" + "x".repeat(200));
        Throwable jdk = jdkConnect(longName);
        DescriptorBaseline baseline = DescriptorBaseline.now();
        Throwable rust = rustConnect(longName);
        baseline.assertBack();
        assertNotNull(jdk);
        assertEquals(SocketException.class, rust.getClass(), () -> "got " + rust);
        assertEquals(jdk.getClass(), rust.getClass());
        assertTrue(rust.getMessage().startsWith(jdk.getMessage()), rust.getMessage());
        assertTrue(rust.getMessage().contains("205 bytes"), rust.getMessage());
        assertTrue(rust.getMessage().matches(".*at most 10[26]$"), rust.getMessage());
        Throwable bind = rustListen(longName);
        assertEquals(SocketException.class, bind.getClass());
        assertEquals(rust.getMessage(), bind.getMessage());
    }

    @Test
    void theLongestPathIsTheJdksSoEverySocketFileWeBindTheJdkCanReach() throws IOException {
        // from the temporary directory, paths of every length around the limit
        Path base = dir.toAbsolutePath();
        int baseLength = base.toString().getBytes(StandardCharsets.UTF_8).length + 1;
        assumeTrue(baseLength < 90, "the temporary directory's path is too long for this test");
        int checked = 0;
        for (int length = 100; length <= 110; length++) {
            UnixDomainSocketAddress a = UnixDomainSocketAddress.of(base.resolve("p".repeat(length - baseLength)));
            Throwable jdk = jdkListen(a);
            Files.deleteIfExists(a.getPath());
            Throwable rust = rustListen(a);
            Files.deleteIfExists(a.getPath());
            int len = length;
            assertEquals(jdk == null, rust == null, () -> len + " bytes: JDK " + jdk + ", rustsocket " + rust);
            if (jdk != null) {
                assertEquals(jdk.getClass(), rust.getClass());
                assertTrue(rust.getMessage().startsWith(jdk.getMessage()), rust.getMessage());
            }
            checked++;
        }
        assertEquals(11, checked);
    }

    @Test
    void aNameThatIsNotValidInTheJvmsEncodingIsReachedByItsBytes() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "python3 makes the socket file");
        // a listener whose file name is not UTF-8; the JVM sees it only through a directory listing
        Process server = new ProcessBuilder("/usr/bin/python3", "-c",
                "import socket,os,sys\n"
                        + "s=socket.socket(socket.AF_UNIX)\n"
                        + "s.bind(os.path.join(sys.argv[1].encode(), b'\\xff\\xfe-raw.sock'))\n"
                        + "s.listen(8)\n"
                        + "print('ready', flush=True)\n"
                        + "for i in range(2):\n"
                        + "    c,_=s.accept(); c.sendall(b'hi'); c.close()\n", dir.toString())
                .redirectErrorStream(true).start();
        try {
            assertEquals("ready", new java.io.BufferedReader(new java.io.InputStreamReader(server.getInputStream()))
                    .readLine());
            Path listed;
            try (java.util.stream.Stream<Path> files = Files.list(dir)) {
                listed = files.filter(p -> p.toString().endsWith("-raw.sock")).findFirst().orElseThrow();
            }
            UnixDomainSocketAddress a = UnixDomainSocketAddress.of(listed);
            try (SocketChannel jdk = SocketChannel.open(a)) {
                assertArrayEquals("hi".getBytes(), TestSupport.readExactly(Channels.newInputStream(jdk), 2));
            }
            try (RustSocket rust = new RustSocket()) {
                rust.connect(a);
                assertArrayEquals("hi".getBytes(), TestSupport.readExactly(rust.getInputStream(), 2));
                assertEquals(a, rust.getRemoteSocketAddress());
            }
        } finally {
            server.destroy();
            server.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void theEmptyPathIsTheJdksUnnamedAddress() throws Exception {
        Throwable jdkListen = jdkListen(UNNAMED);
        assertSameFailure(jdkListen, rustListen(UNNAMED));
        assertEquals(BindException.class, jdkListen.getClass());
        assertSameFailure(jdkConnect(UNNAMED), rustConnect(UNNAMED));
        try (SocketChannel jdk = SocketChannel.open(StandardProtocolFamily.UNIX); RustSocket rust = new RustSocket();
                RustServerSocket server = new RustServerSocket()) {
            jdk.bind(UNNAMED);
            rust.bind(UNNAMED);
            assertEquals(jdk.getLocalAddress(), rust.getLocalSocketAddress());
            UnixDomainSocketAddress path = name("after-unnamed.sock");
            server.bind(path);
            rust.connect(path);
            try (RustSocket accepted = server.accept()) {
                assertEquals(UNNAMED, accepted.getRemoteSocketAddress());
            }
        }
    }

    @Test
    void addressTypesCannotBeMixedOnOneSocket() throws IOException {
        try (RustSocket s = new RustSocket()) {
            s.bind(name("mixed.sock"));
            assertThrowsExactly(IllegalArgumentException.class, "Unsupported address type",
                    () -> s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), 1)));
            assertThrowsExactly(SocketException.class, "Already bound", () -> s.bind(name("other.sock")));
        }
        try (RustSocket s = new RustSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            assertThrowsExactly(IllegalArgumentException.class, "Unsupported address type",
                    () -> s.connect(name("tcp-bound.sock")));
        }
    }

    // ---------------------------------------------------------------- connections and names

    /** What the JDK's channels report as the four names of a connection over {@code path}. */
    private static SocketAddress[] jdkNames(UnixDomainSocketAddress path) throws IOException {
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(path);
            try (SocketChannel client = SocketChannel.open(path); SocketChannel accepted = server.accept()) {
                return new SocketAddress[] {server.getLocalAddress(), client.getLocalAddress(),
                    client.getRemoteAddress(), accepted.getLocalAddress(), accepted.getRemoteAddress()};
            }
        }
    }

    @Test
    void echoOverASocketFileWithTheJdksNames() throws Exception {
        SocketAddress[] jdk = jdkNames(name("jdk.sock"));
        UnixDomainSocketAddress path = name("rust.sock");
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(path);
            assertTrue(Files.exists(path.getPath()), "the bind made the socket file");
            try (RustSocket client = new RustSocket()) {
                client.connect(path, 5000);
                try (RustSocket accepted = server.accept()) {
                    SocketAddress[] ours = {server.getLocalSocketAddress(), client.getLocalSocketAddress(),
                        client.getRemoteSocketAddress(), accepted.getLocalSocketAddress(),
                        accepted.getRemoteSocketAddress()};
                    // the same shape: the listener's and both of the accepted side's names as the JDK's
                    assertEquals(jdk[1], UNNAMED);
                    assertEquals(jdk[4], UNNAMED);
                    assertArrayEquals(new SocketAddress[] {path, UNNAMED, path, path, UNNAMED}, ours);
                    echo(client, accepted, 1 << 20);
                    echo(accepted, client, 100_000);
                    assertEquals(InetAddress.getLoopbackAddress(), client.getInetAddress());
                    assertEquals(0, client.getPort());
                    assertEquals(0, client.getLocalPort());
                    assertEquals(0, server.getLocalPort());
                    assertTrue(client.toString().contains(path.toString()), client.toString());
                }
            }
        }
        assertTrue(Files.exists(path.getPath()), "the socket file stays after close, as with the JDK");
    }

    /** {@code n} random bytes written by {@code from} arrive intact at {@code to}. */
    private static void echo(Socket from, Socket to, int n) throws Exception {
        byte[] data = TestSupport.randomBytes(n);
        FutureTask<byte[]> reader = TestSupport.async("reader", () -> TestSupport.readExactly(to.getInputStream(), n));
        from.getOutputStream().write(data);
        assertArrayEquals(data, TestSupport.await(reader, 20_000));
    }

    @Test
    void theJdksChannelsAndOursTalkToEachOther() throws Exception {
        UnixDomainSocketAddress ours = name("ours.sock");
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(ours);
            try (SocketChannel jdkClient = SocketChannel.open(ours); RustSocket accepted = server.accept()) {
                byte[] data = TestSupport.randomBytes(300_000);
                FutureTask<byte[]> reader = TestSupport.async("reader",
                        () -> TestSupport.readExactly(accepted.getInputStream(), data.length));
                Channels.newOutputStream(jdkClient).write(data);
                assertArrayEquals(data, TestSupport.await(reader, 20_000));
                assertEquals(UNNAMED, accepted.getRemoteSocketAddress());
            }
        }
        UnixDomainSocketAddress theirs = name("theirs.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(theirs);
            try (RustSocket client = new RustSocket()) {
                client.connect(theirs);
                try (SocketChannel accepted = server.accept()) {
                    byte[] data = TestSupport.randomBytes(300_000);
                    FutureTask<byte[]> reader = TestSupport.async("reader",
                            () -> TestSupport.readExactly(Channels.newInputStream(accepted), data.length));
                    client.getOutputStream().write(data);
                    assertArrayEquals(data, TestSupport.await(reader, 20_000));
                    ByteBuffer back = ByteBuffer.wrap("back".getBytes());
                    accepted.write(back);
                    assertArrayEquals("back".getBytes(), TestSupport.readExactly(client.getInputStream(), 4));
                }
            }
        }
    }

    /**
     * Blocking descriptors over a socket file. A slow reader taking small pieces: 64 KiB writes
     * find the send buffer full again and again, stop short and wait for room. A slow writer:
     * 64 KiB reads empty the socket, stop short, and the next one polls before its system call.
     * The bytes arrive whole and in order either way.
     */
    @ParameterizedTest(name = "slow reader: {0}")
    @ValueSource(booleans = {true, false})
    void largeWritesAndReadsArriveIntactWhicheverSideIsSlow(boolean slowReader) throws Exception {
        UnixDomainSocketAddress path = name("slow.sock");
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(path);
            try (RustSocket client = new RustSocket()) {
                client.connect(path, 5000);
                try (RustSocket accepted = server.accept()) {
                    long polledFirst = RustSocketImpl.polledFirst();
                    if (slowReader) {
                        TestSupport.assertBytesArriveIntact(client, 65_536, accepted, 1000, true);
                    } else {
                        TestSupport.assertBytesArriveIntact(client, 20_000, accepted, 65_536, false);
                    }
                    if (TestSupport.LINUX) {
                        assertTrue(RustSocketImpl.polledFirst() > polledFirst,
                                slowReader ? "no write waited before its call" : "no read waited before its call");
                    }
                }
            }
        }
    }

    @Test
    void aClientBoundToANameShowsItToThePeer() throws Exception {
        UnixDomainSocketAddress path = name("server.sock");
        UnixDomainSocketAddress clientName = name("client.sock");
        try (RustServerSocket server = new RustServerSocket(); RustSocket client = new RustSocket()) {
            server.bind(path);
            client.bind(clientName);
            assertEquals(clientName, client.getLocalSocketAddress());
            client.connect(path);
            try (RustSocket accepted = server.accept()) {
                assertEquals(clientName, accepted.getRemoteSocketAddress());
                assertEquals(clientName, client.getLocalSocketAddress());
            }
        }
    }

    @Test
    void endOfStreamAndShutdown() throws Exception {
        try (Connection c = Connection.open(name("eof.sock"))) {
            c.client.getOutputStream().write(new byte[] {1, 2, 3});
            c.client.shutdownOutput();
            InputStream in = c.accepted.getInputStream();
            assertArrayEquals(new byte[] {1, 2, 3}, TestSupport.readExactly(in, 3));
            assertEquals(-1, in.read());
            c.accepted.getOutputStream().write(9); // the other direction still works
            assertEquals(9, c.client.getInputStream().read());
            c.accepted.close();
            assertEquals(-1, c.client.getInputStream().read());
        }
    }

    @Test
    void aReadTimesOutAndTheSocketStaysUsable() throws Exception {
        try (Connection c = Connection.open(name("timeout.sock"))) {
            c.client.setSoTimeout(100);
            assertThrowsExactly(SocketTimeoutException.class, "Read timed out", () -> c.client.getInputStream().read());
            c.accepted.getOutputStream().write(7);
            assertEquals(7, c.client.getInputStream().read());
        }
    }

    @Test
    void closeWakesABlockedReadAndABlockedAccept() throws Exception {
        try (Connection c = Connection.open(name("wake.sock"))) {
            FutureTask<Integer> read = TestSupport.asyncStarted("read", () -> c.client.getInputStream().read());
            Thread.sleep(100);
            c.client.close();
            TestSupport.assertSocketException(TestSupport.failureOf(read, 5000), "Socket closed");
        }
        RustServerSocket server = new RustServerSocket();
        server.bind(name("accept.sock"));
        FutureTask<Socket> accept = TestSupport.asyncStarted("accept", server::accept);
        Thread.sleep(100);
        server.close();
        TestSupport.assertSocketException(TestSupport.failureOf(accept, 5000), "Socket closed");
    }

    @Test
    void aConnectWaitsForRoomInTheBacklogWithinItsTimeout() throws Exception {
        DescriptorBaseline baseline = DescriptorBaseline.now();
        UnixDomainSocketAddress path = name("full.sock");
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(path, 1);
            Set<RustSocket> queued = new HashSet<>();
            try {
                SocketTimeoutException timeout = null;
                for (int i = 0; i < 50 && timeout == null; i++) {
                    RustSocket s = new RustSocket();
                    try {
                        s.connect(path, 200);
                        queued.add(s);
                    } catch (SocketTimeoutException e) {
                        timeout = e;
                        assertEquals(TestSupport.SOCKET_CLOSED_BY_FAILED_CONNECT, s.isClosed());
                        s.close();
                    }
                }
                assertNotNull(timeout, "the backlog never filled");
                assertEquals("Connect timed out", timeout.getMessage());
                // a connect waiting for room is woken by close
                RustSocket waiting = new RustSocket();
                FutureTask<Void> connect = TestSupport.asyncStarted("connect", () -> {
                    waiting.connect(path);
                    return null;
                });
                Thread.sleep(100);
                waiting.close();
                TestSupport.assertSocketException(TestSupport.failureOf(connect, 5000), "Socket closed");
                // room again: accept one, and a connect gets through
                server.accept().close();
                try (RustSocket late = new RustSocket()) {
                    late.connect(path, 5000);
                    assertTrue(late.isConnected());
                }
            } finally {
                for (RustSocket s : queued) {
                    s.close();
                }
            }
        }
        baseline.assertBack();
    }

    @Test
    void namesOutliveTheSockets() throws Exception {
        assumePairs();
        UnixDomainSocketAddress path = name("outlive.sock");
        RustServerSocket server = new RustServerSocket();
        server.bind(path);
        RustSocket client = new RustSocket();
        client.connect(path);
        RustSocket accepted = server.accept();
        RustSocket[] pair = RustSocket.pair();
        for (java.io.Closeable c : new java.io.Closeable[] {server, client, accepted, pair[0], pair[1]}) {
            c.close();
        }
        assertEquals(path, server.getLocalSocketAddress());
        assertEquals(path, client.getRemoteSocketAddress());
        assertEquals(UNNAMED, client.getLocalSocketAddress());
        assertEquals(path, accepted.getLocalSocketAddress());
        assertEquals(UNNAMED, accepted.getRemoteSocketAddress());
        assertEquals(UNNAMED, pair[0].getLocalSocketAddress());
        assertEquals(UNNAMED, pair[1].getRemoteSocketAddress());
    }

    @Test
    void aRefusedUnixBindLeavesTheSocketUsableForIp() throws Exception {
        Path taken = Files.createFile(dir.resolve("taken-then-ip"));
        try (RustServerSocket server = new RustServerSocket()) {
            server.setReceiveBufferSize(65536);
            assertThrows(BindException.class, () -> server.bind(UnixDomainSocketAddress.of(taken)));
            assertFalse(server.isBound());
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            assertTrue(server.supportedOptions().contains(StandardSocketOptions.SO_REUSEADDR));
            try (Socket c = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort()); Socket a = server.accept()) {
                c.getOutputStream().write(3);
                assertEquals(3, a.getInputStream().read());
            }
        }
        try (RustSocket client = new RustSocket()) {
            client.setTcpNoDelay(true);
            assertThrows(BindException.class, () -> client.bind(UnixDomainSocketAddress.of(taken)));
            assertTrue(client.getTcpNoDelay(), "an IP socket again, with the options set before");
            try (RustServerSocket tcp = new RustServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
                client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), tcp.getLocalPort()));
                tcp.accept().close();
            }
        }
    }

    @Test
    void aConnectOnAFullBacklogKeepsAPlatformThreadsInterruptAndStillTimesOut() throws Exception {
        UnixDomainSocketAddress path = name("interrupted.sock");
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(path, 1);
            java.util.List<RustSocket> queued = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) { // Linux queues backlog + 1
                    RustSocket s = new RustSocket();
                    s.connect(path, 1000);
                    queued.add(s);
                }
                Thread.currentThread().interrupt();
                try (RustSocket waiting = new RustSocket()) {
                    assertThrowsExactly(SocketTimeoutException.class, "Connect timed out", () -> waiting.connect(path, 300));
                } finally {
                    assertTrue(Thread.interrupted(), "the interrupt is kept, not consumed by the waiting");
                }
            } finally {
                for (RustSocket s : queued) {
                    s.close();
                }
            }
        }
    }

    @Test
    void concurrentConnectsOfOneSocketNeverSwapTheirNames() throws Exception {
        UnixDomainSocketAddress p1 = name("one.sock");
        UnixDomainSocketAddress p2 = name("two.sock");
        try (RustServerSocket s1 = new RustServerSocket(); RustServerSocket s2 = new RustServerSocket()) {
            s1.bind(p1, 500);
            s2.bind(p2, 500);
            for (int i = 0; i < 200; i++) {
                RustSocket shared = new RustSocket();
                java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
                FutureTask<Boolean> a = TestSupport.async("connect-1", () -> tryConnect(shared, p1, go));
                FutureTask<Boolean> b = TestSupport.async("connect-2", () -> tryConnect(shared, p2, go));
                go.countDown();
                boolean aWon = TestSupport.await(a, 10_000);
                boolean bWon = TestSupport.await(b, 10_000);
                assertFalse(aWon && bWon, "both connects of one socket returned");
                if (aWon || bWon) {
                    assertEquals(aWon ? p1 : p2, shared.getRemoteSocketAddress(), "the winner's own name");
                }
                shared.close();
            }
        }
    }

    private static boolean tryConnect(RustSocket s, UnixDomainSocketAddress to, java.util.concurrent.CountDownLatch go)
            throws InterruptedException {
        go.await();
        try {
            s.connect(to);
            return true;
        } catch (IOException | IllegalArgumentException e) {
            return false;
        }
    }

    @Test
    void aConnectedSocketRefusesAnotherConnectWithSocketsOwnMessage() throws Exception {
        String socketsOwn; // "already connected" on JDK 17, "Already connected" on 25
        try (RustServerSocket tcp = new RustServerSocket(0, 50, InetAddress.getLoopbackAddress());
                RustSocket connected = new RustSocket(InetAddress.getLoopbackAddress(), tcp.getLocalPort())) {
            socketsOwn = assertThrows(SocketException.class, () -> connected.connect(tcp.getLocalSocketAddress()))
                    .getMessage();
        }
        try (Connection c = Connection.open(name("twice.sock"))) {
            assertThrowsExactly(SocketException.class, socketsOwn, () -> c.client.connect(name("twice.sock")));
            // the address type is checked first, as the JDK's Unix channel checks it
            assertThrowsExactly(IllegalArgumentException.class, "Unsupported address type",
                    () -> c.client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), 1)));
            assertThrows(UnsupportedOperationException.class, c.client::tcpInfo);
        }
    }

    // ---------------------------------------------------------------- options

    @Test
    void theOptionsAreTheJdkChannels() throws IOException {
        Set<SocketOption<?>> jdkClient;
        Set<SocketOption<?>> jdkServer;
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
                ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            jdkClient = new HashSet<>(c.supportedOptions());
            jdkServer = s.supportedOptions();
        }
        try (Connection c = Connection.open(name("options.sock"))) {
            assertEquals(jdkClient, c.client.supportedOptions());
            assertEquals(jdkClient, c.accepted.supportedOptions());
            assertEquals(jdkServer, c.server.supportedOptions());
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> c.client.setOption(StandardSocketOptions.TCP_NODELAY, true));
            assertEquals("'TCP_NODELAY' not supported", e.getMessage());
            assertThrows(UnsupportedOperationException.class,
                    () -> c.server.setOption(StandardSocketOptions.SO_REUSEADDR, true));
        }
    }

    @Test
    void buffersAndLingerReadBackAsOnTheJdksChannel() throws IOException {
        try (SocketChannel jdk = SocketChannel.open(StandardProtocolFamily.UNIX);
                Connection c = Connection.open(name("values.sock"))) {
            for (int size : new int[] {4096, 65536, 1 << 20}) {
                jdk.setOption(StandardSocketOptions.SO_SNDBUF, size);
                c.client.setSendBufferSize(size);
                assertEquals(jdk.getOption(StandardSocketOptions.SO_SNDBUF), c.client.getSendBufferSize());
                jdk.setOption(StandardSocketOptions.SO_RCVBUF, size);
                c.client.setOption(StandardSocketOptions.SO_RCVBUF, size);
                assertEquals(jdk.getOption(StandardSocketOptions.SO_RCVBUF), c.client.getReceiveBufferSize());
            }
            jdk.setOption(StandardSocketOptions.SO_LINGER, 5);
            c.client.setSoLinger(true, 5);
            assertEquals(jdk.getOption(StandardSocketOptions.SO_LINGER), c.client.getSoLinger());
        }
    }

    @Test
    void theLegacySettersOfTcpOptionsDoNothingSoTcpClientsRunUnchanged() throws IOException {
        try (Connection c = Connection.open(name("legacy.sock"))) {
            c.client.setTcpNoDelay(true);
            c.client.setKeepAlive(true);
            c.client.setOOBInline(true);
            c.client.setTrafficClass(0x10);
            c.client.setReuseAddress(true);
            assertFalse(c.client.getTcpNoDelay());
            assertFalse(c.client.getKeepAlive());
            assertEquals(0, c.client.getTrafficClass());
            assertEquals(InetAddress.getLoopbackAddress(), c.client.getLocalAddress());
            c.server.setReuseAddress(true);
            assertFalse(c.server.getReuseAddress());
            c.client.getOutputStream().write(5);
            assertEquals(5, c.accepted.getInputStream().read());
        }
    }

    @Test
    void aListenersOptionsSetBeforeTheBindArriveAsOnTheJdksChannel() throws IOException {
        int jdkValue;
        try (ServerSocketChannel jdk = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            jdk.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
            jdk.bind(name("jdk-rcvbuf.sock"));
            jdkValue = jdk.getOption(StandardSocketOptions.SO_RCVBUF);
        }
        try (RustServerSocket server = new RustServerSocket()) {
            server.setReceiveBufferSize(4096);
            server.bind(name("rust-rcvbuf.sock"));
            assertEquals(jdkValue, server.getReceiveBufferSize());
        }
    }

    @Test
    void optionsSetBeforeTheConnectArriveOnTheUnixSocket() throws Exception {
        UnixDomainSocketAddress path = name("preset.sock");
        try (RustServerSocket server = new RustServerSocket(); RustSocket client = new RustSocket()) {
            server.bind(path);
            client.setTcpNoDelay(true); // an IP socket yet: this one is left behind
            client.setSendBufferSize(65536);
            int expected = client.getSendBufferSize();
            client.connect(path);
            server.accept().close();
            assertEquals(expected, client.getSendBufferSize());
            assertFalse(client.getTcpNoDelay());
        }
    }

    @Test
    void peerCredentialsThroughTheJdksOptionAreTheJdkChannels() throws IOException {
        assumeCredentials();
        UnixDomainSocketAddress path = name("peercred.sock");
        Object jdkValue;
        String jdkSetMessage;
        String jdkNullMessage;
        String jdkUnconnected;
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(path);
            try (SocketChannel unconnected = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                jdkUnconnected = assertThrows(SocketException.class,
                        () -> unconnected.getOption(ExtendedSocketOptions.SO_PEERCRED)).getMessage();
            }
            try (SocketChannel c = SocketChannel.open(path); SocketChannel a = server.accept()) {
                jdkValue = c.getOption(ExtendedSocketOptions.SO_PEERCRED);
                assertEquals(jdkValue, a.getOption(ExtendedSocketOptions.SO_PEERCRED));
                UnixDomainPrincipal value = (UnixDomainPrincipal) jdkValue;
                jdkSetMessage = assertThrows(SocketException.class,
                        () -> c.setOption(ExtendedSocketOptions.SO_PEERCRED, value)).getMessage();
                jdkNullMessage = assertThrows(IllegalArgumentException.class,
                        () -> c.setOption(ExtendedSocketOptions.SO_PEERCRED, null)).getMessage();
            }
        }
        Files.delete(path.getPath());
        try (Connection c = Connection.open(path)) {
            assertEquals(jdkValue, c.client.getOption(ExtendedSocketOptions.SO_PEERCRED));
            assertEquals(jdkValue, c.accepted.getOption(ExtendedSocketOptions.SO_PEERCRED));
            assertThrowsExactly(SocketException.class, jdkSetMessage,
                    () -> c.client.setOption(ExtendedSocketOptions.SO_PEERCRED, (UnixDomainPrincipal) jdkValue));
            assertThrowsExactly(IllegalArgumentException.class, jdkNullMessage,
                    () -> c.client.setOption(ExtendedSocketOptions.SO_PEERCRED, null));
        }
        try (RustSocket unconnected = new RustSocket()) {
            unconnected.bind(name("unconnected.sock"));
            // the JDK says "get SO_PEERCRED failed", or the text of whatever errno an earlier call left
            assertTrue(jdkUnconnected.equals("get SO_PEERCRED failed") || jdkUnconnected.equals("Invalid argument"),
                    jdkUnconnected);
            assertThrowsExactly(SocketException.class, "get SO_PEERCRED failed",
                    () -> unconnected.getOption(ExtendedSocketOptions.SO_PEERCRED));
        }
    }

    // ---------------------------------------------------------------- pairs, credentials, abstract names

    @Test
    void aPairIsTwoConnectedUnnamedSockets() throws Exception {
        assumePairs();
        DescriptorBaseline baseline = DescriptorBaseline.now();
        RustSocket[] pair = RustSocket.pair();
        RustSocket a = pair[0];
        RustSocket b = pair[1];
        try {
            assertTrue(a.isConnected() && b.isConnected() && a.isBound());
            echo(a, b, 200_000);
            echo(b, a, 200_000);
            assertEquals(UNNAMED, a.getLocalSocketAddress());
            assertEquals(UNNAMED, b.getRemoteSocketAddress());
            PeerCredentials creds = a.peerCredentials();
            com.sun.security.auth.module.UnixSystem me = new com.sun.security.auth.module.UnixSystem();
            assertEquals(ProcessHandle.current().pid(), creds.pid());
            assertEquals(me.getUid(), creds.uid());
            assertEquals(me.getGid(), creds.gid());
            b.setSoTimeout(50);
            assertThrows(SocketTimeoutException.class, () -> b.getInputStream().read());
            a.close();
            assertEquals(-1, b.getInputStream().read());
        } finally {
            a.close();
            b.close();
        }
        baseline.assertBack();
    }

    @Test
    void credentialsNameTheProcessAtTheOtherEnd() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "python3 is needed for a child process");
        UnixDomainSocketAddress path = name("creds.sock");
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(path);
            Process child = new ProcessBuilder("/usr/bin/python3", "-c",
                    "import socket,sys\n"
                            + "s=socket.socket(socket.AF_UNIX)\n"
                            + "s.connect(sys.argv[1])\n"
                            + "s.sendall(b'x')\n"
                            + "s.recv(1)\n", path.getPath().toString())
                    .redirectErrorStream(true).start();
            try (RustSocket accepted = server.accept()) {
                assertEquals('x', accepted.getInputStream().read());
                PeerCredentials creds = accepted.peerCredentials();
                assertEquals(child.pid(), creds.pid());
                accepted.getOutputStream().write(1);
            } finally {
                assertTrue(child.waitFor(20, TimeUnit.SECONDS));
            }
            assertEquals(0, child.exitValue(), () -> new String(readAll(child.getInputStream())));
        }
        try (Connection c = Connection.open(name("tcp-creds.sock"))) {
            c.client.close();
            assertThrowsExactly(SocketException.class, "Socket is closed", c.client::peerCredentials);
        }
        try (RustServerSocket tcp = new RustServerSocket(0);
                RustSocket s = new RustSocket(InetAddress.getLoopbackAddress(), tcp.getLocalPort())) {
            assertThrows(UnsupportedOperationException.class, s::peerCredentials);
        }

    }

    @Test
    void whereTheSystemDoesNotTellThePeerCredentialsAreUnsupported() throws Exception {
        assumeTrue(TestSupport.WINDOWS, "Windows only");
        try (Connection c = Connection.open(name("windows-creds.sock"))) {
            assertThrows(UnsupportedOperationException.class, c.client::peerCredentials);
            assertFalse(c.client.supportedOptions().contains(ExtendedSocketOptions.SO_PEERCRED));
        }
        assertThrows(UnsupportedOperationException.class, RustSocket::pair);
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    @Test
    void abstractNamesHaveNoFileAndAreHeldOnce() throws Exception {
        assumeTrue(Platform.abstractUnixNames(), "abstract names are Linux's only");
        AbstractUnixSocketAddress a = AbstractUnixSocketAddress.of("rustsocket-test-" + ProcessHandle.current().pid());
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(a);
            assertEquals(a, server.getLocalSocketAddress());
            assertThrowsExactly(BindException.class, "Address already in use", () -> {
                try (RustServerSocket again = new RustServerSocket()) {
                    again.bind(a);
                }
            });
            try (RustSocket client = new RustSocket()) {
                client.connect(a);
                try (RustSocket accepted = server.accept()) {
                    assertEquals(a, client.getRemoteSocketAddress());
                    assertEquals(a, accepted.getLocalSocketAddress());
                    echo(client, accepted, 10_000);
                }
            }
        }
        // the name went with the listener: it can be bound again
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(a);
        }
        assertEquals("@x", AbstractUnixSocketAddress.of("x").toString());
    }

    // ---------------------------------------------------------------- descriptors

    @Test
    void descriptorsReturnToTheBaselineAfterThousandsOfConnections() throws Exception {
        UnixDomainSocketAddress path = name("many.sock");
        DescriptorBaseline baseline = DescriptorBaseline.now();
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(path);
            for (int i = 0; i < 3000; i++) {
                try (RustSocket client = new RustSocket()) {
                    client.connect(path);
                    try (Socket accepted = server.accept()) {
                        client.getOutputStream().write(i);
                        assertEquals(i & 0xff, accepted.getInputStream().read());
                    }
                }
            }
            for (int i = 0; i < (TestSupport.WINDOWS ? 0 : 1000); i++) {
                RustSocket[] pair = RustSocket.pair();
                pair[0].close();
                pair[1].close();
            }
        }
        baseline.assertBack();
    }

    /** A listener on a socket file, a client connected to it, and the accepted end. */
    private static final class Connection implements AutoCloseable {
        final RustServerSocket server;
        final RustSocket client;
        final RustSocket accepted;

        private Connection(RustServerSocket server, RustSocket client, RustSocket accepted) {
            this.server = server;
            this.client = client;
            this.accepted = accepted;
        }

        static Connection open(UnixDomainSocketAddress path) throws IOException {
            RustServerSocket server = new RustServerSocket();
            server.bind(path);
            RustSocket client = new RustSocket();
            client.connect(path);
            return new Connection(server, client, server.accept());
        }

        @Override
        public void close() throws IOException {
            accepted.close();
            client.close();
            server.close();
        }
    }
}
