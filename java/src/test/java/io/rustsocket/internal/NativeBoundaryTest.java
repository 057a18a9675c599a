package io.rustsocket.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The internal native methods called directly with hostile arguments, as a buggy or malicious
 * caller inside the JVM could: each gets the standard Java exception from the native side
 * itself (not from a Java check in front of it), the JVM goes on, and nothing reaches the peer.
 */
class NativeBoundaryTest {
    private static final byte[] LOOPBACK = RawSockets.LOOPBACK;

    @BeforeAll
    static void load() {
        NativeLibrary.ensureLoaded();
    }

    // a connected TCP pair on raw descriptors: client -> server, and its listener
    private int listener = -1;
    private int client = -1;
    private int server = -1;

    @BeforeEach
    void connect() throws IOException {
        int[] p = RawSockets.pair();
        client = p[0];
        server = p[1];
        listener = p[2];
    }

    @AfterEach
    void close() {
        for (int fd : new int[] {client, server, listener}) {
            if (fd >= 0) {
                Native.close(fd);
            }
        }
    }

    /** Asserts {@code body} throws exactly {@code type} (from native code: nothing in Java checks first). */
    static <T extends Throwable> T rejects(Class<T> type, Executable body) {
        T e = assertThrows(type, body);
        assertEquals(type, e.getClass(), () -> "wrong class: " + e);
        return e;
    }

    /** Nothing arrives on {@code fd} within 200 ms. */
    private static void nothingArrives(int fd) throws IOException {
        assertEquals(0, Native.poll(fd, Native.POLLIN, 200), "bytes reached the peer");
        assertEquals(0, Native.available(fd));
    }

