package io.rustsocket.internal;

import static io.rustsocket.internal.NativeBoundaryTest.rejects;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketImpl;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The descriptor-passing natives called directly with hostile arguments, as a buggy caller
 * inside the JVM could: each gets the standard Java exception from the native side itself,
 * nothing reaches the peer, nothing is consumed, and no descriptor is left open.
 */
class DescriptorPassingBoundaryTest {
    @TempDir
    Path dir;

    // a connected Unix pair on raw descriptors
    private int a = -1;
    private int b = -1;

    @BeforeEach
    void pair() throws IOException {
        assumeTrue(Platform.descriptorPassing(), "no descriptor passing on " + Platform.NAME);
        int[] p = new int[2];
        Native.unixPair(false, p);
        a = p[0];
        b = p[1];
        Native.configureBlocking(b, false);
    }

    @AfterEach
    void close() {
        for (int fd : new int[] {a, b}) {
            if (fd >= 0) {
                Native.close(fd);
            }
        }
    }

    private void nothingArrived() throws IOException {
        assertEquals(0, Native.poll(b, Native.POLLIN, 100), "bytes reached the peer");
    }

    private static int[] out() {
        return new int[Native.RECEIVED_HEADER + Native.MAX_PASSED_DESCRIPTORS];
    }

    @Test
    void writesWithBadArgumentsThrowAndSendNothing() throws IOException {
        byte[] x = {1, 2, 3};
        int[] fds = {0};
        rejects(NullPointerException.class, () -> Native.unixWriteWithDescriptors(a, null, 0, 1, fds, 1));
        rejects(NullPointerException.class, () -> Native.unixWriteWithDescriptors(a, x, 0, 1, null, 0));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.unixWriteWithDescriptors(a, x, 2, 2, fds, 1));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.unixWriteWithDescriptors(a, x, -1, 1, fds, 1));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.unixWriteWithDescriptors(a, x, 0, 1, fds, 2));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.unixWriteWithDescriptors(a, x, 0, 1, fds, -1));
        rejects(IllegalArgumentException.class, () -> Native.unixWriteWithDescriptors(a, x, 0, 1, new int[254], 254));
        rejects(IllegalArgumentException.class, () -> Native.unixWriteWithDescriptors(a, x, 0, 0, fds, 1));
        rejects(IllegalArgumentException.class, () -> Native.unixWriteWithDescriptors(a, x, 0, 1, new int[] {-7}, 1));
        // a number that is no open descriptor: the kernel refuses the whole message
        rejects(java.net.SocketException.class,
                () -> Native.unixWriteWithDescriptors(a, x, 0, 1, new int[] {1_000_000}, 1));
        nothingArrived();
    }

    @Test
    void aReadWithNoRoomForTheDescriptorsConsumesNothing() throws IOException {
        byte[] got = new byte[4];
        int[] fds = {Native.duplicate(a)};
        try {
            assertEquals(1, Native.unixWriteWithDescriptors(a, new byte[] {9}, 0, 1, fds, 1));
        } finally {
            Native.close(fds[0]);
        }
        assertTrue(Native.poll(b, Native.POLLIN, 5000) != 0);
        rejects(NullPointerException.class, () -> Native.unixReadWithDescriptors(b, got, 0, 4, null));
        rejects(ArrayIndexOutOfBoundsException.class,
                () -> Native.unixReadWithDescriptors(b, got, 0, 4, new int[Native.MAX_PASSED_DESCRIPTORS]));
        rejects(NullPointerException.class, () -> Native.unixReadWithDescriptors(b, null, 0, 4, out()));
        rejects(ArrayIndexOutOfBoundsException.class, () -> Native.unixReadWithDescriptors(b, got, 3, 4, out()));
        assertEquals(1, Native.available(b), "the byte, and its descriptor, are still queued");
        int[] out = out();
        assertEquals(1, Native.unixReadWithDescriptors(b, got, 0, 4, out));
        assertEquals(9, got[0]);
        assertEquals(1, out[0]);
        assertEquals(0, out[1]);
        Native.close(out[Native.RECEIVED_HEADER]);
    }

    @Test
    void fileDescriptorsAreReadAndMadeWithChecks() throws Exception {
        rejects(IllegalArgumentException.class, () -> Native.newFileDescriptor(-1));
        rejects(NullPointerException.class, () -> Native.duplicateDescriptor(null));
        rejects(IllegalArgumentException.class, () -> Native.duplicateDescriptor(new FileDescriptor()));
        rejects(IllegalArgumentException.class, () -> Native.duplicate(-5));
        IllegalArgumentException e = rejects(IllegalArgumentException.class, () -> Native.duplicate(1_000_000));
        assertEquals("descriptor 1000000 is not open", e.getMessage());
        // a FileDescriptor holding a number nobody opened: refused, not sent
        FileDescriptor stale = Native.newFileDescriptor(1_000_001);
        e = rejects(IllegalArgumentException.class, () -> Native.duplicateDescriptor(stale));
        assertEquals("descriptor 1000001 is not open", e.getMessage());
        DescriptorInbox.closeQuietly(stale); // drops its cleaner, which would close that number
        // one made here is the JDK's to read and close
        Path path = Files.writeString(dir.resolve("made.txt"), "made");
        int raw;
        try (FileInputStream in = new FileInputStream(path.toFile())) {
            raw = Native.duplicateDescriptor(in.getFD());
        }
        FileDescriptor made = Native.newFileDescriptor(raw);
        assertTrue(made.valid());
        try (InputStream in = new FileInputStream(made)) {
            assertEquals("made", new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII));
        }
        assertFalse(made.valid(), "the stream's close closed it");
    }

    @Test
    void objectsWithoutAReachableDescriptorGiveNone() throws IOException {
        rejects(NullPointerException.class, () -> Native.channelDescriptor(null));
        ReadableByteChannel foreign = new ReadableByteChannel() {
            @Override
            public int read(ByteBuffer dst) {
                return -1;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {}
        };
        assertEquals(Native.NO_DESCRIPTOR, Native.channelDescriptor(foreign));
        rejects(NullPointerException.class, () -> Native.socketImpl(null));
        assertNull(Native.socketImpl("not a socket"));
        rejects(NullPointerException.class, () -> Native.socketImplDescriptor(null));
        SocketImpl empty = new SocketImpl() {
            @Override protected void create(boolean stream) {}
            @Override protected void connect(String host, int port) {}
            @Override protected void connect(java.net.InetAddress address, int port) {}
            @Override protected void connect(java.net.SocketAddress address, int timeout) {}
            @Override protected void bind(java.net.InetAddress host, int port) {}
            @Override protected void listen(int backlog) {}
            @Override protected void accept(SocketImpl s) {}
            @Override protected InputStream getInputStream() {
                return InputStream.nullInputStream();
            }
            @Override protected OutputStream getOutputStream() {
                return OutputStream.nullOutputStream();
            }
            @Override protected int available() {
                return 0;
            }
            @Override protected void close() {}
            @Override protected void sendUrgentData(int data) {}
            @Override public void setOption(int optID, Object value) {}
            @Override public Object getOption(int optID) {
                return null;
            }
        };
        assertEquals(Native.NO_DESCRIPTOR, Native.socketImplDescriptor(empty));
    }

    @Test
    void onlyConnectedUnixStreamSocketsAreAdopted() throws IOException {
        rejects(java.net.SocketException.class, () -> Native.adoptSocket(-1));
        Path path = Files.writeString(dir.resolve("adopt.txt"), "a");
        try (FileInputStream in = new FileInputStream(path.toFile())) {
            int copy = Native.duplicateDescriptor(in.getFD());
            try {
                rejects(IllegalArgumentException.class, () -> Native.adoptSocket(copy));
            } finally {
                Native.close(copy);
            }
        }
        int tcp = Native.socket(false);
        try {
            rejects(UnsupportedOperationException.class, () -> Native.adoptSocket(tcp));
        } finally {
            Native.close(tcp);
        }
    }
}
