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
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rustsocket.internal.Platform;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RustDatagramSocket over Unix domain datagram sockets. The JDK has no Unix datagram socket, so
 * where it defines the behaviour elsewhere the test asks it first: its UDP DatagramSocket for what
 * a datagram socket does (truncation, timeouts, close, the packet checks and their messages), its
 * Unix SocketChannel for what a Unix name does (errors and messages, unnamed addresses).
 */
@SuppressWarnings("try") // closing a socket inside its try-with-resources is what several tests test
class UnixDatagramTest {

    /** Windows' AF_UNIX is stream-only. */
    @BeforeAll
    static void unixSocketsHere() {
        org.junit.jupiter.api.Assumptions.assumeFalse(TestSupport.WINDOWS,
                "Windows has no Unix datagram sockets (UnixDatagramUnsupportedTest checks that it says so)");
    }
    private static final UnixDomainSocketAddress UNNAMED = UnixDomainSocketAddress.of("");
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @TempDir
    Path dir;

    private UnixDomainSocketAddress name(String file) {
        return UnixDomainSocketAddress.of(dir.resolve(file));
    }

    private RustDatagramSocket bound(String file) throws SocketException {
        return new RustDatagramSocket(name(file));
    }

    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String text(ByteBuffer b) {
        b.flip();
        return StandardCharsets.UTF_8.decode(b).toString();
    }

    /** What a UDP DatagramSocket of the JDK throws for {@code body}, null if nothing. */
    private interface UdpCall {
        void run(DatagramSocket s) throws Exception;
    }

