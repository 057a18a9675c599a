package io.rustsocket;

import static io.rustsocket.RandomApi.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The stream steps of a {@link RandomApiWorld} (reads, writes, available, mark and reset, urgent
 * data, each planned by the model so that nothing blocks without bound) and the steps that close
 * a socket under a call blocked in another thread.
 */
abstract class RandomApiStreams extends RandomApiWorld {
    RandomApiStreams(Engine engine, int index) throws IOException {
        super(engine, index);
    }

    // ------------------------------------------------------------ streams

    static final int[] BUFFERS = {0, 1, 8, 64, 1000, 3000};
    static final int[] OFFSETS = {0, 1, -1, 2, 7, 8, 63, 64, 999, Integer.MAX_VALUE, Integer.MIN_VALUE, 3};
    static final int[] LENGTHS = {1, 0, -1, 2, 7, 8, 64, 1000, Integer.MAX_VALUE, Integer.MIN_VALUE, 3000,
        500};

    /** The socket's input stream, the cached one or a fresh getInputStream() call (recorded). */
    InputStream in(Socket s, SockModel m, String p, boolean cached) {
        if (cached && m.in != null) {
            return m.in;
        }
        InputStream in = call(p + "getInputStream()", s::getInputStream);
        if (in != null) {
            m.in = in;
        }
        return in;
    }

    OutputStream out(Socket s, SockModel m, String p, boolean cached) {
        if (cached && m.out != null) {
            return m.out;
        }
        OutputStream out = call(p + "getOutputStream()", s::getOutputStream);
        if (out != null) {
            m.out = out;
        }
        return out;
    }

    /**
     * Whether a read that needs {@code need} bytes (or EOF) returns at once: from the flags of
     * the socket and the model of the connection.
     */
    Plan planRead(Socket s, SockModel m, int need) {
        if (need <= 0 || s.isClosed() || !s.isConnected() || s.isInputShutdown() || m.sawEof) {
            return Plan.NOW;
        }
        Conn c = m.conn;
        if (c != null && c.flooded[m.side]) {
            return Plan.SKIP;
        }
        if (c != null && (c.eofComing(m.side) || c.pending[m.side] >= need)) {
            return Plan.NOW;
        }
        if (c != null && c.pending[m.side] > 0) {
            return Plan.SKIP; // some bytes, not enough: a timeout would cut the read in the middle
        }
        return whenNothingComes(soTimeout(s));
    }

