package io.rustsocket;

import static io.rustsocket.TestSupport.assertSocketException;
import static io.rustsocket.TestSupport.async;
import static io.rustsocket.TestSupport.await;
import static io.rustsocket.TestSupport.eventually;
import static io.rustsocket.TestSupport.failureOf;
import static io.rustsocket.TestSupport.processFdCount;
import static io.rustsocket.TestSupport.readExactly;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.TestSupport.Pair;
import io.rustsocket.internal.Descriptors;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.NonReadableChannelException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code RustSocket.sendFile}: bytes intact for every range, the arguments of
 * {@code FileChannel.transferTo}, and on the socket's side exactly the behaviour of a write
 * (state exceptions compared with the JDK's {@code getOutputStream().write}, close from another
 * thread, peer reset, no interleaving with other writers, virtual threads), with no descriptor
 * left behind.
 */
class SendFileTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);
    private static final int FILE_SIZE = 3 * 1024 * 1024 + 12_345;

    private static Path dir;
    private static Path file;
    private static byte[] content;

    @BeforeAll
    static void makeFile() throws IOException {
        dir = Files.createTempDirectory("rustsocket-sendfile-test");
        content = TestSupport.randomBytes(FILE_SIZE);
        file = Files.write(dir.resolve("data.bin"), content);
    }

    @AfterAll
    static void removeFile() throws IOException {
        try (java.util.stream.Stream<Path> entries = Files.list(dir)) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    private static RustSocket rust(Socket s) {
        return (RustSocket) s;
    }

    /** Reads {@code n} bytes on a daemon thread, so that a sender can block meanwhile. */
    private static FutureTask<byte[]> reader(Socket s, int n) {
        return async("reader", () -> readExactly(s.getInputStream(), n));
    }

    // ------------------------------------------------------------------ bytes and arguments

    @Test
    void theWholeFileArrivesIntactAndNoDescriptorIsLeft() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            int fds = processFdCount();
            int open = Descriptors.openCount();
            try (Pair p = new Pair(Engine.RUST)) {
                FutureTask<byte[]> got = reader(p.server, FILE_SIZE);
                assertEquals(FILE_SIZE, rust(p.client).sendFile(file, 0, FILE_SIZE));
                assertArrayEquals(content, await(got, 10_000));
            }
            assertTrue(eventually(() -> processFdCount() <= fds), "descriptors: " + processFdCount() + ", baseline " + fds);
            assertTrue(Descriptors.openCount() <= open);
        });
    }

    @ParameterizedTest(name = "position {0}")
    @ValueSource(longs = {0, 1, 4095, 4096, 1_000_003, FILE_SIZE - 1})
    void aRangeArrivesIntactAndTheChannelPositionIsUntouched(long position) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            int count = (int) Math.min(1_500_000, FILE_SIZE - position);
            try (Pair p = new Pair(Engine.RUST); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                ch.position(7);
                FutureTask<byte[]> got = reader(p.server, count);
                assertEquals(count, rust(p.client).sendFile(ch, position, count));
                assertArrayEquals(Arrays.copyOfRange(content, (int) position, (int) position + count), await(got, 10_000));
                assertEquals(7, ch.position());
            }
        });
    }

    @Test
    void sendingStopsAtTheEndOfTheFile() throws Exception {
        try (Pair p = new Pair(Engine.RUST)) {
            RustSocket s = rust(p.client);
            assertEquals(0, s.sendFile(file, FILE_SIZE, 10));
            assertEquals(0, s.sendFile(file, FILE_SIZE + 1_000_000L, 10));
            assertEquals(0, s.sendFile(file, Long.MAX_VALUE, Long.MAX_VALUE));
            assertEquals(0, s.sendFile(file, 5, 0));
            assertEquals(100, s.sendFile(file, FILE_SIZE - 100, 1L << 40));
            assertEquals(100, s.sendFile(file, FILE_SIZE - 100, Long.MAX_VALUE));
            p.client.shutdownOutput();
            byte[] tail = Arrays.copyOfRange(content, FILE_SIZE - 100, FILE_SIZE);
            byte[] expected = new byte[200];
            System.arraycopy(tail, 0, expected, 0, 100);
            System.arraycopy(tail, 0, expected, 100, 100);
            assertArrayEquals(expected, p.server.getInputStream().readAllBytes());
        }
    }

    @Test
    void negativeArgumentsAndNullAreRejected() throws Exception {
        try (Pair p = new Pair(Engine.RUST); FileChannel ch = FileChannel.open(file)) {
            RustSocket s = rust(p.client);
            assertThrowsExactly(IllegalArgumentException.class, () -> s.sendFile(file, -1, 10));
            assertThrowsExactly(IllegalArgumentException.class, () -> s.sendFile(file, 0, -1));
            assertThrowsExactly(IllegalArgumentException.class, () -> s.sendFile(ch, -1, 10));
            assertThrowsExactly(IllegalArgumentException.class, () -> s.sendFile(ch, 0, Long.MIN_VALUE));
            assertThrowsExactly(NullPointerException.class, () -> s.sendFile((Path) null, 0, 1));
            assertThrowsExactly(NullPointerException.class, () -> s.sendFile((FileChannel) null, 0, 1));
            // the JDK's transferTo rejects the same arguments the same way
            assertThrowsExactly(IllegalArgumentException.class,
                    () -> ch.transferTo(-1, 10, Channels.newChannel(OutputStream.nullOutputStream())));
        }
    }

    @Test
    void aClosedOrWriteOnlyChannelFailsAsTransferToDoes() throws Exception {
        try (Pair p = new Pair(Engine.RUST)) {
            RustSocket s = rust(p.client);
            FileChannel closed = FileChannel.open(file);
            closed.close();
            assertThrowsExactly(ClosedChannelException.class, () -> s.sendFile(closed, 0, 10));
            assertThrowsExactly(ClosedChannelException.class,
                    () -> closed.transferTo(0, 10, Channels.newChannel(OutputStream.nullOutputStream())));
            Path scratch = Files.createTempFile(dir, "write-only", ".bin");
            try (FileChannel writeOnly = FileChannel.open(scratch, StandardOpenOption.WRITE)) {
                assertThrowsExactly(NonReadableChannelException.class, () -> s.sendFile(writeOnly, 0, 10));
                assertThrowsExactly(NonReadableChannelException.class,
                        () -> writeOnly.transferTo(0, 10, Channels.newChannel(OutputStream.nullOutputStream())));
            }
            assertThrowsExactly(NoSuchFileException.class, () -> s.sendFile(dir.resolve("missing"), 0, 10));
            // the socket is still fine
            assertEquals(10, s.sendFile(file, 0, 10));
            assertArrayEquals(Arrays.copyOf(content, 10), readExactly(p.server.getInputStream(), 10));
        }
    }

    @Test
    void channelsOfEveryJdkKindAreSentWithoutCopying() throws Exception {
        try (Pair p = new Pair(Engine.RUST);
             RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r");
             java.io.FileInputStream fis = new java.io.FileInputStream(file.toFile())) {
            RustSocket s = rust(p.client);
            assertEquals(1000, s.sendFile(raf.getChannel(), 10, 1000));
            assertEquals(1000, s.sendFile(fis.getChannel(), 20, 1000));
            byte[] got = readExactly(p.server.getInputStream(), 2000);
            assertArrayEquals(Arrays.copyOfRange(content, 10, 1010), Arrays.copyOf(got, 1000));
            assertArrayEquals(Arrays.copyOfRange(content, 20, 1020), Arrays.copyOfRange(got, 1000, 2000));
            assertEquals(0, fis.getChannel().position());
        }
    }

    /** Bytes the current thread allocated on the heap while running {@code body}. */
    private static long allocatedBy(IoRunnable body) throws IOException {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(id);
        body.run();
        return threads.getThreadAllocatedBytes(id) - before;
    }

    /** A body that may throw IOException. */
    private interface IoRunnable {
        void run() throws IOException;
    }

    @Test
    void theJdksOwnChannelsAreSentWithoutAHeapCopy() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(io.rustsocket.internal.Platform.zeroCopySendFile(),
                "no zero-copy sendfile on this system: every file is copied");
        assertTimeoutPreemptively(LIMIT, () -> {
            Path zip = dir.resolve("heap-check.zip");
            try (Pair p = new Pair(Engine.RUST);
                 FileSystem zipfs = FileSystems.newFileSystem(URI.create("jar:" + zip.toUri()),
                         Collections.singletonMap("create", "true"));
                 RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r");
                 java.io.FileInputStream fis = new java.io.FileInputStream(file.toFile());
                 FileChannel opened = FileChannel.open(file)) {
                Path inside = Files.write(zipfs.getPath("/inside.bin"), Arrays.copyOf(content, 1 << 20));
                RustSocket s = rust(p.client);
                FutureTask<byte[]> drained = reader(p.server, 5 * FILE_SIZE + 2 * (1 << 20));
                s.sendFile(file, 0, FILE_SIZE); // warm-up: classes load, the JIT starts
                s.sendFile(inside, 0, 1 << 20);
                long viaPath = allocatedBy(() -> s.sendFile(file, 0, FILE_SIZE));
                long viaOpen = allocatedBy(() -> s.sendFile(opened, 0, FILE_SIZE));
                long viaRaf = allocatedBy(() -> s.sendFile(raf.getChannel(), 0, FILE_SIZE));
                long viaStream = allocatedBy(() -> s.sendFile(fis.getChannel(), 0, FILE_SIZE));
                // the copying fallback, for contrast: proves the measurement sees a heap buffer
                long viaZip = allocatedBy(() -> s.sendFile(inside, 0, 1 << 20));
                await(drained, 10_000);
                String all = "path " + viaPath + ", FileChannel.open " + viaOpen + ", RandomAccessFile " + viaRaf
                        + ", FileInputStream " + viaStream + ", zip (copied) " + viaZip + " bytes allocated";
                // a few KiB at most for objects (path, channel); 3 MiB would have been copied through the heap
                for (long allocated : new long[] {viaPath, viaOpen, viaRaf, viaStream}) {
                    assertTrue(allocated < 64 * 1024, all);
                }
                assertTrue(viaZip >= 128 * 1024, all);
                System.out.println("SendFileTest: " + all);
            }
        });
    }

    @Test
    void aFileOnAnotherFileSystemIsCopiedIntact() throws Exception {
        Path zip = dir.resolve("archive.zip");
        try (FileSystem zipfs = FileSystems.newFileSystem(URI.create("jar:" + zip.toUri()),
                Collections.singletonMap("create", "true"))) {
            Path inside = zipfs.getPath("/inside.bin");
            Files.write(inside, Arrays.copyOf(content, 300_000));
            try (Pair p = new Pair(Engine.RUST)) {
                FutureTask<byte[]> got = reader(p.server, 200_000);
                assertEquals(200_000, rust(p.client).sendFile(inside, 50_000, 200_000));
                assertArrayEquals(Arrays.copyOfRange(content, 50_000, 250_000), await(got, 10_000));
            }
        }
    }

    @Test
    void aDirectoryFailsAsReadingItDoes() throws Exception {
        try (Pair p = new Pair(Engine.RUST)) {
            // Unix opens a channel on a directory and fails the read; Windows fails the open
            IOException expected;
            try (FileChannel ch = FileChannel.open(dir)) {
                expected = assertThrows(IOException.class, () -> ch.read(ByteBuffer.allocate(10), 0));
            } catch (IOException opening) {
                expected = opening;
            }
            IOException e = assertThrows(IOException.class, () -> rust(p.client).sendFile(dir, 0, 10));
            assertEquals(expected.getClass(), e.getClass());
            assertEquals(expected.getMessage(), e.getMessage());
        }
    }

    // ------------------------------------------------------------------ the socket's side: a write

    /** Socket states in which a write fails before it starts. */
    enum State { UNCONNECTED, CLOSED, OUTPUT_SHUT_DOWN, CLOSED_AFTER_CONNECT }

    private static Socket inState(Engine engine, State state, ServerSocket listener) throws IOException {
        Socket s = engine.socket();
        if (state == State.UNCONNECTED || state == State.CLOSED) {
            if (state == State.CLOSED) {
                s.close();
            }
            return s;
        }
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()));
        if (state == State.OUTPUT_SHUT_DOWN) {
            s.shutdownOutput();
        } else {
            s.close();
        }
        return s;
    }

    @ParameterizedTest
    @EnumSource(State.class)
    void aSocketThatCannotWriteFailsWithTheJdkWriteException(State state) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Socket jdk = inState(Engine.JDK, state, listener);
            Socket ours = inState(Engine.RUST, state, listener);
            try {
                IOException expected = assertThrows(IOException.class, () -> jdk.getOutputStream().write(1));
                IOException e = assertThrows(IOException.class, () -> rust(ours).sendFile(file, 0, 10));
                assertEquals(expected.getClass(), e.getClass(), "class; got " + e);
                assertEquals(expected.getMessage(), e.getMessage());
                IOException viaChannel = assertThrows(IOException.class, () -> {
                    try (FileChannel ch = FileChannel.open(file)) {
                        rust(ours).sendFile(ch, 0, 10);
                    }
                });
                assertEquals(expected.getMessage(), viaChannel.getMessage());
            } finally {
                jdk.close();
                ours.close();
            }
        }
    }

    /** Starts a sendFile of the whole file (8 MiB more than fits in loopback buffers) to a peer that does not read. */
    private static FutureTask<Long> blockedSender(RustSocket s, Path big) throws InterruptedException {
        FutureTask<Long> sender = async("sender", () -> s.sendFile(big, 0, Files.size(big)));
        Thread.sleep(300);
        assertFalse(sender.isDone(), "sendFile finished with the peer not reading: " + TestSupport.describe(sender));
        return sender;
    }

    private static Path bigFile() throws IOException {
        Path big = dir.resolve("big.bin");
        if (!Files.exists(big)) {
            try (FileChannel ch = FileChannel.open(big, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ByteBuffer chunk = ByteBuffer.wrap(content);
                for (int i = 0; i < 24; i++) { // 72 MiB, more than any loopback buffers hold
                    chunk.rewind();
                    while (chunk.hasRemaining()) {
                        ch.write(chunk);
                    }
                }
            }
        }
        return big;
    }

    @ParameterizedTest(name = "non-blocking descriptor: {0}")
    @ValueSource(booleans = {false, true})
    void closeFromAnotherThreadWakesABlockedSendWithSocketClosed(boolean nonBlocking) throws Exception {
        Path big = bigFile();
        assertTimeoutPreemptively(LIMIT, () -> {
            int fds = processFdCount();
            try (Pair p = new Pair(Engine.RUST)) {
                if (nonBlocking) {
                    // a timed read leaves the descriptor non-blocking: sendfile then waits in poll
                    p.client.setSoTimeout(10);
                    assertThrowsExactly(SocketTimeoutException.class, () -> p.client.getInputStream().read());
                }
                FutureTask<Long> sender = blockedSender(rust(p.client), big);
                long start = System.nanoTime();
                p.client.close();
                assertSocketException(failureOf(sender, 5_000), "Socket closed");
                assertTrue(System.nanoTime() - start < 5_000_000_000L);
                assertTrue(p.client.isClosed());
            }
            assertTrue(eventually(() -> processFdCount() <= fds), "descriptors: " + processFdCount() + ", baseline " + fds);
        });
    }

    @Test
    void aPeerResetFailsTheSendAsItFailsAWrite() throws Exception {
        Path big = bigFile();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(Engine.RUST)) {
                FutureTask<Long> sender = blockedSender(rust(p.client), big);
                p.server.setSoLinger(true, 0);
                p.server.close(); // RST
                Throwable t = failureOf(sender, 5_000);
                assertEquals(SocketException.class, t.getClass(), "got " + t);
                assertTrue(t.getMessage().equals("Connection reset by peer") || t.getMessage().equals("Broken pipe"),
                        t.getMessage());
                // and again on the next call, without a signal killing the JVM
                IOException again = assertThrows(IOException.class, () -> rust(p.client).sendFile(file, 0, FILE_SIZE));
                assertEquals(SocketException.class, again.getClass(), "got " + again);
            }
        });
    }

    @Test
    void aConcurrentWriteNeverLandsInsideTheFile() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            byte[] marker = new byte[256 * 1024];
            Arrays.fill(marker, (byte) 0x5a);
            try (Pair p = new Pair(Engine.RUST)) {
                FutureTask<byte[]> got = reader(p.server, FILE_SIZE + marker.length);
                CountDownLatch go = new CountDownLatch(1);
                FutureTask<Long> sender = async("sender", () -> {
                    go.await();
                    return rust(p.client).sendFile(file, 0, FILE_SIZE);
                });
                FutureTask<Void> writer = async("writer", () -> {
                    go.await();
                    p.client.getOutputStream().write(marker);
                    return null;
                });
                go.countDown();
                assertEquals(FILE_SIZE, (long) await(sender, 10_000));
                await(writer, 10_000);
                byte[] all = await(got, 10_000);
                boolean markerFirst = all[0] == 0x5a && Arrays.equals(Arrays.copyOf(all, marker.length), marker)
                        && Arrays.equals(Arrays.copyOfRange(all, marker.length, all.length), content);
                boolean fileFirst = Arrays.equals(Arrays.copyOf(all, FILE_SIZE), content)
                        && Arrays.equals(Arrays.copyOfRange(all, FILE_SIZE, all.length), marker);
                assertTrue(markerFirst || fileFirst, "the write landed inside the file's bytes");
            }
        });
    }

    @Test
    void manySendsOpenAndCloseTheirFilesAndLeaveNoDescriptor() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(Engine.RUST)) {
                int fds = processFdCount();
                FutureTask<byte[]> got = reader(p.server, 500 * 1000);
                for (int i = 0; i < 500; i++) {
                    assertEquals(1000, rust(p.client).sendFile(file, i, 1000));
                    assertThrows(NoSuchFileException.class, () -> rust(p.client).sendFile(dir.resolve("none"), 0, 1));
                }
                byte[] all = await(got, 10_000);
                assertArrayEquals(Arrays.copyOfRange(content, 499, 1499), Arrays.copyOfRange(all, 499_000, 500_000));
                assertTrue(eventually(() -> processFdCount() <= fds), "descriptors: " + processFdCount() + ", baseline " + fds);
            }
        });
    }

    // ------------------------------------------------------------------ virtual threads (JDK 21+)

    @Test
    void onAVirtualThreadASendParksAndCloseWakesIt() throws Exception {
        Assumptions.assumeTrue(Virtual.AVAILABLE, "no virtual threads on this JDK");
        Path big = bigFile();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(Engine.RUST)) {
                // bytes intact from a virtual thread (the descriptor is non-blocking there)
                AtomicReference<Object> outcome = new AtomicReference<>();
                FutureTask<byte[]> got = reader(p.server, FILE_SIZE);
                Thread t = Virtual.unstarted("vsender", () -> outcome.set(sendOrFailure(p.client, file, FILE_SIZE)));
                t.start();
                assertArrayEquals(content, await(got, 10_000));
                t.join(10_000);
                assertEquals((long) FILE_SIZE, outcome.get());
                // a send that must wait parks; close wakes it with the write's exception
                outcome.set(null);
                long size = Files.size(big);
                Thread blocked = Virtual.unstarted("vblocked",
                        () -> outcome.set(sendOrFailure(p.client, big, size)));
                blocked.start();
                Thread.sleep(300);
                assertTrue(blocked.isAlive(), "send finished with the peer not reading: " + outcome.get());
                p.client.close();
                blocked.join(5_000);
                assertFalse(blocked.isAlive());
                assertSocketException((Throwable) outcome.get(), "Socket closed");
            }
        });
    }

    @Test
    void interruptingAVirtualThreadInASendClosesTheSocket() throws Exception {
        Assumptions.assumeTrue(Virtual.AVAILABLE, "no virtual threads on this JDK");
        Path big = bigFile();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(Engine.RUST)) {
                AtomicReference<Object> outcome = new AtomicReference<>();
                long size = Files.size(big);
                Thread blocked = Virtual.unstarted("vblocked",
                        () -> outcome.set(sendOrFailure(p.client, big, size)));
                blocked.start();
                Thread.sleep(300);
                assertTrue(blocked.isAlive());
                blocked.interrupt();
                blocked.join(5_000);
                assertFalse(blocked.isAlive());
                assertSocketException((Throwable) outcome.get(), "Closed by interrupt");
                assertTrue(p.client.isClosed());
            }
        });
    }

    private static Object sendOrFailure(Socket s, Path f, long count) {
        try {
            return rust(s).sendFile(f, 0, count);
        } catch (IOException | RuntimeException e) {
            return e;
        }
    }
}