    private static Throwable jdkUdp(boolean connected, UdpCall body) {
        try (DatagramSocket s = new DatagramSocket(0, LOOPBACK); DatagramSocket peer = new DatagramSocket(0, LOOPBACK)) {
            if (connected) {
                s.connect(peer.getLocalSocketAddress());
            }
            body.run(s);
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private static Throwable failure(Executable body) {
        try {
            body.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private interface Executable {
        void run() throws Exception;
    }

    // ---------------------------------------------------------------- bytes and names

    @Test
    void datagramsCrossIntactWithTheSendersName() throws Exception {
        try (RustDatagramSocket server = bound("server.sock"); RustDatagramSocket client = bound("client.sock")) {
            assertTrue(Files.exists(dir.resolve("server.sock")), "the bind made the socket file");
            assertEquals(name("server.sock"), server.getLocalSocketAddress());
            assertTrue(server.isBound());
            assertFalse(server.isConnected());
            // sizes around UDP's limit and past it: a Unix datagram may be longer
            for (int size : new int[] {0, 1, 1000, 65_507, 65_508, 150_000}) {
                byte[] data = TestSupport.randomBytes(size);
                assertEquals(size, client.send(ByteBuffer.wrap(data), server.getLocalSocketAddress()));
                ByteBuffer in = ByteBuffer.allocate(200_000);
                SocketAddress from = server.receive(in);
                assertEquals(name("client.sock"), from);
                assertEquals(size, in.position());
                assertArrayEquals(data, Arrays.copyOf(in.array(), size));
            }
            // the reply goes to the name the datagram came from, through a direct buffer too
            ByteBuffer reply = ByteBuffer.allocateDirect(5).put("reply".getBytes(StandardCharsets.UTF_8));
            server.send(reply.flip(), name("client.sock"));
            assertFalse(reply.hasRemaining(), "the position moved past what was sent");
            ByteBuffer in = ByteBuffer.allocateDirect(16);
            assertEquals(name("server.sock"), client.receive(in));
            in.flip();
            byte[] got = new byte[in.remaining()];
            in.get(got);
            assertEquals("reply", new String(got, StandardCharsets.UTF_8));
        }
        assertTrue(Files.exists(dir.resolve("server.sock")), "the socket file stays after close, as with the JDK");
    }

    @Test
    void anUnboundSenderIsUnnamedAsTheJdkShowsOneAndCannotBeAnswered() throws Exception {
        // the JDK's Unix channels show an unnamed end as the empty path
        UnixDomainSocketAddress path = name("jdk.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(path);
            try (SocketChannel client = SocketChannel.open(path); SocketChannel accepted = server.accept()) {
                assertEquals(UNNAMED, accepted.getRemoteAddress());
            }
        }
        try (RustDatagramSocket server = bound("server.sock");
                RustDatagramSocket client = new RustDatagramSocket((SocketAddress) null)) {
            assertFalse(client.isBound());
            assertNull(client.getLocalSocketAddress());
            client.send(bytes("anyone"), server.getLocalSocketAddress());
            // its first send left it unnamed for good, as one binds a UDP socket to a port
            assertTrue(client.isBound());
            assertEquals(UNNAMED, client.getLocalSocketAddress());
            assertThrowsExactly(SocketException.class, "Already bound", () -> client.bind(name("late.sock")));
            ByteBuffer in = ByteBuffer.allocate(16);
            SocketAddress from = server.receive(in);
            assertEquals(UNNAMED, from);
            assertEquals("anyone", text(in));
            // the empty path names no socket (the system would only say "Invalid argument")
            assertThrowsExactly(IllegalArgumentException.class,
                    "Cannot send to an unnamed socket: it did not bind to a name",
                    () -> server.send(bytes("back"), from));
            assertThrowsExactly(IllegalArgumentException.class,
                    "Cannot connect to an unnamed socket: it did not bind to a name", () -> server.connect(from));
        }
    }

    @Test
    void bindToNullOrTheEmptyPathLeavesAUnixSocketUnnamed() throws Exception {
        try (RustDatagramSocket s = new RustDatagramSocket(UNNAMED)) {
            assertTrue(s.isBound());
            assertEquals(UNNAMED, s.getLocalSocketAddress());
        }
        try (RustDatagramSocket server = bound("server.sock"); RustDatagramSocket s = new RustDatagramSocket((SocketAddress) null)) {
            s.connect(server.getLocalSocketAddress());
            assertEquals(UNNAMED, s.getLocalSocketAddress());
            assertThrowsExactly(SocketException.class, "Already bound", () -> s.bind(null));
        }
    }

    @Test
    void aDatagramLongerThanTheBufferIsCutAsForUdp() throws Exception {
        // the JDK's UDP socket: the packet's length is what fit, the rest is gone
        int[] jdk = new int[2];
        try (DatagramSocket a = new DatagramSocket(0, LOOPBACK); DatagramSocket b = new DatagramSocket(0, LOOPBACK)) {
            a.send(new DatagramPacket(new byte[100], 100, b.getLocalSocketAddress()));
            a.send(new DatagramPacket(new byte[3], 3, b.getLocalSocketAddress()));
            DatagramPacket p = new DatagramPacket(new byte[10], 10);
            b.receive(p);
            jdk[0] = p.getLength();
            p.setLength(10);
            b.receive(p);
            jdk[1] = p.getLength();
        }
        assertArrayEquals(new int[] {10, 3}, jdk);
        try (RustDatagramSocket a = bound("a.sock"); RustDatagramSocket b = bound("b.sock")) {
            byte[] data = TestSupport.randomBytes(100);
            a.send(ByteBuffer.wrap(data), b.getLocalSocketAddress());
            a.send(ByteBuffer.wrap(data, 0, 3), b.getLocalSocketAddress());
            DatagramPacket p = new DatagramPacket(new byte[10], 10);
            b.receive(p);
            assertEquals(jdk[0], p.getLength());
            assertArrayEquals(Arrays.copyOf(data, 10), Arrays.copyOf(p.getData(), 10));
            // the packet keeps its buffer length across receives, as the JDK's does
            b.receive(p);
            assertEquals(jdk[1], p.getLength());
            // the same through a ByteBuffer
            a.send(ByteBuffer.wrap(data), b.getLocalSocketAddress());
            ByteBuffer small = ByteBuffer.allocate(7);
            assertEquals(name("a.sock"), b.receive(small));
            assertEquals(7, small.position());
            assertArrayEquals(Arrays.copyOf(data, 7), small.array());
            b.setSoTimeout(100);
            assertThrows(SocketTimeoutException.class, () -> b.receive(ByteBuffer.allocate(100)),
                    "the rest of the cut datagram is gone");
        }
    }

    // ---------------------------------------------------------------- packets

    @Test
    void packetsGoToTheConnectedPeerAndComeBackWithoutAnAddress() throws Exception {
        // DatagramPacket itself refuses a Unix name (JDK 17 and 25): hence the ByteBuffer calls
        assertThrowsExactly(IllegalArgumentException.class, "unsupported address type",
                () -> new DatagramPacket(new byte[1], 1, name("x.sock")));
        try (RustDatagramSocket server = bound("server.sock"); RustDatagramSocket client = bound("client.sock")) {
            client.connect(server.getLocalSocketAddress());
            assertTrue(client.isConnected());
            assertEquals(server.getLocalSocketAddress(), client.getRemoteSocketAddress());
            assertEquals(LOOPBACK, client.getInetAddress());
            assertEquals(0, client.getPort());
            assertEquals(0, client.getLocalPort());
            assertEquals(LOOPBACK, client.getLocalAddress());
            client.send(new DatagramPacket("ping".getBytes(StandardCharsets.UTF_8), 4));
            DatagramPacket p = new DatagramPacket(new byte[64], 64, LOOPBACK, 9);
            server.receive(p);
            assertEquals("ping", new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8));
            assertNull(p.getAddress(), "a packet cannot hold a Unix name: its address is cleared");
            assertEquals(0, p.getPort());
            // so a connected socket answers what it received with receive(p); send(p)
            server.connect(client.getLocalSocketAddress());
            server.send(p);
            DatagramPacket back = new DatagramPacket(new byte[64], 64);
            client.receive(back);
            assertEquals("ping", new String(back.getData(), 0, back.getLength(), StandardCharsets.UTF_8));
            client.disconnect();
            assertFalse(client.isConnected());
            assertNull(client.getRemoteSocketAddress());
            assertNull(client.getInetAddress());
            assertEquals(-1, client.getPort());
            assertEquals(name("client.sock"), client.getLocalSocketAddress(), "the name stays");
        }
    }

    @Test
    void thePacketChecksGiveTheJdksMessages() throws Exception {
        // not connected, no address: the JDK's UDP socket says "Address not set"
        Throwable noAddress = jdkUdp(false, s -> s.send(new DatagramPacket(new byte[1], 1)));
        Throwable differ = jdkUdp(true, s -> s.send(new DatagramPacket(new byte[1], 1, LOOPBACK, 1)));
        try (RustDatagramSocket s = bound("s.sock"); RustDatagramSocket peer = bound("peer.sock")) {
            assertSameFailure(noAddress, failure(() -> s.send(new DatagramPacket(new byte[1], 1))));
            assertSameFailure(noAddress, failure(() -> s.send(bytes("x"), null)));
            // an IP address on a Unix socket
            assertThrowsExactly(IllegalArgumentException.class, "Unsupported address type",
                    () -> s.send(new DatagramPacket(new byte[1], 1, LOOPBACK, 1)));
            assertThrowsExactly(IllegalArgumentException.class, "Unsupported address type",
                    () -> s.send(bytes("x"), new InetSocketAddress(LOOPBACK, 1)));
            s.connect(peer.getLocalSocketAddress());
            assertSameFailure(differ, failure(() -> s.send(new DatagramPacket(new byte[1], 1, LOOPBACK, 1))));
            assertSameFailure(differ, failure(() -> s.send(bytes("x"), name("other.sock"))));
            s.send(bytes("to the peer"), peer.getLocalSocketAddress());
            s.send(bytes("to the peer too"), null);
            ByteBuffer in = ByteBuffer.allocate(32);
            peer.receive(in);
            assertEquals("to the peer", text(in));
        }
    }

    @Test
    void addressTypesCannotBeMixedOnOneSocket() throws Exception {
        try (RustDatagramSocket udp = new RustDatagramSocket(0, LOOPBACK)) {
            assertThrowsExactly(IllegalArgumentException.class, "Unsupported address type",
                    () -> udp.connect(name("x.sock")));
            assertThrowsExactly(IllegalArgumentException.class, "Unsupported address type",
                    () -> udp.send(bytes("x"), name("x.sock")));
            assertThrowsExactly(SocketException.class, "Already bound", () -> udp.bind(name("x.sock")));
        }
        try (RustDatagramSocket unix = bound("unix.sock")) {
            assertThrowsExactly(IllegalArgumentException.class, "Unsupported address type",
                    () -> unix.connect(new InetSocketAddress(LOOPBACK, 9)));
            assertThrowsExactly(IllegalArgumentException.class, "Unsupported address type",
                    () -> unix.bind(new InetSocketAddress(LOOPBACK, 0)));
            assertThrows(UnsupportedOperationException.class, () -> unix.send(new DatagramBatch(1, 1)));
            assertThrows(UnsupportedOperationException.class, () -> unix.receive(new DatagramBatch(1, 1)));
            assertThrowsExactly(SocketException.class, "Unix domain datagram sockets have no multicast",
                    () -> unix.joinGroup(new InetSocketAddress(InetAddress.getByName("239.1.2.3"), 0), null));
        }
        // a socket that is neither bound nor connected becomes what it is first given
        try (RustDatagramSocket s = new RustDatagramSocket((SocketAddress) null); RustDatagramSocket to = bound("to.sock")) {
            s.send(bytes("x"), to.getLocalSocketAddress());
            assertEquals(UNNAMED, s.getLocalSocketAddress());
        }
    }

    // ---------------------------------------------------------------- timeouts, close

    @Test
    void aReceiveTimesOutAsForUdpAndTheSocketStaysUsable() throws Exception {
        Throwable jdk = jdkUdp(false, s -> {
            s.setSoTimeout(50);
            s.receive(new DatagramPacket(new byte[1], 1));
        });
        try (RustDatagramSocket s = bound("timeout.sock"); RustDatagramSocket peer = bound("peer.sock")) {
            s.setSoTimeout(100);
            long t0 = System.nanoTime();
            assertSameFailure(jdk, failure(() -> s.receive(new DatagramPacket(new byte[1], 1))));
            assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(95));
            assertSameFailure(jdk, failure(() -> s.receive(ByteBuffer.allocate(1))));
            peer.send(bytes("late"), s.getLocalSocketAddress());
            ByteBuffer in = ByteBuffer.allocate(8);
            assertEquals(name("peer.sock"), s.receive(in));
            assertEquals("late", text(in));
        }
    }

    @Test
    void closeWakesABlockedReceiveAsForUdp() throws Exception {
        Throwable jdk;
        try (DatagramSocket udp = new DatagramSocket(0, LOOPBACK)) {
            FutureTask<Void> r = TestSupport.asyncStarted("jdk-receive", () -> {
                udp.receive(new DatagramPacket(new byte[1], 1));
                return null;
            });
            Thread.sleep(100);
            udp.close();
            jdk = TestSupport.failureOf(r, 5000);
        }
        TestSupport.assertSocketException(jdk, "Socket closed");
        for (boolean packet : new boolean[] {true, false}) {
            RustDatagramSocket s = bound("wake-" + packet + ".sock");
            FutureTask<Void> r = TestSupport.asyncStarted("receive", () -> {
                if (packet) {
                    s.receive(new DatagramPacket(new byte[1], 1));
                } else {
                    s.receive(ByteBuffer.allocate(1));
                }
                return null;
            });
            Thread.sleep(100);
            s.close();
            assertSameFailure(jdk, TestSupport.failureOf(r, 5000));
            assertTrue(s.isClosed());
            assertNull(s.getLocalSocketAddress());
            assertThrowsExactly(SocketException.class, "Socket closed", () -> s.send(bytes("x"), name("x.sock")));
        }
    }

    @Test
    void aSendToAFullReceiverWaitsUntilItReadsAndCloseEndsTheWait() throws Exception {
        for (boolean connected : new boolean[] {true, false}) {
            try (RustDatagramSocket receiver = bound("full-" + connected + ".sock");
                    RustDatagramSocket sender = bound("sender-" + connected + ".sock")) {
                if (connected) {
                    sender.connect(receiver.getLocalSocketAddress());
                }
                // fill the queue without blocking the test: one sender thread, the sends time out
                List<Integer> sizes = new ArrayList<>();
                FutureTask<Void> flood = TestSupport.async("flood", () -> {
                    for (int i = 0; i < 100_000; i++) {
                        sender.send(ByteBuffer.wrap(new byte[1000]), receiver.getLocalSocketAddress());
                        synchronized (sizes) {
                            sizes.add(i);
                        }
                    }
                    return null;
                });
                // wait until the sender stops making progress: it waits for room
                int last = -1;
                while (true) {
                    Thread.sleep(200);
                    int now;
                    synchronized (sizes) {
                        now = sizes.size();
                    }
                    if (now == last) {
                        break;
                    }
                    last = now;
                }
                assertFalse(flood.isDone(), () -> "the flood ended: " + TestSupport.describe(flood));
                int queued = last;
                // reading makes room: the waiting send goes on
                ByteBuffer in = ByteBuffer.allocate(2000);
                receiver.receive(in);
                assertEquals(1000, in.position());
                assertTrue(TestSupport.eventually(() -> {
                    synchronized (sizes) {
                        return sizes.size() > queued;
                    }
                }), "reading one datagram let the waiting send go");
                sender.close();
                Throwable t = TestSupport.failureOf(flood, 5000);
                TestSupport.assertSocketException(t, "Socket closed");
            }
        }
    }

    // ---------------------------------------------------------------- connect

    @Test
    void connectFiltersAndDiscardsWhatWasQueuedBeforeAsForUdp() throws Exception {
        try (RustDatagramSocket s = bound("s.sock"); RustDatagramSocket peer = bound("peer.sock");
                RustDatagramSocket other = bound("other.sock")) {
            other.send(bytes("early"), s.getLocalSocketAddress());
            s.connect(peer.getLocalSocketAddress());
            peer.send(bytes("peer"), s.getLocalSocketAddress());
            ByteBuffer in = ByteBuffer.allocate(16);
            assertEquals(name("peer.sock"), s.receive(in));
            assertEquals("peer", text(in));
            if (Platform.abstractUnixNames()) {
                // Linux lets only the peer send to a connected socket
                assertThrowsExactly(SocketException.class, "Operation not permitted",
                        () -> other.send(bytes("late"), s.getLocalSocketAddress()));
            }
            s.disconnect();
            other.send(bytes("after"), s.getLocalSocketAddress());
            in.clear();
            assertEquals(name("other.sock"), s.receive(in));
            assertEquals("after", text(in));
        }
    }

    @Test
    void aConnectToAClosedSocketIsNoOpAsForUdp() throws Exception {
        RustDatagramSocket s = bound("closed.sock");
        s.close();
        s.connect(name("nobody.sock"));
        assertFalse(s.isConnected());
    }

    // ---------------------------------------------------------------- errors

    @Test
    void aMissingSocketFileFailsAsTheJdksChannelSays() throws Exception {
        UnixDomainSocketAddress missing = name("missing.sock");
        Throwable jdk = jdkConnect(missing);
        assertEquals(SocketException.class, jdk.getClass());
        try (RustDatagramSocket s = bound("s.sock")) {
            assertSameFailure(jdk, failure(() -> s.connect(missing)));
            assertSameFailure(jdk, failure(() -> s.send(bytes("x"), missing)));
        }
    }

    @Test
    void aNameNobodyHoldsRefuses() throws Exception {
        UnixDomainSocketAddress stale = name("stale.sock");
        new RustDatagramSocket(stale).close(); // the file stays, nobody behind it
        assertTrue(Files.exists(stale.getPath()));
        // the JDK's channel connect to such a file: ConnectException "Connection refused"
        Throwable jdk = jdkConnect(stale);
        assertEquals(ConnectException.class, jdk.getClass());
        try (RustDatagramSocket s = bound("s.sock")) {
            assertSameFailure(jdk, failure(() -> s.connect(stale)));
            assertFalse(s.isConnected());
            // a send is a datagram socket's: "unreachable", with the system's reason
            assertThrowsExactly(PortUnreachableException.class, "Connection refused",
                    () -> s.send(bytes("x"), stale));
        }
        // a connected socket whose peer closed
        try (RustDatagramSocket s = bound("a.sock")) {
            RustDatagramSocket peer = bound("b.sock");
            s.connect(peer.getLocalSocketAddress());
            peer.close();
            assertThrowsExactly(PortUnreachableException.class, "Connection refused",
                    () -> s.send(new DatagramPacket(new byte[1], 1)));
        }
    }

    @Test
    void bindingAnExistingPathFailsAsTheJdksChannelSays() throws Exception {
        Path plain = Files.createFile(dir.resolve("taken"));
        UnixDomainSocketAddress taken = UnixDomainSocketAddress.of(plain);
        Throwable jdk = jdkListen(taken);
        assertEquals(BindException.class, jdk.getClass());
        assertSameFailure(jdk, failure(() -> new RustDatagramSocket(taken).close()));
        try (RustDatagramSocket s = new RustDatagramSocket((SocketAddress) null)) {
            assertSameFailure(jdk, failure(() -> s.bind(taken)));
            assertFalse(s.isBound(), "a failed bind leaves the socket unbound");
        }
        UnixDomainSocketAddress noDir = name("no-such-dir/s.sock");
        assertSameFailure(jdkListen(noDir), failure(() -> new RustDatagramSocket(noDir).close()));
    }

    @Test
    void aPathTooLongIsRefusedBeforeAnySystemCallNamingTheLimit() throws Exception {
        UnixDomainSocketAddress longName = UnixDomainSocketAddress.of("/tmp/" + "x".repeat(200));
        Throwable jdk = jdkConnect(longName);
        List<Throwable> ours = new ArrayList<>();
        ours.add(failure(() -> new RustDatagramSocket(longName).close()));
        try (RustDatagramSocket s = bound("s.sock")) {
            ours.add(failure(() -> s.connect(longName)));
            ours.add(failure(() -> s.send(bytes("x"), longName)));
        }
        for (Throwable rust : ours) {
            assertNotNull(rust);
            assertEquals(jdk.getClass(), rust.getClass(), () -> "got " + rust);
            assertTrue(rust.getMessage().startsWith(jdk.getMessage()), rust.getMessage());
            assertTrue(rust.getMessage().contains("205 bytes"), rust.getMessage());
            assertTrue(rust.getMessage().matches(".*at most 10[26].*"), rust.getMessage());
        }
    }

    @Test
    void aDatagramLargerThanTheSendBufferIsTooLong() throws Exception {
        try (RustDatagramSocket a = bound("a.sock"); RustDatagramSocket b = bound("b.sock")) {
            a.setSendBufferSize(64 * 1024);
            // the kernel counts overhead and may double what was asked: four times is over in any case
            int tooLong = 4 * a.getSendBufferSize();
            assertThrowsExactly(SocketException.class, "Message too long",
                    () -> a.send(ByteBuffer.allocate(tooLong), b.getLocalSocketAddress()));
            // and a datagram that fits goes, whole
            a.send(ByteBuffer.allocate(60_000), b.getLocalSocketAddress());
            ByteBuffer in = ByteBuffer.allocate(tooLong);
            b.receive(in);
            assertEquals(60_000, in.position());
        }
    }

    // ---------------------------------------------------------------- options

    @Test
    void theOptionsAreTheBufferSizesAndTheUdpSettersAreNoOps() throws Exception {
        try (SocketChannel jdk = SocketChannel.open(StandardProtocolFamily.UNIX); RustDatagramSocket s = bound("s.sock")) {
            assertEquals(Set.of(StandardSocketOptions.SO_SNDBUF, StandardSocketOptions.SO_RCVBUF), s.supportedOptions());
            // the kernel's accounting is the same for a Unix stream socket: the JDK's reads back as ours
            for (int size : new int[] {4096, 65536, 1 << 20}) {
                jdk.setOption(StandardSocketOptions.SO_SNDBUF, size);
                s.setSendBufferSize(size);
                assertEquals(jdk.getOption(StandardSocketOptions.SO_SNDBUF), s.getSendBufferSize());
                jdk.setOption(StandardSocketOptions.SO_RCVBUF, size);
                s.setOption(StandardSocketOptions.SO_RCVBUF, size);
                assertEquals(jdk.getOption(StandardSocketOptions.SO_RCVBUF), s.getReceiveBufferSize());
                assertEquals(s.getReceiveBufferSize(), s.getOption(StandardSocketOptions.SO_RCVBUF));
            }
            for (SocketOption<?> o : List.of(StandardSocketOptions.IP_TOS, StandardSocketOptions.SO_BROADCAST,
                    StandardSocketOptions.SO_REUSEADDR, StandardSocketOptions.IP_MULTICAST_TTL)) {
                UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> s.getOption(o));
                assertEquals("'" + o.name() + "' not supported", e.getMessage());
            }
            s.setBroadcast(true);
            s.setTrafficClass(0x10);
            s.setReuseAddress(true);
            assertFalse(s.getBroadcast());
            assertEquals(0, s.getTrafficClass());
            assertFalse(s.getReuseAddress());
            s.close();
            assertThrowsExactly(SocketException.class, "Socket is closed", () -> s.setTrafficClass(1));
            assertThrowsExactly(SocketException.class, "Socket is closed", s::getSendBufferSize);
        }
    }

    @Test
    void bufferSizesSetBeforeTheSocketBecameAUnixOneAreKept() throws Exception {
        int expected;
        try (RustDatagramSocket reference = bound("reference.sock")) {
            reference.setReceiveBufferSize(300_000);
            reference.setSendBufferSize(100_000);
            expected = reference.getReceiveBufferSize() * 31 + reference.getSendBufferSize();
        }
        try (RustDatagramSocket s = new RustDatagramSocket((SocketAddress) null)) {
            s.setReceiveBufferSize(300_000);
            s.setSendBufferSize(100_000);
            s.bind(name("late.sock"));
            assertEquals(expected, s.getReceiveBufferSize() * 31 + s.getSendBufferSize());
        }
    }

    // ---------------------------------------------------------------- pairs, abstract names

    @Test
    void aPairIsTwoConnectedUnnamedSockets() throws Exception {
        RustDatagramSocket[] pair = RustDatagramSocket.pair();
        try (RustDatagramSocket a = pair[0]; RustDatagramSocket b = pair[1]) {
            assertTrue(a.isConnected() && b.isConnected() && a.isBound() && b.isBound());
            assertEquals(UNNAMED, a.getLocalSocketAddress());
            assertEquals(UNNAMED, a.getRemoteSocketAddress());
            for (int size : new int[] {0, 1, 9000, 100_000}) {
                byte[] data = TestSupport.randomBytes(size);
                a.send(new DatagramPacket(data, size));
                DatagramPacket p = new DatagramPacket(new byte[size + 1], size + 1);
                b.receive(p);
                assertEquals(size, p.getLength());
                assertArrayEquals(data, Arrays.copyOf(p.getData(), size));
                b.send(ByteBuffer.wrap(data), null);
                ByteBuffer in = ByteBuffer.allocate(size + 1);
                assertEquals(UNNAMED, a.receive(in));
                assertArrayEquals(data, Arrays.copyOf(in.array(), size));
            }
            b.setSoTimeout(50);
            assertThrows(SocketTimeoutException.class, () -> b.receive(ByteBuffer.allocate(1)));
            a.close();
            assertThrowsExactly(PortUnreachableException.class, "Connection refused",
                    () -> b.send(new DatagramPacket(new byte[1], 1)));
        }
    }

    @Test
    void abstractNamesHaveNoFileAndAreHeldOnce() throws Exception {
        assumeTrue(Platform.abstractUnixNames(), "abstract names are Linux's only");
        AbstractUnixSocketAddress a = AbstractUnixSocketAddress.of("rustsocket-dgram-" + ProcessHandle.current().pid());
        AbstractUnixSocketAddress b = AbstractUnixSocketAddress.of("rustsocket-dgram-b-" + ProcessHandle.current().pid());
        try (RustDatagramSocket server = new RustDatagramSocket(a); RustDatagramSocket client = new RustDatagramSocket(b)) {
            assertEquals(a, server.getLocalSocketAddress());
            assertThrowsExactly(BindException.class, "Address already in use", () -> new RustDatagramSocket(a).close());
            client.send(bytes("hello"), a);
            ByteBuffer in = ByteBuffer.allocate(8);
            assertEquals(b, server.receive(in));
            assertEquals("hello", text(in));
            client.connect(a);
            assertEquals(a, client.getRemoteSocketAddress());
        }
        // the name went with the socket
        new RustDatagramSocket(a).close();
    }

    // ---------------------------------------------------------------- descriptors

    @Test
    void descriptorsReturnToTheBaselineAfterThousandsOfSockets() throws Exception {
        DescriptorBaseline baseline = DescriptorBaseline.now();
        try (RustDatagramSocket server = bound("many.sock")) {
            ByteBuffer in = ByteBuffer.allocate(4);
            for (int i = 0; i < 3000; i++) {
                // named, unnamed, and made UDP first: every kind gives its descriptor back
                try (RustDatagramSocket client = i % 3 == 0 ? bound("c" + i + ".sock")
                        : new RustDatagramSocket((SocketAddress) null)) {
                    client.send(ByteBuffer.allocate(4).putInt(0, i), server.getLocalSocketAddress());
                    in.clear();
                    server.receive(in);
                    assertEquals(i, in.getInt(0));
                }
                Files.deleteIfExists(dir.resolve("c" + i + ".sock"));
            }
            for (int i = 0; i < 1000; i++) {
                RustDatagramSocket[] pair = RustDatagramSocket.pair();
                pair[0].close();
                pair[1].close();
            }
            // failures give theirs back too
            for (int i = 0; i < 200; i++) {
                assertThrows(SocketException.class, () -> new RustDatagramSocket(name("many.sock")));
            }
        }
        baseline.assertBack();
    }

    // ---------------------------------------------------------------- UDP through the ByteBuffer calls

    @Test
    void theByteBufferCallsWorkForUdpAsTheJdksChannelDoes() throws Exception {
        try (DatagramChannel jdk = DatagramChannel.open(); RustDatagramSocket ours = new RustDatagramSocket(0, LOOPBACK)) {
            jdk.bind(new InetSocketAddress(LOOPBACK, 0));
            ours.send(bytes("to the JDK"), jdk.getLocalAddress());
            ByteBuffer in = ByteBuffer.allocate(5);
            SocketAddress from = jdk.receive(in);
            assertEquals(ours.getLocalSocketAddress(), from);
            assertEquals("to th", text(in));
            jdk.send(bytes("back"), ours.getLocalSocketAddress());
            ByteBuffer back = ByteBuffer.allocateDirect(8);
            assertEquals(jdk.getLocalAddress(), ours.receive(back));
            assertEquals(4, back.position());
            assertThrowsExactly(IllegalArgumentException.class, "Read-only buffer",
                    () -> ours.receive(ByteBuffer.allocate(1).asReadOnlyBuffer()));
        }
    }

    // ---------------------------------------------------------------- a non-Java peer

    @Test
    void aPythonPeerExchangesDatagramsWithNames() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "python3 is needed for a non-Java peer");
        UnixDomainSocketAddress ours = name("java.sock");
        UnixDomainSocketAddress theirs = name("python.sock");
        try (RustDatagramSocket s = new RustDatagramSocket(ours)) {
            s.setSoTimeout(20_000);
            // python binds, echoes one datagram upper-cased to its sender, then sends one unbound
            Process child = new ProcessBuilder("/usr/bin/python3", "-c",
                    "import socket,sys\n"
                            + "s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                            + "s.bind(sys.argv[2])\n"
                            + "s.sendto(b'ready', sys.argv[1])\n"
                            + "data, sender = s.recvfrom(70000)\n"
                            + "s.sendto(data.upper(), sender)\n"
                            + "u=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                            + "u.sendto(b'unbound', sys.argv[1])\n",
                    ours.getPath().toString(), theirs.getPath().toString())
                    .redirectErrorStream(true).start();
            try {
                ByteBuffer in = ByteBuffer.allocate(70_000);
                assertEquals(theirs, s.receive(in));
                assertEquals("ready", text(in));
                byte[] big = new byte[60_000];
                Arrays.fill(big, (byte) 'a');
                s.send(ByteBuffer.wrap(big), theirs);
                in.clear();
                assertEquals(theirs, s.receive(in));
                assertEquals(60_000, in.position());
                assertEquals('A', in.get(59_999));
                in.clear();
                assertEquals(UNNAMED, s.receive(in));
                assertEquals("unbound", text(in));
            } finally {
                assertTrue(child.waitFor(20, TimeUnit.SECONDS));
            }
            assertEquals(0, child.exitValue(), () -> new String(readAll(child), StandardCharsets.UTF_8));
        }
    }

    private static byte[] readAll(Process p) {
        try {
            return p.getInputStream().readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    // ---------------------------------------------------------------- virtual threads

    @Test
    void aThousandVirtualThreadsParkInReceivesOnTwoCarriers() {
        UnixDatagramChecks.childRun().assertPassed(UnixDatagramChecks.PARK_THOUSAND, Engine.RUST);
    }

    @Test
    void closeAndInterruptWakeAVirtualThreadParkedInAReceive() {
        UnixDatagramChecks.childRun().assertPassed(UnixDatagramChecks.CLOSE_AND_INTERRUPT, Engine.RUST);
    }

    @Test
    void aTimedReceiveTimesOutWhileParked() {
        UnixDatagramChecks.childRun().assertPassed(UnixDatagramChecks.TIMEOUT, Engine.RUST);
    }

    @Test
    void sendsToAFullReceiverParkUntilItReads() {
        UnixDatagramChecks.childRun().assertPassed(UnixDatagramChecks.SEND_FULL, Engine.RUST);
    }

    @Test
    void anInterruptedVirtualThreadClosesAUdpSocketAsTheJdksDoes() {
        // the engine path a Unix receive shares: the JDK row first
        UnixDatagramChecks.childRun().assertPassed(UnixDatagramChecks.UDP_INTERRUPT_JDK, Engine.RUST);
        UnixDatagramChecks.childRun().assertPassed(UnixDatagramChecks.UDP_INTERRUPT_RUST, Engine.RUST);
    }

    @Test
    void descriptorsAreBackInTheVirtualThreadChild() {
        UnixDatagramChecks.childRun().assertPassed(VirtualThreadChecks.DESCRIPTORS, null);
    }

    @Test
    void aStreamConnectToADatagramSocketFailsAsTheJdksChannelSays() throws Exception {
        try (RustDatagramSocket s = bound("dgram.sock")) {
            Throwable jdk = jdkConnect(s.getLocalSocketAddress());
            assertSameFailure(jdk, failure(() -> {
                try (RustSocket stream = new RustSocket()) {
                    stream.connect(s.getLocalSocketAddress());
                }
            }));
        }
    }
}