    /** Waits until the bytes the model says are in flight toward this socket have arrived. */
    void sync(Socket s, SockModel m, int want) {
        Conn c = m.conn;
        if (c == null || s.isClosed() || !s.isConnected() || s.isInputShutdown()) {
            return;
        }
        int target = Math.min(c.pending[m.side], want);
        if (target <= 0) {
            return;
        }
        // after urgent data, available() stops at the urgent mark: then any byte will do, and
        // none may come (only the urgent byte is left), so the wait is shorter; but it outlasts
        // the reader's delayed ACK (40 ms and up), until which Nagle's algorithm holds a small
        // write behind an unacknowledged one: a short SO_TIMEOUT read would otherwise race it
        boolean urgent = c.urgent[m.side] > 0;
        long limit = urgent ? 250 : SYNC_MILLIS;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limit);
        try {
            InputStream in = s.getInputStream();
            int n;
            while ((n = in.available()) < target && !(urgent && n > 0)) {
                if (System.nanoTime() > deadline) {
                    SYNC_TIMEOUTS.incrementAndGet();
                    break;
                }
                LockSupport.parkNanos(20_000);
            }
        } catch (IOException e) {
            // the read itself will tell
        }
    }

    void consumed(SockModel m, int n) {
        if (m.conn != null && n > 0) {
            m.conn.pending[m.side] = Math.max(0, m.conn.pending[m.side] - n);
        }
    }

    void read(Socket s, SockModel m, String p, Step st) {
        boolean cached = (st.d() & 1) == 0;
        int kind = Math.floorMod(st.a(), 8);
        int size = BUFFERS[Math.floorMod(st.b(), BUFFERS.length)];
        int off = OFFSETS[Math.floorMod(st.c(), OFFSETS.length)];
        int len = LENGTHS[Math.floorMod(st.e(), LENGTHS.length)];
        boolean valid = off >= 0 && len >= 0 && off <= size - len;
        int need;
        String label;
        switch (kind) {
            case 0:
                need = 1;
                label = "read()";
                break;
            case 1:
                need = size > 0 ? 1 : 0;
                label = "read(byte[" + size + "])";
                break;
            case 2:
                need = valid ? Math.min(len, 1) : 0;
                label = "read(byte[" + size + "]," + off + "," + len + ")";
                break;
            case 3:
                need = 0;
                label = "read(null," + off + "," + len + ")";
                break;
            case 4:
                need = valid ? len : 0;
                label = "readNBytes(byte[" + size + "]," + off + "," + len + ")";
                break;
            case 5:
                need = len < 0 ? 0 : Math.min(len, size);
                label = "readNBytes(" + Math.min(len, size) + (len < 0 ? "" : "") + ")";
                break;
            case 6:
                need = len <= 0 ? 0 : Math.min(len, 3000);
                label = "skip(" + (len <= 0 ? (long) len : Math.min(len, 3000)) + ")";
                break;
            default:
                need = Integer.MAX_VALUE; // only when EOF is coming
                label = "readAllBytes()";
        }
        Plan plan = planRead(s, m, need);
        if (kind == 7 && plan == Plan.NOW && !s.isClosed() && s.isConnected() && !s.isInputShutdown()
                && !m.sawEof && (m.conn == null || !m.conn.eofComing(m.side))) {
            plan = Plan.SKIP;
        }
        if (plan == Plan.SKIP) {
            obs.add(p + "in." + label);
            skip("read that could block");
            return;
        }
        InputStream in = in(s, m, p, cached);
        if (in == null) {
            return;
        }
        if (plan == Plan.NOW) {
            sync(s, m, need == Integer.MAX_VALUE ? Integer.MAX_VALUE : Math.max(need, Math.min(len, size)));
        }
        String l = p + "in." + label;
        byte[] b = new byte[size];
        switch (kind) {
            case 0: {
                Integer v = call(l, in::read);
                if (v != null && v >= 0) {
                    consumed(m, 1);
                }
                m.sawEof |= v != null && v < 0;
                break;
            }
            case 1: {
                Integer n = call(l, () -> in.read(b));
                readResult(m, b, 0, n);
                break;
            }
            case 2: {
                Integer n = call(l, () -> in.read(b, off, len));
                readResult(m, b, off, n);
                break;
            }
            case 3:
                call(l, () -> in.read(null, off, len));
                break;
            case 4: {
                Integer n = call(l, () -> in.readNBytes(b, off, len));
                readResult(m, b, off, n);
                break;
            }
            case 5: {
                int n = Math.min(len, size);
                byte[] r = call(l, () -> in.readNBytes(n));
                if (r != null) {
                    consumed(m, r.length);
                }
                break;
            }
            case 6: {
                long n = len <= 0 ? len : Math.min(len, 3000);
                Long k = call(l, () -> in.skip(n));
                if (k != null) {
                    consumed(m, k.intValue());
                }
                break;
            }
            default: {
                byte[] r = call(l, in::readAllBytes);
                if (r != null) {
                    consumed(m, r.length);
                    m.sawEof = true;
                }
            }
        }
        if (plan == Plan.TIMED && !lastOk && m.conn != null) {
            m.conn.pending[m.side] = 0;
        }
    }

    void readResult(SockModel m, byte[] b, int off, Integer n) {
        if (n == null) {
            return;
        }
        if (n > 0) {
            consumed(m, n);
            obs.add("  bytes read: #" + Arrays.hashCode(Arrays.copyOfRange(b, off, off + n)));
        } else if (n < 0) {
            m.sawEof = true;
        }
    }

    /**
     * Why a send toward a closed peer is not compared. Whether it succeeds, fails with "Connection
     * reset" or with "Broken pipe" depends on whether the peer's RST (sent at its close, or in
     * answer to an earlier send) has been processed, and whether an earlier call already consumed
     * the socket's pending error: on Linux the RST is handled in softirq context, which a busy
     * host defers to ksoftirqd, and Wine learns of it from its server thread. ErrorsTest checks
     * these outcomes in the orders where they are fixed.
     */
    static final String SEND_AFTER_PEER_CLOSE = "a send after the peer's close races the peer's reset";

    void write(Socket s, SockModel m, String p, Step st) {
        boolean cached = (st.d() & 1) == 0;
        int kind = Math.floorMod(st.a(), 5);
        int size = BUFFERS[Math.floorMod(st.b(), BUFFERS.length)];
        int off = OFFSETS[Math.floorMod(st.c(), OFFSETS.length)];
        int len = LENGTHS[Math.floorMod(st.e(), LENGTHS.length)];
        boolean valid = off >= 0 && len >= 0 && off <= size - len;
        int bytes;
        String label;
        switch (kind) {
            case 0:
                bytes = 1;
                label = "write(" + st.d() + ")";
                break;
            case 1:
                bytes = size;
                label = "write(byte[" + size + "])";
                break;
            case 2:
            case 4:
                bytes = valid ? len : 0;
                label = "write(byte[" + size + "]," + off + "," + len + ")";
                break;
            default:
                bytes = 0;
                label = "write(null," + off + "," + len + ")";
        }
        Conn c = m.conn;
        if (c != null && bytes > 0 && !c.closed[1 - m.side]
                && c.pending[1 - m.side] + c.urgent[1 - m.side] + bytes > PENDING_CAP) {
            skip("write beyond what the buffers surely hold");
            return;
        }
        if (bytes > 0 && c != null && c.closed[1 - m.side]) {
            skip(SEND_AFTER_PEER_CLOSE);
            return;
        }
        OutputStream out = out(s, m, p, cached || kind == 4);
        if (out == null) {
            return;
        }
        byte[] b = new byte[size];
        for (int k = 0; k < size; k++) {
            b[k] = (byte) (st.d() + 31 * k);
        }
        String l = p + "out." + label;
        switch (kind) {
            case 0:
                run(l, () -> out.write(st.d()));
                break;
            case 1:
                run(l, () -> out.write(b));
                break;
            case 2:
            case 4:
                run(l, () -> out.write(b, off, len));
                break;
            default:
                run(l, () -> out.write(null, off, len));
        }
        if (lastOk && c != null) {
            c.pending[1 - m.side] += bytes;
        }
    }

    void available(Socket s, SockModel m, String p, Step st) {
        if (m.conn != null && m.conn.flooded[m.side] && !s.isClosed() && !s.isInputShutdown()) {
            skip("available() after a flood: the clock decides");
            return;
        }
        InputStream in = in(s, m, p, (st.d() & 1) == 0);
        if (in == null) {
            return;
        }
        sync(s, m, Integer.MAX_VALUE);
        Conn c = m.conn;
        if (c != null && c.urgent[m.side] > 0) {
            // after urgent data the count depends on where the urgent mark is: compare its sign
            call(p + "in.available()", in::available, v -> v > 0 ? "(positive)" : String.valueOf(v));
        } else {
            call(p + "in.available()", in::available);
        }
    }

    void streamMisc(Socket s, SockModel m, String p, Step st) {
        boolean cached = (st.d() & 1) == 0;
        switch (Math.floorMod(st.a(), 5)) {
            case 0: {
                InputStream in = in(s, m, p, cached);
                if (in != null) {
                    call(p + "in.markSupported()", in::markSupported);
                }
                break;
            }
            case 1: {
                InputStream in = in(s, m, p, cached);
                int v = intArg(st.b(), st.d());
                if (in != null) {
                    run(p + "in.mark(" + v + ")", () -> in.mark(v));
                }
                break;
            }
            case 2: {
                InputStream in = in(s, m, p, cached);
                if (in != null) {
                    run(p + "in.reset()", in::reset);
                }
                break;
            }
            case 3: {
                OutputStream out = out(s, m, p, cached);
                if (out != null) {
                    run(p + "out.flush()", out::flush);
                }
                break;
            }
            default: {
                if (closeMayLinger(s, m)) {
                    skip(LINGERING_CLOSE);
                } else if (st.b() % 2 == 0) {
                    InputStream in = in(s, m, p, cached);
                    if (in != null) {
                        run(p + "in.close()", in::close);
                    }
                } else {
                    OutputStream out = out(s, m, p, cached);
                    if (out != null) {
                        run(p + "out.close()", out::close);
                    }
                }
            }
        }
    }

    void urgent(Socket s, SockModel m, String p, Step st) {
        Conn c = m.conn;
        if (c != null && !c.closed[1 - m.side] && c.pending[1 - m.side] + c.urgent[1 - m.side] + 1 > PENDING_CAP) {
            skip("urgent data beyond what the buffers surely hold");
            return;
        }
        if (c != null && c.closed[1 - m.side]) {
            skip(SEND_AFTER_PEER_CLOSE);
            return;
        }
        int v = st.d();
        run(p + "sendUrgentData(" + v + ")", () -> s.sendUrgentData(v));
        if (lastOk && c != null) {
            c.urgent[1 - m.side]++;
        }
    }

    // ------------------------------------------------------------ close by another thread

    /** Natives in which a thread waits for the socket. */
    static final Set<String> BLOCKING_NATIVES = Set.of("read0", "read", "accept", "accept0", "poll",
            "poll0", "connect", "connect0", "write0", "write");

    /** What a flooding writer writes, again and again. */
    static final byte[] FLOOD = new byte[1 << 20];

    /**
     * Starts {@code blocking} in a new thread, waits until it sits in a blocking native call,
     * closes with {@code closer} from this thread, and records how both ended.
     */
    void closeUnder(String what, Call<Object> blocking, String closeLabel, VoidCall closer) {
        AtomicReference<String> outcome = new AtomicReference<>("still running");
        Thread t = new Thread(() -> {
            try {
                outcome.set("returned " + render(blocking.call()));
            } catch (Exception e) {
                outcome.set(renderException(e));
            }
        }, "random-api-blocked");
        t.setDaemon(true);
        threads.add(t);
        RANDOM_CALLS[index].incrementAndGet();
        if (index == 1) {
            CLOSED_UNDER.incrementAndGet();
        }
        t.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        int seen = 0;
        while (seen < 3 && t.isAlive() && System.nanoTime() < deadline) {
            StackTraceElement[] st = t.getStackTrace();
            if (st.length > 0 && st[0].isNativeMethod() && BLOCKING_NATIVES.contains(st[0].getMethodName())) {
                seen++;
            } else {
                seen = 0;
            }
            LockSupport.parkNanos(200_000);
        }
        LockSupport.parkNanos(1_000_000);
        obs.add(what + " in another thread: " + (t.isAlive() ? "blocked" : "ended: " + outcome.get()));
        run(closeLabel, closer);
        try {
            t.join(STEP_HANG_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        String o = outcome.get();
        obs.add(what + " -> " + o);
        if (index == 1) {
            tally(o.startsWith("returned") ? "ok" : o.replaceAll(":.*", "").replaceAll(".*\\.", ""));
        }
    }

    void asyncClose(Socket s, SockModel m, String p, Step st) {
        int kind = Math.floorMod(st.a(), 3);
        if (kind == 2) {
            // writes until the buffers are full, closed under it
            Conn c = m.conn;
            boolean canFlood = !s.isClosed() && s.isConnected() && !s.isOutputShutdown() && c != null
                    && !c.closed[1 - m.side];
            if (!canFlood || !takeBudget()) {
                skip("write would not block, or no budget");
                return;
            }
            if (lingerOn(s)) {
                // the flood leaves bytes unsent: the JDK's writer, last out, may then wait out the
                // linger time in close(2) (seen in CI), where ours drops it (RustSocketImpl's CLOSER)
                skip(LINGERING_FLOOD);
                return;
            }
            if (TestSupport.WINE) {
                // Wine's closesocket does not wake a send blocked in another thread: the JDK's
                // write stays blocked (docs/windows.md), so there is no JDK answer to compare with
                skip("Wine: a close does not wake a blocked write");
                return;
            }
            OutputStream out = out(s, m, p, true);
            if (out == null) {
                return;
            }
            c.flooded[1 - m.side] = true;
            closeUnder(p + "out.write(byte[1 MiB]) until it blocks", () -> {
                while (true) {
                    out.write(FLOOD);
                }
            }, p + "close()", s::close);
        } else if (kind == 0) {
            // a read with nothing coming, closed under it
            Conn c = m.conn;
            int timeout = soTimeout(s);
            boolean blocks = !s.isClosed() && s.isConnected() && !s.isInputShutdown() && !m.sawEof && c != null
                    && c.pending[m.side] == 0 && c.urgent[m.side] == 0 && !c.eofComing(m.side)
                    && (timeout == 0 || timeout >= LONG_TIMEOUT);
            if (!blocks || !takeBudget()) {
                skip("read would not block, or no budget");
                return;
            }
            if (closeMayLinger(s, m)) {
                skip(LINGERING_CLOSE);
                return;
            }
            InputStream in = in(s, m, p, true);
            if (in == null) {
                return;
            }
            closeUnder(p + "in.read()", () -> in.read(), p + "close()", s::close);
        } else {
            // a connect that gets no answer, closed under it
            if (s.isClosed() || s.isConnected() || m.connectFailed || !takeBudget()) {
                skip("socket cannot connect, or no budget");
                return;
            }
            InetSocketAddress full = new InetSocketAddress(LOOPBACK, fullPort);
            closeUnder(p + "connect(FULL)", () -> {
                s.connect(full);
                return "connected";
            }, p + "close()", s::close);
            m.connectFailed = !s.isConnected();
        }
    }
}
