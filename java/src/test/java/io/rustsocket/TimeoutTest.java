package io.rustsocket;

import static io.rustsocket.TestSupport.assertClosedByFailedConnect;
import static io.rustsocket.TestSupport.async;
import static io.rustsocket.TestSupport.await;
import static io.rustsocket.TestSupport.describe;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rustsocket.TestSupport.FullBacklog;
import io.rustsocket.TestSupport.Pair;
import io.rustsocket.internal.RustSocketImpl;
import java.io.File;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.concurrent.FutureTask;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SO_TIMEOUT on reads, accepts and timed connects: the exception and its message, that the
 * socket stays usable, that a timeout never ends early, and that writes are never timed.
 */
class TimeoutTest {
    private static final Duration LIMIT = Duration.ofSeconds(10);
    private static final long MS = 1_000_000L;

    // ------------------------------------------------------------------ helpers

    /**
     * A connection made {@code delayMillis} after the call (by the engine, on another thread) is
     * accepted by a blocking accept() on {@code listener}.
     */
    private static void assertAcceptsLateConnection(Engine engine, ServerSocket listener, long delayMillis)
            throws Exception {
        FutureTask<Socket> late = async("late-connect", () -> {
            Thread.sleep(delayMillis);
            return engine.connect(InetAddress.getLoopbackAddress(), listener.getLocalPort());
        });
        try (Socket s = listener.accept(); Socket c = await(late, 2_000)) {
            assertEquals(c.getLocalPort(), s.getPort());
        }
    }

    /**
     * {@code timedOp} (a read or accept with SO_TIMEOUT {@code millis} set) throws exactly
     * SocketTimeoutException, no sooner than {@code millis} and within 3 s.
     */
    private static void assertTimesOutNoSooner(int millis, String what, Executable timedOp) {
        long start = System.nanoTime();
        assertThrowsExactly(SocketTimeoutException.class, timedOp);
        long elapsed = System.nanoTime() - start;
        assertTrue(elapsed >= millis * MS,
                "a " + millis + " ms " + what + " timeout ended after " + elapsed / 1000 + " us");
        assertTrue(elapsed < 3_000 * MS, "a " + millis + " ms timeout took " + elapsed / MS + " ms");
    }

    // ------------------------------------------------------------------ read timeout

