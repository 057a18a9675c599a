package io.rustsocket;

import static io.rustsocket.TestSupport.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rustsocket.internal.Platform;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.FutureTask;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Unix socket factories: every socket goes to the factory's name whatever address its
 * caller gives, the arguments that go unused are still checked as {@code Socket} checks them,
 * and failures are those of a direct connect (the JDK's Unix channel's, where it has one).
 */
class UnixSocketFactoryTest {

    /** Skips where the system makes no AF_UNIX sockets (Wine). */
    @BeforeAll
    static void unixSocketsHere() {
        TestSupport.assumeUnixSockets();
    }
    @TempDir
    Path dir;

    /** Where nothing listens, and a name that does not resolve: neither may be used. */
    private static final InetSocketAddress NOWHERE = new InetSocketAddress(InetAddress.getLoopbackAddress(), 1);
    private static final String NO_SUCH_HOST = "no-such-host.invalid";

    /** Writes n random bytes from one end and checks the other reads them intact. */
    private static void assertCarries(Socket from, Socket to, int n) throws Exception {
        byte[] data = TestSupport.randomBytes(n);
        FutureTask<byte[]> reader = TestSupport.async("reader", () -> TestSupport.readExactly(to.getInputStream(), n));
        from.getOutputStream().write(data);
        assertArrayEquals(data, TestSupport.await(reader, 20_000));
    }

