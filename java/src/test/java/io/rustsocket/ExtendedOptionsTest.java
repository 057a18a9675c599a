package io.rustsocket;

import static io.rustsocket.TestSupport.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link RustSocketOptions} and {@link RustSocket#tcpInfo()}: every option is set and read back
 * on the sockets it applies to, refused where it does not apply, and shown to take effect on
 * loopback where an effect can be seen.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ExtendedOptionsTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    /** SO_MARK needs CAP_NET_ADMIN or CAP_NET_RAW: the suite runs as root (CI does). */
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    /** Options for client sockets only, server sockets only, and both. */
    private static final Set<SocketOption<?>> CLIENT_ONLY = Set.of(RustSocketOptions.TCP_CORK,
            RustSocketOptions.TCP_FASTOPEN_CONNECT, RustSocketOptions.IP_BIND_ADDRESS_NO_PORT);
    private static final Set<SocketOption<?>> SERVER_ONLY = Set.of(RustSocketOptions.TCP_FASTOPEN,
            RustSocketOptions.TCP_DEFER_ACCEPT);
    private static final Set<SocketOption<?>> BOTH = Set.of(RustSocketOptions.TCP_KEEPIDLE,
            RustSocketOptions.TCP_KEEPINTERVAL, RustSocketOptions.TCP_KEEPCOUNT, RustSocketOptions.TCP_USER_TIMEOUT,
            RustSocketOptions.TCP_QUICKACK, RustSocketOptions.TCP_NOTSENT_LOWAT, RustSocketOptions.TCP_MAXSEG,
            RustSocketOptions.TCP_CONGESTION, RustSocketOptions.IP_TTL, RustSocketOptions.IPV6_V6ONLY,
            RustSocketOptions.IP_FREEBIND, RustSocketOptions.SO_MARK, RustSocketOptions.SO_BINDTODEVICE,
            RustSocketOptions.SO_INCOMING_CPU, RustSocketOptions.SO_BUSY_POLL);

    private static boolean ipv6Sockets() throws IOException {
        try (RustSocket s = new RustSocket()) {
            return s.supportedOptions().contains(RustSocketOptions.IPV6_V6ONLY);
        }
    }

    /** A loopback connection made and accepted by rustsocket. */
    private static final class Conn implements AutoCloseable {
        final RustServerSocket listener;
        final RustSocket client;
        final RustSocket server;

        Conn(RustServerSocket listener, RustSocket client) throws IOException {
            this.listener = listener;
            this.client = client;
            if (!client.isConnected()) {
                client.connect(new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort()), 5000);
            }
            this.server = listener.accept();
        }

        Conn() throws IOException {
            this(new RustServerSocket(0, 50, LOOPBACK), new RustSocket());
        }

        @Override
        public void close() throws IOException {
            client.close();
            server.close();
            listener.close();
        }
    }

    // ---------------------------------------------------------------- supported sets

    @Test
    void everyOptionIsSupportedWhereItAppliesAndRefusedElsewhere() throws Exception {
        TestSupport.assumeLinux("the matrix of Linux socket options");
        boolean v6 = ipv6Sockets();
        Emulation.Skips skips = new Emulation.Skips();
        try (RustSocket s = new RustSocket(); RustServerSocket ss = new RustServerSocket()) {
            for (SocketOption<?> o : BOTH) {
                boolean expected = o != RustSocketOptions.IPV6_V6ONLY || v6;
                assertEquals(expected, s.supportedOptions().contains(o), o::name);
                assertEquals(expected, ss.supportedOptions().contains(o), o::name);
            }
            for (SocketOption<?> o : CLIENT_ONLY) {
                if (Emulation.probeRefused(o, s.supportedOptions())) {
                    skips.add(o.name() + " (its probe was answered " + Emulation.NO_OPTION + ")");
                } else {
                    assertTrue(s.supportedOptions().contains(o), o::name);
                }
                assertFalse(ss.supportedOptions().contains(o), o::name);
                assertThrowsExactly(UnsupportedOperationException.class, "'" + o.name() + "' not supported",
                        () -> ss.getOption(o));
            }
            for (SocketOption<?> o : SERVER_ONLY) {
                assertTrue(ss.supportedOptions().contains(o), o::name);
                assertFalse(s.supportedOptions().contains(o), o::name);
                assertThrowsExactly(UnsupportedOperationException.class, "'" + o.name() + "' not supported",
                        () -> set(s, o, 1));
            }
            assertThrowsExactly(UnsupportedOperationException.class, "'TCP_CORK' not supported",
                    () -> ss.setOption(RustSocketOptions.TCP_CORK, true));
            // every supported option reads back a value of its type, on both kinds
            for (SocketOption<?> o : s.supportedOptions()) {
                assertTrue(o.type().isInstance(s.getOption(o)), o::name);
            }
            for (SocketOption<?> o : ss.supportedOptions()) {
                assertTrue(o.type().isInstance(ss.getOption(o)), o::name);
            }
            // the JDK's constants for the same options are still there
            for (SocketOption<?> o : List.of(ExtendedSocketOptions.TCP_KEEPIDLE, ExtendedSocketOptions.TCP_KEEPINTERVAL,
                    ExtendedSocketOptions.TCP_KEEPCOUNT, ExtendedSocketOptions.TCP_QUICKACK)) {
                assertTrue(s.supportedOptions().contains(o), o::name);
                assertTrue(ss.supportedOptions().contains(o), o::name);
            }
        }
        skips.abortIfAny();
    }

    @Test
    void jdkConstantsAndOursSetTheSameKernelOption() throws Exception {
        TestSupport.assumeLinux("jdk.net's keepalive options and TCP_QUICKACK");
        try (Conn c = new Conn()) {
            c.client.setOption(RustSocketOptions.TCP_KEEPIDLE, 123);
            assertEquals(123, c.client.getOption(ExtendedSocketOptions.TCP_KEEPIDLE));
            c.client.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, 17);
            assertEquals(17, c.client.getOption(RustSocketOptions.TCP_KEEPINTERVAL));
            c.client.setOption(RustSocketOptions.TCP_KEEPCOUNT, 4);
            assertEquals(4, c.client.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT));
            c.client.setOption(RustSocketOptions.TCP_QUICKACK, true);
            assertEquals(c.client.getOption(ExtendedSocketOptions.TCP_QUICKACK),
                    c.client.getOption(RustSocketOptions.TCP_QUICKACK));
        }
    }

    // ---------------------------------------------------------------- read back

    @Test
    void clientOptionsReadBackWhatTheKernelApplied() throws Exception {
        TestSupport.assumeLinux("the Linux socket options");
        Map<SocketOption<?>, Object> values = new HashMap<>();
        values.put(RustSocketOptions.TCP_KEEPIDLE, 77);
        values.put(RustSocketOptions.TCP_KEEPINTERVAL, 9);
        values.put(RustSocketOptions.TCP_KEEPCOUNT, 3);
        values.put(RustSocketOptions.TCP_USER_TIMEOUT, 2500);
        values.put(RustSocketOptions.TCP_CORK, true);
        values.put(RustSocketOptions.TCP_NOTSENT_LOWAT, 32768);
        values.put(RustSocketOptions.TCP_CONGESTION, "reno");
        values.put(RustSocketOptions.IP_TTL, 17);
        values.put(RustSocketOptions.IP_FREEBIND, true);
        values.put(RustSocketOptions.IP_BIND_ADDRESS_NO_PORT, true);
        if (ROOT) {
            values.put(RustSocketOptions.SO_MARK, 0x5eed);
        }
        values.put(RustSocketOptions.SO_BINDTODEVICE, "lo");
        values.put(RustSocketOptions.SO_INCOMING_CPU, 0);
        values.put(RustSocketOptions.SO_BUSY_POLL, 50);
        Emulation.Skips skips = new Emulation.Skips();
        try (Conn c = new Conn()) {
            // on a connected socket, and on a fresh one before it connects
            try (RustSocket fresh = new RustSocket()) {
                for (RustSocket s : List.of(c.client, fresh)) {
                    String which = s == fresh ? " (fresh)" : " (connected)";
                    for (Map.Entry<SocketOption<?>, Object> e : values.entrySet()) {
                        String name = e.getKey().name();
                        if (Emulation.probeRefused(e.getKey(), s.supportedOptions())) {
                            skips.add(name + which + " (its probe was answered " + Emulation.NO_OPTION + ")");
                            continue;
                        }
                        skips.attempt(name + which, () -> {
                            set(s, e.getKey(), e.getValue());
                            assertEquals(e.getValue(), s.getOption(e.getKey()), name);
                        }, qemuAnswers(e.getKey()));
                    }
                    s.setOption(RustSocketOptions.TCP_CORK, false);
                    assertEquals(false, s.getOption(RustSocketOptions.TCP_CORK));
                    s.setOption(RustSocketOptions.SO_BINDTODEVICE, "");
                    assertEquals("", s.getOption(RustSocketOptions.SO_BINDTODEVICE));
                    if (ROOT) {
                        skips.attempt("SO_MARK -1" + which, () -> {
                            s.setOption(RustSocketOptions.SO_MARK, -1); // a 32-bit pattern
                            assertEquals(-1, s.getOption(RustSocketOptions.SO_MARK));
                        });
                    }
                }
                fresh.setOption(RustSocketOptions.TCP_FASTOPEN_CONNECT, true);
                assertEquals(true, fresh.getOption(RustSocketOptions.TCP_FASTOPEN_CONNECT));
                fresh.setOption(RustSocketOptions.TCP_MAXSEG, 1000);
                assertEquals(1000, fresh.getOption(RustSocketOptions.TCP_MAXSEG));
            }
            // after connect the kernel has the last word: the state forbids it
            assertThrowsExactly(SocketException.class, "TCP_FASTOPEN_CONNECT can only be changed before connect",
                    () -> c.client.setOption(RustSocketOptions.TCP_FASTOPEN_CONNECT, true));
        }
        skips.abortIfAny();
    }

    /**
     * What qemu-user answers when it cannot set or read back {@code o}: reading SO_BINDTODEVICE of
     * a bound socket is EINVAL there, an untranslated option ENOPROTOOPT.
     */
    private static String[] qemuAnswers(SocketOption<?> o) {
        return o == RustSocketOptions.SO_BINDTODEVICE ? new String[] {"Invalid argument"}
                : new String[] {Emulation.NO_OPTION};
    }

    @Test
    void serverOptionsReadBackAndAcceptedSocketsInheritThem() throws Exception {
        TestSupport.assumeLinux("TCP_FASTOPEN, TCP_DEFER_ACCEPT and the other Linux listener options");
        Emulation.Skips skips = new Emulation.Skips();
        try (RustServerSocket ss = new RustServerSocket()) {
            ss.setOption(RustSocketOptions.TCP_FASTOPEN, 32);
            assertEquals(32, ss.getOption(RustSocketOptions.TCP_FASTOPEN));
            ss.setOption(RustSocketOptions.TCP_DEFER_ACCEPT, 5);
            // rounded up to the SYN-ACK retransmission schedule
            int deferred = ss.getOption(RustSocketOptions.TCP_DEFER_ACCEPT);
            assertTrue(deferred >= 5 && deferred <= 16, "TCP_DEFER_ACCEPT read back " + deferred);
            ss.setOption(RustSocketOptions.TCP_DEFER_ACCEPT, 0);
            assertEquals(0, ss.getOption(RustSocketOptions.TCP_DEFER_ACCEPT));
            ss.setOption(RustSocketOptions.TCP_CONGESTION, "reno");
            ss.setOption(RustSocketOptions.TCP_USER_TIMEOUT, 4321);
            ss.setOption(RustSocketOptions.TCP_NOTSENT_LOWAT, 65536);
            ss.setOption(RustSocketOptions.IP_TTL, 33);
            int mark = 0;
            if (ROOT && skips.attempt("SO_MARK", () -> ss.setOption(RustSocketOptions.SO_MARK, 99))) {
                mark = 99;
            }
            ss.setOption(RustSocketOptions.SO_BINDTODEVICE, "lo");
            ss.setOption(RustSocketOptions.TCP_MAXSEG, 1200);
            assertEquals(1200, ss.getOption(RustSocketOptions.TCP_MAXSEG));
            ss.bind(new InetSocketAddress(LOOPBACK, 0));
            skips.attempt("reading SO_BINDTODEVICE back",
                    () -> assertEquals("lo", ss.getOption(RustSocketOptions.SO_BINDTODEVICE)), "Invalid argument");
            try (Conn c = new Conn(ss, new RustSocket())) {
                // Linux copies these from the listener into every connection it accepts
                assertEquals("reno", c.server.getOption(RustSocketOptions.TCP_CONGESTION));
                assertEquals(4321, c.server.getOption(RustSocketOptions.TCP_USER_TIMEOUT));
                assertEquals(65536, c.server.getOption(RustSocketOptions.TCP_NOTSENT_LOWAT));
                assertEquals(33, c.server.getOption(RustSocketOptions.IP_TTL));
                assertEquals(mark, c.server.getOption(RustSocketOptions.SO_MARK));
                // the listener's MSS was announced: the client sends segments of at most 1200 bytes
                TcpInfo info = c.client.tcpInfo();
                if (Emulation.tcpInfoCutShort(info)) {
                    skips.add(Emulation.tcpInfoReason(info));
                } else {
                    assertTrue(info.sendMssBytes() > 0 && info.sendMssBytes() <= 1200, info::toString);
                }
                assertTrue(c.client.getOption(RustSocketOptions.TCP_MAXSEG) <= 1200);
            }
        }
        skips.abortIfAny();
    }

    @SuppressWarnings("unchecked")
    private static <T> void set(Socket s, SocketOption<T> o, Object value) throws IOException {
        s.setOption(o, (T) value);
    }

    @Test
    void ipTtlReadsBackOnIpv4AndIpv6Connections() throws Exception {
        List<InetAddress> addresses = new ArrayList<>(List.of(InetAddress.getByName("127.0.0.1")));
        if (ipv6Sockets()) {
            addresses.add(InetAddress.getByName("::1"));
        }
        for (InetAddress a : addresses) {
            try (Conn c = new Conn(new RustServerSocket(0, 50, a), new RustSocket())) {
                assertEquals(64, c.client.getOption(RustSocketOptions.IP_TTL), "the default TTL, " + a);
                c.client.setOption(RustSocketOptions.IP_TTL, 5);
                assertEquals(5, c.client.getOption(RustSocketOptions.IP_TTL), a::toString);
                byte[] b = "ttl".getBytes(StandardCharsets.US_ASCII);
                c.client.getOutputStream().write(b);
                assertEquals("ttl", new String(TestSupport.readExactly(c.server.getInputStream(), 3),
                        StandardCharsets.US_ASCII));
            }
        }
    }

    // ---------------------------------------------------------------- bad values, closed sockets

    @Test
    void badValuesAreIllegalArguments() throws Exception {
        try (RustSocket s = new RustSocket(); RustServerSocket ss = new RustServerSocket()) {
            Object[][] bad = {
                {RustSocketOptions.TCP_KEEPIDLE, 0}, {RustSocketOptions.TCP_KEEPIDLE, 32768},
                {RustSocketOptions.TCP_KEEPCOUNT, 128}, {RustSocketOptions.TCP_USER_TIMEOUT, -1},
                {RustSocketOptions.TCP_NOTSENT_LOWAT, -5}, {RustSocketOptions.TCP_MAXSEG, 87},
                {RustSocketOptions.TCP_MAXSEG, 32768}, {RustSocketOptions.IP_TTL, 0},
                {RustSocketOptions.IP_TTL, 256}, {RustSocketOptions.SO_BUSY_POLL, -1},
                {RustSocketOptions.SO_INCOMING_CPU, -2},
            };
            int ttl = s.getOption(RustSocketOptions.IP_TTL);
            for (Object[] b : bad) {
                SocketOption<?> o = (SocketOption<?>) b[0];
                if (!TestSupport.LINUX && !s.supportedOptions().contains(o)) {
                    continue; // a Linux option, refused before its value is looked at
                }
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> set(s, o, b[1]));
                assertTrue(e.getMessage().contains(o.name()), e::getMessage);
            }
            assertThrowsExactly(IllegalArgumentException.class, "Invalid value 'null'",
                    () -> s.setOption(RustSocketOptions.IP_TTL, null));
            assertEquals(ttl, s.getOption(RustSocketOptions.IP_TTL), "changed by a refused value");
            if (!TestSupport.LINUX) {
                return; // the rest are Linux options
            }
            // names the kernel does not know
            assertThrows(IllegalArgumentException.class,
                    () -> s.setOption(RustSocketOptions.TCP_CONGESTION, "no-such-algorithm"));
            assertThrows(IllegalArgumentException.class, () -> s.setOption(RustSocketOptions.TCP_CONGESTION, ""));
            assertThrows(IllegalArgumentException.class,
                    () -> s.setOption(RustSocketOptions.SO_BINDTODEVICE, "nosuchdev0"));
            assertThrows(IllegalArgumentException.class,
                    () -> s.setOption(RustSocketOptions.SO_BINDTODEVICE, "l\u00f6"));
            assertThrows(IllegalArgumentException.class,
                    () -> s.setOption(RustSocketOptions.SO_BINDTODEVICE, "x".repeat(16)));
            assertThrows(IllegalArgumentException.class, () -> ss.setOption(RustSocketOptions.TCP_FASTOPEN, -1));
            assertThrows(IllegalArgumentException.class, () -> ss.setOption(RustSocketOptions.TCP_DEFER_ACCEPT, -1));
            // wrong type or null, as with the JDK's options
            assertThrowsExactly(IllegalArgumentException.class, "Invalid value 'null'",
                    () -> s.setOption(RustSocketOptions.TCP_CONGESTION, null));
            // nothing was changed by the refusals
            assertEquals(64, s.getOption(RustSocketOptions.IP_TTL));
            assertEquals("", s.getOption(RustSocketOptions.SO_BINDTODEVICE));
        }
    }

    @Test
    void closedSocketsAreReported() throws Exception {
        RustSocket s = new RustSocket();
        RustServerSocket ss = new RustServerSocket();
        s.close();
        ss.close();
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> s.setOption(RustSocketOptions.IP_TTL, 3));
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> s.getOption(RustSocketOptions.TCP_CONGESTION));
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> s.tcpInfo());
        assertThrowsExactly(SocketException.class, "Socket is closed",
                () -> ss.setOption(RustSocketOptions.TCP_FASTOPEN, 3));
        assertThrowsExactly(SocketException.class, "Socket is closed",
                () -> ss.getOption(RustSocketOptions.SO_BINDTODEVICE));
        try (Conn c = new Conn()) {
            c.client.close();
            assertThrowsExactly(SocketException.class, "Socket is closed", () -> c.client.tcpInfo());
        }
    }

    @Test
    void ipv6OnlyChangesOnlyBeforeBind() throws Exception {
        Assumptions.assumeTrue(ipv6Sockets(), "IPv4-only sockets: IPV6_V6ONLY is (rightly) unsupported");
        try (RustServerSocket ss = new RustServerSocket()) {
            ss.bind(new InetSocketAddress(LOOPBACK, 0));
            assertThrowsExactly(SocketException.class, "IPV6_V6ONLY can only be changed before the socket is bound",
                    () -> ss.setOption(RustSocketOptions.IPV6_V6ONLY, true));
            assertEquals(false, ss.getOption(RustSocketOptions.IPV6_V6ONLY));
        }
    }

    // ---------------------------------------------------------------- privilege

    @Test
    void missingPrivilegeIsASocketExceptionWithTheOsReason() throws Exception {
        Assumptions.assumeTrue(onPath("setpriv"), "setpriv (util-linux) is not installed");
        // The tests run as root; drop CAP_NET_ADMIN and CAP_NET_RAW (either allows SO_MARK since
        // Linux 5.17) from the bounding set so that the child JVM has neither.
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--bounding-set=-net_admin,-net_raw",
                "--inh-caps=-net_admin,-net_raw", "--"));
        cmd.addAll(childCommand("privilege"));
        Map<String, String> out = runChild(cmd);
        if (out.get("mark").equals("ok")) {
            Assumptions.abort("the child kept its network capabilities (setpriv could not drop them here)");
        }
        if (Emulation.EMULATOR != null && out.get("mark").endsWith(": " + Emulation.NO_OPTION)) {
            Emulation.abort("SO_MARK (the child's set was answered " + out.get("mark") + ")");
        }
        assertEquals("java.net.SocketException: Operation not permitted", out.get("mark"));
        assertEquals("java.net.SocketException: Operation not permitted", out.get("serverMark"));
        assertEquals("0", out.get("markAfter"));
        assertEquals("1234", out.get("userTimeout"));
    }

    // ---------------------------------------------------------------- TCP_INFO

    @Test
    void tcpInfoOfALoopbackConnection() throws Exception {
        Assumptions.assumeTrue(io.rustsocket.internal.Platform.hasTcpInfo(), "no TCP_INFO snapshot on this system");
        try (Conn c = new Conn()) {
            TcpInfo before = c.client.tcpInfo();
            assertEquals(TcpInfo.State.ESTABLISHED, before.state());
            assertEquals(TcpInfo.State.ESTABLISHED, c.server.tcpInfo().state());
            Emulation.assumeTcpInfo(before);
            assertTrue(before.kernelBytes() >= 160, "the kernel filled " + before.kernelBytes() + " bytes");
            byte[] data = TestSupport.randomBytes(100_000);
            c.client.getOutputStream().write(data);
            byte[] got = TestSupport.readExactly(c.server.getInputStream(), data.length);
            assertTrue(java.util.Arrays.equals(data, got));
            assertTrue(TestSupport.eventually(() -> info(c.client).bytesAcked() >= data.length),
                    () -> "bytes acked: " + info(c.client));
            TcpInfo after = c.client.tcpInfo();
            assertTrue(after.rttMicros() > 0, after::toString);
            assertTrue(after.minRttMicros() > 0, after::toString);
            assertTrue(after.sendCwndSegments() > 0, after::toString);
            assertTrue(after.sendMssBytes() > 0 && after.sendMssBytes() <= 65535, after::toString);
            assertTrue(after.bytesSent() >= data.length, after::toString);
            assertTrue(after.dataSegmentsOut() > before.dataSegmentsOut(), after::toString);
            assertEquals(0, after.lostSegments());
            assertEquals(data.length, c.server.tcpInfo().bytesReceived());
            assertTrue(after.timestamps() && after.sack() && after.windowScaling(), after::toString);
            // the peer half-closes: our side moves to CLOSE_WAIT
            c.server.shutdownOutput();
            assertTrue(TestSupport.eventually(() -> info(c.client).state() == TcpInfo.State.CLOSE_WAIT),
                    () -> info(c.client).toString());
        }
        try (RustSocket unconnected = new RustSocket()) {
            assertThrowsExactly(SocketException.class, "Socket is not connected", unconnected::tcpInfo);
        }
    }

    private static TcpInfo info(RustSocket s) {
        try {
            return s.tcpInfo();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- effects

    @Test
    void corkCoalescesSmallWritesIntoOneSegment() throws Exception {
        TestSupport.assumeLinux("TCP_CORK");
        long corked = segmentsForTenSmallWrites(true);
        long plain = segmentsForTenSmallWrites(false);
        // TCP_NODELAY alone sends each 100-byte write at once; with the cork they leave together
        // (two at most, should the 200 ms cork timer fire between writes on a busy machine)
        assertTrue(corked <= 2, "corked: " + corked + " data segments");
        // (the kernel's own autocorking may merge a few of these on a busy machine)
        assertTrue(plain >= 3 && plain > corked, "uncorked: " + plain + " data segments, corked: " + corked);
    }

    private static long segmentsForTenSmallWrites(boolean cork) throws Exception {
        try (Conn c = new Conn()) {
            c.client.setTcpNoDelay(true);
            c.client.setOption(RustSocketOptions.TCP_CORK, cork);
            Emulation.assumeTcpInfo(c.client.tcpInfo());
            long before = c.client.tcpInfo().dataSegmentsOut();
            OutputStream out = c.client.getOutputStream();
            for (int i = 0; i < 10; i++) {
                out.write(new byte[100]);
            }
            if (cork) {
                c.client.setOption(RustSocketOptions.TCP_CORK, false); // sends what was held
            }
            TestSupport.readExactly(c.server.getInputStream(), 1000);
            return c.client.tcpInfo().dataSegmentsOut() - before;
        }
    }

    @Test
    void keepaliveTimerFollowsTcpKeepIdleInSs() throws Exception {
        Assumptions.assumeTrue(onPath("ss"), "ss (iproute2) is not installed");
        try (Conn c = new Conn()) {
            c.client.setKeepAlive(true);
            c.client.setOption(RustSocketOptions.TCP_KEEPIDLE, 600);
            c.client.setOption(RustSocketOptions.TCP_KEEPINTERVAL, 30);
            c.client.setOption(RustSocketOptions.TCP_USER_TIMEOUT, 45_000);
            String line = ssLine(c.client.getLocalPort());
            // e.g. "timer:(keepalive,9min59sec,0)": the keepalive timer runs, due in about 10 minutes
            Matcher m = Pattern.compile("timer:\\(keepalive,(?:(\\d+)min)?(?:(\\d+)(?:\\.\\d+)?sec)?(?:(\\d+)ms)?,(\\d+)\\)")
                    .matcher(line);
            assertTrue(m.find(), line);
            long seconds = (m.group(1) == null ? 0 : 60L * Integer.parseInt(m.group(1)))
                    + (m.group(2) == null ? 0 : Integer.parseInt(m.group(2)));
            assertTrue(seconds > 500 && seconds <= 600, "keepalive due in " + seconds + " s: " + line);
            assertEquals("0", m.group(4), "no probe sent yet: " + line);
            // a keepalive-less connection shows no keepalive timer
            c.client.setKeepAlive(false);
            assertFalse(ssLine(c.client.getLocalPort()).contains("keepalive"));
        }
    }

    @Test
    void keepaliveProbesGoOutOnAnIdleConnection() throws Exception {
        Assumptions.assumeTrue(io.rustsocket.internal.Platform.hasTcpInfo(), "counts the probes with TCP_INFO, which this system lacks");
        try (Conn c = new Conn()) {
            c.client.setOption(RustSocketOptions.TCP_KEEPIDLE, 1);
            c.client.setOption(RustSocketOptions.TCP_KEEPINTERVAL, 1);
            TcpInfo before = c.client.tcpInfo();
            Emulation.assumeTcpInfo(before);
            c.client.setKeepAlive(true);
            // nothing is written, yet segments leave: the probes (the peer answers each)
            assertTrue(TestSupport.eventually(() -> info(c.client).segmentsOut() >= before.segmentsOut() + 2),
                    () -> "segments out " + before.segmentsOut() + " -> " + info(c.client).segmentsOut());
            assertEquals(before.dataSegmentsOut(), c.client.tcpInfo().dataSegmentsOut());
            assertEquals(TcpInfo.State.ESTABLISHED, c.client.tcpInfo().state());
        }
    }

    /** The {@code ss -tion} entry (state line and info line joined) of the connection from a local port. */
    private static String ssLine(int localPort) throws Exception {
        Process p = new ProcessBuilder("ss", "-tion", "state", "established", "( sport = :" + localPort + " )")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out.replace('\n', ' ');
    }

    @Test
    void userTimeoutDropsAConnectionWhosePeerStopsAnswering() throws Exception {
        Map<String, String> out = runChild(inFreshNetworkNamespace(false, "usertimeout"));
        assertEquals("1000", out.get("userTimeout"));
        assertEquals("java.net.SocketException: Connection timed out", out.get("result"));
        // about a second, against the ~15 minutes of retransmissions without the option
        long millis = Long.parseLong(out.get("millis"));
        assertTrue(millis >= 900 && millis < 30_000, "timed out after " + millis + " ms");
    }

    @Test
    void fastOpenSendsTheFirstWriteWithTheSyn() throws Exception {
        TestSupport.assumeLinux("network namespaces, and TCP_INFO's TCPI_OPT_SYN_DATA");
        try (Conn c = new Conn()) {
            Emulation.assumeTcpInfo(c.client.tcpInfo()); // the child reads TCPI_OPT_SYN_DATA
        }
        Map<String, String> out = runChild(inFreshNetworkNamespace(true, "fastopen"));
        for (int i = 0; i < 3; i++) {
            assertEquals("hello " + i, out.get("data" + i));
        }
        // the first connection fetches the cookie; the next ones carry their data on the SYN
        assertEquals("false", out.get("clientSynData0"));
        assertEquals("true", out.get("clientSynData1"));
        assertEquals("true", out.get("serverSynData1"));
        assertEquals("true", out.get("clientSynData2"));
    }

    @Test
    void fastOpenClientFallsBackToAHandshakeWhenTheServerHasNone() throws Exception {
        TestSupport.assumeLinux("TCP_FASTOPEN_CONNECT");
        // The host's sysctl is whatever it is; without a cookie the data must still arrive intact.
        try (RustServerSocket ss = new RustServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
                RustSocket client = new RustSocket()) {
            client.setOption(RustSocketOptions.TCP_FASTOPEN_CONNECT, true);
            try (Conn c = new Conn(ss, client)) {
                c.client.getOutputStream().write("abc".getBytes(StandardCharsets.US_ASCII));
                assertEquals("abc", new String(TestSupport.readExactly(c.server.getInputStream(), 3),
                        StandardCharsets.US_ASCII));
                assertFalse(c.client.tcpInfo().synData());
            }
        }
    }

    @Test
    void reusePortSpreadsConnectionsAcrossListeners() throws Exception {
        Assumptions.assumeTrue(TestSupport.REUSE_PORT, "no SO_REUSEPORT on this system");
        try (RustServerSocket a = new RustServerSocket(); RustServerSocket b = new RustServerSocket()) {
            a.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            b.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            a.bind(new InetSocketAddress(LOOPBACK, 0), 128);
            b.bind(new InetSocketAddress(LOOPBACK, a.getLocalPort()), 128);
            List<Socket> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 64; i++) {
                    clients.add(new RustSocket(LOOPBACK, a.getLocalPort()));
                }
                // the kernel hashes each connection's addresses and ports to one listener
                int fromA = drain(a);
                int fromB = drain(b);
                assertEquals(64, fromA + fromB);
                assertTrue(fromA > 0 && fromB > 0, "A accepted " + fromA + ", B " + fromB);
            } finally {
                for (Socket s : clients) {
                    s.close();
                }
            }
        }
    }

    private static int drain(ServerSocket listener) throws IOException {
        listener.setSoTimeout(300);
        int n = 0;
        while (true) {
            try {
                listener.accept().close();
                n++;
            } catch (SocketTimeoutException e) {
                return n;
            }
        }
    }

    @Test
    void ipv6OnlyListenerRefusesIpv4MappedConnections() throws Exception {
        Assumptions.assumeTrue(ipv6Sockets(), "IPv4-only sockets: IPV6_V6ONLY is (rightly) unsupported");
        for (boolean v6only : new boolean[] {true, false}) {
            try (RustServerSocket ss = new RustServerSocket()) {
                ss.setOption(RustSocketOptions.IPV6_V6ONLY, v6only);
                assertEquals(v6only, ss.getOption(RustSocketOptions.IPV6_V6ONLY));
                ss.bind(new InetSocketAddress(InetAddress.getByName("::"), 0));
                int port = ss.getLocalPort();
                try (Socket v6 = new RustSocket(InetAddress.getByName("::1"), port); Socket in = ss.accept()) {
                    assertEquals(v6.getLocalPort(), in.getPort());
                    assertTrue(in.getInetAddress() instanceof java.net.Inet6Address);
                }
                if (v6only) {
                    assertThrowsExactly(ConnectException.class, TestSupport.refused(false),
                            () -> new RustSocket(InetAddress.getByName("127.0.0.1"), port).close());
                } else {
                    try (Socket v4 = new RustSocket(InetAddress.getByName("127.0.0.1"), port); Socket in = ss.accept()) {
                        assertEquals(v4.getLocalPort(), in.getPort());
                        assertTrue(in.getInetAddress() instanceof java.net.Inet4Address);
                    }
                }
            }
        }
    }

    @Test
    void deferAcceptHoldsConnectionsUntilDataArrives() throws Exception {
        TestSupport.assumeLinux("TCP_DEFER_ACCEPT");
        try (RustServerSocket ss = new RustServerSocket()) {
            ss.setOption(RustSocketOptions.TCP_DEFER_ACCEPT, 10);
            ss.bind(new InetSocketAddress(LOOPBACK, 0));
            try (RustSocket client = new RustSocket(LOOPBACK, ss.getLocalPort())) {
                // connected from the client's point of view, but not acceptable without data
                ss.setSoTimeout(500);
                assertThrowsExactly(SocketTimeoutException.class, "Accept timed out", ss::accept);
                client.getOutputStream().write('x');
                ss.setSoTimeout(10_000);
                try (Socket in = ss.accept()) {
                    assertEquals('x', in.getInputStream().read());
                }
            }
        }
        // without the option the same connection is accepted at once
        try (RustServerSocket ss = new RustServerSocket(0, 50, LOOPBACK);
                RustSocket client = new RustSocket(LOOPBACK, ss.getLocalPort())) {
            ss.setSoTimeout(10_000);
            try (Socket in = ss.accept()) {
                assertEquals(client.getLocalPort(), in.getPort());
            }
        }
    }

    @Test
    void notSentLowatStopsAWriterEarly() throws Exception {
        TestSupport.assumeLinux("TCP_NOTSENT_LOWAT as Linux applies it");
        long limited = unsentWhenTheWriterStalls(16384);
        long unlimited = unsentWhenTheWriterStalls(0);
        // a write blocks once more than TCP_NOTSENT_LOWAT bytes are unsent (the kernel checks
        // before each new buffer of up to 64 KiB); without it the whole send buffer fills
        assertTrue(limited <= 16384 + 65536, "unsent with TCP_NOTSENT_LOWAT 16384: " + limited);
        assertTrue(unlimited > 4 * limited, "unsent " + unlimited + " without, " + limited + " with");
    }

    private static long unsentWhenTheWriterStalls(int lowat) throws Exception {
        try (RustServerSocket ss = new RustServerSocket()) {
            ss.setReceiveBufferSize(8192);
            ss.bind(new InetSocketAddress(LOOPBACK, 0));
            RustSocket client = new RustSocket();
            if (lowat > 0) {
                client.setOption(RustSocketOptions.TCP_NOTSENT_LOWAT, lowat);
            }
            try (Conn c = new Conn(ss, client)) {
                AtomicLong written = new AtomicLong();
                Thread writer = new Thread(() -> {
                    byte[] chunk = new byte[1024];
                    try {
                        OutputStream out = c.client.getOutputStream();
                        while (true) {
                            out.write(chunk);
                            written.addAndGet(chunk.length);
                        }
                    } catch (IOException closed) {
                        // the socket was closed under the blocked writer: done
                    }
                }, "lowat-writer");
                writer.setDaemon(true);
                writer.start();
                // the peer never reads; wait until the writer has made no progress for 300 ms
                long last = -1;
                while (last != written.get()) {
                    last = written.get();
                    Thread.sleep(300);
                }
                TcpInfo info = c.client.tcpInfo();
                c.client.close(); // closed before the assumption can abort, for the writer to end
                writer.join(10_000);
                Emulation.assumeTcpInfo(info);
                return info.notSentBytes();
            }
        }
    }

    @Test
    void freeBindAllowsAnAddressThisHostDoesNotHave() throws Exception {
        TestSupport.assumeLinux("IP_FREEBIND");
        // TEST-NET-2 (RFC 5737): never configured here; binding sends nothing
        InetAddress foreign = InetAddress.getByName("198.51.100.7");
        try (RustSocket s = new RustSocket()) {
            assertThrowsExactly(BindException.class, "Cannot assign requested address",
                    () -> s.bind(new InetSocketAddress(foreign, 0)));
        }
        try (RustSocket s = new RustSocket(); RustServerSocket ss = new RustServerSocket()) {
            s.setOption(RustSocketOptions.IP_FREEBIND, true);
            s.bind(new InetSocketAddress(foreign, 0));
            assertEquals(foreign, s.getLocalAddress());
            ss.setOption(RustSocketOptions.IP_FREEBIND, true);
            ss.bind(new InetSocketAddress(foreign, 0));
            assertEquals(foreign, ss.getInetAddress());
        }
    }

    @Test
    void bindAddressNoPortDefersThePortToConnect() throws Exception {
        TestSupport.assumeLinux("IP_BIND_ADDRESS_NO_PORT");
        try (RustServerSocket ss = new RustServerSocket(0, 50, LOOPBACK)) {
            for (boolean noPort : new boolean[] {true, false}) {
                try (RustSocket s = new RustSocket()) {
                    if (Emulation.probeRefused(RustSocketOptions.IP_BIND_ADDRESS_NO_PORT, s.supportedOptions())) {
                        Emulation.abort("IP_BIND_ADDRESS_NO_PORT (its probe was answered " + Emulation.NO_OPTION + ")");
                    }
                    s.setOption(RustSocketOptions.IP_BIND_ADDRESS_NO_PORT, noPort);
                    s.bind(new InetSocketAddress(LOOPBACK, 0));
                    assertEquals(noPort, s.getLocalPort() == 0, "port after bind: " + s.getLocalPort());
                    s.connect(new InetSocketAddress(LOOPBACK, ss.getLocalPort()), 5000);
                    try (Socket in = ss.accept()) {
                        assertTrue(s.getLocalPort() > 0);
                        assertEquals(s.getLocalPort(), in.getPort());
                    }
                }
            }
        }
    }

    @Test
    void boundToLoopbackDeviceStillReachesLoopback() throws Exception {
        TestSupport.assumeLinux("SO_BINDTODEVICE");
        try (RustServerSocket ss = new RustServerSocket(); RustSocket client = new RustSocket()) {
            ss.setOption(RustSocketOptions.SO_BINDTODEVICE, "lo");
            ss.bind(new InetSocketAddress(LOOPBACK, 0));
            client.setOption(RustSocketOptions.SO_BINDTODEVICE, "lo");
            Emulation.Skips skips = new Emulation.Skips();
            try (Conn c = new Conn(ss, client)) {
                skips.attempt("reading SO_BINDTODEVICE back", () -> {
                    assertEquals("lo", c.client.getOption(RustSocketOptions.SO_BINDTODEVICE));
                    // accepted sockets inherit the listener's device
                    assertEquals("lo", c.server.getOption(RustSocketOptions.SO_BINDTODEVICE));
                }, "Invalid argument");
                c.client.getOutputStream().write(7);
                assertEquals(7, c.server.getInputStream().read());
            }
            skips.abortIfAny();
        }
    }

    @Test
    void incomingCpuReportsACpuOfThisMachine() throws Exception {
        TestSupport.assumeLinux("SO_INCOMING_CPU");
        try (Conn c = new Conn()) {
            c.client.getOutputStream().write(1);
            assertEquals(1, c.server.getInputStream().read());
            int cpu = c.server.getOption(RustSocketOptions.SO_INCOMING_CPU);
            // "0-1" on a 2-CPU machine: the highest CPU number the kernel may use
            String possible = Files.readString(Path.of("/sys/devices/system/cpu/possible")).trim();
            int highest = Integer.parseInt(possible.substring(possible.lastIndexOf('-') + 1));
            assertTrue(cpu >= 0 && cpu <= highest, "cpu " + cpu + ", possible " + possible);
        }
    }

    @Test
    void congestionControlIsChosenPerSocket() throws Exception {
        TestSupport.assumeLinux("TCP_CONGESTION");
        String available = Files.readString(Path.of("/proc/sys/net/ipv4/tcp_available_congestion_control")).trim();
        Emulation.Skips skips = new Emulation.Skips();
        try (Conn c = new Conn()) {
            for (String algorithm : available.split("\\s+")) {
                // qemu-user passes the name as 4 bytes: shorter is EINVAL, longer another name (ENOENT)
                skips.attempt("TCP_CONGESTION " + algorithm, () -> {
                    c.client.setOption(RustSocketOptions.TCP_CONGESTION, algorithm);
                    assertEquals(algorithm, c.client.getOption(RustSocketOptions.TCP_CONGESTION));
                }, algorithm.length() < 4 ? "Invalid argument" : "No such file or directory");
            }
            c.client.getOutputStream().write(new byte[10_000]);
            TestSupport.readExactly(c.server.getInputStream(), 10_000);
        }
        skips.abortIfAny();
    }

    // ---------------------------------------------------------------- child processes

    private static List<String> childCommand(String scenario) {
        return TestSupport.childCommand(ExtendedOptionsChild.class, scenario);
    }

    /**
     * The child command wrapped in {@code unshare -n}: a network namespace of its own with loopback
     * up (and, if asked, Fast Open enabled for servers too), so the test changes nothing on the host.
     */
    private static List<String> inFreshNetworkNamespace(boolean fastOpen, String scenario) throws Exception {
        Assumptions.assumeTrue(onPath("ip") && onPath("unshare"), "ip (iproute2) or unshare (util-linux) is missing");
        Process probe = new ProcessBuilder("unshare", "-n", "true").redirectErrorStream(true).start();
        probe.getInputStream().readAllBytes();
        Assumptions.assumeTrue(probe.waitFor(30, TimeUnit.SECONDS) && probe.exitValue() == 0,
                "cannot create a network namespace here (unshare -n needs CAP_SYS_ADMIN)");
        String setup = "ip link set lo up" + (fastOpen ? " && echo 3 > /proc/sys/net/ipv4/tcp_fastopen" : "")
                + " && exec \"$@\"";
        List<String> cmd = new ArrayList<>(List.of("unshare", "-n", "sh", "-c", setup, "sh"));
        cmd.addAll(childCommand(scenario));
        return cmd;
    }

    private static boolean onPath(String command) {
        if (!TestSupport.LINUX) {
            return false; // the Linux tools these tests run (ss, ip, unshare, setpriv)
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }

    private static Map<String, String> runChild(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Map<String, String> result = new HashMap<>();
        StringBuilder all = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                all.append(line).append('\n');
                int eq = line.indexOf('=');
                if (eq > 0) {
                    result.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not finish");
        assertEquals(0, p.exitValue(), all::toString);
        return result;
    }
}
