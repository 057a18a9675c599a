package io.rustsocket;

import static io.rustsocket.TestSupport.async;
import static io.rustsocket.TestSupport.await;
import static io.rustsocket.TestSupport.describe;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.TestSupport.Pair;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Faults from the outside: a peer that resets mid-stream, half-closes, vanishes (a killed child
 * JVM) while we are blocked writing to it; a listener closed with unaccepted connections; and a
 * process out of descriptors (a child JVM with a low RLIMIT_NOFILE). Each must give the JDK's
 * exception, which the JDK row proves, and leave the library usable: after each fault a fresh
 * RustSocket pair must still exchange bytes.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultsTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    // ------------------------------------------------------------------ helpers

    /** The byte at position {@code n} of a pattern stream; period 251, so a misplaced chunk shows. */
    private static byte pattern(long n) {
        return (byte) (n % 251);
    }

    /** Fills {@code b} with the pattern starting at stream position {@code pos}. */
    private static void fillPattern(byte[] b, int len, long pos) {
        for (int i = 0; i < len; i++) {
            b[i] = pattern(pos + i);
        }
    }

    /** The pattern from position 0, long enough to compare any read of up to 64 KiB at any phase. */
    private static final byte[] PATTERN = new byte[251 + 64 * 1024];

    static {
        fillPattern(PATTERN, PATTERN.length, 0);
    }

    /**
     * Index of the first byte of {@code b[0..len)} that is not the pattern at {@code pos}, or -1.
     * Vectorized, so a reader checking every byte still reads as fast as a bulk reader.
     */
    private static int firstMismatch(byte[] b, int len, long pos) {
        int done = 0;
        while (done < len) {
            int n = Math.min(len - done, 64 * 1024);
            int phase = (int) ((pos + done) % 251);
            int bad = Arrays.mismatch(b, done, done + n, PATTERN, phase, phase + n);
            if (bad >= 0) {
                return done + bad;
            }
            done += n;
        }
        return -1;
    }

    /** What the task threw; fails if it returned normally or did not end within {@code millis}. */
    private static Throwable awaitFailure(FutureTask<?> f, long millis) throws InterruptedException {
        try {
            Object result = f.get(millis, TimeUnit.MILLISECONDS);
            throw new AssertionError("expected an exception, but the task returned " + result);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError("task still running after " + millis + " ms");
        }
    }

    /** Asserts that {@code t} is exactly {@code type} with {@code message}. */
    private static void assertException(Class<? extends Throwable> type, String message, Throwable t, String what) {
        assertNotNull(t, what + ": no exception");
        assertEquals(type, t.getClass(), () -> what + ": exception class; got " + t);
        assertEquals(message, t.getMessage(), () -> what + ": message of " + t);
    }

    /** A fresh RustSocket pair must still carry bytes both ways: the fault left the library usable. */
    private static void assertLibraryUsable() throws Exception {
        try (Pair p = new Pair(Engine.RUST)) {
            p.client.setSoTimeout(5_000);
            p.server.setSoTimeout(5_000);
            byte[] up = TestSupport.randomBytes(32 * 1024);
            byte[] down = TestSupport.randomBytes(32 * 1024);
            FutureTask<byte[]> serverSide = async("usable-server", () -> {
                byte[] got = TestSupport.readExactly(p.server.getInputStream(), up.length);
                p.server.getOutputStream().write(down);
                return got;
            });
            p.client.getOutputStream().write(up);
            byte[] gotDown = TestSupport.readExactly(p.client.getInputStream(), down.length);
            assertArrayEquals(up, await(serverSide, 5_000), "client to server after the fault");
            assertArrayEquals(down, gotDown, "server to client after the fault");
        }
    }

    /** {@code java [options] -cp CLASSPATH io.rustsocket.FaultsChild args...}. */
    static List<String> childCommand(String... args) {
        return TestSupport.childCommand(FaultsChild.class, args);
    }

    /** Reads the child's output lines until one starts with {@code prefix}; fails at EOF or after millis. */
    private static String awaitLine(BufferedReader out, String prefix, long millis, Process child)
            throws InterruptedException {
        List<String> seen = new ArrayList<>();
        FutureTask<String> reader = async("child-stdout", () -> {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith(prefix)) {
                    return line;
                }
                synchronized (seen) {
                    seen.add(line);
                }
            }
            return null;
        });
        String line;
        try {
            line = reader.get(millis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("reading the child's output failed", e.getCause());
        } catch (TimeoutException e) {
            child.destroyForcibly();
            synchronized (seen) {
                throw new AssertionError("child printed no '" + prefix + "' within " + millis + " ms; output: " + seen);
            }
        }
        if (line == null) {
            synchronized (seen) {
                throw new AssertionError("child ended without printing '" + prefix + "'; output: " + seen);
            }
        }
        return line;
    }

    // ------------------------------------------------------------------ peer resets mid-stream

    /** Rounds of {@link #peerResetWhileWeReadALargeTransfer}: the outcome can depend on timing. */
    private static final int RESET_ROUNDS = 20;

    /**
     * The peer streams a pattern, its writer inside write() most of the time; once we have read
     * 1 MiB intact, the peer sets SO_LINGER 0 and closes. Our read must throw the JDK's
     * SocketException("Connection reset"), never a clean EOF: an abortive close sends no FIN.
     * Repeated {@value #RESET_ROUNDS} times, since the order of the peer's packets can be a race.
     */
    @ParameterizedTest
    @EnumSource(Engine.class)
    void peerResetWhileWeReadALargeTransfer(Engine engine) throws Exception {
        TestSupport.assumeNotWine(TestSupport.WINE_RESET_READS_AS_EOF);
        List<String> wrong = new ArrayList<>();
        for (int round = 0; round < RESET_ROUNDS; round++) {
            String outcome = resetMidStream(engine);
            if (outcome != null) {
                wrong.add("round " + round + ": " + outcome);
            }
        }
        assertTrue(wrong.isEmpty(), () -> engine + ": " + wrong.size() + " of " + RESET_ROUNDS
                + " rounds did not end in SocketException(\"Connection reset\"): " + wrong);
        assertLibraryUsable();
    }

    /** One round: null when our read ended as the JDK's does, else what happened instead. */
    private static String resetMidStream(Engine engine) throws Exception {
        long cap = 4L << 30; // the peer stops after 4 GiB; it is reset long before
        long midStream = 1 << 20;
        try (Pair p = new Pair(engine)) {
            Socket us = p.client;
            Socket peer = p.server;
            FutureTask<Long> writer = async("peer-writer", () -> {
                OutputStream out = peer.getOutputStream();
                // a whole number of pattern periods, so the same chunk continues the pattern and
                // the writer spends its time inside write(), as a bulk sender does
                byte[] chunk = new byte[251 * 256];
                fillPattern(chunk, chunk.length, 0);
                long pos = 0;
                while (pos < cap) {
                    out.write(chunk);
                    pos += chunk.length;
                }
                return pos;
            });
            CountDownLatch reading = new CountDownLatch(1);
            AtomicLong received = new AtomicLong();
            FutureTask<Void> reader = async("reader", () -> {
                InputStream in = us.getInputStream();
                byte[] buf = new byte[16 * 1024];
                long pos = 0;
                while (true) {
                    int n = in.read(buf);
                    if (n < 0) {
                        throw new EOFException("EOF after " + pos + " intact bytes");
                    }
                    int bad = firstMismatch(buf, n, pos);
                    if (bad >= 0) {
                        throw new AssertionError("byte " + (pos + bad) + " corrupted");
                    }
                    pos += n;
                    received.set(pos);
                    if (pos >= midStream) {
                        reading.countDown();
                    }
                }
            });
            assertTrue(reading.await(5, TimeUnit.SECONDS), "reader got only " + received.get() + " bytes; "
                    + describe(reader));
            peer.setSoLinger(true, 0);
            peer.close(); // abortive, while we read and the peer's writer is (mostly) blocked in write
            Throwable t = awaitFailure(reader, 5_000);
            // the peer's own writer was ended by its close, as in the JDK
            assertException(SocketException.class, "Socket closed", awaitFailure(writer, 5_000), "peer's writer");
            assertTrue(received.get() >= midStream);
            if (t instanceof AssertionError) {
                throw (AssertionError) t;
            }
            if (t.getClass() != SocketException.class || !"Connection reset".equals(t.getMessage())) {
                return String.valueOf(t);
            }
            // the sticky reset: the next read says it again
            us.setSoTimeout(2_000);
            Throwable again = null;
            try {
                us.getInputStream().read();
            } catch (IOException e) {
                again = e;
            }
            assertException(SocketException.class, "Connection reset", again, "second read");
            return null;
        }
    }

    // ------------------------------------------------------------------ peer half-closes

    @ParameterizedTest
    @MethodSource("io.rustsocket.TestSupport#enginesAndBooleans")
    void peerHalfClosesThenWeReadEofAndCanStillWriteBack(Engine engine, boolean timed) throws Exception {
        int toUs = 300 * 1024 + 7;
        int toPeer = 200 * 1024 + 3;
        try (Pair p = new Pair(engine)) {
            Socket us = p.client;
            Socket peer = p.server;
            if (timed) {
                us.setSoTimeout(5_000);
            }
            peer.setSoTimeout(5_000);
            // the peer sends everything, then half-closes, then reads our answer to its end
            FutureTask<byte[]> peerSide = async("peer", () -> {
                byte[] data = new byte[toUs];
                fillPattern(data, data.length, 0);
                peer.getOutputStream().write(data);
                peer.shutdownOutput();
                return peer.getInputStream().readAllBytes();
            });
            FutureTask<byte[]> ourReader = async("reader", () -> {
                InputStream in = us.getInputStream();
                byte[] all = in.readAllBytes();
                // EOF again, by every read method
                if (in.read() != -1 || in.read(new byte[8]) != -1 || in.read(new byte[8], 2, 4) != -1) {
                    throw new AssertionError("a read after EOF did not return -1");
                }
                return all;
            });
            byte[] got = await(ourReader, 5_000);
            assertEquals(toUs, got.length, "bytes before EOF");
            assertEquals(-1, firstMismatch(got, got.length, 0), "corrupted bytes before EOF");
            assertFalse(us.isInputShutdown(), "the peer's half-close is not our shutdownInput");
            assertFalse(us.isClosed());
            // our direction still works after we saw EOF
            byte[] answer = new byte[toPeer];
            fillPattern(answer, answer.length, 17);
            us.getOutputStream().write(answer);
            us.shutdownOutput();
            byte[] peerGot = await(peerSide, 5_000);
            assertArrayEquals(answer, peerGot, "what the peer received after its half-close");
            // and after both half-closes, reads still say EOF
            assertEquals(-1, us.getInputStream().read());
        }
        assertLibraryUsable();
    }

    // ------------------------------------------------------------------ peer vanishes under a blocked write

    @ParameterizedTest
    @MethodSource("io.rustsocket.TestSupport#enginesAndBooleans")
    void peerProcessKilledWhileOurWriteIsBlocked(Engine engine, boolean afterTimedRead) throws Exception {
        try (ServerSocket listener = engine.listen()) {
            listener.setSoTimeout(15_000);
            ProcessBuilder pb = new ProcessBuilder(childCommand("stall", Integer.toString(listener.getLocalPort())));
            pb.redirectErrorStream(true);
            Process child = pb.start();
            try (BufferedReader childOut = new BufferedReader(
                    new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                Socket s = listener.accept();
                try {
                    awaitLine(childOut, "CONNECTED", 15_000, child);
                    if (afterTimedRead) {
                        // a timed read makes the descriptor non-blocking: writes then wait in poll
                        s.setSoTimeout(50);
                        Throwable t = null;
                        try {
                            s.getInputStream().read();
                        } catch (IOException e) {
                            t = e;
                        }
                        assertException(SocketTimeoutException.class, "Read timed out", t, "timed read");
                        s.setSoTimeout(0);
                    }
                    AtomicLong written = new AtomicLong();
                    OutputStream out = s.getOutputStream();
                    FutureTask<Void> writer = async("writer", () -> {
                        byte[] chunk = new byte[64 * 1024];
                        for (long i = 0; i < 16_384; i++) { // 1 GiB: far beyond any socket buffer
                            out.write(chunk);
                            written.addAndGet(chunk.length);
                        }
                        return null;
                    });
                    // blocked: no progress for 300 ms
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    long last = -1;
                    long stableSince = System.nanoTime();
                    while (System.nanoTime() < deadline && !writer.isDone()) {
                        long now = written.get();
                        if (now != last) {
                            last = now;
                            stableSince = System.nanoTime();
                        } else if (System.nanoTime() - stableSince > TimeUnit.MILLISECONDS.toNanos(300)) {
                            break;
                        }
                        Thread.sleep(10);
                    }
                    assertFalse(writer.isDone(), "the write never blocked: " + describe(writer));
                    assertTrue(System.nanoTime() < deadline, "writes never stopped: " + written.get() + " bytes");
                    assertTrue(written.get() > 0, "nothing was written before the write blocked");

                    long killed = System.nanoTime();
                    child.destroyForcibly();
                    Throwable t = awaitFailure(writer, 5_000);
                    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
                    // the killed process's kernel resets the connection (it had unread data), which
                    // wakes the blocked send with ECONNRESET
                    assertException(SocketException.class, "Connection reset by peer", t,
                            "blocked write when the peer process died (" + written.get() + " bytes written)");
                    assertTrue(millis < 2_000, "the blocked write ended only " + millis + " ms after the kill");
                    assertTrue(child.waitFor(5, TimeUnit.SECONDS), "child still alive");
                    // the connection is dead for writes from now on, as in the JDK
                    Throwable next = null;
                    try {
                        out.write(new byte[16]);
                    } catch (IOException e) {
                        next = e;
                    }
                    assertException(SocketException.class, TestSupport.BROKEN_PIPE, next, "write after the reset");
                } finally {
                    s.close();
                }
            } finally {
                child.destroyForcibly();
                child.waitFor(5, TimeUnit.SECONDS);
                child.getOutputStream().close();
            }
        }
        assertLibraryUsable();
    }

    // ------------------------------------------------------------------ listener closed with a backlog

    @ParameterizedTest
    @MethodSource("io.rustsocket.TestSupport#enginesAndBooleans")
    void listenerClosedWithUnacceptedConnections(Engine engine, boolean timed) throws Exception {
        TestSupport.assumeNotWine(TestSupport.WINE_RESET_READS_AS_EOF);
        assertLibraryUsable(); // loads everything, so the baselines below do not move
        DescriptorBaseline baseline = DescriptorBaseline.now();
        List<Socket> clients = new ArrayList<>();
        ServerSocket listener = engine.listen();
        int port = listener.getLocalPort();
        try {
            for (int i = 0; i < 6; i++) {
                Socket c = engine.connect(LOOPBACK, port);
                clients.add(c);
                if (i % 2 == 1) {
                    c.getOutputStream().write(TestSupport.randomBytes(1000)); // data nobody will read
                }
            }
            listener.close();
            assertTrue(listener.isClosed());
            for (int i = 0; i < clients.size(); i++) {
                Socket c = clients.get(i);
                if (timed) {
                    c.setSoTimeout(3_000);
                }
                InputStream in = c.getInputStream();
                FutureTask<Integer> reader = async("reader-" + i, () -> in.read());
                Throwable t = awaitFailure(reader, 5_000);
                // Linux resets every connection still in the accept queue of a closed listener
                assertException(SocketException.class, "Connection reset", t, "client " + i + "'s read");
            }
            // nothing listens there any more
            Throwable refused = null;
            try {
                engine.connect(LOOPBACK, port).close();
            } catch (IOException e) {
                refused = e;
            }
            assertException(ConnectException.class, TestSupport.refused(false), refused, "connect after the close");
        } finally {
            listener.close();
            for (Socket c : clients) {
                c.close();
            }
        }
        // the port is free again, and nothing leaked
        try (ServerSocket again = engine.serverSocket()) {
            again.bind(new java.net.InetSocketAddress(LOOPBACK, port));
            assertEquals(port, again.getLocalPort());
        }
        baseline.assertBack();
        assertLibraryUsable();
    }

    // ------------------------------------------------------------------ out of descriptors

    /** The file-descriptor limit of the child JVM in {@link #runningOutOfDescriptors}. */
    private static final int CHILD_NOFILE = 128;

    /** The child's report per engine run first, so that the two tests below share one child each. */
    private static final Map<Engine, Map<String, String>> NOFILE_RESULTS = new java.util.EnumMap<>(Engine.class);

    /**
     * A child JVM with RLIMIT_NOFILE {@value #CHILD_NOFILE} (soft and hard, so the JVM cannot raise
     * it) opens connected pairs of {@code first}'s sockets until it runs out of descriptors, then,
     * with every descriptor taken, tries a connect (the socket cannot be created) and an accept of a
     * connection waiting in the backlog; closes a few sockets and proves new connections work again;
     * closes everything; then does the same with the other engine, in the same process. Runs once
     * per order (about a second each) and is checked by the two tests below.
     */
    private static synchronized Map<String, String> noFileChild(Engine first) throws Exception {
        Map<String, String> r = NOFILE_RESULTS.get(first);
        if (r == null) {
            r = runNoFileChild(first);
            NOFILE_RESULTS.put(first, r);
        }
        // never a crash, and both engines recovered and released everything
        for (Engine engine : Engine.values()) {
            String p = engine + ".";
            String what = engine + " in a child with ulimit -n " + CHILD_NOFILE + ": " + r.get("output");
            assertEquals(Integer.toString(CHILD_NOFILE), r.get("limit"), what);
            assertTrue(Integer.parseInt(r.get(p + "opened")) >= 10, what);
            assertEquals("true", r.get(p + "recovered"), what);
            assertTrue(Integer.parseInt(r.get(p + "fdLeft")) <= 0, what);
        }
        assertEquals("0", r.get("RUST.openCountLeft"), "Descriptors.openCount() in the child: " + r.get("output"));
        return r;
    }

    @ParameterizedTest(name = "{0} first")
    @EnumSource(Engine.class)
    void outOfDescriptorsWhenCreatingASocket(Engine first) throws Exception {
        TestSupport.assumeLinux("a child under bash's ulimit -n");
        Map<String, String> r = noFileChild(first);
        String output = r.get("output");
        // the JDK: java.net.SocketException("Too many open files") from the socket's creation
        assertEquals("java.net.SocketException", r.get("JDK.connect.class"), output);
        assertEquals("Too many open files", r.get("JDK.connect.message"), output);
        assertEquals(r.get("JDK.connect.class"), r.get("RUST.connect.class"), "exception class; " + output);
        assertEquals(r.get("JDK.connect.message"), r.get("RUST.connect.message"), "message; " + output);
        assertLibraryUsable();
    }

    @ParameterizedTest(name = "{0} first")
    @EnumSource(Engine.class)
    void outOfDescriptorsWhenAccepting(Engine first) throws Exception {
        TestSupport.assumeLinux("a child under bash's ulimit -n");
        Map<String, String> r = noFileChild(first);
        String output = r.get("output");
        // the JDK: accept(2) failing with EMFILE is a plain java.io.IOException("Too many open files")
        // (sun.nio.ch.Net.accept throws it with JNU_ThrowIOExceptionWithLastError), not a SocketException
        assertEquals("java.io.IOException", r.get("JDK.accept.class"), output);
        assertEquals("Too many open files", r.get("JDK.accept.message"), output);
        assertEquals(r.get("JDK.accept.class"), r.get("RUST.accept.class"), "exception class; " + output);
        assertEquals(r.get("JDK.accept.message"), r.get("RUST.accept.message"), "message; " + output);
        assertLibraryUsable();
    }

    /** Runs {@code FaultsChild nofile FIRST} under {@code ulimit -n}; returns its key=value lines. */
    private static Map<String, String> runNoFileChild(Engine first) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add("bash");
        cmd.add("-c");
        cmd.add("ulimit -n " + CHILD_NOFILE + " && exec \"$@\"");
        cmd.add("bash");
        cmd.addAll(childCommand("nofile", first.name()));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectErrorStream(true);
        Process child = pb.start();
        FutureTask<String> output = async("nofile-child-output", () -> new String(
                child.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        try {
            boolean ended = child.waitFor(20, TimeUnit.SECONDS);
            if (!ended) {
                child.destroyForcibly();
            }
            String text = await(output, 5_000);
            assertTrue(ended, "child still running after 20 s; output:\n" + text);
            assertFalse(text.contains("A fatal error has been detected"), "the child JVM crashed:\n" + text);
            assertEquals(0, child.exitValue(), () -> "the child's exit code; output:\n" + text);
            Map<String, String> r = new HashMap<>();
            for (String line : text.split("\\R")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    r.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            assertTrue(text.contains("DONE"), () -> "the child did not finish:\n" + text);
            r.put("output", text.replace('\n', '|'));
            return r;
        } finally {
            child.destroyForcibly();
            child.getOutputStream().close();
        }
    }
}