    @ParameterizedTest
    @EnumSource(Engine.class)
    void readTimeoutThrowsAndSocketStaysUsable(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                p.client.setSoTimeout(200);
                InputStream in = p.client.getInputStream();
                SocketTimeoutException e = assertThrowsExactly(SocketTimeoutException.class, () -> in.read());
                assertEquals("Read timed out", e.getMessage());
                e = assertThrowsExactly(SocketTimeoutException.class, () -> in.read(new byte[10]));
                assertEquals("Read timed out", e.getMessage());
                assertFalse(p.client.isClosed());
                assertTrue(p.client.isConnected());
                // still usable both ways, with the same timeout in force
                p.server.getOutputStream().write(new byte[] {10, 20, 30});
                assertArrayEquals(new byte[] {10, 20, 30}, TestSupport.readExactly(in, 3));
                p.client.getOutputStream().write(77);
                assertEquals(77, p.server.getInputStream().read());
                // a third timeout, then data sent while a timed read is waiting
                assertThrowsExactly(SocketTimeoutException.class, () -> in.read());
                FutureTask<Void> late = async("late-writer", () -> {
                    Thread.sleep(50);
                    p.server.getOutputStream().write(55);
                    return null;
                });
                assertEquals(55, in.read());
                await(late, 2_000);
                // timeout off again: a blocking read gets later data
                p.client.setSoTimeout(0);
                p.server.getOutputStream().write(66);
                assertEquals(66, in.read());
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void readTimeoutAppliesToTheAcceptedSide(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                p.server.setSoTimeout(100);
                SocketTimeoutException e = assertThrowsExactly(SocketTimeoutException.class,
                        () -> p.server.getInputStream().read());
                assertEquals("Read timed out", e.getMessage());
                p.client.getOutputStream().write(3);
                assertEquals(3, p.server.getInputStream().read());
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void acceptedSocketDoesNotInheritTheListenersTimeout(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket listener = engine.listen()) {
                listener.setSoTimeout(2_000);
                try (Socket c = engine.connect(InetAddress.getLoopbackAddress(), listener.getLocalPort());
                        Socket s = listener.accept()) {
                    assertEquals(0, s.getSoTimeout());
                    assertEquals(0, c.getSoTimeout());
                }
            }
        });
    }

    // ------------------------------------------------------------------ accept timeout

    @ParameterizedTest
    @EnumSource(Engine.class)
    void acceptTimeoutThrowsAndServerSocketStillAccepts(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket listener = engine.listen()) {
                listener.setSoTimeout(200);
                SocketTimeoutException e = assertThrowsExactly(SocketTimeoutException.class, listener::accept);
                assertEquals("Accept timed out", e.getMessage());
                e = assertThrowsExactly(SocketTimeoutException.class, listener::accept);
                assertEquals("Accept timed out", e.getMessage());
                assertFalse(listener.isClosed());
                try (Socket c = engine.connect(InetAddress.getLoopbackAddress(), listener.getLocalPort());
                        Socket s = listener.accept()) {
                    assertTrue(s.isConnected());
                    assertEquals(c.getLocalPort(), s.getPort());
                    c.getOutputStream().write(9);
                    assertEquals(9, s.getInputStream().read());
                    s.getOutputStream().write(8);
                    assertEquals(8, c.getInputStream().read());
                }
                // and without a timeout, a connection made a little later is accepted
                listener.setSoTimeout(0);
                assertAcceptsLateConnection(engine, listener, 100);
            }
        });
    }

    // ------------------------------------------------------------------ connect timeout

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectTimeoutToFullBacklog(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (FullBacklog full = new FullBacklog()) {
                Socket s = engine.socket();
                try {
                    long start = System.nanoTime();
                    SocketTimeoutException e = assertThrowsExactly(SocketTimeoutException.class,
                            () -> s.connect(full.address, 300));
                    long elapsed = System.nanoTime() - start;
                    assertEquals("Connect timed out", e.getMessage());
                    assertTrue(elapsed >= 300 * MS, "timed out after " + elapsed / MS + " ms, before 300 ms");
                    assertTrue(elapsed < 5_000 * MS, "timed out only after " + elapsed / MS + " ms");
                    assertFalse(s.isConnected());
                    assertFalse(s.isBound());
                    assertClosedByFailedConnect(s, "a connect timeout",
                            () -> s.connect(full.address, 300), () -> s.setTcpNoDelay(true));
                } finally {
                    s.close();
                }
                assertTrue(s.isClosed());
            }
        });
    }

    @Test
    void connectTimeoutReleasesTheDescriptor() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (FullBacklog full = new FullBacklog()) {
                int before = io.rustsocket.internal.Descriptors.openCount();
                for (int i = 0; i < 3; i++) {
                    try (Socket s = Engine.RUST.socket()) {
                        assertThrowsExactly(SocketTimeoutException.class, () -> s.connect(full.address, 100));
                        // released by the failed connect itself, before close() (the count only
                        // ever drops behind our back, when the Cleaner runs for other tests' sockets)
                        assertTrue(io.rustsocket.internal.Descriptors.openCount() <= before,
                                io.rustsocket.internal.Descriptors.openCount() + " open, baseline " + before);
                    }
                }
                assertTrue(io.rustsocket.internal.Descriptors.openCount() <= before);
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void connectWithTimeoutToALiveListenerSucceeds(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket listener = engine.listen(); Socket c = engine.socket()) {
                c.connect(listener.getLocalSocketAddress(), 1_000);
                assertTrue(c.isConnected());
                try (Socket s = listener.accept()) {
                    // the timed connect switched nothing visible: reads still block without a timeout
                    assertEquals(0, c.getSoTimeout());
                    FutureTask<Integer> reader = async("reader", () -> c.getInputStream().read());
                    Thread.sleep(200);
                    assertFalse(reader.isDone(), "read returned with nothing sent");
                    s.getOutputStream().write(1);
                    assertEquals(1, await(reader, 2_000));
                }
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void negativeConnectTimeoutThrows(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket listener = engine.listen(); Socket c = engine.socket()) {
                IllegalArgumentException e = assertThrowsExactly(IllegalArgumentException.class,
                        () -> c.connect(listener.getLocalSocketAddress(), -1));
                assertEquals("connect: timeout can't be negative", e.getMessage());
                assertFalse(c.isConnected());
                assertFalse(c.isClosed());
            }
        });
    }

    // ------------------------------------------------------------------ setSoTimeout values

    @ParameterizedTest
    @EnumSource(Engine.class)
    void maxValueTimeoutReadsDataThatArrivesLater(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                p.client.setSoTimeout(Integer.MAX_VALUE);
                assertEquals(Integer.MAX_VALUE, p.client.getSoTimeout());
                FutureTask<Void> late = async("late-writer", () -> {
                    Thread.sleep(200);
                    p.server.getOutputStream().write(new byte[] {4, 5, 6});
                    return null;
                });
                long start = System.nanoTime();
                assertArrayEquals(new byte[] {4, 5, 6}, TestSupport.readExactly(p.client.getInputStream(), 3));
                assertTrue(System.nanoTime() - start >= 150 * MS, "read returned before the data was sent");
                await(late, 2_000);
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void maxValueAcceptTimeoutAcceptsLaterConnection(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket listener = engine.listen()) {
                listener.setSoTimeout(Integer.MAX_VALUE);
                assertEquals(Integer.MAX_VALUE, listener.getSoTimeout());
                assertAcceptsLateConnection(engine, listener, 150);
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void negativeTimeoutThrowsIllegalArgumentException(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                p.client.setSoTimeout(1234);
                IllegalArgumentException e = assertThrowsExactly(IllegalArgumentException.class,
                        () -> p.client.setSoTimeout(-1));
                assertEquals("timeout can't be negative", e.getMessage());
                assertThrowsExactly(IllegalArgumentException.class, () -> p.client.setSoTimeout(Integer.MIN_VALUE));
                assertEquals(1234, p.client.getSoTimeout(), "a rejected value changed the timeout");
                assertThrowsExactly(IllegalArgumentException.class, () -> p.listener.setSoTimeout(-1));
                try (Socket unconnected = engine.socket()) {
                    assertThrowsExactly(IllegalArgumentException.class, () -> unconnected.setSoTimeout(-5));
                }
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void getSoTimeoutReadsBack(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine); Socket unconnected = engine.socket();
                    ServerSocket unbound = engine.serverSocket()) {
                for (Socket s : new Socket[] {p.client, p.server, unconnected}) {
                    assertEquals(0, s.getSoTimeout());
                    for (int v : new int[] {1, 200, 65_535, 1_000_000, Integer.MAX_VALUE, 0}) {
                        s.setSoTimeout(v);
                        assertEquals(v, s.getSoTimeout());
                    }
                }
                for (ServerSocket ss : new ServerSocket[] {p.listener, unbound}) {
                    assertEquals(0, ss.getSoTimeout());
                    for (int v : new int[] {1, 200, Integer.MAX_VALUE, 0}) {
                        ss.setSoTimeout(v);
                        assertEquals(v, ss.getSoTimeout());
                    }
                }
                // a timeout set before connect is kept by the connect
                unconnected.setSoTimeout(300);
                unconnected.connect(p.listener.getLocalSocketAddress());
                try (Socket accepted = p.listener.accept()) {
                    assertEquals(0, accepted.getSoTimeout());
                    assertEquals(300, unconnected.getSoTimeout());
                    assertThrowsExactly(SocketTimeoutException.class, () -> unconnected.getInputStream().read());
                }
            }
        });
    }

    // ------------------------------------------------------------------ timing

    @ParameterizedTest
    @EnumSource(Engine.class)
    void readTimeoutNeverEndsEarly(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                InputStream in = p.client.getInputStream();
                for (int millis : new int[] {200, 1, 7, 50, 200}) {
                    p.client.setSoTimeout(millis);
                    assertTimesOutNoSooner(millis, "read", () -> in.read(new byte[8]));
                }
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void acceptTimeoutNeverEndsEarly(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket listener = engine.listen()) {
                for (int millis : new int[] {200, 3, 50}) {
                    listener.setSoTimeout(millis);
                    assertTimesOutNoSooner(millis, "accept", listener::accept);
                }
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void readTimeoutCountsTimeSpentWaitingForAnotherReader(Engine engine) {
        // Recent JDKs (checked on 25; JDK 17 waits for the lock without a deadline) count the wait
        // for the read lock held by another reader against the timeout. RustSocketImpl does too.
        assumeTrue(engine == Engine.RUST || Runtime.version().feature() >= 25,
                "JDK " + Runtime.version().feature() + " waits for the read lock without a timeout");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                InputStream in = p.client.getInputStream();
                FutureTask<Integer> first = async("first-reader", () -> in.read());
                Thread.sleep(100);
                p.client.setSoTimeout(200);
                long start = System.nanoTime();
                SocketTimeoutException e = assertThrowsExactly(SocketTimeoutException.class, () -> in.read());
                long elapsed = System.nanoTime() - start;
                assertEquals("Read timed out", e.getMessage());
                assertTrue(elapsed >= 200 * MS, "ended after " + elapsed / MS + " ms");
                assertTrue(elapsed < 3_000 * MS, "ended after " + elapsed / MS + " ms");
                assertFalse(first.isDone(), "the untimed reader returned");
                p.server.getOutputStream().write(1);
                assertEquals(1, await(first, 2_000));
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void anUntimedReadAfterATimedOneWaitsPastTheOldTimeout(Engine engine) {
        // the RUST engine gives the descriptor a kernel read timeout for timed reads: an untimed
        // read after them must not inherit it
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                InputStream in = p.client.getInputStream();
                p.client.setSoTimeout(100);
                long timedOut = RustSocketImpl.kernelWaitsEndedEmpty();
                assertThrowsExactly(SocketTimeoutException.class, () -> in.read());
                if (engine == Engine.RUST && TestSupport.LINUX) {
                    assertTrue(RustSocketImpl.kernelWaitsEndedEmpty() > timedOut,
                            "the timed read did not wait in the kernel");
                }
                p.client.setSoTimeout(0);
                // tests run one at a time: no other read in this JVM waits in the kernel now
                long endedEmpty = RustSocketImpl.kernelWaitsEndedEmpty();
                FutureTask<Integer> reader = async("reader", () -> in.read());
                Thread.sleep(400);
                assertFalse(reader.isDone(), "untimed read ended early: " + describe(reader));
                p.server.getOutputStream().write(42);
                assertEquals(42, await(reader, 2_000));
                assertEquals(endedEmpty, RustSocketImpl.kernelWaitsEndedEmpty(),
                        "the untimed read's wait in the kernel was cut short by the earlier read timeout");
                // and timed again, with a longer timeout than before: the data that comes late
                // within it is read, not a timeout
                p.client.setSoTimeout(5_000);
                FutureTask<Integer> timedReader = async("timed-reader", () -> in.read());
                Thread.sleep(300);
                p.server.getOutputStream().write(43);
                assertEquals(43, await(timedReader, 2_000));
            }
        });
    }

    @Test
    void aTimedReadOnAPlatformThreadLeavesTheDescriptorBlocking() throws Exception {
        // Linux: a timed read waits in the kernel (one system call) instead of turning the
        // descriptor non-blocking and waiting in poll(2) between two reads, as the JDK does
        TestSupport.assumeLinux("platform threads block in the kernel on Linux only");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(Engine.RUST)) {
                for (Socket s : new Socket[] {p.client, p.server}) {
                    Socket peer = s == p.client ? p.server : p.client;
                    s.setSoTimeout(5_000);
                    InputStream in = s.getInputStream();
                    FutureTask<byte[]> reader = async("timed-reader", () -> in.readNBytes(3));
                    Thread.sleep(200);
                    assertFalse(reader.isDone(), "read ended early: " + describe(reader));
                    peer.getOutputStream().write(new byte[] {7, 8, 9});
                    assertArrayEquals(new byte[] {7, 8, 9}, await(reader, 2_000));
                    assertFalse(nonBlocking(s), "a timed read made the descriptor non-blocking");
                    s.setSoTimeout(100);
                    assertTimesOutNoSooner(100, "read", () -> in.read());
                    assertFalse(nonBlocking(s), "a timeout made the descriptor non-blocking");
                }
                // once another owner holds a duplicate, which shares the socket's read timeout and
                // may change it, timed reads wait in poll(2) as the JDK's do
                FileDescriptor copy = FileDescriptors.duplicate(p.client);
                try {
                    assertTimesOutNoSooner(100, "read", () -> p.client.getInputStream().read());
                    assertTrue(nonBlocking(p.client), "a timed read on a shared descriptor kept it blocking");
                    p.server.getOutputStream().write(5);
                    assertEquals(5, p.client.getInputStream().read());
                } finally {
                    FileDescriptors.close(copy);
                }
            }
        });
    }

    /**
     * Whether the descriptor of a connected loopback socket has O_NONBLOCK (Linux): its
     * connection's inode from /proc/net/tcp{,6}, that inode's descriptor in /proc/self/fd, and
     * the flags in /proc/self/fdinfo.
     */
    private static boolean nonBlocking(Socket s) throws IOException {
        String local = String.format(":%04X", s.getLocalPort());
        String remote = String.format(":%04X", s.getPort());
        String inode = null;
        for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            for (String line : Files.readAllLines(Paths.get(table))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 9 && f[1].endsWith(local) && f[2].endsWith(remote)) {
                    inode = f[9];
                }
            }
        }
        assertTrue(inode != null, "no /proc/net/tcp entry for " + s);
        String link = "socket:[" + inode + "]";
        for (File fd : new File("/proc/self/fd").listFiles()) {
            String target;
            try {
                target = Files.readSymbolicLink(fd.toPath()).toString();
            } catch (IOException e) {
                continue; // closed meanwhile
            }
            if (target.equals(link)) {
                return (TestSupport.fdFlags(Integer.parseInt(fd.getName())) & 04000) != 0;
            }
        }
        throw new AssertionError("no descriptor for " + link);
    }

    // ------------------------------------------------------------------ interrupts

    @ParameterizedTest(name = "{0}, timed: {1}")
    @MethodSource("io.rustsocket.TestSupport#enginesAndBooleans")
    void interruptDoesNotEndAReadOnAPlatformThread(Engine engine, boolean timed) {
        // platform threads: socket reads ignore Thread.interrupt() and keep the interrupt status
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                p.client.setSoTimeout(timed ? 5_000 : 0);
                InputStream in = p.client.getInputStream();
                FutureTask<Boolean> reader = async("reader", () -> {
                    Thread.currentThread().interrupt();
                    assertEquals(33, in.read());
                    return Thread.currentThread().isInterrupted();
                });
                Thread.sleep(200);
                assertFalse(reader.isDone(), "read ended early: " + describe(reader));
                p.server.getOutputStream().write(33);
                assertTrue(await(reader, 2_000), "the interrupt status was lost");
                if (timed) {
                    // an interrupted thread's timed read still times out normally
                    p.client.setSoTimeout(100);
                    FutureTask<Boolean> timedOut = async("timed-reader", () -> {
                        Thread.currentThread().interrupt();
                        SocketTimeoutException e = assertThrowsExactly(SocketTimeoutException.class, () -> in.read());
                        assertEquals("Read timed out", e.getMessage());
                        return Thread.currentThread().isInterrupted();
                    });
                    assertTrue(await(timedOut, 2_000), "the interrupt status was lost");
                }
                assertFalse(p.client.isClosed());
            }
        });
    }

    // ------------------------------------------------------------------ writes are never timed

    @ParameterizedTest(name = "{0}, after a timed read: {1}")
    @MethodSource("io.rustsocket.TestSupport#enginesAndBooleans")
    void soTimeoutNeverAppliesToWrites(Engine engine, boolean afterTimedRead) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                p.client.setSoTimeout(100);
                if (afterTimedRead) {
                    // a timed read first: on Linux the RUST engine's waits in the kernel, under a
                    // read timeout (SO_RCVTIMEO) that must not bound writes
                    assertThrowsExactly(SocketTimeoutException.class, () -> p.client.getInputStream().read());
                }
                byte[] data = TestSupport.randomBytes(16 << 20); // far more than the socket buffers hold
                OutputStream out = p.client.getOutputStream();
                FutureTask<Void> writer = async("writer", () -> {
                    out.write(data);
                    return null;
                });
                Thread.sleep(500);
                assertFalse(writer.isDone(), "write ended while the peer was not reading: " + describe(writer));
                byte[] got = TestSupport.readExactly(p.server.getInputStream(), data.length);
                await(writer, 5_000);
                assertArrayEquals(data, got);
                assertFalse(p.client.isClosed());
            }
        });
    }
}