    @Test
    void writesWithBadRangesThrowAndSendNothing() throws IOException {
        // another connection's bytes go through this thread's staging buffer first: a write that
        // fails its checks must not send what is left there
        int otherServer;
        int[] other = RawSockets.pair();
        try {
            byte[] secret = "the other connection's bytes".getBytes(StandardCharsets.US_ASCII);
            assertEquals(secret.length, Native.write(other[0], secret, 0, secret.length));
            otherServer = other[1];
            byte[] got = new byte[secret.length];
            assertEquals(secret.length, Native.read(otherServer, got, 0, got.length));
            assertArrayEquals(secret, got);
        } finally {
            Native.close(other[0]);
            Native.close(other[1]);
            Native.close(other[2]);
        }
        byte[] b = new byte[16];
        rejects(NullPointerException.class, () -> Native.write(client, null, 0, 1));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.write(client, b, 0, 17));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.write(client, b, 10, 10));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.write(client, b, -1, 4));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.write(client, b, 0, -1));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.write(client, b, 0, Integer.MAX_VALUE));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.write(client, b, Integer.MAX_VALUE, 1));
        nothingArrives(server);
        // the socket still works
        assertEquals(3, Native.write(client, b, 13, 3));
        byte[] got = new byte[3];
        assertEquals(3, Native.read(server, got, 0, 3));
    }

    @Test
    void readsWithBadRangesThrowAndConsumeNothing() throws IOException {
        byte[] b = new byte[8];
        assertEquals(4, Native.write(client, new byte[] {1, 2, 3, 4}, 0, 4));
        assertTrue(Native.poll(server, Native.POLLIN, 5000) != 0);
        rejects(NullPointerException.class, () -> Native.read(server, null, 0, 1));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.read(server, b, 4, 5));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.read(server, b, -8, 4));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.read(server, b, 0, Integer.MIN_VALUE));
        assertEquals(4, Native.available(server), "a rejected read consumed bytes");
        assertEquals(4, Native.read(server, b, 4, 4));
        assertArrayEquals(new byte[] {0, 0, 0, 0, 1, 2, 3, 4}, b);
    }

    @Test
    void readsThatNoticeAnEmptiedSocketCheckTheirArgumentsAndSayWhenTheyEmptiedIt() throws IOException {
        rejects(SocketException.class, () -> Native.noticeEmptyReads(-1));
        boolean noticing = Native.noticeEmptyReads(server);
        if (!Platform.edgeTriggeredPollers()) {
            assertFalse(noticing, "only Linux (TCP_INQ, 4.18+) can tell");
        }
        byte[] b = new byte[8];
        assertEquals(Native.UNAVAILABLE, Native.readNoticingEmpty(server, b, 0, 8), "never waits");
        assertEquals(4, Native.write(client, new byte[] {1, 2, 3, 4}, 0, 4));
        assertTrue(Native.poll(server, Native.POLLIN, 5000) != 0);
        rejects(NullPointerException.class, () -> Native.readNoticingEmpty(server, null, 0, 1));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.readNoticingEmpty(server, b, 4, 5));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.readNoticingEmpty(server, b, -8, 4));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.readNoticingEmpty(server, b, 0, Integer.MIN_VALUE));
        assertEquals(4, Native.available(server), "a rejected read consumed bytes");
        assertEquals(2, Native.readNoticingEmpty(server, b, 0, 2), "two bytes left");
        assertEquals(noticing ? 2 | Native.EMPTIED : 2, Native.readNoticingEmpty(server, b, 2, 2), "none left");
        assertArrayEquals(new byte[] {1, 2, 3, 4, 0, 0, 0, 0}, b);
    }

    @Test
    void addressArgumentsAreChecked() throws IOException {
        int fd = Native.socket(false);
        try {
            rejects(NullPointerException.class, () -> Native.bind(fd, null, 0, 0));
            rejects(IllegalArgumentException.class, () -> Native.bind(fd, new byte[5], 0, 0));
            rejects(IllegalArgumentException.class, () -> Native.bind(fd, LOOPBACK, 0, -1));
            rejects(IllegalArgumentException.class, () -> Native.bind(fd, LOOPBACK, 0, 65536));
            rejects(IllegalArgumentException.class, () -> Native.bind(fd, new byte[16], -1, 0));
            rejects(NullPointerException.class, () -> Native.connect(fd, null, 0, 80));
            rejects(IllegalArgumentException.class, () -> Native.connect(fd, new byte[0], 0, 80));
            rejects(IllegalArgumentException.class, () -> Native.connect(fd, LOOPBACK, 0, Integer.MIN_VALUE));
            rejects(NullPointerException.class, () -> Native.localAddress(fd, null));
            rejects(ArrayIndexOutOfBoundsException.class, () -> Native.localAddress(fd, new byte[AddressWire.LEN - 1]));
            rejects(ArrayIndexOutOfBoundsException.class, () -> Native.peerAddress(client, new byte[3]));
        } finally {
            Native.close(fd);
        }
    }

    @Test
    void acceptWithABadPeerBufferLeavesTheConnectionQueued() throws IOException {
        int[] queued = RawSockets.pair();
        Native.close(queued[1]); // accepted by pair(): make a fresh one wait in the backlog instead
        int port = AddressWire.localOf(queued[2]).getPort();
        int waiting = Native.socket(false);
        try {
            Native.connect(waiting, LOOPBACK, 0, port);
            assertTrue(Native.poll(queued[2], Native.POLLIN, 5000) != 0);
            rejects(NullPointerException.class, () -> Native.accept(queued[2], null));
            rejects(ArrayIndexOutOfBoundsException.class, () -> Native.accept(queued[2], new byte[1]));
            byte[] peer = new byte[AddressWire.LEN];
            int accepted = Native.accept(queued[2], peer);
            assertTrue(accepted >= 0, "the connection was lost by a rejected accept");
            assertEquals(AddressWire.localOf(waiting), AddressWire.decode(peer));
            Native.close(accepted);
        } finally {
            Native.close(waiting);
            Native.close(queued[0]);
            Native.close(queued[2]);
        }
    }

    @Test
    void pollArgumentsAreChecked() throws IOException {
        rejects(IllegalArgumentException.class, () -> Native.poll(server, 0, 0));
        rejects(IllegalArgumentException.class, () -> Native.poll(server, 0x100, 0));
        rejects(SocketException.class, () -> Native.poll(-1, Native.POLLIN, 0));
        int[] fds = {server};
        int[] revents = new int[1];
        rejects(IllegalArgumentException.class, () -> Native.pollAny(fds, -1, Native.POLLIN, 0, revents));
        rejects(IllegalArgumentException.class, () -> Native.pollAny(new int[65], 65, Native.POLLIN, 0, new int[65]));
        rejects(NullPointerException.class, () -> Native.pollAny(null, 1, Native.POLLIN, 0, revents));
        rejects(NullPointerException.class, () -> Native.pollAny(fds, 1, Native.POLLIN, 0, null));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.pollAny(fds, 2, Native.POLLIN, 0, new int[2]));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.pollAny(new int[2], 2, Native.POLLIN, 0, revents));
        assertEquals(0, Native.pollAny(fds, 1, Native.POLLIN, 0, revents));
        long poller = Native.pollerCreate();
        try {
            rejects(IllegalArgumentException.class, () -> Native.pollerArm(poller, server, 0));
            rejects(NullPointerException.class, () -> Native.pollerWait(poller, null, 0));
            rejects(ArrayIndexOutOfBoundsException.class, () -> Native.pollerWait(poller, new int[0], 0));
            assertEquals(0, Native.pollerWait(poller, new int[4], 0));
        } finally {
            Native.pollerClose(poller);
        }
    }

    @Test
    void optionArgumentsAreChecked() throws IOException {
        int rows = OptionTable.rows().size();
        rejects(IllegalArgumentException.class, () -> Native.getOption(client, -1));
        rejects(IllegalArgumentException.class, () -> Native.getOption(client, rows));
        rejects(IllegalArgumentException.class, () -> Native.setOption(client, Integer.MAX_VALUE, 1));
        OptionTable.Row congestion = OptionTable.row(io.rustsocket.RustSocketOptions.TCP_CONGESTION);
        if (congestion != null) { // a string option, where the system has one (Linux)
            rejects(IllegalArgumentException.class, () -> Native.getOption(client, congestion.id));
            rejects(NullPointerException.class, () -> Native.setStringOption(client, congestion.id, null));
        }
        OptionTable.Row tos = OptionTable.row(java.net.StandardSocketOptions.IP_TOS);
        rejects(IllegalArgumentException.class, () -> Native.setOption(client, tos.id, 256));
        rejects(IllegalArgumentException.class, () -> Native.setOption(client, tos.id, -1));
        rejects(NullPointerException.class, () -> Native.tcpInfo(client, null));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.tcpInfo(client, new long[2]));
        rejects(IllegalArgumentException.class, () -> Native.shutdown(client, 3));
        rejects(IllegalArgumentException.class, () -> Native.sendFile(client, 0, -1, 1));
        rejects(IllegalArgumentException.class, () -> Native.sendFile(client, 0, 0, -1));
        rejects(NullPointerException.class, () -> Native.fileChannelDescriptor(null));
        nothingArrives(server);
    }

    @Test
    void datagramArgumentsAreCheckedAndNothingIsSent() throws IOException {
        int rx = NativeDatagram.open();
        int tx = NativeDatagram.open();
        try {
            Native.bind(rx, LOOPBACK, 0, 0);
            byte[] target = new byte[AddressWire.LEN];
            AddressWire.encode(java.net.InetAddress.getLoopbackAddress(), AddressWire.localOf(rx).getPort(), target, 0);
            byte[] data = new byte[32];
            rejects(NullPointerException.class, () -> NativeDatagram.send(tx, null, 0, 1, target));
            rejects(ArrayIndexOutOfBoundsException.class, () -> NativeDatagram.send(tx, data, 0, 33, target));
            rejects(ArrayIndexOutOfBoundsException.class, () -> NativeDatagram.send(tx, data, -1, 1, target));
            rejects(ArrayIndexOutOfBoundsException.class, () -> NativeDatagram.send(tx, data, 0, 1, new byte[4]));
            int[] lens = {4, 4};
            byte[] targets = new byte[2 * AddressWire.LEN];
            System.arraycopy(target, 0, targets, 0, AddressWire.LEN);
            System.arraycopy(target, 0, targets, AddressWire.LEN, AddressWire.LEN);
            rejects(NullPointerException.class, () -> NativeDatagram.sendBatch(tx, data, 16, null, targets, 0, 2));
            rejects(NullPointerException.class, () -> NativeDatagram.sendBatch(tx, null, 16, lens, targets, 0, 2));
            rejects(NullPointerException.class, () -> NativeDatagram.sendBatch(tx, data, 16, lens, null, 0, 2));
            rejects(IllegalArgumentException.class, () -> NativeDatagram.sendBatch(tx, data, 16, lens, targets, 0, -1));
            rejects(IllegalArgumentException.class, () -> NativeDatagram.sendBatch(tx, data, 16, lens, targets, -1, 1));
            rejects(IllegalArgumentException.class, () -> NativeDatagram.sendBatch(tx, data, 0, lens, targets, 0, 1));
            rejects(ArrayIndexOutOfBoundsException.class, () -> NativeDatagram.sendBatch(tx, data, 16, lens, targets, 1, 2));
            rejects(ArrayIndexOutOfBoundsException.class, () -> NativeDatagram.sendBatch(tx, data, 32, lens, targets, 0, 2));
            rejects(ArrayIndexOutOfBoundsException.class,
                    () -> NativeDatagram.sendBatch(tx, data, 16, lens, new byte[AddressWire.LEN], 0, 2));
            rejects(IllegalArgumentException.class,
                    () -> NativeDatagram.sendBatch(tx, data, 16, new int[] {4, -4}, targets, 0, 2));
            nothingArrives(rx);
            byte[] senders = new byte[2 * AddressWire.LEN];
            rejects(NullPointerException.class,
                    () -> NativeDatagram.receiveBatch(rx, data, 16, null, senders, 0, 2, false, false));
            rejects(IllegalArgumentException.class,
                    () -> NativeDatagram.receiveBatch(rx, data, 16, lens, senders, 0, -2, false, false));
            rejects(ArrayIndexOutOfBoundsException.class,
                    () -> NativeDatagram.receiveBatch(rx, data, 16, new int[1], senders, 0, 2, false, false));
            rejects(NullPointerException.class,
                    () -> NativeDatagram.receive(rx, null, data, 0, 4, null, false, false));
            rejects(ArrayIndexOutOfBoundsException.class,
                    () -> NativeDatagram.receive(rx, null, data, 30, 4, new byte[AddressWire.LEN], false, false));
            rejects(NullPointerException.class,
                    () -> NativeDatagram.receive(rx, null, data, 0, -1, new byte[AddressWire.LEN], false, false));
            rejects(IllegalArgumentException.class,
                    () -> NativeDatagram.membership(rx, new byte[] {(byte) 239, 1, 1, 1}, -1, true));
            // the sockets still work: a real send arrives whole
            Native.configureBlocking(rx, false);
            assertEquals(5, NativeDatagram.send(tx, "hello".getBytes(StandardCharsets.US_ASCII), 0, 5, target));
            assertTrue(Native.poll(rx, Native.POLLIN, 5000) != 0);
            DatagramPacket p = new DatagramPacket(new byte[16], 16);
            byte[] sender = new byte[AddressWire.LEN];
            assertEquals(5, NativeDatagram.receive(rx, p, p.getData(), 0, 16, sender, false, false));
            assertEquals("hello", new String(p.getData(), 0, 5, StandardCharsets.US_ASCII));
        } finally {
            Native.close(rx);
            Native.close(tx);
        }
    }
}
