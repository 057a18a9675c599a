package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.rustsocket.internal.Descriptors;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ServerSocketFactory;
import javax.net.SocketFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** RustSocket and RustServerSocket against the JDK's, over IPv4 and IPv6 loopback, under load. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class InteropTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int MIB = 1 << 20;

    private static ExecutorService pool;

    @BeforeAll
    static void startPool() {
        pool = TestSupport.daemonPool("InteropTest-worker");
    }

    @AfterAll
    static void stopPool() {
        pool.shutdownNow();
    }

    private static InetAddress ipv6Loopback() throws IOException {
        return InetAddress.getByAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    }

    /** Skips the test unless a JDK server socket can bind ::1. */
    private static InetAddress assumeIpv6Loopback() throws IOException {
        InetAddress v6 = ipv6Loopback();
        try (ServerSocket probe = new ServerSocket(0, 1, v6)) {
            assertTrue(probe.isBound());
        } catch (IOException e) {
            Assumptions.abort("::1 is not configured here: " + e);
        }
        return v6;
    }

    /**
     * A client of {@code clientEngine} sends 1 MiB to a server of {@code serverEngine} listening
     * on {@code address}, which answers with 1 MiB of its own; both arrive intact.
     */
    private static void exchangeOneMebibyte(Engine clientEngine, Engine serverEngine, InetAddress address)
            throws Exception {
        byte[] up = TestSupport.randomBytes(MIB);
        byte[] down = TestSupport.randomBytes(MIB);
        try (ServerSocket listener = serverEngine.listen(address)) {
            Future<byte[]> server = pool.submit(() -> {
                try (Socket s = listener.accept()) {
                    s.setSoTimeout(10_000);
                    byte[] got = TestSupport.readExactly(s.getInputStream(), MIB);
                    s.getOutputStream().write(down);
                    s.shutdownOutput();
                    assertEquals(-1, s.getInputStream().read(), "client sent more than 1 MiB");
                    return got;
                }
            });
            try (Socket c = clientEngine.connect(address, listener.getLocalPort())) {
                c.setSoTimeout(10_000);
                assertEquals(address, c.getInetAddress());
                c.getOutputStream().write(up);
                byte[] got = TestSupport.readExactly(c.getInputStream(), MIB);
                assertEquals(-1, c.getInputStream().read(), "server sent more than 1 MiB");
                c.shutdownOutput();
                assertArrayEquals(down, got, "server to client");
                assertArrayEquals(up, server.get(10, TimeUnit.SECONDS), "client to server");
            }
        }
    }

    @ParameterizedTest(name = "{0} client, {1} server")
    @CsvSource({"JDK, RUST", "RUST, JDK", "RUST, RUST"})
    void oneMebibyteEachWayOverIpv4(Engine client, Engine server) throws Exception {
        exchangeOneMebibyte(client, server, LOOPBACK);
    }

    @ParameterizedTest(name = "{0} client, {1} server")
    @CsvSource({"JDK, RUST", "RUST, JDK", "RUST, RUST"})
    void oneMebibyteEachWayOverIpv6(Engine client, Engine server) throws Exception {
        exchangeOneMebibyte(client, server, assumeIpv6Loopback());
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void ipv6AddressesLookLikeTheJdks(Engine engine) throws Exception {
        InetAddress v6 = assumeIpv6Loopback();
        try (ServerSocket listener = engine.listen(v6);
                Socket client = engine.connect(v6, listener.getLocalPort());
                Socket accepted = listener.accept()) {
            int serverPort = listener.getLocalPort();
            int clientPort = client.getLocalPort();
            assertInstanceOf(Inet6Address.class, accepted.getInetAddress());
            assertEquals(v6, accepted.getInetAddress());
            assertEquals(v6, accepted.getLocalAddress());
            assertEquals(v6, client.getLocalAddress());
            assertEquals("ServerSocket[addr=/0:0:0:0:0:0:0:1,localport=" + serverPort + "]", listener.toString());
            assertEquals("Socket[addr=/0:0:0:0:0:0:0:1,port=" + clientPort + ",localport=" + serverPort + "]",
                    accepted.toString());
            assertEquals("Socket[addr=/0:0:0:0:0:0:0:1,port=" + serverPort + ",localport=" + clientPort + "]",
                    client.toString());
            assertEquals("/[0:0:0:0:0:0:0:1]:" + serverPort, accepted.getLocalSocketAddress().toString());
            assertEquals("/[0:0:0:0:0:0:0:1]:" + clientPort, accepted.getRemoteSocketAddress().toString());
        }
    }

    // ---------------------------------------------------------------- wildcard server, IPv4 client

    private static ServerSocket wildcardServer(Engine engine) throws IOException {
        return engine == Engine.JDK ? new ServerSocket(0) : new RustServerSocket(0);
    }

    @ParameterizedTest(name = "{0} server, {1} client")
    @CsvSource({"JDK, JDK", "RUST, JDK", "RUST, RUST"})
    void ipv4ClientOfWildcardServerLooksLikeTheJdk(Engine engine, Engine clientEngine) throws Exception {
        try (ServerSocket listener = wildcardServer(engine);
                Socket client = clientEngine.connect(LOOPBACK, listener.getLocalPort());
                Socket accepted = listener.accept()) {
            int serverPort = listener.getLocalPort();
            int clientPort = client.getLocalPort();
            InetAddress v4 = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});

            // the accepted connection reports plain IPv4, never ::ffff:127.0.0.1
            assertInstanceOf(Inet4Address.class, accepted.getInetAddress());
            assertEquals(v4, accepted.getInetAddress());
            assertInstanceOf(Inet4Address.class, accepted.getLocalAddress());
            assertEquals(v4, accepted.getLocalAddress());
            assertEquals(clientPort, accepted.getPort());
            assertEquals(serverPort, accepted.getLocalPort());
            assertEquals("Socket[addr=/127.0.0.1,port=" + clientPort + ",localport=" + serverPort + "]",
                    accepted.toString());
            assertEquals(new InetSocketAddress(v4, serverPort), accepted.getLocalSocketAddress());
            assertEquals("/127.0.0.1:" + serverPort, accepted.getLocalSocketAddress().toString());
            assertEquals(new InetSocketAddress(v4, clientPort), accepted.getRemoteSocketAddress());
            assertEquals("/127.0.0.1:" + clientPort, accepted.getRemoteSocketAddress().toString());

            // the listener itself reports the IPv4 wildcard, as the JDK's does
            assertTrue(listener.getInetAddress().isAnyLocalAddress());
            assertInstanceOf(Inet4Address.class, listener.getInetAddress());
            assertEquals("ServerSocket[addr=0.0.0.0/0.0.0.0,localport=" + serverPort + "]", listener.toString());
            assertEquals("0.0.0.0/0.0.0.0:" + serverPort, listener.getLocalSocketAddress().toString());

            client.getOutputStream().write(42);
            accepted.setSoTimeout(2000);
            assertEquals(42, accepted.getInputStream().read());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void clientAddressesLookLikeTheJdks(Engine engine) throws Exception {
        try (ServerSocket listener = Engine.JDK.listen();
                Socket client = engine.connect(LOOPBACK, listener.getLocalPort());
                Socket accepted = listener.accept()) {
            int serverPort = listener.getLocalPort();
            int clientPort = client.getLocalPort();
            assertEquals(accepted.getPort(), clientPort);
            assertEquals("Socket[addr=" + LOOPBACK + ",port=" + serverPort + ",localport=" + clientPort + "]",
                    client.toString());
            assertEquals("localhost/127.0.0.1:" + serverPort, client.getRemoteSocketAddress().toString());
            assertEquals("/127.0.0.1:" + clientPort, client.getLocalSocketAddress().toString());
            assertInstanceOf(Inet4Address.class, client.getLocalAddress());
            assertTrue(client.isConnected());
            assertTrue(client.isBound());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void unconnectedSocketLooksLikeTheJdks(Engine engine) throws Exception {
        try (Socket s = engine.socket()) {
            assertEquals("Socket[unconnected]", s.toString());
            assertNull(s.getInetAddress());
            assertNull(s.getRemoteSocketAddress());
            assertNull(s.getLocalSocketAddress());
            assertEquals(-1, s.getLocalPort());
            assertEquals(0, s.getPort());
            assertFalse(s.isBound());
            assertFalse(s.isConnected());
            assertTrue(s.getLocalAddress().isAnyLocalAddress());
        }
        try (ServerSocket s = engine.serverSocket()) {
            assertEquals("ServerSocket[unbound]", s.toString());
            assertNull(s.getInetAddress());
            assertNull(s.getLocalSocketAddress());
            assertEquals(-1, s.getLocalPort());
        }
    }

    // ---------------------------------------------------------------- load

    /** Echoes everything it reads on one connection until EOF. */
    private static void echo(Socket s) {
        try (Socket socket = s) {
            socket.setSoTimeout(15_000);
            TestSupport.copyUntilEof(socket.getInputStream(), socket.getOutputStream(), 16 * 1024);
        } catch (IOException e) {
            // the client reports the failure
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void twoHundredConcurrentClientsEchoSixtyFourKibibytesEach() throws Exception {
        final int clients = 200;
        final int size = 64 * 1024;
        final int chunk = 8 * 1024;
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        List<Thread> serverThreads = new ArrayList<>();
        try (RustServerSocket server = new RustServerSocket(0, clients + 50, LOOPBACK)) {
            Thread acceptor = new Thread(() -> {
                try {
                    for (int i = 0; i < clients; i++) {
                        RustSocket s = server.accept();
                        Thread t = new Thread(() -> echo(s), "echo-" + i);
                        t.setDaemon(true);
                        synchronized (serverThreads) {
                            serverThreads.add(t);
                        }
                        t.start();
                    }
                } catch (IOException e) {
                    failures.add("accept: " + e);
                }
            }, "acceptor");
            acceptor.setDaemon(true);
            acceptor.start();

            CountDownLatch start = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(clients);
            for (int i = 0; i < clients; i++) {
                int id = i;
                Thread t = new Thread(() -> {
                    try {
                        start.await();
                        byte[] data = TestSupport.randomBytes(size);
                        try (Socket c = new RustSocket(LOOPBACK, server.getLocalPort())) {
                            c.setSoTimeout(15_000);
                            OutputStream out = c.getOutputStream();
                            InputStream in = c.getInputStream();
                            for (int off = 0; off < size; off += chunk) {
                                out.write(data, off, chunk);
                                byte[] back = TestSupport.readExactly(in, chunk);
                                if (!Arrays.equals(data, off, off + chunk, back, 0, chunk)) {
                                    failures.add("client " + id + ": corrupted echo at offset " + off);
                                    return;
                                }
                            }
                            c.shutdownOutput();
                            if (in.read() != -1) {
                                failures.add("client " + id + ": extra bytes after the echo");
                            }
                        }
                    } catch (Exception e) {
                        failures.add("client " + id + ": " + e);
                    } finally {
                        done.countDown();
                    }
                }, "client-" + i);
                t.setDaemon(true);
                t.start();
            }
            start.countDown();
            assertTrue(done.await(45, TimeUnit.SECONDS), () -> done.getCount() + " clients unfinished; " + failures);
            acceptor.join(5000);
            assertFalse(acceptor.isAlive(), "acceptor still waiting");
            assertTrue(failures.isEmpty(), () -> failures.size() + " failures: " + failures);
            synchronized (serverThreads) {
                assertEquals(clients, serverThreads.size());
                for (Thread t : serverThreads) {
                    t.join(5000);
                    assertFalse(t.isAlive(), t.getName() + " still running");
                }
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void descriptorsReturnToBaselineAfterTwoThousandConnections() throws Exception {
        try (RustServerSocket server = new RustServerSocket(0, 50, LOOPBACK)) {
            // warm up: library loaded, classes initialised, helper threads started
            for (int i = 0; i < 20; i++) {
                connectOnce(server);
            }
            System.gc();
            int baselineFds = TestSupport.processFdCount();
            int baselineOpen = Descriptors.openCount();
            for (int i = 0; i < 2000; i++) {
                connectOnce(server);
            }
            assertTrue(TestSupport.eventually(() -> Descriptors.openCount() <= baselineOpen),
                    () -> "rustsocket descriptors: " + baselineOpen + " at baseline, " + Descriptors.openCount() + " now");
            assertTrue(TestSupport.eventually(() -> TestSupport.processFdCount() <= baselineFds),
                    () -> "process descriptors: " + baselineFds + " at baseline, " + TestSupport.processFdCount() + " now");
        }
    }

    private static void connectOnce(RustServerSocket server) throws IOException {
        try (RustSocket c = new RustSocket(LOOPBACK, server.getLocalPort()); RustSocket a = server.accept()) {
            c.getOutputStream().write(1);
            a.setSoTimeout(5000);
            if (a.getInputStream().read() != 1) {
                fail("byte lost");
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void descriptorsOfFailedConnectsAreReleased() throws Exception {
        new RustSocket().close();
        int port = TestSupport.refusedPort();
        int baselineFds = TestSupport.processFdCount();
        int baselineOpen = Descriptors.openCount();
        for (int i = 0; i < 200; i++) {
            try (Socket s = new RustSocket()) {
                s.connect(new InetSocketAddress(LOOPBACK, port));
                fail("connected to a closed port");
            } catch (IOException expected) {
                // refused
            }
        }
        assertTrue(TestSupport.eventually(() -> Descriptors.openCount() <= baselineOpen),
                () -> "rustsocket descriptors: " + baselineOpen + " at baseline, " + Descriptors.openCount() + " now");
        assertTrue(TestSupport.eventually(() -> TestSupport.processFdCount() <= baselineFds),
                () -> "process descriptors: " + baselineFds + " at baseline, " + TestSupport.processFdCount() + " now");
    }

    // ---------------------------------------------------------------- factories

    /** Checks that {@code s} is a connected RustSocket talking to {@code listener}. */
    private static void assertWorks(Socket s, ServerSocket listener) throws Exception {
        try (Socket client = s; Socket accepted = listener.accept()) {
            assertSame(RustSocket.class, client.getClass());
            assertTrue(client.isConnected());
            assertEquals(listener.getLocalPort(), client.getPort());
            accepted.setSoTimeout(2000);
            client.setSoTimeout(2000);
            client.getOutputStream().write(new byte[] {1, 2, 3});
            assertArrayEquals(new byte[] {1, 2, 3}, TestSupport.readExactly(accepted.getInputStream(), 3));
            accepted.getOutputStream().write(9);
            assertEquals(9, client.getInputStream().read());
        }
    }

    private static void assertEveryCreateSocketWorks(SocketFactory factory) throws Exception {
        try (ServerSocket listener = Engine.JDK.listen()) {
            int port = listener.getLocalPort();

            Socket unconnected = factory.createSocket();
            assertSame(RustSocket.class, unconnected.getClass());
            assertFalse(unconnected.isConnected());
            assertFalse(unconnected.isBound());
            unconnected.connect(new InetSocketAddress(LOOPBACK, port), 2000);
            assertWorks(unconnected, listener);

            assertWorks(factory.createSocket("localhost", port), listener);
            assertWorks(factory.createSocket("127.0.0.1", port), listener);
            assertWorks(factory.createSocket(LOOPBACK, port), listener);

            Socket bound = factory.createSocket("localhost", port, LOOPBACK, 0);
            assertEquals(LOOPBACK, bound.getLocalAddress());
            assertWorks(bound, listener);

            int localPort = TestSupport.freePort();
            Socket boundToPort = factory.createSocket(LOOPBACK, port, LOOPBACK, localPort);
            assertEquals(localPort, boundToPort.getLocalPort());
            assertEquals(LOOPBACK, boundToPort.getLocalAddress());
            assertWorks(boundToPort, listener);
        }
    }

    @Test
    void socketFactoryOverloadsReturnWorkingRustSockets() throws Exception {
        assertEveryCreateSocketWorks(new RustSocketFactory());
    }

    @Test
    void defaultSocketFactoryIsARustSocketFactory() throws Exception {
        SocketFactory f = RustSocketFactory.getDefault();
        assertSame(RustSocketFactory.class, f.getClass());
        assertSame(f, RustSocketFactory.getDefault());
        assertEveryCreateSocketWorks(f);
    }

    @Test
    void socketFactoryByClassName() throws Exception {
        // how JDBC drivers and other libraries instantiate a configured factory
        Object o = Class.forName("io.rustsocket.RustSocketFactory").getDeclaredConstructor().newInstance();
        SocketFactory f = assertInstanceOf(SocketFactory.class, o);
        Socket s = f.createSocket();
        assertSame(RustSocket.class, s.getClass());
        s.close();
        assertEveryCreateSocketWorks(f);
    }

    private static void assertAcceptsAndWorks(ServerSocket server, InetAddress connectTo) throws Exception {
        try (ServerSocket listener = server) {
            assertSame(RustServerSocket.class, listener.getClass());
            assertTrue(listener.isBound());
            try (Socket client = new Socket(connectTo, listener.getLocalPort()); Socket accepted = listener.accept()) {
                assertSame(RustSocket.class, accepted.getClass());
                accepted.setSoTimeout(2000);
                client.setSoTimeout(2000);
                client.getOutputStream().write(5);
                assertEquals(5, accepted.getInputStream().read());
                accepted.getOutputStream().write(6);
                assertEquals(6, client.getInputStream().read());
            }
        }
    }

    private static void assertEveryCreateServerSocketWorks(ServerSocketFactory factory) throws Exception {
        ServerSocket unbound = factory.createServerSocket();
        assertSame(RustServerSocket.class, unbound.getClass());
        assertFalse(unbound.isBound());
        unbound.bind(new InetSocketAddress(LOOPBACK, 0));
        assertAcceptsAndWorks(unbound, LOOPBACK);

        ServerSocket any = factory.createServerSocket(0);
        assertTrue(any.getInetAddress().isAnyLocalAddress());
        assertAcceptsAndWorks(any, LOOPBACK);

        assertAcceptsAndWorks(factory.createServerSocket(0, 10), LOOPBACK);

        ServerSocket local = factory.createServerSocket(0, 10, LOOPBACK);
        assertEquals(LOOPBACK, local.getInetAddress());
        assertAcceptsAndWorks(local, LOOPBACK);
    }

    @Test
    void serverSocketFactoryOverloadsReturnWorkingRustServerSockets() throws Exception {
        assertEveryCreateServerSocketWorks(new RustServerSocketFactory());
    }

    @Test
    void defaultServerSocketFactoryIsARustServerSocketFactory() throws Exception {
        ServerSocketFactory f = RustServerSocketFactory.getDefault();
        assertSame(RustServerSocketFactory.class, f.getClass());
        assertEveryCreateServerSocketWorks(f);
    }

    @Test
    void serverSocketFactoryByClassName() throws Exception {
        Object o = Class.forName("io.rustsocket.RustServerSocketFactory").getDeclaredConstructor().newInstance();
        assertEveryCreateServerSocketWorks(assertInstanceOf(ServerSocketFactory.class, o));
    }

    @Test
    void acceptReturnsRustSocket() throws Exception {
        try (RustServerSocket server = new RustServerSocket(0, 50, LOOPBACK);
                Socket client = new Socket(LOOPBACK, server.getLocalPort())) {
            ServerSocket asServerSocket = server;
            try (Socket accepted = asServerSocket.accept()) {
                assertSame(RustSocket.class, accepted.getClass());
                assertTrue(accepted.isConnected());
                assertTrue(accepted.isBound());
                assertEquals(client.getLocalPort(), accepted.getPort());
            }
        }
    }

    @Test
    void nullHostMeansLoopback() throws Exception {
        try (ServerSocket listener = Engine.JDK.listen();
                Socket s = new RustSocket((String) null, listener.getLocalPort());
                Socket accepted = listener.accept()) {
            assertSame(RustSocket.class, s.getClass());
            assertEquals(LOOPBACK, s.getInetAddress());
            assertEquals(s.getLocalPort(), accepted.getPort());
        }
    }

    // ---------------------------------------------------------------- host names with several addresses

    @Test
    void hostNameConnectTriesEachAddress() throws Exception {
        InetAddress[] all = InetAddress.getAllByName("localhost");
        InetAddress v4 = null;
        InetAddress v6 = null;
        int v4Index = -1;
        int v6Index = -1;
        for (int i = 0; i < all.length; i++) {
            if (all[i] instanceof Inet4Address && all[i].isLoopbackAddress() && v4 == null) {
                v4 = all[i];
                v4Index = i;
            } else if (all[i] instanceof Inet6Address && all[i].isLoopbackAddress() && v6 == null) {
                v6 = all[i];
                v6Index = i;
            }
        }
        Assumptions.assumeTrue(v4 != null && v6 != null,
                "InetAddress.getAllByName(\"localhost\") returns " + Arrays.toString(all)
                        + " here, not both 127.0.0.1 and ::1, so a server on only the second address"
                        + " cannot be reached through the first");
        assumeIpv6Loopback();
        InetAddress second = v4Index > v6Index ? v4 : v6;
        InetAddress first = v4Index > v6Index ? v6 : v4;
        // a port free on both families: the first address must refuse
        for (int attempt = 0; attempt < 20; attempt++) {
            try (RustServerSocket server = new RustServerSocket(0, 50, second)) {
                int port = server.getLocalPort();
                boolean firstRefuses;
                try (Socket probe = new Socket()) {
                    probe.connect(new InetSocketAddress(first, port), 1000);
                    firstRefuses = false;
                } catch (IOException refused) {
                    firstRefuses = true;
                }
                if (!firstRefuses) {
                    continue;
                }
                Callable<Socket> accept = server::accept;
                Future<Socket> accepted = pool.submit(accept);
                try (Socket client = new RustSocket("localhost", port); Socket a = accepted.get(5, TimeUnit.SECONDS)) {
                    assertEquals(second, client.getInetAddress());
                    assertEquals(port, client.getPort());
                    assertEquals(client.getLocalPort(), a.getPort());
                    client.getOutputStream().write(3);
                    a.setSoTimeout(2000);
                    assertEquals(3, a.getInputStream().read());
                }
                return;
            }
        }
        fail("no port was free on both loopback addresses");
    }

    @Test
    void unconnectedFactorySocketCanBeUsedLikeAJdkSocket() throws Exception {
        try (ServerSocket listener = Engine.JDK.listen(); Socket s = new RustSocketFactory().createSocket()) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(2000);
            s.bind(new InetSocketAddress(LOOPBACK, 0));
            assertTrue(s.isBound());
            assertFalse(s.isConnected());
            s.connect(new InetSocketAddress("localhost", listener.getLocalPort()), 2000);
            try (Socket accepted = listener.accept()) {
                assertTrue(s.getTcpNoDelay());
                accepted.getOutputStream().write(77);
                assertEquals(77, s.getInputStream().read());
                assertNotNull(s.getRemoteSocketAddress());
            }
        }
    }
}
