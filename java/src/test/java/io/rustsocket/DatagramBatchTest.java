package io.rustsocket;

import static io.rustsocket.DatagramTest.LOOPBACK;
import static io.rustsocket.DatagramTest.local;
import static io.rustsocket.TestSupport.assertThrowsExactly;
import static io.rustsocket.TestSupport.asyncStarted;
import static io.rustsocket.TestSupport.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.internal.AddressWire;
import io.rustsocket.internal.Descriptors;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The batched datagram API ({@code sendmmsg}/{@code recvmmsg}), which the JDK does not have. */
class DatagramBatchTest {

    private static byte[] datagram(int i) {
        byte[] b = new byte[1 + (i * 37) % 1400];
        Arrays.fill(b, (byte) i);
        return b;
    }

    @Test
    void aBatchReachesAJdkSocketInOrderAndIntact() throws IOException {
        try (RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK); DatagramSocket jdk = new DatagramSocket(0, LOOPBACK)) {
            jdk.setReceiveBufferSize(1 << 20);
            jdk.setSoTimeout(5_000);
            DatagramBatch batch = new DatagramBatch(100, 1400);
            for (int i = 0; i < 100; i++) {
                byte[] d = datagram(i);
                assertEquals(i, batch.add(d, 0, d.length, local(jdk)));
            }
            assertEquals(100, s.send(batch));
            DatagramPacket p = new DatagramPacket(new byte[2000], 2000);
            for (int i = 0; i < 100; i++) {
                jdk.receive(p);
                assertArrayEquals(datagram(i), Arrays.copyOf(p.getData(), p.getLength()), "datagram " + i);
                assertEquals(local(s), p.getSocketAddress());
            }
        }
    }

    @Test
    void equalDatagramsToOneTargetReachAJdkSocketOneByOne() throws IOException {
        // runs of equal datagrams go out as segmented (UDP GSO) messages; the receiver must
        // still see each datagram on its own, in order, with its own bytes
        try (RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK); DatagramSocket jdk = new DatagramSocket(0, LOOPBACK)) {
            jdk.setReceiveBufferSize(1 << 20);
            jdk.setSoTimeout(5_000);
            DatagramBatch batch = new DatagramBatch(200, 100);
            for (int i = 0; i < 200; i++) {
                byte[] d = new byte[i == 199 ? 7 : 100];
                Arrays.fill(d, (byte) i);
                batch.add(d, 0, d.length, local(jdk));
            }
            int sent = 0;
            while (sent < 200) {
                sent += s.send(batch, sent);
            }
            DatagramPacket p = new DatagramPacket(new byte[300], 300);
            for (int i = 0; i < 200; i++) {
                jdk.receive(p);
                byte[] expected = new byte[i == 199 ? 7 : 100];
                Arrays.fill(expected, (byte) i);
                assertArrayEquals(expected, Arrays.copyOf(p.getData(), p.getLength()), "datagram " + i);
            }
        }
    }

    @Test
    void aBatchReceivesWhatAJdkSocketSentWithSendersAndTruncation() throws IOException {
        try (RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK); DatagramSocket jdk = new DatagramSocket(0, LOOPBACK)) {
            s.setReceiveBufferSize(1 << 20);
            s.setSoTimeout(5_000);
            for (int i = 0; i < 50; i++) {
                byte[] d = datagram(i);
                jdk.send(new DatagramPacket(d, d.length, local(s)));
            }
            DatagramBatch batch = new DatagramBatch(16, 1000);
            int got = 0;
            while (got < 50) {
                int n = s.receive(batch);
                assertTrue(n >= 1 && n <= 16 && n == batch.size(), "n = " + n);
                for (int i = 0; i < n; i++, got++) {
                    byte[] expected = datagram(got);
                    int stored = Math.min(expected.length, 1000);
                    assertEquals(stored, batch.length(i));
                    assertEquals(expected.length > 1000, batch.truncated(i), "truncated flag of " + got);
                    assertArrayEquals(Arrays.copyOf(expected, stored),
                            Arrays.copyOfRange(batch.buffer(), batch.offset(i), batch.offset(i) + stored));
                    assertEquals(local(jdk), batch.address(i));
                    assertSame(batch.address(i), batch.address(i), "a sender is decoded once");
                }
            }
            s.setSoTimeout(100);
            assertThrowsExactly(SocketTimeoutException.class, "Receive timed out", () -> s.receive(batch));
        }
    }

    @Test
    void aBatchThatFailsMidwayReportsHowManyWereSentAndTheRestCanBeRetried() throws IOException {
        try (RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK); DatagramSocket jdk = new DatagramSocket(0, LOOPBACK)) {
            jdk.setSoTimeout(5_000);
            DatagramBatch batch = new DatagramBatch(5, 65_508);
            for (int i = 0; i < 5; i++) {
                int len = i == 3 ? 65_508 : i + 1; // one byte over the IPv4 maximum
                batch.add(new byte[len], 0, len, local(jdk));
            }
            assertEquals(3, s.send(batch), "the three before the oversized one");
            assertThrowsExactly(SocketException.class, TestSupport.MESSAGE_TOO_LONG, () -> s.send(batch, 3));
            assertEquals(1, s.send(batch, 4));
            assertEquals(0, s.send(batch, 5));
            assertThrows(IndexOutOfBoundsException.class, () -> s.send(batch, 6));
            DatagramPacket p = new DatagramPacket(new byte[16], 16);
            List<Integer> lengths = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                jdk.receive(p);
                lengths.add(p.getLength());
            }
            assertEquals(List.of(1, 2, 3, 5), lengths);
        }
    }

    @Test
    void aBatchOverOneCallKeepsItsCountWhenALaterCallFails() throws IOException {
        // datagram 1024 opens the second sendmmsg and fails at once: a broadcast target with
        // SO_BROADCAST off is refused (EACCES) before anything leaves the host
        try (RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK); DatagramSocket jdk = new DatagramSocket(0, LOOPBACK)) {
            s.setBroadcast(false);
            jdk.setSoTimeout(5_000);
            DatagramBatch batch = new DatagramBatch(1500, 8);
            InetSocketAddress broadcast = new InetSocketAddress(InetAddress.getByName("255.255.255.255"), 9);
            for (int i = 0; i < 1500; i++) {
                batch.add(new byte[] {(byte) i}, 0, 1, i == 1024 ? broadcast : local(jdk));
            }
            assertEquals(1024, s.send(batch), "the first call's datagrams, not an exception");
            assertThrows(SocketException.class, () -> s.send(batch, 1024));
            assertEquals(475, s.send(batch, 1025));
        }
    }

    @Test
    void aBatchReceiveTakesUpToItsCapacityPastOneCall() throws Exception {
        try (RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK); DatagramSocket jdk = new DatagramSocket(0, LOOPBACK)) {
            s.setReceiveBufferSize(4 << 20);
            s.setSoTimeout(5_000);
            for (int i = 0; i < 1500; i++) {
                jdk.send(new DatagramPacket(new byte[] {(byte) i, (byte) (i >> 8)}, 2, local(s)));
            }
            Thread.sleep(100); // loopback delivers as it sends; a margin for a busy machine
            DatagramBatch batch = new DatagramBatch(1500, 4);
            assertEquals(1500, s.receive(batch), "all that was queued, not one call's 1024");
            for (int i = 0; i < 1500; i++) {
                assertEquals(2, batch.length(i));
                byte[] b = batch.buffer();
                assertEquals(i, (b[batch.offset(i)] & 0xff) | (b[batch.offset(i) + 1] & 0xff) << 8, "datagram " + i);
                assertEquals(local(jdk), batch.address(i));
            }
            // and it still returns what there is when fewer are queued than a call takes
            jdk.send(new DatagramPacket(new byte[] {7}, 1, local(s)));
            assertEquals(1, s.receive(batch));
        }
    }

    @Test
    void aBadTargetAnywhereInABatchSendsNothing() throws IOException {
        try (RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK); DatagramSocket jdk = new DatagramSocket(0, LOOPBACK)) {
            jdk.setSoTimeout(5_000);
            DatagramBatch batch = new DatagramBatch(1500, 8);
            for (int i = 0; i < 1500; i++) {
                batch.add(new byte[] {1}, 0, 1, i == 1400 ? null : local(jdk));
            }
            assertThrowsExactly(IllegalArgumentException.class, "Address not set", () -> s.send(batch));
            s.connect(local(jdk));
            batch.clear();
            for (int i = 0; i < 1500; i++) {
                batch.add(new byte[] {1}, 0, 1, i == 1400 ? local(s) : null);
            }
            assertThrowsExactly(IllegalArgumentException.class, "Connected and packet address differ", () -> s.send(batch));
            s.send(new DatagramPacket(new byte[] {2}, 1));
            DatagramPacket p = new DatagramPacket(new byte[4], 4);
            jdk.receive(p);
            assertEquals(2, p.getData()[0], "nothing of the refused batches went out");
        }
    }

    @Test
    void aReceivedBatchSentBackReachesEachSender() throws IOException {
        try (RustDatagramSocket server = new RustDatagramSocket(0, LOOPBACK);
             DatagramSocket c1 = new DatagramSocket(0, LOOPBACK); DatagramSocket c2 = new DatagramSocket(0, LOOPBACK)) {
            server.setSoTimeout(5_000);
            c1.setSoTimeout(5_000);
            c2.setSoTimeout(5_000);
            c1.send(new DatagramPacket(new byte[] {1}, 1, local(server)));
            c2.send(new DatagramPacket(new byte[] {2}, 1, local(server)));
            DatagramBatch batch = new DatagramBatch(8, 64);
            int got = 0;
            DatagramBatch replies = new DatagramBatch(8, 64);
            while (got < 2) {
                int n = server.receive(batch);
                for (int i = 0; i < n; i++, got++) {
                    int at = replies.offset(replies.size());
                    replies.buffer()[at] = (byte) (batch.buffer()[batch.offset(i)] * 10);
                    replies.addReply(1, batch, i);
                }
            }
            assertEquals(2, server.send(replies));
            // and the received batch itself, echoed unchanged
            assertEquals(batch.size(), server.send(batch));
            DatagramPacket p = new DatagramPacket(new byte[4], 4);
            c1.receive(p);
            assertEquals(10, p.getData()[0]);
            c2.receive(p);
            assertEquals(20, p.getData()[0]);
        }
    }

    @Test
    void connectedSocketsSendBatchesToTheirPeer() throws IOException {
        TestSupport.assumeNotWine(TestSupport.WINE_DISCONNECT_DROPS_THE_PORT);
        try (RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK); DatagramSocket peer = new DatagramSocket(0, LOOPBACK);
             DatagramSocket other = new DatagramSocket(0, LOOPBACK)) {
            s.connect(local(peer));
            peer.setSoTimeout(5_000);
            DatagramBatch batch = new DatagramBatch(4, 8);
            batch.add(new byte[] {1}, 0, 1, null);
            batch.add(new byte[] {2}, 0, 1, local(peer));
            assertNull(batch.address(0));
            assertEquals(2, s.send(batch));
            DatagramPacket p = new DatagramPacket(new byte[4], 4);
            peer.receive(p);
            assertEquals(1, p.getData()[0]);
            peer.receive(p);
            assertEquals(2, p.getData()[0]);
            batch.clear();
            batch.add(new byte[] {3}, 0, 1, local(other));
            assertThrowsExactly(IllegalArgumentException.class, "Connected and packet address differ", () -> s.send(batch));
            s.disconnect();
            batch.clear();
            batch.add(new byte[] {3}, 0, 1, null);
            assertThrowsExactly(IllegalArgumentException.class, "Address not set", () -> s.send(batch));
        }
    }

    @Test
    void batchArgumentsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new DatagramBatch(0, 10));
        assertThrows(IllegalArgumentException.class, () -> new DatagramBatch(1, 0));
        assertThrows(IllegalArgumentException.class, () -> new DatagramBatch(1, 65_509));
        DatagramBatch b = new DatagramBatch(1, 4);
        InetSocketAddress to = new InetSocketAddress(LOOPBACK, 9);
        assertThrows(IllegalArgumentException.class, () -> b.add(new byte[5], 0, 5, to));
        assertThrowsExactly(IllegalArgumentException.class, "Can't send to port 0",
                () -> b.add(new byte[1], 0, 1, new InetSocketAddress(LOOPBACK, 0)));
        assertThrows(IndexOutOfBoundsException.class, () -> b.add(new byte[1], 1, 1, to));
        assertThrows(IndexOutOfBoundsException.class, () -> b.length(0));
        b.add(new byte[1], 0, 1, to);
        assertEquals(to, b.address(0));
        assertThrows(IllegalStateException.class, () -> b.add(new byte[1], 0, 1, to));
        assertFalse(b.truncated(0));
    }

    @Test
    void targetsThatDifferOnlyInScopeIdKeepTheirOwnScope() throws Exception {
        // Inet6Address.equals ignores the scope id: the cached encoding of the previous target
        // must not be reused for the same bytes on another link
        byte[] linkLocal = InetAddress.getByName("fe80::1").getAddress();
        InetSocketAddress onLink1 = new InetSocketAddress(Inet6Address.getByAddress(null, linkLocal, 1), 9);
        InetSocketAddress onLink2 = new InetSocketAddress(Inet6Address.getByAddress(null, linkLocal, 2), 9);
        assertEquals(onLink1, onLink2, "the JDK calls them equal");
        DatagramBatch b = new DatagramBatch(3, 4);
        b.add(new byte[1], 0, 1, onLink1);
        b.add(new byte[1], 0, 1, onLink2);
        b.add(new byte[1], 0, 1, onLink2);
        int[] scopes = new int[3];
        for (int i = 0; i < 3; i++) {
            scopes[i] = ((Inet6Address) b.address(i).getAddress()).getScopeId();
        }
        assertArrayEquals(new int[] {1, 2, 2}, scopes);
        // the single-datagram send path's cache decides with the same test
        assertFalse(AddressWire.sameAddress(onLink1.getAddress(), onLink2.getAddress()));
        assertTrue(AddressWire.sameAddress(onLink2.getAddress(), b.address(2).getAddress()));
    }

    @Test
    void closeWakesABlockedBatchReceiveAndDescriptorsReturnToBaseline() throws Exception {
        int baseline = Descriptors.openCount();
        RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK);
        DatagramBatch batch = new DatagramBatch(8, 64);
        FutureTask<Throwable> receiver = asyncStarted("batch-receiver", () -> {
            try {
                s.receive(batch);
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        Thread.sleep(200);
        s.close();
        TestSupport.assertSocketException(await(receiver, 5_000), "Socket closed");
        batch.add(new byte[1], 0, 1, new InetSocketAddress(LOOPBACK, 9));
        assertThrowsExactly(SocketException.class, "Socket closed", () -> s.send(batch));
        assertTrue(TestSupport.eventually(() -> Descriptors.openCount() <= baseline));
    }

    /** Bytes allocated by the current thread so far (HotSpot's ThreadMXBean extension). */
    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    void theSteadyStateAllocatesNothing() throws IOException {
        try (RustDatagramSocket a = new RustDatagramSocket(0, LOOPBACK); RustDatagramSocket b = new RustDatagramSocket(0, LOOPBACK)) {
            b.setReceiveBufferSize(1 << 20);
            DatagramBatch out = new DatagramBatch(32, 64);
            DatagramBatch in = new DatagramBatch(32, 64);
            InetSocketAddress to = local(b);
            byte[] payload = new byte[64];
            DatagramPacket sendPacket = new DatagramPacket(payload, 64, to);
            DatagramPacket receivePacket = new DatagramPacket(new byte[64], 64);
            Runnable round = () -> {
                try {
                    out.clear();
                    for (int i = 0; i < 32; i++) {
                        out.add(payload, 0, 64, to);
                    }
                    int sent = 0;
                    while (sent < 32) {
                        sent += a.send(out, sent);
                    }
                    for (int got = 0; got < 32; ) {
                        got += b.receive(in);
                        in.address(0);
                    }
                    a.send(sendPacket);
                    b.receive(receivePacket);
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            };
            for (int i = 0; i < 5_000; i++) {
                round.run(); // warm up: the JIT removes what escape analysis can
            }
            long before = allocatedBytes();
            int rounds = 2_000;
            for (int i = 0; i < rounds; i++) {
                round.run();
            }
            long perRound = (allocatedBytes() - before) / rounds;
            // 33 datagrams out and in per round; anything per datagram would be >= 33 * 16 bytes
            assertTrue(perRound < 16, "bytes allocated per round of 33 datagrams: " + perRound);
        }
    }

    @Test
    void virtualThreadsParkInsteadOfBlockingTheirCarriers() throws Exception {
        Method ofVirtual;
        try {
            ofVirtual = Thread.class.getMethod("ofVirtual");
        } catch (NoSuchMethodException e) {
            Assumptions.abort("no virtual threads before JDK 21");
            return;
        }
        Object builder = ofVirtual.invoke(null);
        Method start = Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class);
        int n = 64; // far more than the carrier threads
        List<RustDatagramSocket> sockets = new ArrayList<>();
        AtomicInteger received = new AtomicInteger();
        AtomicInteger closedSeen = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        try (DatagramSocket sender = new DatagramSocket(0, LOOPBACK)) {
            for (int i = 0; i < n; i++) {
                RustDatagramSocket s = new RustDatagramSocket(0, LOOPBACK);
                sockets.add(s);
                Runnable body = () -> {
                    try {
                        DatagramPacket p = new DatagramPacket(new byte[8], 8);
                        s.receive(p);
                        received.incrementAndGet();
                        s.receive(p); // woken by close
                    } catch (SocketException e) {
                        if ("Socket closed".equals(e.getMessage())) {
                            closedSeen.incrementAndGet();
                        }
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                };
                threads.add((Thread) start.invoke(builder, body));
            }
            Thread.sleep(200);
            for (RustDatagramSocket s : sockets) {
                sender.send(new DatagramPacket(new byte[1], 1, local(s)));
            }
            assertTrue(TestSupport.eventually(() -> received.get() == n), () -> "received " + received.get() + " of " + n);
        } finally {
            sockets.forEach(DatagramSocket::close);
        }
        for (Thread t : threads) {
            t.join(10_000);
        }
        assertEquals(n, closedSeen.get());
    }
}
