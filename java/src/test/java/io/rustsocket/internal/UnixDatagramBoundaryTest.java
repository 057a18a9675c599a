package io.rustsocket.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.SocketException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The Unix datagram natives called directly with hostile arguments, as {@link NativeBoundaryTest}
 * does for the others: the standard Java exception from the native side itself, and nothing
 * sent.
 */
class UnixDatagramBoundaryTest {
    private int a = -1;
    private int b = -1;

    @BeforeAll
    static void load() {
        org.junit.jupiter.api.Assumptions.assumeFalse(io.rustsocket.TestSupport.WINDOWS,
                "Windows has no Unix datagram sockets");
        NativeLibrary.ensureLoaded();
    }

    @BeforeEach
    void pair() throws IOException {
        int[] fds = new int[2];
        Native.unixPair(true, fds);
        a = fds[0];
        b = fds[1];
    }

    @AfterEach
    void close() {
        Native.close(a);
        Native.close(b);
    }

    private static <T extends Throwable> void rejects(Class<T> type, Executable body) {
        T e = assertThrows(type, body);
        assertEquals(type, e.getClass(), () -> "wrong class: " + e);
    }

    @Test
    void badSendsThrowAndSendNothing() throws IOException {
        byte[] data = new byte[32];
        rejects(NullPointerException.class, () -> NativeDatagram.unixSend(a, null, 0, 1, null));
        rejects(ArrayIndexOutOfBoundsException.class, () -> NativeDatagram.unixSend(a, data, 0, 33, null));
        rejects(ArrayIndexOutOfBoundsException.class, () -> NativeDatagram.unixSend(a, data, -1, 1, null));
        rejects(ArrayIndexOutOfBoundsException.class, () -> NativeDatagram.unixSend(a, data, 1, -1, null));
        rejects(SocketException.class, () -> NativeDatagram.unixSend(a, data, 0, 1, new byte[200]));
        rejects(IllegalArgumentException.class, () -> NativeDatagram.unixSend(a, data, 0, 1, "a\0b".getBytes()));
        rejects(NullPointerException.class, () -> NativeDatagram.unixConnect(a, null));
        assertEquals(0, Native.poll(b, Native.POLLIN, 200), "a datagram reached the peer");
    }

    @Test
    void badReceivesThrowAndTakeNothing() throws IOException {
        assertEquals(3, NativeDatagram.unixSend(a, new byte[] {1, 2, 3}, 0, 3, null));
        byte[] buf = new byte[8];
        byte[] sender = new byte[NativeDatagram.UNIX_SENDER_LEN];
        rejects(NullPointerException.class, () -> NativeDatagram.unixReceive(b, null, null, 0, 8, sender, false));
        rejects(NullPointerException.class, () -> NativeDatagram.unixReceive(b, null, buf, 0, 8, null, false));
        rejects(ArrayIndexOutOfBoundsException.class,
                () -> NativeDatagram.unixReceive(b, null, buf, 0, 8, new byte[NativeDatagram.UNIX_SENDER_LEN - 1], false));
        rejects(ArrayIndexOutOfBoundsException.class, () -> NativeDatagram.unixReceive(b, null, buf, 4, 8, sender, false));
        if (NativeDatagram.PACKET_FIELDS) {
            // a negative room means the packet's buffer: there must be a packet
            rejects(NullPointerException.class, () -> NativeDatagram.unixReceive(b, null, buf, 0, -1, sender, false));
            // and its buffer length is checked against the array given
            DatagramPacket p = new DatagramPacket(new byte[64], 64);
            rejects(ArrayIndexOutOfBoundsException.class, () -> NativeDatagram.unixReceive(b, p, buf, 0, -1, sender, false));
        }
        // the datagram is still there, whole
        assertEquals(3, NativeDatagram.unixReceive(b, null, buf, 0, 8, sender, false));
        assertEquals(1, sender[0], "an unnamed sender: one kind byte");
        assertEquals(0, sender[1]);
    }
}
