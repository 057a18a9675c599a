package io.rustsocket;

import static io.rustsocket.TestSupport.async;
import static io.rustsocket.TestSupport.asyncStarted;
import static io.rustsocket.TestSupport.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.rustsocket.TestSupport.Pair;
import io.rustsocket.internal.RustSocketImpl;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Socket streams: data integrity, EOF, argument checks, available(), stream identity and
 * close-through-stream, half-close in both directions, and atomicity of concurrent writes.
 * Every JDK behaviour is pinned on both engines: the JDK row proves the expectation.
 */
class StreamsTest {
    private static final Duration LIMIT = Duration.ofSeconds(10);

    // ------------------------------------------------------------------ helpers

    /** Sends {@code data} from {@code from} and reads it back on {@code to}, writing on another thread. */
    private static void transfer(Socket from, Socket to, byte[] data) throws Exception {
        OutputStream out = from.getOutputStream();
        FutureTask<Void> writer = async("writer", () -> {
            out.write(data);
            out.flush();
            return null;
        });
        byte[] got = TestSupport.readExactly(to.getInputStream(), data.length);
        await(writer, 5_000);
        assertArrayEquals(data, got, "bytes arrived altered");
        assertEquals(0, to.getInputStream().available(), "extra bytes arrived");
    }

    static Stream<Arguments> enginesAndSizes() {
        int[] sizes = {1, 2, 1000, 65_536, 128 * 1024 + 1, 1 << 20, 4 << 20};
        List<Arguments> args = new ArrayList<>();
        for (Engine e : Engine.values()) {
            for (int size : sizes) {
                args.add(Arguments.of(e, size));
            }
        }
        return args.stream();
    }

    // ------------------------------------------------------------------ data integrity

