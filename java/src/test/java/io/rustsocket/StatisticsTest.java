package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.internal.Descriptors;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RustSockets#statistics()} and the MXBean count what the sockets of this JVM did: bytes,
 * connections, open sockets, timeouts, resets (once per connection) and other errors by class;
 * and the JDK's own sockets are never counted. The figures are JVM-wide, so each test works on
 * differences before and after its own traffic (JUnit runs the test classes one at a time).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StatisticsTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /**
     * Lets the Cleaner close whatever earlier test classes dropped without closing, so that the
     * open-socket figures move only with this test's own sockets.
     */
    @BeforeEach
    void settle() throws InterruptedException {
        int stable = 0;
        int last = -1;
        for (int i = 0; i < 100 && stable < 3; i++) {
            System.gc();
            Thread.sleep(20);
            int now = Descriptors.openCount();
            stable = now == last ? stable + 1 : 0;
            last = now;
        }
    }

    private static long errors(SocketStatistics s, Class<?> type) {
        return s.getErrors().getOrDefault(type.getName(), 0L);
    }

    @Test
    void bytesConnectionsAndOpenSocketsAreCounted() throws Exception {
        SocketStatistics before = RustSockets.statistics();
        byte[] payload = TestSupport.randomBytes(100_000);
        try (TestSupport.Pair p = new TestSupport.Pair(Engine.RUST)) {
            SocketStatistics open = RustSockets.statistics();
            assertEquals(before.getOpenSockets() + 2, open.getOpenSockets(), open.toString());
            assertEquals(before.getOpenServerSockets() + 1, open.getOpenServerSockets(), open.toString());
            p.client.getOutputStream().write(payload);
            assertEquals(payload.length, TestSupport.readExactly(p.server.getInputStream(), payload.length).length);
            p.server.getOutputStream().write(new byte[] {1, 2, 3, 4, 5});
            TestSupport.readExactly(p.client.getInputStream(), 5);
            SocketStatistics live = RustSockets.statistics();
            assertEquals(before.getBytesRead() + payload.length + 5, live.getBytesRead(), live.toString());
            assertEquals(before.getBytesWritten() + payload.length + 5, live.getBytesWritten(), live.toString());
        }
        SocketStatistics after = RustSockets.statistics();
        // closed sockets' bytes stay in the totals
        assertEquals(before.getBytesRead() + payload.length + 5, after.getBytesRead(), after.toString());
        assertEquals(before.getBytesWritten() + payload.length + 5, after.getBytesWritten(), after.toString());
        assertEquals(before.getConnectionsOpened() + 1, after.getConnectionsOpened());
        assertEquals(before.getConnectionsAccepted() + 1, after.getConnectionsAccepted());
        assertEquals(before.getOpenSockets(), after.getOpenSockets());
        assertEquals(before.getOpenServerSockets(), after.getOpenServerSockets());
    }

    @Test
    void aRacedConnectAndSendFileAreCountedOnTheWinningDescriptor() throws Exception {
        byte[] payload = TestSupport.randomBytes(70_000);
        Path file = Files.createTempFile("rustsocket-stats", ".bin");
        try (TestSupport.FullBacklog silent = new TestSupport.FullBacklog();
                ServerSocket good = new ServerSocket(0, 50, LOOPBACK)) {
            Files.write(file, payload);
            SocketStatistics before = RustSockets.statistics();
            try (RustSocket s = new RustSocket()) {
                s.setConnectionAttemptDelay(50);
                // the silent endpoint goes first, so the second attempt's descriptor wins
                s.connectAny(Arrays.asList(silent.address,
                        new InetSocketAddress(LOOPBACK, good.getLocalPort())), 10_000);
                try (Socket peer = good.accept()) {
                    assertEquals(payload.length, s.sendFile(file, 0, payload.length));
                    TestSupport.readExactly(peer.getInputStream(), payload.length);
                    SocketStatistics live = RustSockets.statistics();
                    assertEquals(before.getBytesWritten() + payload.length, live.getBytesWritten(), live.toString());
                    assertEquals(before.getConnectionsOpened() + 1, live.getConnectionsOpened(), live.toString());
                }
            }
            SocketStatistics after = RustSockets.statistics();
            assertEquals(before.getBytesWritten() + payload.length, after.getBytesWritten(), after.toString());
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void jdkSocketsAreNotCounted() throws Exception {
        SocketStatistics before = RustSockets.statistics();
        try (TestSupport.Pair p = new TestSupport.Pair(Engine.JDK)) {
            p.client.getOutputStream().write(new byte[1000]);
            TestSupport.readExactly(p.server.getInputStream(), 1000);
        }
        SocketStatistics after = RustSockets.statistics();
        assertEquals(before.getBytesRead(), after.getBytesRead());
        assertEquals(before.getConnectionsOpened(), after.getConnectionsOpened());
    }

    @Test
    void timeoutsOfReadAcceptAndConnect() throws Exception {
        SocketStatistics before = RustSockets.statistics();
        try (TestSupport.Pair p = new TestSupport.Pair(Engine.RUST)) {
            p.client.setSoTimeout(20);
            assertThrows(SocketTimeoutException.class, () -> p.client.getInputStream().read());
            p.listener.setSoTimeout(20);
            assertThrows(SocketTimeoutException.class, p.listener::accept);
        }
        try (TestSupport.FullBacklog full = new TestSupport.FullBacklog(); Socket s = new RustSocket()) {
            assertThrows(SocketTimeoutException.class, () -> s.connect(full.address, 50));
        }
        SocketStatistics after = RustSockets.statistics();
        assertEquals(before.getTimeouts() + 3, after.getTimeouts(), after.toString());
        assertEquals(before.getErrors(), after.getErrors());
    }

    @Test
    void aResetIsCountedOncePerConnection() throws Exception {
        TestSupport.assumeNotWine(TestSupport.WINE_RESET_READS_AS_EOF);
        SocketStatistics before = RustSockets.statistics();
        try (TestSupport.Pair p = new TestSupport.Pair(Engine.RUST)) {
            p.server.setSoLinger(true, 0);
            p.server.close(); // RST
            for (int i = 0; i < 3; i++) {
                SocketException e = assertThrows(SocketException.class, () -> p.client.getInputStream().read());
                assertEquals("Connection reset", e.getMessage());
            }
        }
        SocketStatistics after = RustSockets.statistics();
        assertEquals(before.getResets() + 1, after.getResets(), after.toString());
        assertEquals(before.getErrors(), after.getErrors());
    }

    @Test
    void aSendFileToAPeerThatResetIsCounted(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("data");
        Files.write(file, new byte[1 << 20]);
        SocketStatistics before = RustSockets.statistics();
        try (TestSupport.Pair p = new TestSupport.Pair(Engine.RUST)) {
            p.server.setSoLinger(true, 0);
            p.server.close(); // RST
            RustSocket client = (RustSocket) p.client;
            // the first call may still fill the send buffer before the reset is seen
            IOException failure = null;
            for (int i = 0; i < 100 && failure == null; i++) {
                try {
                    client.sendFile(file, 0, 1 << 20);
                } catch (IOException e) {
                    failure = e;
                }
            }
            assertTrue(failure instanceof SocketException, String.valueOf(failure));
        }
        SocketStatistics after = RustSockets.statistics();
        long errors = 0;
        for (Map.Entry<String, Long> e : after.getErrors().entrySet()) {
            errors += e.getValue() - before.getErrors().getOrDefault(e.getKey(), 0L);
        }
        assertEquals(1, after.getResets() - before.getResets() + errors, after.toString());
    }

    @Test
    void otherErrorsByClassButNotTheApplicationsOwnClose() throws Exception {
        SocketStatistics before = RustSockets.statistics();
        int port = TestSupport.refusedPort();
        try (Socket s = new RustSocket()) {
            assertThrows(ConnectException.class, () -> s.connect(new InetSocketAddress(LOOPBACK, port)));
        }
        // a reader woken by another thread's close gets "Socket closed": the application's doing
        ServerSocket l = new RustServerSocket(0, 50, LOOPBACK);
        try {
            FutureTask<Object> accept = TestSupport.asyncStarted("accept", () -> {
                try {
                    return l.accept();
                } catch (SocketException e) {
                    return e;
                }
            });
            Thread.sleep(50);
            l.close();
            Object r = TestSupport.await(accept, 10_000);
            assertTrue(r instanceof SocketException, String.valueOf(r));
        } finally {
            l.close();
        }
        SocketStatistics after = RustSockets.statistics();
        assertEquals(errors(before, ConnectException.class) + 1, errors(after, ConnectException.class), after.toString());
        assertEquals(errors(before, SocketException.class), errors(after, SocketException.class), after.toString());
    }

    @Test
    void aSocketDroppedWithoutCloseLeavesItsBytesInTheTotals() throws Exception {
        int baseline = Descriptors.openCount();
        SocketStatistics before = RustSockets.statistics();
        exchangeAndDrop();
        assertTrue(TestSupport.eventually(() -> {
            System.gc();
            return Descriptors.openCount() <= baseline;
        }), "the Cleaner did not close the dropped sockets");
        SocketStatistics after = RustSockets.statistics();
        assertEquals(before.getBytesRead() + 64, after.getBytesRead());
        assertEquals(before.getBytesWritten() + 64, after.getBytesWritten());
        assertEquals(before.getOpenSockets(), after.getOpenSockets());
        assertEquals(before.getOpenServerSockets(), after.getOpenServerSockets());
    }

    private static void exchangeAndDrop() throws Exception {
        TestSupport.Pair p = new TestSupport.Pair(Engine.RUST);
        p.client.getOutputStream().write(new byte[64]);
        TestSupport.readExactly(p.server.getInputStream(), 64);
    }

    @Test
    void theMxBeanShowsTheSameFigures() throws Exception {
        RustSockets.registerStatisticsMBean();
        RustSockets.registerStatisticsMBean(); // idempotent
        int port = TestSupport.refusedPort();
        try (Socket s = new RustSocket()) {
            assertThrows(ConnectException.class, () -> s.connect(new InetSocketAddress(LOOPBACK, port)));
        }
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName(RustSockets.MBEAN_NAME);
        SocketStatistics api = RustSockets.statistics();
        assertEquals(api.getBytesRead(), server.getAttribute(name, "BytesRead"));
        assertEquals(api.getBytesWritten(), server.getAttribute(name, "BytesWritten"));
        assertEquals(api.getConnectionsOpened(), server.getAttribute(name, "ConnectionsOpened"));
        assertEquals(api.getTimeouts(), server.getAttribute(name, "Timeouts"));
        assertEquals(false, server.getAttribute(name, "InstalledAsDefault"));
        TabularData errors = (TabularData) server.getAttribute(name, "Errors");
        Map<String, Long> fromJmx = new java.util.TreeMap<>();
        for (Object row : errors.values()) {
            CompositeData cd = (CompositeData) row;
            fromJmx.put((String) cd.get("key"), (Long) cd.get("value"));
        }
        assertEquals(api.getErrors(), fromJmx);
        assertTrue(fromJmx.get(ConnectException.class.getName()) >= 1, fromJmx.toString());
    }

    @Test
    void snapshotsAreImmutable() {
        SocketStatistics s = RustSockets.statistics();
        assertThrows(UnsupportedOperationException.class, () -> s.getErrors().put("x", 1L));
    }
}
