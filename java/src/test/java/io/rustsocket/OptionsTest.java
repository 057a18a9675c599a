package io.rustsocket;

import static io.rustsocket.TestSupport.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.internal.RustSocketImpl;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Socket options: values read back, defaults, supported sets, bad values and their effects
 * must all be the JDK's.
 */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class OptionsTest {
    /**
     * Whether listeners have SO_REUSEADDR from the start: the JDK's do on Unix; on Windows they
     * bind exclusively instead (SO_EXCLUSIVEADDRUSE), and so do ours.
     */
    private static final Boolean LISTENERS_REUSE_ADDRESS = !TestSupport.WINDOWS;

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /** A socket of the engine: unconnected, or the client side of a connected pair. */
    private interface Exercise {
        void run(Socket s, Map<String, Object> out) throws IOException;
    }

    /** Runs the same exercise on a JDK socket and on the engine's, returning both records. */
    private static void assertSameAsJdk(Engine engine, boolean connected, Exercise exercise) throws IOException {
        Map<String, Object> jdk = record(Engine.JDK, connected, exercise);
        Map<String, Object> ours = record(engine, connected, exercise);
        assertEquals(jdk, ours, "read-back values differ from the JDK's");
    }

    /** Makes a fresh socket or server socket. */
    private interface Fresh<S> {
        S create() throws IOException;
    }

    /** Reads values off a socket or server socket, asserting along the way. */
    private interface Recorder<S> {
        Map<String, Object> record(S s) throws IOException;
    }

    /** What {@code recorder} makes of a fresh object from {@code fresh}, which is closed afterwards. */
    private static <S extends Closeable> Map<String, Object> recordOnFresh(Fresh<S> fresh, Recorder<S> recorder)
            throws IOException {
        try (S s = fresh.create()) {
            return recorder.record(s);
        }
    }

    /** A legacy boolean getter of Socket, such as getTcpNoDelay. */
    private interface BooleanGetter {
        boolean get() throws IOException;
    }

    /**
     * Sets boolean {@code option} on, then off, reading it back through getOption each time, and
     * while on through {@code legacyGetter} too (unless null).
     */
    private static void assertSetsOnThenOff(Socket s, SocketOption<Boolean> option, BooleanGetter legacyGetter)
            throws IOException {
        s.setOption(option, true);
        assertEquals(Boolean.TRUE, s.getOption(option));
        if (legacyGetter != null) {
            assertTrue(legacyGetter.get());
        }
        s.setOption(option, false);
        assertEquals(Boolean.FALSE, s.getOption(option));
    }

    private static Map<String, Object> record(Engine engine, boolean connected, Exercise exercise) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        if (connected) {
            try (TestSupport.Pair p = new TestSupport.Pair(engine)) {
                exercise.run(p.client, out);
            }
        } else {
            try (Socket s = engine.socket()) {
                exercise.run(s, out);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- legacy setters

    private static void legacyExercise(Socket s, Map<String, Object> out) throws IOException {
        s.setTcpNoDelay(true);
        assertTrue(s.getTcpNoDelay());
        s.setTcpNoDelay(false);
        assertFalse(s.getTcpNoDelay());

        s.setKeepAlive(true);
        assertTrue(s.getKeepAlive());
        s.setKeepAlive(false);
        assertFalse(s.getKeepAlive());

        for (int size : new int[] {4096, 65536, 300_000}) {
            s.setReceiveBufferSize(size);
            int got = s.getReceiveBufferSize();
            assertTrue(got > 0, "SO_RCVBUF " + got);
            out.put("rcvbuf " + size, got);
            s.setSendBufferSize(size);
            got = s.getSendBufferSize();
            assertTrue(got > 0, "SO_SNDBUF " + got);
            out.put("sndbuf " + size, got);
        }

        s.setSoLinger(true, 7);
        assertEquals(7, s.getSoLinger());
        s.setSoLinger(true, 0);
        assertEquals(0, s.getSoLinger());
        s.setSoLinger(false, 99);
        assertEquals(-1, s.getSoLinger());

        s.setReuseAddress(true);
        assertTrue(s.getReuseAddress());
        s.setReuseAddress(false);
        assertFalse(s.getReuseAddress());

        s.setTrafficClass(0x10);
        out.put("tc 0x10", s.getTrafficClass());
        s.setTrafficClass(0xb8);
        out.put("tc 0xb8", s.getTrafficClass());
        s.setTrafficClass(0);
        assertEquals(0, s.getTrafficClass());

        s.setOOBInline(true);
        assertTrue(s.getOOBInline());
        s.setOOBInline(false);
        assertFalse(s.getOOBInline());

        s.setSoTimeout(1234);
        assertEquals(1234, s.getSoTimeout());
        s.setSoTimeout(0);
        assertEquals(0, s.getSoTimeout());
    }

    @ParameterizedTest(name = "{0}, connected: {1}")
    @MethodSource("io.rustsocket.TestSupport#enginesAndBooleans")
    void legacySetters(Engine engine, boolean connected) throws Exception {
        assertSameAsJdk(engine, connected, OptionsTest::legacyExercise);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void trafficClassReadsBackAsSet(Engine engine) throws Exception {
        // on Windows the JDK leaves an IPv6 socket's traffic class alone (IP_TOS is deprecated
        // there) and reads 0 back; what its own socket reads back is the expectation
        int expected = 0x10;
        if (TestSupport.WINDOWS) {
            try (Socket jdk = new Socket()) {
                jdk.setTrafficClass(0x10);
                expected = jdk.getTrafficClass();
            }
        }
        try (Socket s = engine.socket()) {
            s.setTrafficClass(0x10);
            assertEquals(expected, s.getTrafficClass());
            assertEquals(expected, s.getOption(StandardSocketOptions.IP_TOS));
        }
    }

    // ---------------------------------------------------------------- setOption / getOption

    private static void optionExercise(Socket s, Map<String, Object> out) throws IOException {
        assertSetsOnThenOff(s, StandardSocketOptions.TCP_NODELAY, s::getTcpNoDelay);
        assertSetsOnThenOff(s, StandardSocketOptions.SO_KEEPALIVE, s::getKeepAlive);

        for (int size : new int[] {0, 4096, 65536, 300_000}) {
            s.setOption(StandardSocketOptions.SO_RCVBUF, size);
            int got = s.getOption(StandardSocketOptions.SO_RCVBUF);
            assertEquals(got, s.getReceiveBufferSize());
            out.put("SO_RCVBUF " + size, got);
            s.setOption(StandardSocketOptions.SO_SNDBUF, size);
            got = s.getOption(StandardSocketOptions.SO_SNDBUF);
            assertEquals(got, s.getSendBufferSize());
            out.put("SO_SNDBUF " + size, got);
        }

        s.setOption(StandardSocketOptions.SO_LINGER, 9);
        assertEquals(9, s.getOption(StandardSocketOptions.SO_LINGER));
        assertEquals(9, s.getSoLinger());
        s.setOption(StandardSocketOptions.SO_LINGER, 0);
        assertEquals(0, s.getOption(StandardSocketOptions.SO_LINGER));
        s.setOption(StandardSocketOptions.SO_LINGER, -5);
        assertEquals(-1, s.getOption(StandardSocketOptions.SO_LINGER));
        assertEquals(-1, s.getSoLinger());

        assertSetsOnThenOff(s, StandardSocketOptions.SO_REUSEADDR, s::getReuseAddress);
        if (TestSupport.REUSE_PORT) {
            assertSetsOnThenOff(s, StandardSocketOptions.SO_REUSEPORT, null);
        }

        s.setOption(StandardSocketOptions.IP_TOS, 0x20);
        out.put("IP_TOS 0x20", s.getOption(StandardSocketOptions.IP_TOS));
        out.put("IP_TOS 0x20 legacy", s.getTrafficClass());
        s.setOption(StandardSocketOptions.IP_TOS, 0);
        assertEquals(0, s.getOption(StandardSocketOptions.IP_TOS));
    }

    @ParameterizedTest(name = "{0}, connected: {1}")
    @MethodSource("io.rustsocket.TestSupport#enginesAndBooleans")
    void setOption(Engine engine, boolean connected) throws Exception {
        assertSameAsJdk(engine, connected, OptionsTest::optionExercise);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void setOptionReturnsTheSocket(Engine engine) throws Exception {
        try (Socket s = engine.socket(); ServerSocket ss = engine.serverSocket()) {
            assertTrue(s == s.setOption(StandardSocketOptions.TCP_NODELAY, true));
            assertTrue(ss == ss.setOption(StandardSocketOptions.SO_RCVBUF, 8192));
        }
    }

    private static Map<String, Object> serverExercise(ServerSocket s) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        s.setReuseAddress(false);
        assertFalse(s.getReuseAddress());
        assertEquals(Boolean.FALSE, s.getOption(StandardSocketOptions.SO_REUSEADDR));
        s.setReuseAddress(true);
        assertTrue(s.getReuseAddress());
        s.setOption(StandardSocketOptions.SO_REUSEADDR, false);
        assertFalse(s.getReuseAddress());
        s.setOption(StandardSocketOptions.SO_REUSEADDR, true);

        if (TestSupport.REUSE_PORT) {
            s.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            assertEquals(Boolean.TRUE, s.getOption(StandardSocketOptions.SO_REUSEPORT));
            s.setOption(StandardSocketOptions.SO_REUSEPORT, false);
            assertEquals(Boolean.FALSE, s.getOption(StandardSocketOptions.SO_REUSEPORT));
        }

        for (int size : new int[] {4096, 65536, 300_000}) {
            s.setReceiveBufferSize(size);
            out.put("rcvbuf " + size, s.getReceiveBufferSize());
            s.setOption(StandardSocketOptions.SO_RCVBUF, size);
            out.put("SO_RCVBUF " + size, s.getOption(StandardSocketOptions.SO_RCVBUF));
        }
        s.setOption(StandardSocketOptions.IP_TOS, 0x10);
        out.put("IP_TOS", s.getOption(StandardSocketOptions.IP_TOS));

        s.setSoTimeout(321);
        assertEquals(321, s.getSoTimeout());
        s.setSoTimeout(0);
        return out;
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void serverSocketOptions(Engine engine) throws Exception {
        Map<String, Object> jdk = recordOnFresh(Engine.JDK::serverSocket, OptionsTest::serverExercise);
        assertEquals(jdk, recordOnFresh(engine::serverSocket, OptionsTest::serverExercise));
        try (ServerSocket jdkBound = Engine.JDK.listen(); ServerSocket s = engine.listen()) {
            assertEquals(LISTENERS_REUSE_ADDRESS, s.getOption(StandardSocketOptions.SO_REUSEADDR));
            jdkBound.setOption(StandardSocketOptions.SO_RCVBUF, 32768);
            s.setOption(StandardSocketOptions.SO_RCVBUF, 32768);
            assertEquals(jdkBound.getReceiveBufferSize(), s.getReceiveBufferSize());
        }
    }

    // ---------------------------------------------------------------- defaults

    private static Map<String, Object> clientDefaults(Socket s) throws IOException {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("getTcpNoDelay", s.getTcpNoDelay());
        d.put("getKeepAlive", s.getKeepAlive());
        d.put("getSoLinger", s.getSoLinger());
        d.put("getReuseAddress", s.getReuseAddress());
        d.put("getTrafficClass", s.getTrafficClass());
        d.put("getOOBInline", s.getOOBInline());
        d.put("getSoTimeout", s.getSoTimeout());
        d.put("getReceiveBufferSize", s.getReceiveBufferSize());
        d.put("getSendBufferSize", s.getSendBufferSize());
        d.put("TCP_NODELAY", s.getOption(StandardSocketOptions.TCP_NODELAY));
        d.put("SO_KEEPALIVE", s.getOption(StandardSocketOptions.SO_KEEPALIVE));
        d.put("SO_LINGER", s.getOption(StandardSocketOptions.SO_LINGER));
        d.put("SO_REUSEADDR", s.getOption(StandardSocketOptions.SO_REUSEADDR));
        if (TestSupport.REUSE_PORT) {
            d.put("SO_REUSEPORT", s.getOption(StandardSocketOptions.SO_REUSEPORT));
        }
        d.put("IP_TOS", s.getOption(StandardSocketOptions.IP_TOS));
        d.put("SO_RCVBUF", s.getOption(StandardSocketOptions.SO_RCVBUF));
        d.put("SO_SNDBUF", s.getOption(StandardSocketOptions.SO_SNDBUF));
        return d;
    }

    private static void assertFixedClientDefaults(Map<String, Object> d) {
        assertEquals(Boolean.FALSE, d.get("getTcpNoDelay"));
        assertEquals(Boolean.FALSE, d.get("getKeepAlive"));
        assertEquals(-1, d.get("getSoLinger"));
        assertEquals(Boolean.FALSE, d.get("getReuseAddress"));
        assertEquals(0, d.get("getTrafficClass"));
        assertEquals(Boolean.FALSE, d.get("getOOBInline"));
        assertEquals(0, d.get("getSoTimeout"));
        assertEquals(Boolean.FALSE, d.get("TCP_NODELAY"));
        assertEquals(-1, d.get("SO_LINGER"));
        assertEquals(TestSupport.REUSE_PORT ? Boolean.FALSE : null, d.get("SO_REUSEPORT"));
        assertEquals(0, d.get("IP_TOS"));
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void clientDefaultsAreTheJdks(Engine engine) throws Exception {
        Map<String, Object> jdk = recordOnFresh(Engine.JDK::socket, OptionsTest::clientDefaults);
        Map<String, Object> ours = recordOnFresh(engine::socket, OptionsTest::clientDefaults);
        assertFixedClientDefaults(ours);
        assertEquals(jdk, ours);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectedDefaultsAreTheJdks(Engine engine) throws Exception {
        Map<String, Object> jdkClient;
        Map<String, Object> jdkAccepted;
        try (TestSupport.Pair p = new TestSupport.Pair(Engine.JDK)) {
            jdkClient = clientDefaults(p.client);
            jdkAccepted = clientDefaults(p.server);
        }
        try (TestSupport.Pair p = new TestSupport.Pair(engine)) {
            Map<String, Object> client = clientDefaults(p.client);
            Map<String, Object> accepted = clientDefaults(p.server);
            assertFixedClientDefaults(client);
            // an accepted socket inherits SO_REUSEADDR from the listener, as in the JDK
            assertEquals(LISTENERS_REUSE_ADDRESS, accepted.get("getReuseAddress"));
            assertEquals(Boolean.FALSE, accepted.get("getTcpNoDelay"));
            assertEquals(-1, accepted.get("getSoLinger"));
            // buffer sizes grow with the connection on some kernels; compare the fixed ones
            for (Map<String, Object> m : List.of(client, accepted, jdkClient, jdkAccepted)) {
                m.keySet().removeIf(k -> k.contains("Buffer") || k.contains("BUF"));
            }
            assertEquals(jdkClient, client);
            assertEquals(jdkAccepted, accepted);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void serverDefaultsAreTheJdks(Engine engine) throws Exception {
        try (ServerSocket jdk = Engine.JDK.serverSocket(); ServerSocket s = engine.serverSocket()) {
            assertEquals(LISTENERS_REUSE_ADDRESS, s.getReuseAddress());
            assertEquals(LISTENERS_REUSE_ADDRESS, s.getOption(StandardSocketOptions.SO_REUSEADDR));
            if (TestSupport.REUSE_PORT) {
                assertEquals(Boolean.FALSE, s.getOption(StandardSocketOptions.SO_REUSEPORT));
            }
            assertEquals(0, s.getSoTimeout());
            assertEquals(jdk.getReceiveBufferSize(), s.getReceiveBufferSize());
            assertEquals(jdk.getOption(StandardSocketOptions.IP_TOS), s.getOption(StandardSocketOptions.IP_TOS));
        }
        try (ServerSocket s = engine.listen()) {
            assertEquals(LISTENERS_REUSE_ADDRESS, s.getReuseAddress());
        }
    }

    // ---------------------------------------------------------------- supported options

    private static Set<SocketOption<?>> standardOptions() throws IllegalAccessException {
        Set<SocketOption<?>> all = new HashSet<>();
        for (Field f : StandardSocketOptions.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && SocketOption.class.isAssignableFrom(f.getType())) {
                all.add((SocketOption<?>) f.get(null));
            }
        }
        return all;
    }

    private static Set<String> standardNames(Set<SocketOption<?>> options) throws IllegalAccessException {
        Set<SocketOption<?>> standard = standardOptions();
        Set<String> names = new TreeSet<>();
        for (SocketOption<?> o : options) {
            if (standard.contains(o)) {
                names.add(o.name());
            }
        }
        return names;
    }

    @Test
    void clientSupportedOptionsContainTheJdksStandardOnes() throws Exception {
        try (Socket jdk = new Socket(); Socket ours = new RustSocket()) {
            Set<String> expected = standardNames(jdk.supportedOptions());
            assertTrue(expected.containsAll(List.of("TCP_NODELAY", "SO_KEEPALIVE", "SO_RCVBUF", "SO_SNDBUF",
                    "SO_LINGER", "SO_REUSEADDR", "IP_TOS")), expected::toString);
            assertEquals(expected, standardNames(ours.supportedOptions()));
            // and every one of them can be read, with a value of the option's type
            for (SocketOption<?> o : ours.supportedOptions()) {
                assertTrue(o.type().isInstance(ours.getOption(o)), o::name);
            }
        }
    }

    @Test
    void serverSupportedOptionsContainTheJdksStandardOnes() throws Exception {
        try (ServerSocket jdk = new ServerSocket(); ServerSocket ours = new RustServerSocket()) {
            Set<String> expected = standardNames(jdk.supportedOptions());
            assertTrue(expected.containsAll(List.of("SO_RCVBUF", "SO_REUSEADDR")), expected::toString);
            assertEquals(expected, standardNames(ours.supportedOptions()));
            for (SocketOption<?> o : ours.supportedOptions()) {
                assertTrue(o.type().isInstance(ours.getOption(o)), o::name);
            }
        }
    }

    @Test
    void acceptedSocketSupportsTheClientOptions() throws Exception {
        try (TestSupport.Pair jdk = new TestSupport.Pair(Engine.JDK);
                TestSupport.Pair ours = new TestSupport.Pair(Engine.RUST)) {
            assertEquals(standardNames(jdk.server.supportedOptions()), standardNames(ours.server.supportedOptions()));
            assertTrue(ours.server.supportedOptions().contains(StandardSocketOptions.TCP_NODELAY));
        }
    }

    /**
     * A plain {@code java.net.Socket} or {@code ServerSocket} on rustsocket (as every one is under
     * the agent) lists the JDK's options and none of {@link RustSocketOptions}: code written for
     * the JDK copies "every supported option" to a channel, which would refuse ours (the JDK's
     * NullsAndBadValues test does). It still takes ours; a RustSocket lists them.
     */
    @Test
    void aPlainSocketOnRustsocketListsOnlyTheJdksOptionsAndStillTakesOurs() throws Exception {
        Set<SocketOption<?>> own = new HashSet<>();
        for (Field f : RustSocketOptions.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && SocketOption.class.isAssignableFrom(f.getType())) {
                own.add((SocketOption<?>) f.get(null));
            }
        }
        try (Socket jdk = new Socket(); Socket plain = new Socket(new RustSocketImpl(false)) {};
                ServerSocket jdkListener = new ServerSocket();
                ServerSocket plainListener = new ServerSocket(new RustSocketImpl(true)) {};
                RustSocket rust = new RustSocket(); RustServerSocket rustListener = new RustServerSocket()) {
            for (SocketOption<?> o : plain.supportedOptions()) {
                assertFalse(own.contains(o), o::name);
            }
            for (SocketOption<?> o : plainListener.supportedOptions()) {
                assertFalse(own.contains(o), o::name);
            }
            if (TestSupport.LINUX) {
                assertEquals(jdk.supportedOptions(), plain.supportedOptions());
                assertEquals(jdkListener.supportedOptions(), plainListener.supportedOptions());
            }
            assertTrue(rust.supportedOptions().containsAll(plain.supportedOptions()));
            assertTrue(rustListener.supportedOptions().containsAll(plainListener.supportedOptions()));
            int taken = 0;
            for (SocketOption<?> o : rust.supportedOptions()) {
                if (own.contains(o)) {
                    assertTrue(o.type().isInstance(plain.getOption(o)), o::name);
                    taken++;
                }
            }
            if (TestSupport.LINUX) {
                assertTrue(taken > 0, "a RustSocket lists none of its own options");
            }
        }
    }

    @Test
    void supportedOptionsAreImmutable() throws Exception {
        try (Socket s = new RustSocket(); ServerSocket ss = new RustServerSocket()) {
            Set<SocketOption<?>> client = s.supportedOptions();
            Set<SocketOption<?>> server = ss.supportedOptions();
            Executable addClient = () -> client.add(StandardSocketOptions.IP_MULTICAST_TTL);
            Executable addServer = () -> server.add(StandardSocketOptions.IP_MULTICAST_TTL);
            org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class, addClient);
            org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class, addServer);
        }
    }

    // ---------------------------------------------------------------- bad values

    @ParameterizedTest
    @EnumSource(Engine.class)
    void badLegacyValues(Engine engine) throws Exception {
        try (Socket s = engine.socket()) {
            assertThrowsExactly(IllegalArgumentException.class, "invalid value for SO_LINGER", () -> s.setSoLinger(true, -1));
            assertThrowsExactly(IllegalArgumentException.class, "invalid receive size", () -> s.setReceiveBufferSize(0));
            assertThrowsExactly(IllegalArgumentException.class, "invalid receive size", () -> s.setReceiveBufferSize(-3));
            assertThrowsExactly(IllegalArgumentException.class, "negative send size", () -> s.setSendBufferSize(0));
            assertThrowsExactly(IllegalArgumentException.class, "tc is not in range 0 -- 255", () -> s.setTrafficClass(256));
            assertThrowsExactly(IllegalArgumentException.class, "tc is not in range 0 -- 255", () -> s.setTrafficClass(-1));
            assertThrowsExactly(IllegalArgumentException.class, "timeout can't be negative", () -> s.setSoTimeout(-1));
            // nothing changed
            assertEquals(-1, s.getSoLinger());
            assertEquals(0, s.getTrafficClass());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void badServerLegacyValues(Engine engine) throws Exception {
        try (ServerSocket s = engine.serverSocket()) {
            assertThrowsExactly(IllegalArgumentException.class, "negative receive size", () -> s.setReceiveBufferSize(0));
            assertThrowsExactly(IllegalArgumentException.class, "timeout < 0", () -> s.setSoTimeout(-1));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void badSetOptionValues(Engine engine) throws Exception {
        try (Socket s = engine.socket()) {
            assertThrowsExactly(IllegalArgumentException.class, "Invalid send/receive buffer size",
                    () -> s.setOption(StandardSocketOptions.SO_RCVBUF, -1));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid send/receive buffer size",
                    () -> s.setOption(StandardSocketOptions.SO_SNDBUF, -1));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid IP_TOS value",
                    () -> s.setOption(StandardSocketOptions.IP_TOS, 300));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid IP_TOS value",
                    () -> s.setOption(StandardSocketOptions.IP_TOS, -1));
            for (SocketOption<?> o : List.<SocketOption<?>>of(StandardSocketOptions.TCP_NODELAY,
                    StandardSocketOptions.SO_KEEPALIVE, StandardSocketOptions.SO_RCVBUF,
                    StandardSocketOptions.SO_SNDBUF, StandardSocketOptions.SO_LINGER,
                    StandardSocketOptions.SO_REUSEADDR, StandardSocketOptions.SO_REUSEPORT,
                    StandardSocketOptions.IP_TOS)) {
                if (!s.supportedOptions().contains(o)) {
                    continue; // SO_REUSEPORT on Windows
                }
                assertThrowsExactly(IllegalArgumentException.class, "Invalid value 'null'", () -> setNull(s, o));
            }
            assertThrowsExactly(NullPointerException.class, null,
                    () -> s.setOption(null, Boolean.TRUE));
            assertThrowsExactly(NullPointerException.class, null,
                    () -> s.getOption(null));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void badServerSetOptionValues(Engine engine) throws Exception {
        try (ServerSocket s = engine.serverSocket()) {
            assertThrowsExactly(IllegalArgumentException.class, "Invalid send/receive buffer size",
                    () -> s.setOption(StandardSocketOptions.SO_RCVBUF, -1));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid IP_TOS value",
                    () -> s.setOption(StandardSocketOptions.IP_TOS, 300));
            assertThrowsExactly(IllegalArgumentException.class, "Invalid value 'null'",
                    () -> setNull(s, StandardSocketOptions.SO_REUSEADDR));
        }
    }

    private static <T> void setNull(Socket s, SocketOption<T> o) throws IOException {
        s.setOption(o, null);
    }

    private static <T> void setNull(ServerSocket s, SocketOption<T> o) throws IOException {
        s.setOption(o, null);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void unsupportedOptions(Engine engine) throws Exception {
        try (Socket s = engine.socket(); ServerSocket ss = engine.serverSocket()) {
            assertThrowsExactly(UnsupportedOperationException.class, "'IP_MULTICAST_TTL' not supported",
                    () -> s.setOption(StandardSocketOptions.IP_MULTICAST_TTL, 1));
            assertThrowsExactly(UnsupportedOperationException.class, "'IP_MULTICAST_TTL' not supported",
                    () -> s.getOption(StandardSocketOptions.IP_MULTICAST_TTL));
            assertThrowsExactly(UnsupportedOperationException.class, "'SO_BROADCAST' not supported",
                    () -> s.setOption(StandardSocketOptions.SO_BROADCAST, true));
            assertThrowsExactly(UnsupportedOperationException.class, "'IP_MULTICAST_TTL' not supported",
                    () -> ss.setOption(StandardSocketOptions.IP_MULTICAST_TTL, 1));
            assertThrowsExactly(UnsupportedOperationException.class, "'TCP_NODELAY' not supported",
                    () -> ss.setOption(StandardSocketOptions.TCP_NODELAY, true));
            assertThrowsExactly(UnsupportedOperationException.class, "'SO_LINGER' not supported",
                    () -> ss.getOption(StandardSocketOptions.SO_LINGER));
        }
    }

    // ---------------------------------------------------------------- closed sockets

    @ParameterizedTest
    @EnumSource(Engine.class)
    void optionsOnClosedSocket(Engine engine) throws Exception {
        Socket s = engine.socket();
        s.close();
        List<Executable> calls = new ArrayList<>(List.of(
                () -> s.setTcpNoDelay(true), s::getTcpNoDelay,
                () -> s.setKeepAlive(true), s::getKeepAlive,
                () -> s.setReceiveBufferSize(4096), s::getReceiveBufferSize,
                () -> s.setSendBufferSize(4096), s::getSendBufferSize,
                () -> s.setSoLinger(true, 1), s::getSoLinger,
                () -> s.setReuseAddress(true), s::getReuseAddress,
                () -> s.setTrafficClass(8),
                () -> s.setOOBInline(true), s::getOOBInline,
                () -> s.setSoTimeout(10), s::getSoTimeout,
                () -> s.setOption(StandardSocketOptions.TCP_NODELAY, true),
                () -> s.getOption(StandardSocketOptions.TCP_NODELAY),
                () -> s.setOption(StandardSocketOptions.SO_RCVBUF, 4096),
                () -> s.getOption(StandardSocketOptions.SO_LINGER),
                () -> s.setOption(StandardSocketOptions.IP_MULTICAST_TTL, 1)));
        for (int i = 0; i < calls.size(); i++) {
            int index = i;
            SocketException e = org.junit.jupiter.api.Assertions.assertThrows(SocketException.class, calls.get(i),
                    () -> "call #" + index);
            assertEquals(SocketException.class, e.getClass(), () -> "call #" + index + ": " + e);
            assertEquals("Socket is closed", e.getMessage(), () -> "call #" + index);
        }
    }

    /** What a call did: its value, or its exception's class and message. */
    private static String outcome(java.util.concurrent.Callable<?> call) {
        try {
            return "value " + call.call();
        } catch (Exception e) {
            return e.getClass().getName() + ": " + e.getMessage();
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void uncheckedCallsOnClosedSockets(Engine engine) throws Exception {
        // java.net.Socket.getTrafficClass and sendUrgentData check nothing themselves: the answer
        // depends on the JDK release and on whether the socket was ever used, so compare with
        // the JDK's own answers.
        List<List<String>> results = new ArrayList<>();
        for (Engine e : new Engine[] {Engine.JDK, engine}) {
            List<String> out = new ArrayList<>();
            results.add(out);
            Socket fresh = e.socket();
            fresh.close();
            out.add(outcome(fresh::getTrafficClass));
            Socket fresh2 = e.socket();
            fresh2.close();
            out.add(outcome(() -> {
                fresh2.sendUrgentData(1);
                return null;
            }));
            Socket used = e.socket();
            used.setTrafficClass(0x20);
            used.close();
            out.add(outcome(used::getTrafficClass));
            out.add(outcome(() -> {
                used.sendUrgentData(1);
                return null;
            }));
            try (TestSupport.Pair p = new TestSupport.Pair(e)) {
                p.client.close();
                out.add(outcome(p.client::getTrafficClass));
                out.add(outcome(() -> {
                    p.client.sendUrgentData(1);
                    return null;
                }));
            }
        }
        List<String> jdk = results.get(0);
        List<String> known = List.of("value 0", "java.net.SocketException: Socket closed",
                "java.net.SocketException: Socket is closed", "java.net.SocketException: Not connected");
        assertTrue(known.containsAll(jdk), jdk::toString);
        assertEquals(jdk, results.get(1));
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void optionsOnClosedConnectedSocket(Engine engine) throws Exception {
        try (TestSupport.Pair p = new TestSupport.Pair(engine)) {
            p.client.close();
            assertThrowsExactly(SocketException.class, "Socket is closed", () -> p.client.setTcpNoDelay(true));
            assertThrowsExactly(SocketException.class, "Socket is closed", p.client::getSoLinger);
            assertThrowsExactly(SocketException.class, "Socket is closed",
                    () -> p.client.getOption(StandardSocketOptions.SO_KEEPALIVE));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void optionsOnClosedServerSocket(Engine engine) throws Exception {
        ServerSocket s = engine.listen();
        s.close();
        List<Executable> calls = List.of(
                () -> s.setReuseAddress(true), s::getReuseAddress,
                () -> s.setReceiveBufferSize(4096), s::getReceiveBufferSize,
                () -> s.setSoTimeout(10), s::getSoTimeout,
                () -> s.setOption(StandardSocketOptions.SO_RCVBUF, 4096),
                () -> s.getOption(StandardSocketOptions.SO_REUSEADDR));
        for (Executable call : calls) {
            assertThrowsExactly(SocketException.class, "Socket is closed", call);
        }
    }

    // ---------------------------------------------------------------- effects

    @ParameterizedTest
    @EnumSource(Engine.class)
    void lingerZeroMakesCloseSendAReset(Engine engine) throws Exception {
        TestSupport.assumeNotWine(TestSupport.WINE_RESET_READS_AS_EOF);
        // the closer is the engine under test; the peer that reads is the JDK's
        try (TestSupport.Pair p = new TestSupport.Pair(engine, Engine.JDK)) {
            p.server.setSoTimeout(5000);
            p.client.getOutputStream().write(new byte[] {1, 2, 3});
            assertEquals(1, p.server.getInputStream().read());
            p.client.setSoLinger(true, 0);
            p.client.close();
            InputStream in = p.server.getInputStream();
            SocketException e = org.junit.jupiter.api.Assertions.assertThrows(SocketException.class, () -> {
                while (in.read() >= 0) {
                    // a reset discards what was queued, so at most the two bytes left arrive
                }
            });
            assertEquals(SocketException.class, e.getClass());
            assertEquals("Connection reset", e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void lingerZeroThroughSetOptionMakesCloseSendAReset(Engine engine) throws Exception {
        TestSupport.assumeNotWine(TestSupport.WINE_RESET_READS_AS_EOF);
        try (TestSupport.Pair p = new TestSupport.Pair(engine, Engine.JDK)) {
            p.server.setSoTimeout(5000);
            p.client.setOption(StandardSocketOptions.SO_LINGER, 0);
            p.client.close();
            assertThrowsExactly(SocketException.class, "Connection reset", () -> p.server.getInputStream().read());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void positiveLingerClosesGracefully(Engine engine) throws Exception {
        try (TestSupport.Pair p = new TestSupport.Pair(engine, Engine.JDK)) {
            p.server.setSoTimeout(5000);
            byte[] data = TestSupport.randomBytes(10_000);
            p.client.setSoLinger(true, 1);
            p.client.getOutputStream().write(data);
            p.client.close();
            InputStream in = p.server.getInputStream();
            assertArrayEquals(data, TestSupport.readExactly(in, data.length));
            assertEquals(-1, in.read());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void lingerIsCappedAt65535(Engine engine) throws Exception {
        try (Socket s = engine.socket()) {
            s.setSoLinger(true, 100_000);
            assertEquals(65535, s.getSoLinger());
            assertEquals(65535, s.getOption(StandardSocketOptions.SO_LINGER));
            s.setSoLinger(false, 0);
            s.setOption(StandardSocketOptions.SO_LINGER, 100_000);
            assertEquals(65535, s.getSoLinger());
            s.setOption(StandardSocketOptions.SO_LINGER, 65535);
            assertEquals(65535, s.getSoLinger());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void urgentDataWithOobInlineArrivesInTheStream(Engine engine) throws Exception {
        try (TestSupport.Pair p = new TestSupport.Pair(engine)) {
            p.server.setOOBInline(true);
            p.server.setSoTimeout(5000);
            p.client.setTcpNoDelay(true);
            p.client.getOutputStream().write("ab".getBytes(StandardCharsets.US_ASCII));
            p.client.sendUrgentData('!');
            p.client.getOutputStream().write("cd".getBytes(StandardCharsets.US_ASCII));
            byte[] got = TestSupport.readExactly(p.server.getInputStream(), 5);
            assertEquals("ab!cd", new String(got, StandardCharsets.US_ASCII));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void urgentDataWithOobInlineOffIsDiscarded(Engine engine) throws Exception {
        try (TestSupport.Pair p = new TestSupport.Pair(engine)) {
            p.server.setSoTimeout(5000);
            p.client.setTcpNoDelay(true);
            p.client.getOutputStream().write("ab".getBytes(StandardCharsets.US_ASCII));
            p.client.sendUrgentData('!');
            p.client.getOutputStream().write("cd".getBytes(StandardCharsets.US_ASCII));
            p.client.shutdownOutput();
            byte[] got = p.server.getInputStream().readAllBytes();
            assertEquals("abcd", new String(got, StandardCharsets.US_ASCII));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void sendUrgentDataOnUnconnectedSocket(Engine engine) throws Exception {
        try (Socket s = engine.socket()) {
            // java.net.Socket checks nothing here; the impl reports it
            Throwable t = org.junit.jupiter.api.Assertions.assertThrows(Throwable.class, () -> s.sendUrgentData(1));
            try (Socket jdk = new Socket()) {
                Throwable expected = org.junit.jupiter.api.Assertions.assertThrows(Throwable.class, () -> jdk.sendUrgentData(1));
                assertEquals(expected.getClass(), t.getClass(), () -> "JDK: " + expected + ", ours: " + t);
                assertEquals(expected.getMessage(), t.getMessage());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void reuseAddressAllowsBindingOverTimeWait(Engine engine) throws Exception {
        // a server socket (SO_REUSEADDR on by default) can rebind a port with a TIME_WAIT connection
        int port;
        try (ServerSocket first = engine.listen()) {
            port = first.getLocalPort();
            try (Socket c = new Socket(LOOPBACK, port)) {
                first.accept().close(); // the server side closes first and keeps TIME_WAIT
                c.setSoTimeout(2000);
                assertEquals(-1, c.getInputStream().read());
            }
        }
        try (ServerSocket again = engine.serverSocket()) {
            again.bind(new InetSocketAddress(LOOPBACK, port));
            assertEquals(port, again.getLocalPort());
        }
    }
}
