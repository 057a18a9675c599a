package io.rustsocket;

import static io.rustsocket.VirtualThreadChecks.Task;
import static io.rustsocket.VirtualThreadChecks.WAIT_MS;
import static io.rustsocket.VirtualThreadChecks.assertThrown;
import static io.rustsocket.VirtualThreadChecks.awaitParked;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.TestSupport.Pair;
import io.rustsocket.internal.RustSocketImpl;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads on virtual threads that follow a read which emptied the socket. There rustsocket does not
 * read again but waits for the poller's next event (edge-triggered on Linux), so whatever can end
 * a read early with something left behind must still be read, not waited for: the peer's FIN
 * arriving with the last bytes, urgent data (the kernel stops a read at the urgent mark), a reset
 * after data, a close. Each check runs with everything arrived before the read (the poller has reported
 * it already) and arriving while the reader is parked, and with 64-byte reads (short) and reads
 * of exactly what comes (full: only the kernel's count of what is left tells). A reader that waits for an event
 * that never comes fails after {@link VirtualThreadChecks#WAIT_MS}. The JDK rows show the outcomes
 * are the JDK's.
 */
final class ShortReadChecks {
    static final String PREFIX = "short-read-";
    static final String FIN_WITH_DATA = PREFIX + "fin-with-data";
    static final String URGENT_INLINE = PREFIX + "urgent-inline";
    static final String URGENT_DISCARDED = PREFIX + "urgent-discarded";
    static final String RESET_AFTER_DATA = PREFIX + "reset-after-data";
    static final String TIMED = PREFIX + "timed";
    static final String CLOSED = PREFIX + "closed";

    static final List<String> ALL = List.of(FIN_WITH_DATA, URGENT_INLINE, URGENT_DISCARDED, RESET_AFTER_DATA, TIMED,
            CLOSED);

    private static final byte[] LAST_WORDS = "last words".getBytes(StandardCharsets.US_ASCII);

    private ShortReadChecks() {}

    static void run(String name, Engine engine) throws Exception {
        for (boolean exact : new boolean[] {false, true}) {
            for (boolean whileParked : new boolean[] {false, true}) {
                String context = engine + " " + name + (whileParked ? ", arriving while the reader is parked"
                        : ", arrived before the read") + (exact ? ", exact reads" : ", 64-byte reads");
                run(name, engine, exact, whileParked, context);
            }
        }
    }

    private static void run(String name, Engine engine, boolean exact, boolean whileParked, String context)
            throws Exception {
        switch (name) {
            case FIN_WITH_DATA:
                finWithData(engine, exact ? LAST_WORDS.length : 64, whileParked, context);
                break;
            case URGENT_INLINE:
                urgent(engine, true, exact ? 3 : 64, whileParked, context);
                break;
            case URGENT_DISCARDED:
                urgent(engine, false, exact ? 3 : 64, whileParked, context);
                break;
            case RESET_AFTER_DATA:
                resetAfterData(engine, exact ? LAST_WORDS.length : 64, whileParked, context);
                break;
            case TIMED:
                timed(engine, exact ? 3 : 64, whileParked, context);
                break;
            case CLOSED:
                closedWhileParked(engine, exact ? 1 : 64, context);
                break;
            default:
                throw new IllegalArgumentException("unknown check " + name);
        }
    }

    /** The peer writes its last bytes and shuts its output down: the reader gets them, then -1. */
    private static void finWithData(Engine engine, int bufSize, boolean whileParked, String context)
            throws Exception {
        try (Pair p = new Pair(engine)) {
            primeShortRead(p);
            Task<byte[]> reader = readCount(engine, p.client, -1, bufSize, whileParked, () -> {
                p.server.getOutputStream().write(LAST_WORDS);
                p.server.shutdownOutput();
            }, context);
            assertArrayEquals(LAST_WORDS, reader.get(WAIT_MS, context), context);
        }
    }

    /**
     * The peer writes "abc", urgent 'U', "def": with OOBINLINE the reader gets all seven bytes in
     * order, without it the six others (Linux drops the urgent byte from the stream).
     */
    private static void urgent(Engine engine, boolean inline, int bufSize, boolean whileParked, String context)
            throws Exception {
        try (Pair p = new Pair(engine)) {
            p.client.setOOBInline(inline);
            primeShortRead(p);
            String expected = inline ? "abcUdef" : "abcdef";
            Task<byte[]> reader = readCount(engine, p.client, expected.length(), bufSize, whileParked, () -> {
                OutputStream out = p.server.getOutputStream();
                out.write("abc".getBytes(StandardCharsets.US_ASCII));
                p.server.sendUrgentData('U');
                out.write("def".getBytes(StandardCharsets.US_ASCII));
            }, context);
            assertEquals(expected, new String(reader.get(WAIT_MS, context), StandardCharsets.US_ASCII), context);
        }
    }

    /** The peer writes, then closes with a reset: the reader's reads end in "Connection reset". */
    private static void resetAfterData(Engine engine, int bufSize, boolean whileParked, String context)
            throws Exception {
        TestSupport.assumeNotWine(TestSupport.WINE_RESET_READS_AS_EOF);
        try (Pair p = new Pair(engine)) {
            primeShortRead(p);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            Task<byte[]> reader = Task.start("read-until-reset", () -> {
                InputStream in = p.client.getInputStream();
                byte[] buf = new byte[bufSize];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    got.write(buf, 0, n);
                }
                return got.toByteArray();
            });
            Runnable peer = () -> {
                try {
                    p.server.setSoLinger(true, 0);
                    p.server.getOutputStream().write(LAST_WORDS);
                    p.server.close();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            };
            if (whileParked) {
                awaitParked(context, reader);
            }
            peer.run();
            Throwable t = reader.failure(WAIT_MS, context);
            assertThrown(t, SocketException.class, "Connection reset", context);
            // Linux hands out the bytes that came before the reset, then the reset
            assertEquals(new String(LAST_WORDS, StandardCharsets.US_ASCII), got.toString("US-ASCII"), context);
        }
    }

    /** A timed read after a short one times out, and the socket then reads what comes. */
    private static void timed(Engine engine, int bufSize, boolean whileParked, String context) throws Exception {
        try (Pair p = new Pair(engine)) {
            p.client.setSoTimeout(VirtualThreadChecks.TIMEOUT_MS);
            primeShortRead(p);
            long t0 = System.nanoTime();
            Task<Integer> reader = Task.start("timed-read", () -> p.client.getInputStream().read(new byte[64]));
            Throwable t = reader.failure(WAIT_MS, context);
            long took = TimeUnit.NANOSECONDS.toMillis(reader.endedAt - t0);
            assertThrown(t, SocketTimeoutException.class, "Read timed out", context);
            assertTrue(took >= VirtualThreadChecks.TIMEOUT_MS - 10, context + ": timed out after " + took + " ms");
            Task<byte[]> again = readCount(engine, p.client, 3, bufSize, whileParked,
                    () -> p.server.getOutputStream().write(new byte[] {1, 2, 3}), context);
            assertArrayEquals(new byte[] {1, 2, 3}, again.get(WAIT_MS, context), context);
        }
    }

    /** Closing the socket wakes a reader waiting after a short read, with "Socket closed". */
    private static void closedWhileParked(Engine engine, int bufSize, String context) throws Exception {
        try (Pair p = new Pair(engine)) {
            primeShortRead(p);
            long skipped = RustSocketImpl.readsSkipped();
            Task<Integer> reader = Task.start("read-until-closed",
                    () -> p.client.getInputStream().read(new byte[bufSize]));
            awaitParked(context, reader);
            assertSkipped(engine, skipped, context);
            p.client.close();
            assertThrown(reader.failure(WAIT_MS, context), SocketException.class, "Socket closed", context);
        }
    }

    /**
     * Where rustsocket skips reads (virtual threads on Linux), checks that the read which parked
     * after a short one did skip its system call: otherwise these checks would not test the skip.
     */
    private static void assertSkipped(Engine engine, long skippedBefore, String context) {
        if (engine == Engine.RUST && TestSupport.LINUX) {
            assertTrue(RustSocketImpl.readsSkipped() > skippedBefore, context + ": the parked read was not skipped");
        }
    }

    /**
     * Leaves the client socket as a virtual-thread server's is between requests: its read has
     * waited in the poller once, then taken fewer bytes than it asked for.
     */
    private static void primeShortRead(Pair p) throws Exception {
        Task<Integer> reader = Task.start("primed-read", () -> p.client.getInputStream().read(new byte[64]));
        awaitParked("primed read parked", reader);
        p.server.getOutputStream().write(42);
        assertEquals(1, reader.get(WAIT_MS, "primed read"));
    }

    /** What the peer does, which may throw. */
    private interface PeerAction {
        void run() throws IOException;
    }

    /**
     * Reads {@code count} bytes of {@code s} (-1: to its end) on a virtual thread, in reads of
     * {@code bufSize} bytes, while the peer does its part: before the reader starts (and after a
     * pause in which the poller reports it), or once the reader is parked.
     */
    private static Task<byte[]> readCount(Engine engine, Socket s, int count, int bufSize, boolean whileParked,
            PeerAction peer, String context) throws Exception {
        long skipped = RustSocketImpl.readsSkipped();
        if (!whileParked) {
            peer.run();
            Thread.sleep(100);
        }
        Task<byte[]> reader = Task.start("short-reader", () -> {
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[bufSize];
            while (count < 0 || got.size() < count) {
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                got.write(buf, 0, n);
            }
            return got.toByteArray();
        });
        if (whileParked) {
            awaitParked(context, reader);
            assertSkipped(engine, skipped, context);
            peer.run();
        }
        return reader;
    }
}
