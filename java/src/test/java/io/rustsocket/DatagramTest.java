package io.rustsocket;

import static io.rustsocket.TestSupport.assertThrowsExactly;
import static io.rustsocket.TestSupport.asyncStarted;
import static io.rustsocket.TestSupport.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rustsocket.internal.Descriptors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.FutureTask;
import java.util.stream.Stream;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link RustDatagramSocket} against {@link DatagramSocket}: every behaviour the JDK defines runs
 * on both engines with the same assertions (the JDK row proves the expectation is the JDK's),
 * plus the two talking to each other and the batched API, which the JDK does not have.
 */
class DatagramTest {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /** A socket of the engine bound to {@code bind} ({@code null}: unbound). */
    static DatagramSocket udp(Engine engine, SocketAddress bind) throws SocketException {
        return engine == Engine.JDK ? new DatagramSocket(bind) : new RustDatagramSocket(bind);
    }

    /** A socket of the engine bound to an ephemeral loopback port. */
    static DatagramSocket udp(Engine engine) throws SocketException {
        return udp(engine, new InetSocketAddress(LOOPBACK, 0));
    }

    static InetSocketAddress local(DatagramSocket s) {
        return new InetSocketAddress(LOOPBACK, s.getLocalPort());
    }

    static DatagramPacket packet(byte[] data, DatagramSocket to) {
        return new DatagramPacket(data, data.length, local(to));
    }

    static Stream<Arguments> pairs() {
        return Stream.of(Engine.values()).flatMap(a -> Stream.of(Engine.values()).map(b -> Arguments.of(a, b)));
    }

    // ---------------------------------------------------------------- data

    @ParameterizedTest(name = "{0} sends to {1}")
    @MethodSource("pairs")
    void datagramsCrossIntactBetweenEngines(Engine from, Engine to) throws IOException {
        try (DatagramSocket a = udp(from); DatagramSocket b = udp(to)) {
            b.setSoTimeout(5_000);
            for (int size : new int[] {0, 1, 64, 1400, 9000}) {
                byte[] data = TestSupport.randomBytes(size);
                a.send(packet(data, b));
                DatagramPacket p = new DatagramPacket(new byte[10_000], 10_000);
                b.receive(p);
                assertEquals(size, p.getLength());
                assertArrayEquals(data, Arrays.copyOf(p.getData(), p.getLength()));
                assertEquals(local(a), p.getSocketAddress());
            }
        }
    }

    @ParameterizedTest(name = "{0} sends to {1}")
    @MethodSource("pairs")
    void maximumIpv4DatagramCrossesAndOneByteMoreIsRefused(Engine from, Engine to) throws IOException {
        try (DatagramSocket a = udp(from); DatagramSocket b = udp(to)) {
            b.setReceiveBufferSize(1 << 20);
            b.setSoTimeout(5_000);
            byte[] max = TestSupport.randomBytes(65_507);
            a.send(packet(max, b));
            DatagramPacket p = new DatagramPacket(new byte[70_000], 70_000);
            b.receive(p);
            assertEquals(65_507, p.getLength());
            assertArrayEquals(max, Arrays.copyOf(p.getData(), 65_507));
            assertThrowsExactly(SocketException.class, TestSupport.MESSAGE_TOO_LONG,
                    () -> a.send(packet(new byte[65_508], b)));
        }
    }

    @ParameterizedTest(name = "{0} sends to {1}")
    @MethodSource("pairs")
    void maximumIpv6DatagramCrossesAndOneByteMoreIsRefused(Engine from, Engine to) throws IOException {
        // IPv6 counts only the UDP header against its 65,535-byte payload: 65,527 bytes fit
        InetAddress v6 = InetAddress.getByName("::1");
        assumeTrue(NetworkInterface.getByInetAddress(v6) != null, "no IPv6 loopback");
        try (DatagramSocket a = udp(from, new InetSocketAddress(v6, 0));
                DatagramSocket b = udp(to, new InetSocketAddress(v6, 0))) {
            b.setReceiveBufferSize(1 << 20);
            b.setSoTimeout(5_000);
            InetSocketAddress target = new InetSocketAddress(v6, b.getLocalPort());
            byte[] max = TestSupport.randomBytes(65_527);
            a.send(new DatagramPacket(max, max.length, target));
            DatagramPacket p = new DatagramPacket(new byte[70_000], 70_000);
            b.receive(p);
            assertEquals(65_527, p.getLength());
            assertArrayEquals(max, Arrays.copyOf(p.getData(), 65_527));
            assertThrowsExactly(SocketException.class, TestSupport.MESSAGE_TOO_LONG,
                    () -> a.send(new DatagramPacket(new byte[65_528], 65_528, target)));
            assertThrowsExactly(SocketException.class, TestSupport.MESSAGE_TOO_LONG,
                    () -> a.send(new DatagramPacket(new byte[70_000], 70_000, target)));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void longDatagramIsTruncatedAndAReusedPacketKeepsItsBufferLength(Engine engine) throws IOException {
        try (DatagramSocket a = udp(Engine.JDK); DatagramSocket b = udp(engine)) {
            b.setSoTimeout(5_000);
            byte[] big = TestSupport.randomBytes(100);
            a.send(packet(big, b));
            a.send(packet(new byte[] {1, 2, 3, 4, 5}, b));
            a.send(packet(TestSupport.randomBytes(20), b));
            byte[] buf = new byte[40];
            DatagramPacket p = new DatagramPacket(buf, 10, 20); // offset 10, length 20
            b.receive(p);
            assertEquals(20, p.getLength());
            assertArrayEquals(Arrays.copyOf(big, 20), Arrays.copyOfRange(buf, 10, 30));
            b.receive(p); // the rest of the first datagram was discarded
            assertEquals(5, p.getLength());
            assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, Arrays.copyOfRange(buf, 10, 15));
            b.receive(p); // still room for 20 bytes: receive did not shrink the buffer
            assertEquals(20, p.getLength());
        }
    }

    // ---------------------------------------------------------------- connect

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectFiltersPeersAndDisconnectStopsFiltering(Engine engine) throws Exception {
        TestSupport.assumeNotWine(TestSupport.WINE_DISCONNECT_DROPS_THE_PORT);
        try (DatagramSocket s = udp(engine); DatagramSocket peer = udp(Engine.JDK); DatagramSocket other = udp(Engine.JDK)) {
            s.setSoTimeout(5_000);
            int port = s.getLocalPort();
            other.send(packet(new byte[] {9}, s)); // queued before connect: discarded by it
            Thread.sleep(20);
            s.connect(local(peer));
            assertTrue(s.isConnected());
            assertEquals(local(peer), s.getRemoteSocketAddress());
            assertEquals(peer.getLocalPort(), s.getPort());
            other.send(packet(new byte[] {8}, s));
            peer.send(packet(new byte[] {1}, s));
            DatagramPacket p = new DatagramPacket(new byte[4], 4);
            s.receive(p);
            assertEquals(1, p.getData()[0]);
            assertEquals(local(peer), p.getSocketAddress());

            // a packet without an address goes to the peer and gets its address
            DatagramPacket out = new DatagramPacket(new byte[] {7}, 1);
            s.send(out);
            assertEquals(local(peer), out.getSocketAddress());
            DatagramPacket in = new DatagramPacket(new byte[4], 4);
            peer.setSoTimeout(5_000);
            peer.receive(in);
            assertEquals(7, in.getData()[0]);

            assertThrowsExactly(IllegalArgumentException.class, "Connected and packet address differ",
                    () -> s.send(packet(new byte[1], other)));

            s.disconnect();
            assertFalse(s.isConnected());
            assertNull(s.getRemoteSocketAddress());
            assertEquals(-1, s.getPort());
            assertEquals(port, s.getLocalPort(), "the local port survives disconnect");
            other.send(packet(new byte[] {6}, s));
            s.receive(p);
            assertEquals(6, p.getData()[0]);
            assertEquals(local(other), p.getSocketAddress());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void disconnectReturnsAWildcardSocketToTheWildcard(Engine engine) throws Exception {
        TestSupport.assumeNotWine(TestSupport.WINE_DISCONNECT_DROPS_THE_PORT);
        try (DatagramSocket s = udp(engine, new InetSocketAddress(0)); DatagramSocket peer = udp(Engine.JDK);
                DatagramSocket other = udp(Engine.JDK)) {
            s.setSoTimeout(5_000);
            InetAddress wildcard = s.getLocalAddress();
            assertTrue(wildcard.isAnyLocalAddress(), wildcard.toString());
            int port = s.getLocalPort();
            s.connect(local(peer));
            assertTrue(s.getLocalAddress().isLoopbackAddress(), "connected: the route's source address");
            s.disconnect();
            assertEquals(wildcard, s.getLocalAddress());
            assertEquals(new InetSocketAddress(wildcard, port), s.getLocalSocketAddress());
            other.send(packet(new byte[] {5}, s));
            DatagramPacket p = new DatagramPacket(new byte[4], 4);
            s.receive(p);
            assertEquals(5, p.getData()[0]);
            assertEquals(local(other), p.getSocketAddress());
        }
        // the JDK takes the address to return to at every connect: after a reconnect it is the
        // first peer's source address, and a disconnect binds to that
        try (DatagramSocket s = udp(engine, new InetSocketAddress(0)); DatagramSocket peer = udp(Engine.JDK);
                DatagramSocket other = udp(Engine.JDK)) {
            int port = s.getLocalPort();
            s.connect(local(peer));
            InetAddress source = s.getLocalAddress();
            s.connect(local(other));
            s.disconnect();
            assertEquals(new InetSocketAddress(source, port), s.getLocalSocketAddress());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void badTargetsGiveTheJdkExceptions(Engine engine) throws IOException {
        try (DatagramSocket s = udp(engine)) {
            assertThrowsExactly(SocketException.class, "Can't send to port 0",
                    () -> s.send(new DatagramPacket(new byte[1], 1, LOOPBACK, 0)));
            assertThrowsExactly(IllegalArgumentException.class, "Address not set",
                    () -> s.send(new DatagramPacket(new byte[1], 1)));
            assertThrowsExactly(SocketException.class, "Can't connect to port 0",
                    () -> s.connect(new InetSocketAddress(LOOPBACK, 0)));
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> s.connect(LOOPBACK, 0));
            assertEquals("Can't connect to port 0", e.getCause().getMessage());
            assertThrowsExactly(IllegalArgumentException.class, "Address can't be null",
                    () -> s.connect((SocketAddress) null));
            assertThrowsExactly(IllegalArgumentException.class, "Address can't be null", () -> s.connect(null, 9));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectedSocketReportsPortUnreachable(Engine engine) throws Exception {
        TestSupport.assumeNotWine(TestSupport.WINE_NO_PORT_UNREACHABLE);
        int closed;
        try (DatagramSocket gone = udp(Engine.JDK)) {
            closed = gone.getLocalPort();
        }
        try (DatagramSocket s = udp(engine)) {
            s.setSoTimeout(5_000);
            s.connect(new InetSocketAddress(LOOPBACK, closed));
            s.send(new DatagramPacket(new byte[3], 3));
            assertThrows(PortUnreachableException.class, () -> s.receive(new DatagramPacket(new byte[3], 3)));
            s.send(new DatagramPacket(new byte[3], 3));
            Thread.sleep(50);
            assertThrows(PortUnreachableException.class, () -> s.send(new DatagramPacket(new byte[3], 3)));
        }
    }

    // ---------------------------------------------------------------- timeouts and close

    @ParameterizedTest
    @EnumSource(Engine.class)
    void soTimeoutGivesSocketTimeoutExceptionAndTheSocketStaysUsable(Engine engine) throws IOException {
        try (DatagramSocket s = udp(engine); DatagramSocket peer = udp(Engine.JDK)) {
            s.setSoTimeout(200);
            assertEquals(200, s.getSoTimeout());
            DatagramPacket p = new DatagramPacket(new byte[4], 4);
            long start = System.nanoTime();
            assertThrowsExactly(SocketTimeoutException.class, "Receive timed out", () -> s.receive(p));
            assertTrue(System.nanoTime() - start >= 150_000_000L, "waited the timeout");
            peer.send(packet(new byte[] {5}, s));
            s.receive(p);
            assertEquals(5, p.getData()[0]);
            assertThrowsExactly(IllegalArgumentException.class, "timeout < 0", () -> s.setSoTimeout(-1));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void closeWakesABlockedReceive(Engine engine) throws Exception {
        int baseline = Descriptors.openCount();
        DatagramSocket s = udp(engine);
        FutureTask<Throwable> receiver = asyncStarted("receiver", () -> {
            try {
                s.receive(new DatagramPacket(new byte[4], 4));
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        Thread.sleep(200); // let it block
        s.close();
        Throwable t = await(receiver, 5_000);
        TestSupport.assertSocketException(t, "Socket closed");
        assertTrue(s.isClosed());
        assertTrue(TestSupport.eventually(() -> Descriptors.openCount() <= baseline), "descriptor released");
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void closedSocketAnswersAsTheJdkDoes(Engine engine) throws IOException {
        DatagramSocket s = udp(engine);
        s.close();
        s.close(); // idempotent
        assertTrue(s.isClosed());
        assertTrue(s.isBound());
        assertEquals(-1, s.getLocalPort());
        assertNull(s.getLocalAddress());
        assertNull(s.getLocalSocketAddress());
        assertThrowsExactly(SocketException.class, "Socket closed",
                () -> s.send(new DatagramPacket(new byte[1], 1, LOOPBACK, 9)));
        assertThrowsExactly(SocketException.class, "Socket closed", () -> s.receive(new DatagramPacket(new byte[1], 1)));
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> s.getBroadcast());
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> s.setSoTimeout(1));
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> s.bind(null));
        assertThrows(ClosedChannelException.class, () -> s.getOption(StandardSocketOptions.SO_RCVBUF));
        s.connect(LOOPBACK, 9); // a no-op on a closed socket, as in the JDK
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void unboundSocketAndImplicitBinds(Engine engine) throws IOException {
        try (DatagramSocket u = udp(engine, null)) {
            assertFalse(u.isBound());
            assertEquals(0, u.getLocalPort());
            assertEquals(InetAddress.getByName("0.0.0.0"), u.getLocalAddress());
            assertNull(u.getLocalSocketAddress());
            u.bind(null);
            assertTrue(u.isBound());
            assertTrue(u.getLocalPort() > 0);
            assertThrowsExactly(SocketException.class, "Already bound", () -> u.bind(null));
        }
        try (DatagramSocket c = udp(engine, null)) {
            c.connect(LOOPBACK, 9);
            assertTrue(c.isBound(), "connect binds");
            assertTrue(c.getLocalPort() > 0);
        }
        try (DatagramSocket d = engine == Engine.JDK ? new DatagramSocket() : new RustDatagramSocket()) {
            assertTrue(d.isBound());
            assertTrue(d.getBroadcast(), "the constructors enable SO_BROADCAST");
        }
    }

    // ---------------------------------------------------------------- options

    @ParameterizedTest
    @EnumSource(Engine.class)
    void optionsThroughLegacySettersAndSetOption(Engine engine) throws Exception {
        Emulation.Skips skips = new Emulation.Skips();
        try (DatagramSocket s = udp(engine)) {
            List<SocketOption<?>> required = new java.util.ArrayList<>(List.of(StandardSocketOptions.SO_BROADCAST,
                    StandardSocketOptions.SO_RCVBUF, StandardSocketOptions.SO_SNDBUF, StandardSocketOptions.SO_REUSEADDR,
                    StandardSocketOptions.IP_TOS, StandardSocketOptions.IP_MULTICAST_IF,
                    StandardSocketOptions.IP_MULTICAST_TTL, StandardSocketOptions.IP_MULTICAST_LOOP));
            if (TestSupport.REUSE_PORT) {
                required.add(StandardSocketOptions.SO_REUSEPORT);
            }
            if (TestSupport.LINUX) {
                required.add(ExtendedSocketOptions.SO_INCOMING_NAPI_ID);
            }
            assertTrue(s.supportedOptions().containsAll(required), () -> "" + s.supportedOptions());
            assertFalse(s.supportedOptions().contains(StandardSocketOptions.TCP_NODELAY));

            // defaults
            assertFalse(s.getReuseAddress());
            // qemu-user translates neither IPV6_MULTICAST_IF nor IP_MULTICAST_IF by index (both engines)
            skips.attempt("reading IP_MULTICAST_IF", () -> assertNull(s.getOption(StandardSocketOptions.IP_MULTICAST_IF)));
            assertEquals(1, s.getOption(StandardSocketOptions.IP_MULTICAST_TTL));
            assertTrue(s.getOption(StandardSocketOptions.IP_MULTICAST_LOOP));

            s.setBroadcast(false);
            assertFalse(s.getBroadcast());
            s.setOption(StandardSocketOptions.SO_BROADCAST, true);
            assertTrue(s.getOption(StandardSocketOptions.SO_BROADCAST));
            s.setReceiveBufferSize(65536);
            assertEquals(65536, s.getReceiveBufferSize());
            s.setOption(StandardSocketOptions.SO_RCVBUF, 32768);
            assertEquals(32768, s.getOption(StandardSocketOptions.SO_RCVBUF));
            s.setSendBufferSize(65536);
            assertEquals(65536, s.getSendBufferSize());
            s.setReuseAddress(true);
            assertTrue(s.getOption(StandardSocketOptions.SO_REUSEADDR));
            if (TestSupport.REUSE_PORT) {
                s.setOption(StandardSocketOptions.SO_REUSEPORT, true);
                assertTrue(s.getOption(StandardSocketOptions.SO_REUSEPORT));
            }
            // on Windows the JDK reads a dual-stack socket's traffic class as 0 unless it is bound
            // to an IPv4 address; what its own socket, bound as this one, reads is the expectation
            int tos = 0x10;
            if (TestSupport.WINDOWS) {
                try (DatagramSocket jdk = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
                    jdk.setTrafficClass(0x10);
                    tos = jdk.getTrafficClass();
                }
            }
            s.setTrafficClass(0x10);
            assertEquals(tos, s.getTrafficClass());
            assertEquals(tos, s.getOption(StandardSocketOptions.IP_TOS));
            s.setOption(StandardSocketOptions.IP_MULTICAST_TTL, 9);
            assertEquals(9, s.getOption(StandardSocketOptions.IP_MULTICAST_TTL));
            s.setOption(StandardSocketOptions.IP_MULTICAST_LOOP, false);
            assertFalse(s.getOption(StandardSocketOptions.IP_MULTICAST_LOOP));
            NetworkInterface lo = NetworkInterface.getByInetAddress(LOOPBACK);
            skips.attempt("setting IP_MULTICAST_IF", () -> {
                s.setOption(StandardSocketOptions.IP_MULTICAST_IF, lo);
                assertEquals(lo, s.getOption(StandardSocketOptions.IP_MULTICAST_IF));
            });
            if (TestSupport.LINUX) {
                assertTrue(s.getOption(ExtendedSocketOptions.SO_INCOMING_NAPI_ID) >= 0);
            }

            assertThrowsExactly(IllegalArgumentException.class, "Invalid TTL/hop value",
                    () -> s.setOption(StandardSocketOptions.IP_MULTICAST_TTL, 256));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid IP_TOS value", () -> s.setTrafficClass(256));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid IP_TOS value",
                    () -> s.setOption(StandardSocketOptions.IP_TOS, -1));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid send/receive buffer size",
                    () -> s.setOption(StandardSocketOptions.SO_RCVBUF, -1));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid receive size", () -> s.setReceiveBufferSize(0));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid send size", () -> s.setSendBufferSize(0));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid value 'null'",
                    () -> s.setOption(StandardSocketOptions.IP_MULTICAST_IF, null));
            assertThrowsExactly(UnsupportedOperationException.class, "'SO_LINGER' not supported",
                    () -> s.setOption(StandardSocketOptions.SO_LINGER, 1));
            assertThrowsExactly(UnsupportedOperationException.class, "'SO_LINGER' not supported",
                    () -> s.getOption(StandardSocketOptions.SO_LINGER));
            assertThrows(NullPointerException.class, () -> s.setOption(null, 1));
        }
        skips.abortIfAny();
    }

    // ---------------------------------------------------------------- multicast

    @ParameterizedTest
    @EnumSource(Engine.class)
    void multicastOnLoopbackIpv4(Engine engine) throws IOException {
        if (engine == Engine.RUST) {
            TestSupport.assumeNotWine(TestSupport.WINE_NO_IPV4_INTERFACE_INDEX);
        }
        NetworkInterface lo = NetworkInterface.getByInetAddress(LOOPBACK);
        InetSocketAddress group = new InetSocketAddress("239.255.7.7", 0);
        try (DatagramSocket rx = udp(engine, new InetSocketAddress(0)); DatagramSocket tx = udp(engine)) {
            rx.setSoTimeout(5_000);
            try {
                rx.joinGroup(group, lo);
            } catch (SocketException e) {
                // qemu-user drops the interface index of an IPv4 membership (ENODEV)
                Emulation.abortIfRefused(e, "IPv4 membership by interface index", "No such device");
                throw e;
            }
            assertThrowsExactly(SocketException.class, "Already a member of group", () -> rx.joinGroup(group, lo));
            try {
                tx.setOption(StandardSocketOptions.IP_MULTICAST_IF, lo);
            } catch (SocketException | UnsupportedOperationException e) {
                Emulation.abortIfRefused(e, "IP_MULTICAST_IF");
                throw e;
            }
            byte[] msg = "to the group".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            tx.send(new DatagramPacket(msg, msg.length, group.getAddress(), rx.getLocalPort()));
            DatagramPacket p = new DatagramPacket(new byte[64], 64);
            rx.receive(p);
            assertArrayEquals(msg, Arrays.copyOf(p.getData(), p.getLength()));
            rx.leaveGroup(group, lo);
            assertThrowsExactly(SocketException.class, "Not a member of group", () -> rx.leaveGroup(group, lo));
            assertThrowsExactly(SocketException.class, "Not a multicast address",
                    () -> rx.joinGroup(new InetSocketAddress(LOOPBACK, 0), lo));
            assertThrowsExactly(IllegalArgumentException.class, "Unsupported address type",
                    () -> rx.joinGroup(new SocketAddress() { }, lo));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void joinAndLeaveIpv6GroupOnLoopback(Engine engine) throws IOException {
        NetworkInterface lo = NetworkInterface.getByInetAddress(LOOPBACK);
        InetSocketAddress group = new InetSocketAddress("ff02::1:77", 0);
        try (DatagramSocket rx = udp(engine, new InetSocketAddress(0))) {
            rx.joinGroup(group, lo);
            assertThrowsExactly(SocketException.class, "Already a member of group", () -> rx.joinGroup(group, lo));
            rx.leaveGroup(group, lo);
            assertThrowsExactly(SocketException.class, "Not a member of group", () -> rx.leaveGroup(group, lo));
        }
    }

    // ---------------------------------------------------------------- descriptors

    @Test
    void descriptorsReturnToBaseline() throws Exception {
        int baseline = Descriptors.openCount();
        int processBaseline = TestSupport.processFdCount();
        for (int i = 0; i < 200; i++) {
            try (RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK)) {
                s.connect(LOOPBACK, 9);
                s.send(new DatagramPacket(new byte[1], 1));
            }
        }
        new RustDatagramSocket(null).close(); // unbound
        try {
            new RustDatagramSocket(new InetSocketAddress(InetAddress.getByName("192.0.2.123"), 0));
        } catch (SocketException expected) {
            // not a local address: the constructor closes what it opened
        }
        assertTrue(TestSupport.eventually(() -> Descriptors.openCount() <= baseline),
                () -> "library descriptors " + Descriptors.openCount() + ", baseline " + baseline);
        assertTrue(TestSupport.processFdCount() <= processBaseline + 2,
                () -> "process descriptors " + TestSupport.processFdCount() + ", baseline " + processBaseline);
    }
}