    /** A listener on {@code path} and the one connection {@code connect} makes to it, checked both ways. */
    private static void assertConnectsTo(UnixDomainSocketAddress path, SocketSupplier connect) throws Exception {
        Files.deleteIfExists(path.getPath()); // left by the previous listener, as the JDK's would be
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(path);
            try (Socket client = connect.get(); Socket accepted = server.accept()) {
                assertInstanceOf(RustSocket.class, client);
                assertTrue(client.isConnected());
                assertEquals(path, client.getRemoteSocketAddress());
                assertCarries(client, accepted, 100_000);
                assertCarries(accepted, client, 100_000);
            }
        }
    }

    interface SocketSupplier {
        Socket get() throws IOException;
    }

    // ---------------------------------------------------------------- the client factory

    @Test
    void everyConnectingOverloadGoesToTheSocketFileWithoutResolvingTheHost() throws Exception {
        UnixDomainSocketAddress path = UnixDomainSocketAddress.of(dir.resolve("s.sock"));
        RustUnixSocketFactory f = new RustUnixSocketFactory(path.getPath().toString());
        InetAddress elsewhere = InetAddress.getByAddress(new byte[] {(byte) 192, 0, 2, 1}); // TEST-NET-1
        assertConnectsTo(path, () -> f.createSocket(NO_SUCH_HOST, 5432));
        assertConnectsTo(path, () -> f.createSocket(NO_SUCH_HOST, 5432, elsewhere, 4000));
        assertConnectsTo(path, () -> f.createSocket(elsewhere, 80));
        assertConnectsTo(path, () -> f.createSocket(elsewhere, 80, elsewhere, 0));
    }

    @Test
    void anUnconnectedSocketConnectsToTheFileWhateverEndpointItIsGiven() throws Exception {
        UnixDomainSocketAddress path = UnixDomainSocketAddress.of(dir.resolve("s.sock"));
        RustUnixSocketFactory f = new RustUnixSocketFactory(path.getPath());
        // what OkHttp does: set the read timeout, then connect to the resolved route with a timeout
        assertConnectsTo(path, () -> {
            Socket s = f.createSocket();
            assertFalse(s.isConnected());
            s.setSoTimeout(10_000);
            s.connect(NOWHERE, 5_000);
            assertEquals(10_000, s.getSoTimeout());
            return s;
        });
        assertConnectsTo(path, () -> {
            Socket s = f.createSocket();
            s.connect(InetSocketAddress.createUnresolved(NO_SUCH_HOST, 80));
            return s;
        });
        assertConnectsTo(path, () -> {
            RustSocket s = f.createSocket();
            s.connect(NO_SUCH_HOST, 80, 1000);
            return s;
        });
        assertConnectsTo(path, () -> {
            RustSocket s = f.createSocket();
            s.connectAny(List.of(NOWHERE, InetSocketAddress.createUnresolved(NO_SUCH_HOST, 80)), 1000);
            return s;
        });
        // an explicit Unix name is overridden too: the factory has one target
        assertConnectsTo(path, () -> {
            Socket s = f.createSocket();
            s.connect(UnixDomainSocketAddress.of(dir.resolve("other.sock")));
            return s;
        });
    }

    @Test
    void aBindToAnIpAddressIsIgnoredAndABindToAUnixNameNamesTheClient() throws Exception {
        UnixDomainSocketAddress path = UnixDomainSocketAddress.of(dir.resolve("s.sock"));
        UnixDomainSocketAddress clientName = UnixDomainSocketAddress.of(dir.resolve("client.sock"));
        RustUnixSocketFactory f = new RustUnixSocketFactory(path);
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(path);
            try (Socket s = f.createSocket()) {
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                s.bind(null);
                assertFalse(s.isBound());
                s.connect(NOWHERE);
                try (Socket accepted = server.accept()) {
                    assertEquals(UnixDomainSocketAddress.of(""), accepted.getRemoteSocketAddress());
                    assertCarries(s, accepted, 1000);
                }
            }
            try (Socket s = f.createSocket()) {
                s.bind(clientName);
                s.connect(NOWHERE);
                try (Socket accepted = server.accept()) {
                    assertEquals(clientName, accepted.getRemoteSocketAddress());
                    assertEquals(clientName, s.getLocalSocketAddress());
                }
            }
        }
        Socket closed = f.createSocket();
        closed.close();
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> closed.bind(null));
    }

    @Test
    void unusedArgumentsAreStillCheckedAsSocketChecksThem() throws Exception {
        RustUnixSocketFactory f = new RustUnixSocketFactory(dir.resolve("none.sock"));
        assertThrowsExactly(IllegalArgumentException.class, "port out of range:-1", () -> f.createSocket("h", -1));
        assertThrowsExactly(IllegalArgumentException.class, "port out of range:65536",
                () -> f.createSocket(InetAddress.getLoopbackAddress(), 65536));
        assertThrowsExactly(IllegalArgumentException.class, "port out of range:-2",
                () -> f.createSocket("h", 1, null, -2));
        try (Socket s = f.createSocket()) {
            // the JDK's own checks, in its order: null address, then negative timeout
            assertThrowsExactly(IllegalArgumentException.class, "connect: The address can't be null",
                    () -> s.connect(null, -1));
            assertThrowsExactly(IllegalArgumentException.class, "connect: timeout can't be negative",
                    () -> s.connect(NOWHERE, -1));
            assertFalse(s.isClosed());
        }
        Socket closed = f.createSocket();
        closed.close();
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> closed.connect(NOWHERE));
    }

    @Test
    void aMissingOrDeadSocketFileFailsAsTheJdksChannelAndLeaksNothing() throws Exception {
        Path missing = dir.resolve("missing.sock");
        Path dead = dir.resolve("dead.sock");
        try (ServerSocketChannel c = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.bind(UnixDomainSocketAddress.of(dead)); // the file stays after close, with nobody listening
        }
        DescriptorBaseline baseline = DescriptorBaseline.now();
        for (Path p : List.of(missing, dead)) {
            Throwable jdk = null;
            try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                c.connect(UnixDomainSocketAddress.of(p));
            } catch (IOException e) {
                jdk = e;
            }
            assertNotNull(jdk, "the JDK connected to " + p);
            RustUnixSocketFactory f = new RustUnixSocketFactory(p);
            for (int i = 0; i < 200; i++) {
                IOException direct = assertThrows(IOException.class, () -> f.createSocket("localhost", 80));
                assertEquals(jdk.getClass(), direct.getClass(), direct::toString);
                assertEquals(jdk.getMessage(), direct.getMessage());
                Socket later = f.createSocket();
                IOException viaConnect = assertThrows(IOException.class, () -> later.connect(NOWHERE, 1000));
                assertEquals(jdk.getClass(), viaConnect.getClass(), viaConnect::toString);
                later.close();
            }
        }
        baseline.assertBack();
    }

    @Test
    void constructorsTakeAPathAStringOrAUnixAddressAndRefuseTheRest() throws Exception {
        Path p = dir.resolve("s.sock");
        UnixDomainSocketAddress expected = UnixDomainSocketAddress.of(p);
        assertEquals(expected, new RustUnixSocketFactory(p.toString()).getAddress());
        assertEquals(expected, new RustUnixSocketFactory(p).getAddress());
        assertEquals(expected, new RustUnixSocketFactory(expected).getAddress());
        assertEquals(expected, new RustUnixServerSocketFactory(p).getAddress());
        assertEquals(expected, new RustUnixRMISocketFactory(p).getAddress());
        assertThrowsExactly(NullPointerException.class, "path", () -> new RustUnixSocketFactory((String) null));
        assertThrowsExactly(NullPointerException.class, "path", () -> new RustUnixServerSocketFactory((Path) null));
        assertThrowsExactly(IllegalArgumentException.class, "empty Unix socket path", () -> new RustUnixSocketFactory(""));
        assertThrowsExactly(IllegalArgumentException.class, "empty Unix socket path",
                () -> new RustUnixRMISocketFactory(UnixDomainSocketAddress.of("")));
        assertThrows(IllegalArgumentException.class, () -> new RustUnixSocketFactory(NOWHERE));
        assertThrows(java.nio.file.InvalidPathException.class, () -> new RustUnixSocketFactory("a\0b"));
    }

    @Test
    void abstractNamesWorkThroughTheFactories() throws Exception {
        assumeTrue(Platform.abstractUnixNames(), "abstract names are Linux's only");
        AbstractUnixSocketAddress name = AbstractUnixSocketAddress.of("rustsocket-factory-" + ProcessHandle.current().pid());
        try (ServerSocket server = new RustUnixServerSocketFactory(name).createServerSocket(0);
             Socket client = new RustUnixSocketFactory(name).createSocket("localhost", 1);
             Socket accepted = server.accept()) {
            assertEquals(name, client.getRemoteSocketAddress());
            assertCarries(client, accepted, 10_000);
        }
    }

    // ---------------------------------------------------------------- the server factory

    @Test
    void serverSocketsListenOnTheFileWhateverPortAndRemoveItWhenClosed() throws Exception {
        Path p = dir.resolve("srv.sock");
        RustUnixServerSocketFactory f = new RustUnixServerSocketFactory(p.toString());
        RustUnixSocketFactory clients = new RustUnixSocketFactory(p);
        InetAddress any = InetAddress.getByAddress(new byte[] {(byte) 192, 0, 2, 1});
        List<ServerSocketSupplier> ways = List.of(
                () -> f.createServerSocket(8080),
                () -> f.createServerSocket(0, 5),
                () -> f.createServerSocket(1, 0, any),
                () -> {
                    ServerSocket s = f.createServerSocket();
                    assertFalse(s.isBound());
                    s.bind(new InetSocketAddress(any, 9));
                    return s;
                },
                () -> {
                    ServerSocket s = f.createServerSocket();
                    s.bind(null, 10);
                    return s;
                });
        for (ServerSocketSupplier way : ways) {
            try (ServerSocket server = way.get()) {
                assertInstanceOf(RustServerSocket.class, server);
                assertEquals(UnixDomainSocketAddress.of(p), server.getLocalSocketAddress());
                assertTrue(Files.exists(p));
                try (Socket client = clients.createSocket("h", 1); Socket accepted = server.accept()) {
                    assertInstanceOf(RustSocket.class, accepted);
                    assertCarries(client, accepted, 50_000);
                    assertCarries(accepted, client, 50_000);
                }
            }
            assertFalse(Files.exists(p), "the socket file was left after close");
        }
        assertThrowsExactly(IllegalArgumentException.class, "Port value out of range: -1", () -> f.createServerSocket(-1));
    }

    interface ServerSocketSupplier {
        ServerSocket get() throws IOException;
    }

    @Test
    void anExistingFileIsABindExceptionAndIsNotRemoved() throws Exception {
        Path p = dir.resolve("busy.sock");
        RustUnixServerSocketFactory f = new RustUnixServerSocketFactory(p);
        DescriptorBaseline baseline = DescriptorBaseline.now();
        try (ServerSocket first = f.createServerSocket(0)) {
            Throwable jdk = null;
            try (ServerSocketChannel c = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                c.bind(UnixDomainSocketAddress.of(p));
            } catch (IOException e) {
                jdk = e;
            }
            assertNotNull(jdk);
            BindException e = assertThrows(BindException.class, () -> f.createServerSocket(0));
            assertEquals(jdk.getMessage(), e.getMessage());
            assertTrue(Files.exists(p), "a failed bind removed the listener's file");
            // the live listener saw the stale-file probe: a connection opened and closed at once
            try (Socket probe = first.accept()) {
                assertEquals(-1, probe.getInputStream().read());
            }
            try (Socket c = new RustUnixSocketFactory(p).createSocket("h", 1); Socket a = first.accept()) {
                assertCarries(c, a, 100);
            }
        }
        assertFalse(Files.exists(p));
        baseline.assertBack();
    }

    @Test
    void aStaleSocketFileIsReplacedButAPlainFileIsNot() throws Exception {
        Path stale = dir.resolve("stale.sock");
        try (ServerSocketChannel killed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            killed.bind(UnixDomainSocketAddress.of(stale)); // its file stays after close, as after a kill
        }
        assertTrue(Files.exists(stale));
        try (ServerSocket server = new RustUnixServerSocketFactory(stale).createServerSocket(0);
             Socket c = new RustUnixSocketFactory(stale).createSocket("h", 1);
             Socket a = server.accept()) {
            assertCarries(c, a, 1000);
        }
        assertFalse(Files.exists(stale));
        Path plain = dir.resolve("plain.sock");
        Files.write(plain, new byte[] {42});
        assertThrows(BindException.class, () -> new RustUnixServerSocketFactory(plain).createServerSocket(0));
        assertArrayEquals(new byte[] {42}, Files.readAllBytes(plain), "a plain file was touched");
    }

    @Test
    void aFileReplacedByAnotherListenerIsLeftAlone() throws Exception {
        Path p = dir.resolve("replaced.sock");
        ServerSocket ours = new RustUnixServerSocketFactory(p).createServerSocket(0);
        Files.delete(p);
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            other.bind(UnixDomainSocketAddress.of(p));
            ours.close();
            assertTrue(Files.exists(p), "closing removed another listener's socket file");
            try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(p))) {
                assertTrue(c.isConnected());
            }
        }
    }

    // ---------------------------------------------------------------- the RMI factory

    @Test
    void rmiFactoriesAreEqualByNameAndSurviveSerialization() throws Exception {
        Path p = dir.resolve("rmi.sock");
        RustUnixRMISocketFactory a = new RustUnixRMISocketFactory(p.toString());
        RustUnixRMISocketFactory b = new RustUnixRMISocketFactory(p);
        RustUnixRMISocketFactory c = new RustUnixRMISocketFactory(dir.resolve("other.sock"));
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, c);
        assertNotEquals(a, new RustUnixRMISocketFactory(AbstractUnixSocketAddress.of(p.toString())));
        RustUnixRMISocketFactory copy = roundTrip(a);
        assertEquals(a, copy);
        assertEquals(a.hashCode(), copy.hashCode());
        assertEquals(a.getAddress(), copy.getAddress());
        try (ServerSocket server = a.createServerSocket(1099);
             Socket client = copy.createSocket("localhost", 1099);
             Socket accepted = server.accept()) {
            assertCarries(client, accepted, 10_000);
        }
        assertFalse(Files.exists(p));
        RustUnixRMISocketFactory abs = new RustUnixRMISocketFactory(AbstractUnixSocketAddress.of(new byte[] {0, 1, 2}));
        assertEquals(abs, roundTrip(abs));
        assertEquals(abs.getAddress(), roundTrip(abs).getAddress());
    }

    private static RustUnixRMISocketFactory roundTrip(RustUnixRMISocketFactory f) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(f);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (RustUnixRMISocketFactory) in.readObject();
        }
    }

    @Test
    void factoriesSayWhatTheyConnectTo() {
        SocketAddress a = UnixDomainSocketAddress.of(dir.resolve("x.sock"));
        assertEquals("RustUnixSocketFactory[" + a + "]", new RustUnixSocketFactory(a).toString());
        assertEquals("RustUnixServerSocketFactory[" + a + "]", new RustUnixServerSocketFactory(a).toString());
        assertEquals("RustUnixRMISocketFactory[" + a + "]", new RustUnixRMISocketFactory(a).toString());
    }
}
