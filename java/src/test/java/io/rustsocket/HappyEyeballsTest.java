package io.rustsocket;

import static io.rustsocket.TestSupport.assertSocketException;
import static io.rustsocket.TestSupport.asyncStarted;
import static io.rustsocket.TestSupport.eventually;
import static io.rustsocket.TestSupport.failureOf;
import static io.rustsocket.TestSupport.freePort;
import static io.rustsocket.TestSupport.processFdCount;
import static io.rustsocket.TestSupport.refusedPort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.TestSupport.FullBacklog;
import io.rustsocket.internal.Descriptors;
import io.rustsocket.internal.HappyEyeballs;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Happy Eyeballs (RFC 8305) on loopback: an endpoint that never answers is a listener with a full
 * backlog (Linux drops the SYN, so the connect hangs), one that answers is a plain listener. A
 * race must connect after about the connection attempt delay, not the whole timeout, keep the
 * winner, and close every other attempt's descriptor.
 */
class HappyEyeballsTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private static ServerSocket listener() throws IOException {
        return new ServerSocket(0, 50, LOOPBACK);
    }

    private static InetSocketAddress at(ServerSocket s) {
        return new InetSocketAddress(LOOPBACK, s.getLocalPort());
    }

    private static void assertDescriptorsBackTo(int fds) throws InterruptedException {
        assertTrue(eventually(() -> processFdCount() <= fds), "descriptors: " + processFdCount() + ", baseline " + fds);
    }

    private static long millisSince(long start) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }

    @Test
    void anEndpointThatNeverAnswersCostsTheDelayNotTheTimeout() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (FullBacklog silent = new FullBacklog(); ServerSocket good = listener()) {
                int fds = processFdCount();
                int open = Descriptors.openCount();
                long elapsed;
                try (RustSocket s = new RustSocket()) {
                    s.setConnectionAttemptDelay(250);
                    long start = System.nanoTime();
                    s.connectAny(Arrays.asList(silent.address, at(good)), 10_000);
                    elapsed = millisSince(start);
                    assertTrue(s.isConnected());
                    assertEquals(good.getLocalPort(), s.getPort());
                    assertEquals(new InetSocketAddress(LOOPBACK, good.getLocalPort()), s.getRemoteSocketAddress());
                    // the losing attempt is closed as connectAny returns: one descriptor more, this socket's
                    assertEquals(fds + 1, processFdCount(), "descriptors while connected");
                    assertEquals(open + 1, Descriptors.openCount());
                    try (Socket accepted = good.accept()) {
                        s.getOutputStream().write(42);
                        assertEquals(42, accepted.getInputStream().read());
                        assertEquals(s.getLocalPort(), accepted.getPort());
                    }
                }
                assertTrue(elapsed >= 200, "connected after " + elapsed + " ms, before the 250 ms delay");
                assertTrue(elapsed < 5_000, "connected after " + elapsed + " ms: waited for the silent endpoint");
                assertDescriptorsBackTo(fds);
                assertTrue(Descriptors.openCount() <= open);
            }
        });
    }

    @Test
    void aFailedAttemptStartsTheNextAtOnce() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket good = listener()) {
                int fds = processFdCount();
                try (RustSocket s = new RustSocket()) {
                    s.setConnectionAttemptDelay(20_000);
                    long start = System.nanoTime();
                    s.connectAny(Arrays.asList(new InetSocketAddress(LOOPBACK, refusedPort()), at(good)), 30_000);
                    long elapsed = millisSince(start);
                    assertTrue(elapsed < 5_000, "connected after " + elapsed + " ms: waited out the delay after a refusal");
                    assertEquals(good.getLocalPort(), s.getPort());
                    good.accept().close();
                }
                assertDescriptorsBackTo(fds);
            }
        });
    }

    @Test
    void everyEndpointRefusedIsAConnectExceptionAndTheSocketIsClosed() {
        assertTimeoutPreemptively(LIMIT, () -> {
            int fds = processFdCount();
            RustSocket s = new RustSocket();
            List<InetSocketAddress> refused = Arrays.asList(new InetSocketAddress(LOOPBACK, refusedPort()),
                    new InetSocketAddress(LOOPBACK, refusedPort()), new InetSocketAddress(LOOPBACK, refusedPort()));
            ConnectException e = assertThrowsExactly(ConnectException.class, () -> s.connectAny(refused, 10_000));
            assertEquals(TestSupport.refused(true), e.getMessage());
            assertEquals(2, e.getSuppressed().length, "the other endpoints' errors are suppressed");
            // as after a JDK connect that failed (Socket itself closed from JDK 24 on)
            assertEquals(TestSupport.SOCKET_CLOSED_BY_FAILED_CONNECT, s.isClosed());
            assertFalse(s.isConnected());
            s.close();
            assertDescriptorsBackTo(fds);
            // the JDK's own exception for one refused endpoint, for comparison
            try (Socket jdk = new Socket()) {
                ConnectException j = assertThrowsExactly(ConnectException.class, () -> jdk.connect(refused.get(0), 10_000));
                assertEquals(j.getMessage(), e.getMessage());
            }
        });
    }

    @Test
    void noEndpointAnsweringIsAConnectTimeoutAfterTheTimeout() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (FullBacklog a = new FullBacklog(); FullBacklog b = new FullBacklog()) {
                int fds = processFdCount();
                RustSocket s = new RustSocket();
                s.setConnectionAttemptDelay(100);
                long start = System.nanoTime();
                SocketTimeoutException e = assertThrowsExactly(SocketTimeoutException.class,
                        () -> s.connectAny(Arrays.asList(a.address, b.address), 1_000));
                long elapsed = millisSince(start);
                assertEquals("Connect timed out", e.getMessage());
                assertTrue(elapsed >= 950 && elapsed < 8_000, "timed out after " + elapsed + " ms");
                s.close();
                assertDescriptorsBackTo(fds);
            }
        });
    }

    @Test
    void closeFromAnotherThreadWakesARaceAndClosesEveryAttempt() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (FullBacklog a = new FullBacklog(); FullBacklog b = new FullBacklog()) {
                int fds = processFdCount();
                RustSocket s = new RustSocket();
                s.setConnectionAttemptDelay(50);
                FutureTask<Void> connector = asyncStarted("connector", () -> {
                    s.connectAny(Arrays.asList(a.address, b.address), 0);
                    return null;
                });
                Thread.sleep(400); // both attempts are running now
                assertFalse(connector.isDone(), TestSupport.describe(connector));
                s.close();
                assertSocketException(failureOf(connector, 5_000), "Socket closed");
                assertTrue(s.isClosed());
                assertDescriptorsBackTo(fds);
            }
        });
    }

    @Test
    void optionsSetBeforeConnectApplyToTheAttemptThatWins() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (FullBacklog silent = new FullBacklog(); ServerSocket good = listener()) {
                try (RustSocket s = new RustSocket()) {
                    s.setTcpNoDelay(true);
                    s.setSoLinger(true, 7);
                    s.setReceiveBufferSize(65_536);
                    s.setKeepAlive(true);
                    s.setConnectionAttemptDelay(100);
                    s.connectAny(Arrays.asList(silent.address, at(good)), 10_000);
                    assertEquals(good.getLocalPort(), s.getPort(), "the second attempt won");
                    assertTrue(s.getTcpNoDelay());
                    assertEquals(7, s.getSoLinger());
                    assertEquals(65_536, s.getReceiveBufferSize());
                    assertTrue(s.getKeepAlive());
                    good.accept().close();
                }
            }
        });
    }

    @Test
    void linuxOptionsSetBeforeConnectApplyToTheAttemptThatWins() {
        TestSupport.assumeLinux("TCP_CONGESTION and the other Linux options");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (FullBacklog silent = new FullBacklog(); ServerSocket good = listener()) {
                try (RustSocket s = new RustSocket()) {
                    // the default algorithm here is not reno, so reading reno back proves the replay
                    s.setOption(RustSocketOptions.TCP_CONGESTION, "reno");
                    s.setOption(RustSocketOptions.TCP_USER_TIMEOUT, 4_321);
                    s.setConnectionAttemptDelay(100);
                    s.connectAny(Arrays.asList(silent.address, at(good)), 10_000);
                    assertEquals(good.getLocalPort(), s.getPort(), "the second attempt won");
                    assertEquals("reno", s.getOption(RustSocketOptions.TCP_CONGESTION));
                    assertEquals(4_321, s.getOption(RustSocketOptions.TCP_USER_TIMEOUT));
                    good.accept().close();
                }
            }
        });
    }

    @Test
    void aBoundLocalAddressAppliesToEveryAttempt() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (FullBacklog silent = new FullBacklog(); ServerSocket good = listener()) {
                try (RustSocket s = new RustSocket()) {
                    s.bind(new InetSocketAddress(LOOPBACK, 0));
                    s.setConnectionAttemptDelay(100);
                    s.connectAny(Arrays.asList(silent.address, at(good)), 10_000);
                    assertEquals(good.getLocalPort(), s.getPort());
                    assertEquals(LOOPBACK, s.getLocalAddress());
                    try (Socket accepted = good.accept()) {
                        assertEquals(s.getLocalPort(), accepted.getPort());
                    }
                }
            }
        });
    }

    @Test
    void aFixedLocalPortTriesOneEndpointAtATime() {
        TestSupport.assumeNotWine(TestSupport.WINE_PORT_FREED_LATE);
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket good = listener()) {
                int fds = processFdCount();
                int localPort = freePort();
                try (RustSocket s = new RustSocket()) {
                    s.setReuseAddress(true);
                    s.bind(new InetSocketAddress(LOOPBACK, localPort));
                    s.connectAny(Arrays.asList(new InetSocketAddress(LOOPBACK, refusedPort()), at(good)), 10_000);
                    assertEquals(good.getLocalPort(), s.getPort());
                    assertEquals(localPort, s.getLocalPort());
                    assertTrue(s.getReuseAddress(), "options survive the fresh descriptor");
                    try (Socket accepted = good.accept()) {
                        assertEquals(localPort, accepted.getPort());
                    }
                }
                assertDescriptorsBackTo(fds);
            }
        });
    }

    @Test
    void familiesAreInterleavedStartingWithTheFirst() throws Exception {
        InetSocketAddress v6a = new InetSocketAddress(InetAddress.getByName("::1"), 1);
        InetSocketAddress v6b = new InetSocketAddress(InetAddress.getByName("::1"), 2);
        InetSocketAddress v6c = new InetSocketAddress(InetAddress.getByName("::1"), 3);
        InetSocketAddress v4a = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 4);
        InetSocketAddress v4b = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 5);
        assertEquals(Arrays.asList(v6a, v4a, v6b, v4b, v6c),
                HappyEyeballs.interleaveFamilies(Arrays.asList(v6a, v6b, v6c, v4a, v4b)));
        assertEquals(Arrays.asList(v4a, v6a, v4b, v6b, v6c),
                HappyEyeballs.interleaveFamilies(Arrays.asList(v4a, v6a, v6b, v4b, v6c)));
        assertEquals(Collections.singletonList(v4a), HappyEyeballs.interleaveFamilies(Collections.singletonList(v4a)));
    }

    @Test
    void anIpv4EndpointAfterTwoSilentIpv6OnesIsTriedSecond() {
        Assumptions.assumeTrue(ipv6Loopback(), "no ::1 here");
        assertTimeoutPreemptively(LIMIT, () -> {
            InetAddress v6 = InetAddress.getByName("::1");
            try (FullBacklog silent6a = new FullBacklog(v6); FullBacklog silent6b = new FullBacklog(v6);
                 ServerSocket good = listener()) {
                int fds = processFdCount();
                try (RustSocket s = new RustSocket()) {
                    s.setConnectionAttemptDelay(1_000);
                    long start = System.nanoTime();
                    s.connectAny(Arrays.asList(silent6a.address, silent6b.address, at(good)), 20_000);
                    long elapsed = millisSince(start);
                    assertEquals(at(good), s.getRemoteSocketAddress());
                    // interleaved, the IPv4 endpoint starts after one delay; in list order it would take two
                    assertTrue(elapsed >= 900 && elapsed < 1_900,
                            "IPv4 endpoint connected after " + elapsed + " ms: it was not started second");
                    good.accept().close();
                }
                assertDescriptorsBackTo(fds);
            }
        });
    }

    private static boolean ipv6Loopback() {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("::1"))) {
            return probe.isBound();
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void hostNamesRaceToo() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket good = listener()) {
                try (RustSocket byConstructor = new RustSocket("localhost", good.getLocalPort());
                     RustSocket byConnect = new RustSocket()) {
                    byConnect.connect("localhost", good.getLocalPort(), 5_000);
                    assertTrue(byConstructor.isConnected() && byConnect.isConnected());
                    assertEquals(good.getLocalPort(), byConnect.getPort());
                    good.accept().close();
                    good.accept().close();
                }
                RustSocket s = new RustSocket();
                assertThrowsExactly(UnknownHostException.class, () -> s.connect("no-such-host.invalid", 80, 1_000));
                s.close();
            }
        });
    }

    @Test
    void anUnresolvedNameClosesTheSocketAsSocketConnectDoes() throws Exception {
        InetSocketAddress unresolved = InetSocketAddress.createUnresolved("x.invalid", 1);
        Socket jdk = new Socket();
        UnknownHostException expected = assertThrowsExactly(UnknownHostException.class,
                () -> jdk.connect(unresolved, 1_000));
        // JDK 25 closes it (after any failed connect); JDK 17 leaves it open
        boolean jdkCloses = jdk.isClosed();
        jdk.close();

        RustSocket any = new RustSocket();
        UnknownHostException e = assertThrowsExactly(UnknownHostException.class,
                () -> any.connectAny(Collections.singletonList(unresolved), 0));
        assertEquals(expected.getMessage(), e.getMessage());
        assertEquals(jdkCloses, any.isClosed());
        any.close();

        RustSocket byName = new RustSocket();
        UnknownHostException byNameError = assertThrowsExactly(UnknownHostException.class,
                () -> byName.connect("no-such-host.invalid", 80, 1_000));
        assertEquals("no-such-host.invalid", byNameError.getMessage());
        assertEquals(jdkCloses, byName.isClosed());
        byName.close();

        // Socket's state checks come first: a connected socket is left connected, with its message
        try (ServerSocket good = listener(); RustSocket connected = new RustSocket(); Socket jdkConnected = new Socket()) {
            connected.connect(at(good));
            jdkConnected.connect(at(good));
            SocketException jdkAlready = assertThrowsExactly(SocketException.class,
                    () -> jdkConnected.connect(unresolved, 1_000));
            SocketException already = assertThrowsExactly(SocketException.class,
                    () -> connected.connectAny(Collections.singletonList(unresolved), 0));
            assertEquals(jdkAlready.getMessage(), already.getMessage());
            already = assertThrowsExactly(SocketException.class, () -> connected.connect("no-such-host.invalid", 80, 0));
            assertEquals(jdkAlready.getMessage(), already.getMessage());
            assertTrue(connected.isConnected() && !connected.isClosed());
        }
    }

    @Test
    void badArgumentsAreRejected() throws Exception {
        try (RustSocket s = new RustSocket(); ServerSocket good = listener()) {
            assertThrowsExactly(NullPointerException.class, () -> s.connectAny(null, 0));
            assertThrowsExactly(IllegalArgumentException.class, () -> s.connectAny(Collections.emptyList(), 0));
            assertThrowsExactly(IllegalArgumentException.class,
                    () -> s.connectAny(Arrays.asList(at(good), null), 0));
            // Socket's own check, with its message
            IllegalArgumentException negative = assertThrowsExactly(IllegalArgumentException.class,
                    () -> s.connectAny(Arrays.asList(at(good), at(good)), -1));
            try (Socket jdk = new Socket()) {
                IllegalArgumentException expected = assertThrowsExactly(IllegalArgumentException.class,
                        () -> jdk.connect(at(good), -1));
                assertEquals(expected.getMessage(), negative.getMessage());
            }
            assertThrowsExactly(IllegalArgumentException.class, () -> s.connect("no-such-host.invalid", 80, -1));
            assertThrowsExactly(IllegalArgumentException.class, () -> s.setConnectionAttemptDelay(9));
            assertThrowsExactly(IllegalArgumentException.class, () -> s.connect("localhost", 70_000, 0));
            assertEquals(RustSocket.DEFAULT_CONNECTION_ATTEMPT_DELAY, s.getConnectionAttemptDelay());
            // still usable after the rejections
            s.connectAny(Arrays.asList(at(good), at(good)), 5_000);
            good.accept().close();
            SocketException again = assertThrowsExactly(SocketException.class,
                    () -> s.connectAny(Arrays.asList(at(good), at(good)), 5_000));
            try (Socket jdk = new Socket()) {
                jdk.connect(at(good), 5_000);
                good.accept().close();
                SocketException expected = assertThrowsExactly(SocketException.class, () -> jdk.connect(at(good), 5_000));
                assertEquals(expected.getMessage(), again.getMessage(), "the JDK's message on this JDK");
            }
        }
    }

    @Test
    void theDefaultDelayComesFromTheSystemProperty() throws Exception {
        String old = System.getProperty(RustSocket.CONNECTION_ATTEMPT_DELAY_PROPERTY);
        try {
            System.setProperty(RustSocket.CONNECTION_ATTEMPT_DELAY_PROPERTY, "1234");
            try (RustSocket s = new RustSocket()) {
                assertEquals(1234, s.getConnectionAttemptDelay());
            }
            for (String unusable : new String[] {"5", "-1", "soon", ""}) {
                System.setProperty(RustSocket.CONNECTION_ATTEMPT_DELAY_PROPERTY, unusable);
                try (RustSocket s = new RustSocket()) {
                    assertEquals(RustSocket.DEFAULT_CONNECTION_ATTEMPT_DELAY, s.getConnectionAttemptDelay(), unusable);
                }
            }
        } finally {
            if (old == null) {
                System.clearProperty(RustSocket.CONNECTION_ATTEMPT_DELAY_PROPERTY);
            } else {
                System.setProperty(RustSocket.CONNECTION_ATTEMPT_DELAY_PROPERTY, old);
            }
        }
    }

    @Test
    void aPlatformThreadInterruptDoesNotStopTheRace() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (FullBacklog silent = new FullBacklog(); ServerSocket good = listener()) {
                try (RustSocket s = new RustSocket()) {
                    s.setConnectionAttemptDelay(300);
                    Thread.currentThread().interrupt();
                    try {
                        s.connectAny(Arrays.asList(silent.address, at(good)), 10_000);
                    } finally {
                        assertTrue(Thread.interrupted(), "the interrupt status is kept");
                    }
                    assertEquals(good.getLocalPort(), s.getPort());
                    good.accept().close();
                }
            }
        });
    }

    @Test
    void onAVirtualThreadARaceParksAndAnInterruptClosesTheSocket() {
        Assumptions.assumeTrue(Virtual.AVAILABLE, "no virtual threads on this JDK");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (FullBacklog a = new FullBacklog(); FullBacklog b = new FullBacklog(); ServerSocket good = listener()) {
                // a race that wins on a virtual thread (its first park may start the poller's
                // epoll descriptor, so the baseline is taken after it)
                AtomicReference<Object> outcome = new AtomicReference<>();
                RustSocket won = new RustSocket();
                won.setConnectionAttemptDelay(100);
                Thread t = Virtual.unstarted("vconnect",
                        () -> outcome.set(connectOrFailure(won, Arrays.asList(a.address, at(good)))));
                t.start();
                t.join(10_000);
                assertEquals("connected", outcome.get());
                assertEquals(good.getLocalPort(), won.getPort());
                good.accept().close();
                won.close();
                int fds = processFdCount();
                // a race that never ends, interrupted
                RustSocket s = new RustSocket();
                s.setConnectionAttemptDelay(50);
                Thread blocked = Virtual.unstarted("vblocked",
                        () -> outcome.set(connectOrFailure(s, Arrays.asList(a.address, b.address))));
                blocked.start();
                Thread.sleep(400);
                assertTrue(blocked.isAlive(), String.valueOf(outcome.get()));
                blocked.interrupt();
                blocked.join(5_000);
                assertFalse(blocked.isAlive());
                assertSocketException((Throwable) outcome.get(), "Closed by interrupt");
                assertTrue(s.isClosed());
                assertDescriptorsBackTo(fds);
            }
        });
    }

    private static Object connectOrFailure(RustSocket s, List<InetSocketAddress> endpoints) {
        try {
            s.connectAny(endpoints, 0);
            return "connected";
        } catch (IOException | RuntimeException e) {
            return e;
        }
    }
}