    @ParameterizedTest(name = "{0} {1} bytes")
    @MethodSource("enginesAndSizes")
    void bytesArriveIntactBothWays(Engine engine, int size) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                transfer(p.client, p.server, TestSupport.randomBytes(size));
                transfer(p.server, p.client, TestSupport.randomBytes(size));
            }
        });
    }

    @ParameterizedTest(name = "client {0}, server {1}")
    @MethodSource("crossEngines")
    void bytesArriveIntactBetweenEngines(Engine clientEngine, Engine serverEngine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(clientEngine, serverEngine)) {
                transfer(p.client, p.server, TestSupport.randomBytes(1 << 20));
                transfer(p.server, p.client, TestSupport.randomBytes(1 << 20));
            }
        });
    }

    static Stream<Arguments> crossEngines() {
        return Stream.of(Arguments.of(Engine.RUST, Engine.JDK), Arguments.of(Engine.JDK, Engine.RUST));
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void fullDuplexSimultaneousTransfer(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                byte[] a = TestSupport.randomBytes(2 << 20);
                byte[] b = TestSupport.randomBytes(2 << 20);
                // both sides write a lot at once: only works if a blocked write does not stop reads
                FutureTask<Void> w1 = async("w1", () -> {
                    p.client.getOutputStream().write(a);
                    return null;
                });
                FutureTask<Void> w2 = async("w2", () -> {
                    p.server.getOutputStream().write(b);
                    return null;
                });
                FutureTask<byte[]> r1 = async("r1", () -> TestSupport.readExactly(p.server.getInputStream(), a.length));
                byte[] gotB = TestSupport.readExactly(p.client.getInputStream(), b.length);
                assertArrayEquals(a, await(r1, 5_000));
                assertArrayEquals(b, gotB);
                await(w1, 5_000);
                await(w2, 5_000);
            }
        });
    }

    // ------------------------------------------------------------------ EOF

    @ParameterizedTest
    @EnumSource(Engine.class)
    void readReturnsMinusOneAtEofAndKeepsReturningIt(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                p.server.getOutputStream().write(new byte[] {7, 8, 9});
                p.server.close();
                InputStream in = p.client.getInputStream();
                assertArrayEquals(new byte[] {7, 8, 9}, TestSupport.readExactly(in, 3));
                byte[] buf = new byte[16];
                assertEquals(-1, in.read(buf));
                assertEquals(-1, in.read());
                assertEquals(-1, in.read(buf, 3, 5));
                for (int i = 0; i < 5; i++) {
                    assertEquals(-1, in.read(buf), "read #" + i + " after EOF");
                    assertEquals(-1, in.read(), "read() #" + i + " after EOF");
                }
                assertEquals(0, in.available());
                assertFalse(p.client.isClosed());
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void readAfterEofStillReturnsMinusOneOnceClosed(Engine engine) {
        // JDK ("emulate legacy behavior"): once a read saw EOF, reads return -1 even after close
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                p.server.shutdownOutput();
                InputStream in = p.client.getInputStream();
                assertEquals(-1, in.read());
                p.client.close();
                assertEquals(-1, in.read());
                assertEquals(-1, in.read(new byte[4]));
            }
        });
    }

    // ------------------------------------------------------------------ argument checks

    @ParameterizedTest
    @EnumSource(Engine.class)
    void readArgumentChecks(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                InputStream in = p.client.getInputStream();
                byte[] b = new byte[10];
                assertThrowsExactly(NullPointerException.class, () -> in.read(null));
                assertThrowsExactly(NullPointerException.class, () -> in.read(null, 0, 1));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> in.read(b, -1, 1));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> in.read(b, 0, -1));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> in.read(b, 0, 11));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> in.read(b, 5, 6));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> in.read(b, 11, 0));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> in.read(b, Integer.MAX_VALUE, 1));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> in.read(b, 1, Integer.MAX_VALUE));
                // len == 0 returns at once, with nothing to read
                assertEquals(0, in.read(b, 0, 0));
                assertEquals(0, in.read(b, 10, 0));
                assertEquals(0, in.read(new byte[0]));
                // the socket is still fine after all that
                p.server.getOutputStream().write(42);
                assertEquals(42, in.read());
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void writeArgumentChecks(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                OutputStream out = p.client.getOutputStream();
                byte[] b = new byte[10];
                assertThrowsExactly(NullPointerException.class, () -> out.write(null));
                assertThrowsExactly(NullPointerException.class, () -> out.write(null, 0, 1));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> out.write(b, -1, 1));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> out.write(b, 0, -1));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> out.write(b, 0, 11));
                assertThrowsExactly(IndexOutOfBoundsException.class, () -> out.write(b, 5, 6));
                out.write(b, 10, 0);
                out.write(new byte[0]);
                out.write(new byte[] {1, 2, 3, 4, 5}, 1, 3);
                assertArrayEquals(new byte[] {2, 3, 4}, TestSupport.readExactly(p.server.getInputStream(), 3));
                assertEquals(0, p.server.getInputStream().available(), "a rejected write sent bytes");
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void zeroLengthReadAfterCloseReturnsZero(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                InputStream in = p.client.getInputStream();
                p.client.close();
                assertEquals(0, in.read(new byte[4], 0, 0));
            }
        });
    }

    // ------------------------------------------------------------------ available

    @ParameterizedTest
    @EnumSource(Engine.class)
    void availableReportsBufferedBytes(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                InputStream in = p.client.getInputStream();
                assertEquals(0, in.available());
                byte[] data = TestSupport.randomBytes(1234);
                p.server.getOutputStream().write(data);
                assertTrue(TestSupport.eventually(() -> {
                    try {
                        return in.available() == 1234;
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                }), "available() never reached 1234");
                assertEquals(1234, in.available());
                assertArrayEquals(Arrays.copyOf(data, 234), TestSupport.readExactly(in, 234));
                assertEquals(1000, in.available());
                p.client.shutdownInput();
                assertEquals(0, in.available(), "available() after shutdownInput");
                assertEquals(-1, in.read());
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void availableAfterCloseThrows(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                InputStream in = p.client.getInputStream();
                p.client.close();
                SocketException e = assertThrowsExactly(SocketException.class, in::available);
                assertEquals("Socket closed", e.getMessage());
            }
        });
    }

    // ------------------------------------------------------------------ stream identity and close

    @ParameterizedTest
    @EnumSource(Engine.class)
    void streamsAreTheSameObjectEachCall(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                for (Socket s : new Socket[] {p.client, p.server}) {
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    assertNotNull(in);
                    assertNotNull(out);
                    for (int i = 0; i < 3; i++) {
                        assertSame(in, s.getInputStream());
                        assertSame(out, s.getOutputStream());
                    }
                }
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void closingInputStreamClosesSocket(Engine engine) {
        assertClosingAStreamClosesSocket(engine, true);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void closingOutputStreamClosesSocket(Engine engine) {
        assertClosingAStreamClosesSocket(engine, false);
    }

    /**
     * Closing the client's input stream (or, if not {@code input}, its output stream) closes the
     * socket: both streams then refuse, and the peer sees EOF.
     */
    private static void assertClosingAStreamClosesSocket(Engine engine, boolean input) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                InputStream in = p.client.getInputStream();
                OutputStream out = p.client.getOutputStream();
                if (input) {
                    in.close();
                } else {
                    out.close();
                }
                assertTrue(p.client.isClosed());
                assertClosedStreams(p.client, in, out);
                // the peer sees EOF
                assertEquals(-1, p.server.getInputStream().read());
                // closing the other stream, or the socket, again is harmless
                in.close();
                out.close();
                p.client.close();
            }
        });
    }

    private static void assertClosedStreams(Socket s, InputStream in, OutputStream out) {
        SocketException e;
        e = assertThrowsExactly(SocketException.class, () -> in.read());
        assertEquals("Socket closed", e.getMessage());
        e = assertThrowsExactly(SocketException.class, () -> in.read(new byte[8]));
        assertEquals("Socket closed", e.getMessage());
        e = assertThrowsExactly(SocketException.class, () -> out.write(1));
        assertEquals("Socket closed", e.getMessage());
        e = assertThrowsExactly(SocketException.class, () -> out.write(new byte[8]));
        assertEquals("Socket closed", e.getMessage());
        e = assertThrowsExactly(SocketException.class, s::getInputStream);
        assertEquals("Socket is closed", e.getMessage());
        e = assertThrowsExactly(SocketException.class, s::getOutputStream);
        assertEquals("Socket is closed", e.getMessage());
    }

    // ------------------------------------------------------------------ shutdownInput

    @ParameterizedTest
    @EnumSource(Engine.class)
    void shutdownInputMakesReadsReturnMinusOne(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                InputStream in = p.client.getInputStream();
                p.client.shutdownInput();
                assertTrue(p.client.isInputShutdown());
                assertFalse(p.client.isOutputShutdown());
                assertEquals(-1, in.read());
                assertEquals(-1, in.read(new byte[8]));
                // data the peer sends later is not delivered
                p.server.getOutputStream().write(new byte[] {1, 2, 3});
                Thread.sleep(50);
                assertEquals(-1, in.read(new byte[8]));
                assertEquals(-1, in.read());
                SocketException e = assertThrowsExactly(SocketException.class, p.client::getInputStream);
                assertEquals("Socket input is shutdown", e.getMessage());
                // the other direction still works
                p.client.getOutputStream().write(99);
                assertEquals(99, p.server.getInputStream().read());
                // a second shutdownInput is refused by java.net.Socket
                e = assertThrowsExactly(SocketException.class, p.client::shutdownInput);
                assertEquals("Socket input is already shutdown", e.getMessage());
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void shutdownInputWakesBlockedReader(Engine engine) {
        // as the JDK's own reads there: shutdown(SD_RECEIVE) does not end a wait for data
        org.junit.jupiter.api.Assumptions.assumeFalse(TestSupport.WINDOWS, "Windows: shutdownInput does not wake a blocked read");
        assertShutdownInputWakesBlockedReader(engine, 0);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void shutdownInputWakesBlockedTimedReader(Engine engine) {
        // as the JDK's own reads there: shutdown(SD_RECEIVE) does not end a wait for data
        org.junit.jupiter.api.Assumptions.assumeFalse(TestSupport.WINDOWS, "Windows: shutdownInput does not wake a blocked read");
        assertShutdownInputWakesBlockedReader(engine, 10_000);
    }

    /** With SO_TIMEOUT {@code soTimeout} (0: none), shutdownInput() ends a blocked read with -1. */
    private static void assertShutdownInputWakesBlockedReader(Engine engine, int soTimeout) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                if (soTimeout != 0) {
                    p.client.setSoTimeout(soTimeout);
                }
                InputStream in = p.client.getInputStream();
                FutureTask<Integer> reader = asyncStarted("reader", () -> in.read(new byte[100]));
                Thread.sleep(200);
                assertFalse(reader.isDone(), "read returned with nothing to read");
                p.client.shutdownInput();
                assertEquals(-1, await(reader, 2_000));
                assertEquals(-1, in.read());
                assertFalse(p.client.isClosed());
            }
        });
    }

    // ------------------------------------------------------------------ shutdownOutput

    @ParameterizedTest
    @EnumSource(Engine.class)
    void shutdownOutputSendsFin(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                OutputStream out = p.client.getOutputStream();
                out.write(new byte[] {5, 6});
                p.client.shutdownOutput();
                assertTrue(p.client.isOutputShutdown());
                assertFalse(p.client.isInputShutdown());
                InputStream peerIn = p.server.getInputStream();
                assertArrayEquals(new byte[] {5, 6}, TestSupport.readExactly(peerIn, 2));
                assertEquals(-1, peerIn.read(), "peer did not see FIN");
                // a later write fails
                assertThrowsExactly(SocketException.class, () -> out.write(1));
                assertThrowsExactly(SocketException.class, () -> out.write(new byte[100]));
                SocketException e = assertThrowsExactly(SocketException.class, p.client::getOutputStream);
                assertEquals("Socket output is shutdown", e.getMessage());
                e = assertThrowsExactly(SocketException.class, p.client::shutdownOutput);
                assertEquals("Socket output is already shutdown", e.getMessage());
                // half-close: the peer can still send to us
                p.server.getOutputStream().write(new byte[] {1, 2, 3});
                assertArrayEquals(new byte[] {1, 2, 3}, TestSupport.readExactly(p.client.getInputStream(), 3));
                assertFalse(p.client.isClosed());
            }
        });
    }

    // ------------------------------------------------------------------ single bytes

    @ParameterizedTest
    @EnumSource(Engine.class)
    void singleByteRoundTrip(Engine engine) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                OutputStream out = p.client.getOutputStream();
                InputStream in = p.server.getInputStream();
                for (int v = 0; v < 256; v++) {
                    out.write(v);
                    assertEquals(v, in.read(), "byte " + v);
                }
                // write(int) sends the low eight bits only; read() is never negative for data
                out.write(0x1FF);
                out.write(-1);
                out.write(0x100);
                assertEquals(0xFF, in.read());
                assertEquals(0xFF, in.read());
                assertEquals(0x00, in.read());
                // and the other way round
                OutputStream back = p.server.getOutputStream();
                InputStream backIn = p.client.getInputStream();
                for (int v = 255; v >= 0; v--) {
                    back.write(v);
                }
                for (int v = 255; v >= 0; v--) {
                    assertEquals(v, backIn.read(), "byte " + v);
                }
            }
        });
    }

    // ------------------------------------------------------------------ concurrent writers

    private static final int WRITERS = 8;
    private static final int MESSAGES = 200;
    private static final int MESSAGE_SIZE = 1000;

    /** Message {@code seq} of writer {@code id}: a header then bytes derived from both. */
    private static byte[] message(int id, int seq) {
        byte[] m = new byte[MESSAGE_SIZE];
        m[0] = (byte) id;
        m[1] = (byte) (seq >> 8);
        m[2] = (byte) seq;
        for (int i = 3; i < MESSAGE_SIZE; i++) {
            m[i] = (byte) (id * 31 + seq * 7 + i);
        }
        return m;
    }

    /**
     * With {@code smallBuffers}, the send buffer is small, the reader pauses now and then and a
     * timed read has come first (the RUST engine then has a non-blocking descriptor): the kernel
     * takes most writes in several pieces, so only the write lock keeps a message contiguous.
     */
    @ParameterizedTest(name = "{0}, small send buffer: {1}")
    @MethodSource("io.rustsocket.TestSupport#enginesAndBooleans")
    void concurrentWritesAreNeverInterleaved(Engine engine, boolean smallBuffers) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                if (smallBuffers) {
                    p.client.setTcpNoDelay(true);
                    p.client.setSendBufferSize(16 * 1024);
                    p.client.setSoTimeout(1);
                    assertThrowsExactly(java.net.SocketTimeoutException.class, () -> p.client.getInputStream().read());
                    p.client.setSoTimeout(0);
                }
                OutputStream out = p.client.getOutputStream();
                CountDownLatch go = new CountDownLatch(1);
                List<FutureTask<Void>> writers = new ArrayList<>();
                for (int w = 0; w < WRITERS; w++) {
                    int id = w;
                    writers.add(async("writer-" + w, () -> {
                        go.await();
                        for (int seq = 0; seq < MESSAGES; seq++) {
                            out.write(message(id, seq)); // one write call per message
                        }
                        return null;
                    }));
                }
                go.countDown();
                InputStream in = p.server.getInputStream();
                int[] next = new int[WRITERS];
                for (int i = 0; i < WRITERS * MESSAGES; i++) {
                    byte[] m = TestSupport.readExactly(in, MESSAGE_SIZE);
                    int id = m[0] & 0xff;
                    if (id >= WRITERS) {
                        fail("message " + i + ": bad writer id " + id + " (interleaved write?)");
                    }
                    int seq = ((m[1] & 0xff) << 8) | (m[2] & 0xff);
                    assertEquals(next[id], seq, "message " + i + " of writer " + id + " out of order");
                    assertArrayEquals(message(id, seq), m, "message " + i + " (writer " + id + ", seq " + seq
                            + ") is not contiguous");
                    next[id]++;
                    if (smallBuffers && i % 50 == 0) {
                        Thread.sleep(2); // let the buffers fill up
                    }
                }
                for (FutureTask<Void> w : writers) {
                    await(w, 5_000);
                }
                for (int w = 0; w < WRITERS; w++) {
                    assertEquals(MESSAGES, next[w]);
                }
                p.client.shutdownOutput();
                assertEquals(-1, in.read(), "extra bytes after the last message");
            }
        });
    }

    /**
     * Blocking descriptors. A slow reader taking small pieces: 64 KiB writes find the send buffer
     * full again and again, stop short and wait for room (on the RUST engine the next piece waits
     * before its system call). A slow writer: 64 KiB reads empty the socket and stop short. The
     * bytes arrive whole and in order either way.
     */
    @ParameterizedTest(name = "{0}, slow reader: {1}")
    @MethodSource("io.rustsocket.TestSupport#enginesAndBooleans")
    void largeWritesAndReadsArriveIntactWhicheverSideIsSlow(Engine engine, boolean slowReader) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(engine)) {
                long polledFirst = RustSocketImpl.polledFirst();
                if (slowReader) {
                    p.client.setSendBufferSize(16 * 1024);
                    p.server.setReceiveBufferSize(16 * 1024);
                    TestSupport.assertBytesArriveIntact(p.client, 65_536, p.server, 1000, true);
                    if (engine == Engine.RUST && TestSupport.LINUX) {
                        assertTrue(RustSocketImpl.polledFirst() > polledFirst, "no write waited before its call");
                    }
                } else {
                    TestSupport.assertBytesArriveIntact(p.client, 20_000, p.server, 65_536, false);
                }
            }
        });
    }

    // ------------------------------------------------------------------ RUST only

    @Test
    void largeWritesLargerThanOneChunkArriveIntactFromRustToJdkReader() {
        // a single 3 MiB write is split into 128 KiB native chunks; none may be lost or repeated
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(Engine.RUST, Engine.JDK)) {
                byte[] data = TestSupport.randomBytes(3 << 20);
                transfer(p.client, p.server, data);
                // an unaligned slice of a bigger array
                byte[] big = TestSupport.randomBytes((1 << 20) + 777);
                OutputStream out = p.client.getOutputStream();
                FutureTask<Void> w = async("writer", () -> {
                    out.write(big, 333, big.length - 444);
                    return null;
                });
                byte[] got = TestSupport.readExactly(p.server.getInputStream(), big.length - 444);
                await(w, 5_000);
                assertArrayEquals(Arrays.copyOfRange(big, 333, big.length - 111), got);
            }
        });
    }

    @Test
    void readIntoOffsetOnlyTouchesTheRequestedRange() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pair p = new Pair(Engine.JDK, Engine.RUST)) {
                p.client.getOutputStream().write(new byte[] {1, 2, 3, 4});
                byte[] buf = new byte[10];
                Arrays.fill(buf, (byte) -1);
                InputStream in = p.server.getInputStream();
                int n = 0;
                while (n < 4) {
                    int r = in.read(buf, 3 + n, 4 - n);
                    assertTrue(r > 0);
                    n += r;
                }
                assertArrayEquals(new byte[] {-1, -1, -1, 1, 2, 3, 4, -1, -1, -1}, buf);
            }
        });
    }

}
