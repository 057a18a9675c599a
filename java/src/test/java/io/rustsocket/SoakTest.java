package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.rustsocket.internal.Descriptors;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Soak: many concurrent connections carrying checksummed messages for a long time, and connection
 * churn. Every message is checked at both ends; descriptors must return to their baseline; and
 * the process's resident memory must reach a plateau, not grow with the work done.
 *
 * <p>The long versions are tagged {@code soak} and run under {@code gradle soak}; the short
 * versions run in the normal suite. Each test prints one line of figures and appends it to
 * {@code soak-figures.txt} in the directory named by the {@code rustsocket.reportDir} property.
 */
class SoakTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /** Message header: magic, sequence number, payload length, CRC32 of the payload (4 bytes each). */
    private static final int HEADER = 16;
    private static final int MAGIC = 0x52534f4b; // "RSOK"
    private static final int MAX_PAYLOAD = 64 * 1024;
    /** Samples of RSS and descriptors, taken each time another 1/STEPS of the work is done. */
    private static final int STEPS = 30;
    /** RSS in the last third may exceed the middle third's maximum by this factor at most. */
    private static final double PLATEAU_TOLERANCE = 1.10;

    // ------------------------------------------------------------------ the tests

    @Test
    void echoShort() throws Exception {
        echo("short", 1_000, 300_000, Duration.ofSeconds(90));
    }

    @Test
    @Tag("soak")
    void echoSoak() throws Exception {
        echo("soak", 1_000, 5_000_000, Duration.ofMinutes(30));
    }

    @Test
    void churnShort() throws Exception {
        churn("short", 10_000, Duration.ofSeconds(60));
    }

    @Test
    @Tag("soak")
    void churnSoak() throws Exception {
        churn("soak", 100_000, Duration.ofMinutes(15));
    }

    // ------------------------------------------------------------------ measurements

    /** Resident set size of this process in KiB (VmRSS of /proc/self/status). */
    static long rssKib() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"), StandardCharsets.US_ASCII)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no VmRSS in /proc/self/status");
    }

    /** The soft limit on open files (/proc/self/limits), or Long.MAX_VALUE when unlimited. */
    static long openFilesSoftLimit() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/limits"), StandardCharsets.US_ASCII)) {
            if (line.startsWith("Max open files")) {
                String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
            }
        }
        throw new IOException("no 'Max open files' in /proc/self/limits");
    }

    /** Skips (not fails) when the descriptor limit cannot hold {@code needed} more descriptors. */
    private static void assumeDescriptors(int needed, String what) throws IOException {
        TestSupport.assumeLinux("reads the descriptor limit and the resident set size from /proc/self");
        long limit = openFilesSoftLimit();
        int inUse = TestSupport.processFdCount();
        Assumptions.assumeTrue(inUse + needed + 64 <= limit, () -> what + " needs about " + (inUse + needed + 64)
                + " open files, but the soft limit (ulimit -n) is " + limit + " with " + inUse
                + " in use; raise it (e.g. ulimit -n 4096) to run this test");
    }

    /** One sample: progress (messages or cycles done), RSS, process descriptors, library descriptors. */
    private static final class Sample {
        final long progress;
        final long rssKib;
        final int fds;
        final int open;

        Sample(long progress, long rssKib, int fds, int open) {
            this.progress = progress;
            this.rssKib = rssKib;
            this.fds = fds;
            this.open = open;
        }
    }

    /**
     * Takes a sample (after a System.gc(), so that heap garbage does not count) each time the
     * progress passes another 1/{@value #STEPS} of {@code total}.
     */
    private static final class Sampler implements Runnable {
        private final LongSupplier progress;
        private final long total;
        final List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
        private volatile boolean stop;
        private final Thread thread;
        private volatile Throwable failure;

        Sampler(LongSupplier progress, long total) {
            this.progress = progress;
            this.total = total;
            this.thread = new Thread(this, "soak-sampler");
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        @Override
        public void run() {
            try {
                int next = 1;
                while (next <= STEPS) {
                    boolean last = stop; // read before the progress: a final look once stopped
                    long p = progress.getAsLong();
                    if (p >= total * next / STEPS) {
                        samples.add(take(p));
                        while (next <= STEPS && p >= total * next / STEPS) {
                            next++;
                        }
                    } else if (last) {
                        break;
                    } else {
                        Thread.sleep(5);
                    }
                }
            } catch (Throwable t) {
                failure = t;
            }
        }

        static Sample take(long progress) throws IOException {
            System.gc();
            return new Sample(progress, rssKib(), TestSupport.processFdCount(), Descriptors.openCount());
        }

        void stop() throws InterruptedException {
            stop = true;
            thread.join(10_000);
            if (failure != null) {
                throw new AssertionError("sampler failed", failure);
            }
        }

        int maxFds() {
            synchronized (samples) {
                return samples.stream().mapToInt(s -> s.fds).max().orElse(-1);
            }
        }

        int maxOpen() {
            synchronized (samples) {
                return samples.stream().mapToInt(s -> s.open).max().orElse(-1);
            }
        }

        long maxRss(double fromThird, double toThird) {
            synchronized (samples) {
                return samples.stream()
                        .filter(s -> s.progress >= total * fromThird && s.progress < total * toThird + (toThird >= 1 ? 1 : 0))
                        .mapToLong(s -> s.rssKib).max().orElse(-1);
            }
        }

        String rssSeries() {
            StringBuilder b = new StringBuilder();
            synchronized (samples) {
                for (Sample s : samples) {
                    b.append(b.length() == 0 ? "" : " ").append(s.rssKib / 1024);
                }
            }
            return b.toString();
        }

        /**
         * RSS must reach a plateau: the largest sample of the last third of the work is at most
         * {@link #PLATEAU_TOLERANCE} times the largest of the middle third.
         */
        void assertPlateau(String what) {
            long middle = maxRss(1.0 / 3, 2.0 / 3);
            long last = maxRss(2.0 / 3, 1.0);
            assertTrue(middle > 0 && last > 0, () -> what + ": too few RSS samples (" + samples.size() + ")");
            assertTrue(last <= middle * PLATEAU_TOLERANCE, () -> String.format(Locale.ROOT,
                    "%s: RSS keeps growing with the work: max %d MiB in the last third vs %d MiB in the middle"
                            + " third (more than %.0f%% above); samples in MiB: %s",
                    what, last / 1024, middle / 1024, (PLATEAU_TOLERANCE - 1) * 100, rssSeries()));
        }
    }

    /** Prints the line and appends it to soak-figures.txt in rustsocket.reportDir, if that is set. */
    static void report(String line) throws IOException {
        String stamped = Instant.now() + " java " + Runtime.version() + " " + line;
        System.out.println(stamped);
        TestSupport.appendToReport("soak-figures.txt", stamped);
    }

    /** Loads the library and lazily opened JDK files, so that the baselines do not move afterwards. */
    private static void warmUp() throws Exception {
        for (int i = 0; i < 20; i++) {
            try (TestSupport.Pair p = new TestSupport.Pair(Engine.RUST)) {
                p.client.setSoTimeout(5_000);
                p.server.getOutputStream().write(new byte[100]);
                TestSupport.readExactly(p.client.getInputStream(), 100);
            }
        }
        System.gc();
    }

    private static void joinAll(List<Thread> threads, long deadlineNanos) throws InterruptedException {
        for (Thread t : threads) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
            t.join(Math.max(1, left));
        }
    }

    private static long alive(List<Thread> threads) {
        return threads.stream().filter(Thread::isAlive).count();
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignore) {
                // best effort: tearing down after a failure
            }
        }
    }

    private static String mib(long kib) {
        return String.format(Locale.ROOT, "%.1f", kib / 1024.0);
    }

    // ------------------------------------------------------------------ echo soak

    /** Sizes 1 B .. 64 KiB, mostly small, with both extremes every 1,000 messages. */
    private static int payloadSize(SplittableRandom rnd, long n) {
        int m = (int) (n % 1000);
        if (m == 0) {
            return MAX_PAYLOAD;
        }
        if (m == 1) {
            return 1;
        }
        int k = rnd.nextInt(100);
        if (k < 70) {
            return 1 + rnd.nextInt(512);
        } else if (k < 95) {
            return 1 + rnd.nextInt(8 * 1024);
        }
        return 1 + rnd.nextInt(MAX_PAYLOAD);
    }

    /** Shared counters of one echo run. */
    private static final class EchoStats {
        final AtomicLong issued = new AtomicLong();
        final AtomicLong clientChecked = new AtomicLong();
        final AtomicLong clientBytes = new AtomicLong();
        final AtomicLong serverChecked = new AtomicLong();
        final AtomicLong serverBytes = new AtomicLong();
        final AtomicLong corrupted = new AtomicLong();
        final AtomicLong truncated = new AtomicLong();
        final AtomicLong minSize = new AtomicLong(Long.MAX_VALUE);
        final AtomicLong maxSize = new AtomicLong();
        final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        volatile boolean stopping;

        void error(String e) {
            if (errors.size() < 20) {
                errors.add(e);
            }
        }
    }

    /** The server side of one connection: reads each message, checks it, echoes it back. */
    private static void serveEcho(Socket s, EchoStats stats) {
        byte[] buf = new byte[HEADER + MAX_PAYLOAD];
        CRC32 crc = new CRC32();
        ByteBuffer header = ByteBuffer.wrap(buf, 0, HEADER);
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                int n = in.readNBytes(buf, 0, HEADER);
                if (n == 0) {
                    return; // the client closed between messages
                }
                if (n < HEADER) {
                    stats.truncated.incrementAndGet();
                    stats.error("server: EOF inside a header");
                    return;
                }
                int magic = header.getInt(0);
                int len = header.getInt(8);
                if (magic != MAGIC || len < 1 || len > MAX_PAYLOAD) {
                    stats.corrupted.incrementAndGet();
                    stats.error("server: bad header magic=" + Integer.toHexString(magic) + " len=" + len);
                    return; // cannot resynchronize
                }
                n = in.readNBytes(buf, HEADER, len);
                if (n < len) {
                    stats.truncated.incrementAndGet();
                    stats.error("server: EOF after " + n + " of " + len + " payload bytes");
                    return;
                }
                crc.reset();
                crc.update(buf, HEADER, len);
                if ((int) crc.getValue() != header.getInt(12)) {
                    stats.corrupted.incrementAndGet();
                    stats.error("server: CRC mismatch, seq " + header.getInt(4));
                }
                out.write(buf, 0, HEADER + len);
                stats.serverChecked.incrementAndGet();
                stats.serverBytes.addAndGet(len);
            }
        } catch (IOException e) {
            if (!stats.stopping) {
                stats.error("server: " + e);
            }
        }
    }

    /**
     * Drives a share of the client connections: in each round it writes one message on every
     * connection it owns, then reads and checks every echo, so all its connections have a message
     * in flight at once.
     */
    private static final class EchoDriver implements Runnable {
        private final Socket[] conns;
        private final long target;
        private final EchoStats stats;
        private final SplittableRandom rnd;
        private final byte[] source;
        private final int[] seq;
        private final int[] sentLen;
        private final int[] sentCrc;

        EchoDriver(Socket[] conns, long target, EchoStats stats, long seed) {
            this.conns = conns;
            this.target = target;
            this.stats = stats;
            this.rnd = new SplittableRandom(seed);
            this.source = new byte[2 * MAX_PAYLOAD];
            for (int i = 0; i < source.length; i++) {
                source[i] = (byte) rnd.nextInt(256);
            }
            this.seq = new int[conns.length];
            this.sentLen = new int[conns.length];
            this.sentCrc = new int[conns.length];
        }

        @Override
        public void run() {
            byte[] out = new byte[HEADER + MAX_PAYLOAD];
            byte[] in = new byte[HEADER + MAX_PAYLOAD];
            ByteBuffer outHeader = ByteBuffer.wrap(out, 0, HEADER);
            ByteBuffer inHeader = ByteBuffer.wrap(in, 0, HEADER);
            CRC32 crc = new CRC32();
            int current = -1;
            try {
                boolean more = true;
                while (more) {
                    int batch = 0;
                    for (int j = 0; j < conns.length; j++) {
                        long n = stats.issued.getAndIncrement();
                        if (n >= target) {
                            more = false;
                            break;
                        }
                        current = j;
                        int len = payloadSize(rnd, n);
                        System.arraycopy(source, rnd.nextInt(source.length - len + 1), out, HEADER, len);
                        crc.reset();
                        crc.update(out, HEADER, len);
                        seq[j]++;
                        sentLen[j] = len;
                        sentCrc[j] = (int) crc.getValue();
                        outHeader.putInt(0, MAGIC).putInt(4, seq[j]).putInt(8, len).putInt(12, sentCrc[j]);
                        conns[j].getOutputStream().write(out, 0, HEADER + len);
                        stats.minSize.accumulateAndGet(len, Math::min);
                        stats.maxSize.accumulateAndGet(len, Math::max);
                        batch++;
                    }
                    for (int j = 0; j < batch; j++) {
                        current = j;
                        InputStream is = conns[j].getInputStream();
                        int n = is.readNBytes(in, 0, HEADER);
                        if (n < HEADER) {
                            stats.truncated.incrementAndGet();
                            throw new IOException("EOF inside an echoed header (" + n + " bytes)");
                        }
                        int len = inHeader.getInt(8);
                        if (inHeader.getInt(0) != MAGIC || inHeader.getInt(4) != seq[j] || len != sentLen[j]
                                || inHeader.getInt(12) != sentCrc[j]) {
                            stats.corrupted.incrementAndGet();
                            throw new IOException("echoed header differs: seq " + inHeader.getInt(4) + "/" + seq[j]
                                    + ", len " + len + "/" + sentLen[j]);
                        }
                        n = is.readNBytes(in, HEADER, len);
                        if (n < len) {
                            stats.truncated.incrementAndGet();
                            throw new IOException("EOF after " + n + " of " + len + " echoed bytes");
                        }
                        crc.reset();
                        crc.update(in, HEADER, len);
                        if ((int) crc.getValue() != sentCrc[j]) {
                            stats.corrupted.incrementAndGet();
                            stats.error("client: CRC mismatch on an echo, seq " + seq[j]);
                        } else {
                            stats.clientChecked.incrementAndGet();
                            stats.clientBytes.addAndGet(len);
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (!stats.stopping) {
                    stats.error("client (connection " + current + " of its driver): " + e);
                }
            }
        }
    }

    private void echo(String variant, int connections, long messages, Duration limit) throws Exception {
        assumeDescriptors(2 * connections + 16, "the echo soak with " + connections + " connections");
        String what = "echo[" + variant + "]";
        warmUp();
        DescriptorBaseline baseline = DescriptorBaseline.now();
        long rssBefore = Sampler.take(0).rssKib;
        long deadline = System.nanoTime() + limit.toNanos();

        EchoStats stats = new EchoStats();
        List<Thread> servers = Collections.synchronizedList(new ArrayList<>());
        Socket[] clients = new Socket[connections];
        List<Thread> drivers = new ArrayList<>();
        ServerSocket listener = new RustServerSocket(0, connections, LOOPBACK);
        Sampler sampler = new Sampler(stats.clientChecked::get, messages);
        long elapsedNanos = 0;
        try {
            // the server: an acceptor, then one small-stack thread per connection
            Thread acceptor = new Thread(() -> {
                try {
                    for (int i = 0; i < connections; i++) {
                        Socket s = listener.accept();
                        if (i % 2 == 1) {
                            s.setSoTimeout(120_000); // half the server reads take the timed path
                        }
                        Thread t = new Thread(null, () -> serveEcho(s, stats), "echo-server-" + i, 256 * 1024);
                        t.setDaemon(true);
                        servers.add(t);
                        t.start();
                    }
                } catch (IOException e) {
                    stats.error("acceptor: " + e);
                }
            }, "echo-acceptor");
            acceptor.setDaemon(true);
            acceptor.start();
            for (int i = 0; i < connections; i++) {
                clients[i] = new RustSocket(LOOPBACK, listener.getLocalPort());
                if (i % 2 == 0) {
                    clients[i].setSoTimeout(120_000); // and half the client reads
                }
            }
            acceptor.join(TimeUnit.SECONDS.toMillis(30));
            assertEquals(connections, servers.size(), () -> "connections accepted; " + stats.errors);
            int fdsOpen = TestSupport.processFdCount();
            assertTrue(fdsOpen >= baseline.process + 2 * connections,
                    "process descriptors with all connections open: " + fdsOpen + ", before " + baseline.process);

            int driverCount = 8;
            sampler.start();
            long start = System.nanoTime();
            for (int d = 0; d < driverCount; d++) {
                List<Socket> mine = new ArrayList<>();
                for (int i = d; i < connections; i += driverCount) {
                    mine.add(clients[i]);
                }
                Thread t = new Thread(new EchoDriver(mine.toArray(new Socket[0]), messages, stats, 42 + d),
                        "echo-driver-" + d);
                t.setDaemon(true);
                drivers.add(t);
                t.start();
            }
            joinAll(drivers, deadline);
            elapsedNanos = System.nanoTime() - start;
            if (alive(drivers) > 0) {
                stats.stopping = true;
                for (Socket c : clients) {
                    closeQuietly(c); // wakes the blocked drivers
                }
                fail(what + ": " + alive(drivers) + " drivers still running after " + limit.toSeconds() + " s; "
                        + stats.clientChecked.get() + " of " + messages + " messages checked; errors: " + stats.errors);
            }
            sampler.stop();
            assertTrue(stats.errors.isEmpty(), () -> what + ": errors: " + stats.errors);
        } finally {
            stats.stopping = stats.stopping || !stats.errors.isEmpty();
            for (Socket c : clients) {
                closeQuietly(c); // the servers then read EOF between messages and close their side
            }
            joinAll(servers, System.nanoTime() + TimeUnit.SECONDS.toNanos(30));
            listener.close();
            for (Thread t : drivers) {
                t.join(5_000);
            }
        }
        assertEquals(0, alive(servers), what + ": server threads still running 30 s after the clients closed");
        assertTrue(stats.errors.isEmpty(), () -> what + ": errors: " + stats.errors);
        assertEquals(0, stats.corrupted.get(), what + ": corrupted messages");
        assertEquals(0, stats.truncated.get(), what + ": truncated messages");
        assertEquals(messages, stats.clientChecked.get(), what + ": messages echoed and checked by the clients");
        assertEquals(messages, stats.serverChecked.get(), what + ": messages checked by the servers");
        assertEquals(stats.clientBytes.get(), stats.serverBytes.get(), what + ": payload bytes at both ends");
        assertEquals(1, stats.minSize.get(), "smallest message");
        assertEquals(MAX_PAYLOAD, stats.maxSize.get(), "largest message");

        boolean fdsBack = baseline.back();
        int fdAfter = TestSupport.processFdCount();
        int openAfter = Descriptors.openCount();
        long rssAfter = Sampler.take(messages).rssKib;
        double seconds = elapsedNanos / 1e9;
        report(String.format(Locale.ROOT, "SoakTest %s: %d connections, %d messages (%d..%d B payload) in %.1f s ="
                        + " %.0f msg/s, %.1f MiB/s each way; checked: %d by clients + %d by servers, %d payload"
                        + " bytes each way; corrupted %d, lost %d; process fds before/max during/after %d/%d/%d;"
                        + " Descriptors.openCount %d/%d/%d; RSS MiB before %s, max middle third %s, max last third"
                        + " %s, after %s; RSS samples (MiB): %s",
                what, connections, messages, stats.minSize.get(), stats.maxSize.get(), seconds, messages / seconds,
                stats.clientBytes.get() / seconds / (1 << 20), stats.clientChecked.get(), stats.serverChecked.get(),
                stats.clientBytes.get(), stats.corrupted.get(), messages - stats.clientChecked.get(), baseline.process,
                sampler.maxFds(), fdAfter, baseline.library, sampler.maxOpen(), openAfter, mib(rssBefore),
                mib(sampler.maxRss(1.0 / 3, 2.0 / 3)), mib(sampler.maxRss(2.0 / 3, 1.0)), mib(rssAfter),
                sampler.rssSeries()));
        assertTrue(fdsBack, what + ": descriptors after close: process " + fdAfter + " (baseline " + baseline.process
                + "), Descriptors.openCount() " + openAfter + " (baseline " + baseline.library + ")");
        sampler.assertPlateau(what);
    }

    // ------------------------------------------------------------------ connection churn

    private void churn(String variant, int cycles, Duration limit) throws Exception {
        assumeDescriptors(64, "the churn test");
        String what = "churn[" + variant + "]";
        warmUp();
        DescriptorBaseline baseline = DescriptorBaseline.now();
        long rssBefore = Sampler.take(0).rssKib;
        long deadline = System.nanoTime() + limit.toNanos();

        AtomicLong claimed = new AtomicLong();
        AtomicLong done = new AtomicLong();
        AtomicLong served = new AtomicLong();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        ServerSocket listener = new RustServerSocket(0, 128, LOOPBACK);
        int port = listener.getLocalPort();
        Sampler sampler = new Sampler(done::get, cycles);
        int clientCount = 2;
        Socket[] current = new Socket[clientCount];
        List<Thread> threads = new ArrayList<>();
        long elapsedNanos;
        // the server: accept, read the client's byte, answer, close first (so TIME_WAIT stays here)
        Thread acceptor = new Thread(() -> {
            try {
                while (true) {
                    try (Socket s = listener.accept()) {
                        s.setSoTimeout(10_000);
                        int b = s.getInputStream().read();
                        if (b != 0x5a) {
                            errors.add("server read " + b);
                            return;
                        }
                        s.getOutputStream().write(0xa5);
                        served.incrementAndGet();
                    }
                }
            } catch (IOException e) {
                if (!listener.isClosed()) {
                    errors.add("server: " + e);
                }
            }
        }, "churn-acceptor");
        acceptor.setDaemon(true);
        try {
            acceptor.start();
            sampler.start();
            long start = System.nanoTime();
            for (int t = 0; t < clientCount; t++) {
                int id = t;
                Thread client = new Thread(() -> {
                    try {
                        long n;
                        while ((n = claimed.getAndIncrement()) < cycles) {
                            Socket c = new RustSocket(LOOPBACK, port);
                            current[id] = c;
                            try (c) {
                                if (n % 2 == 0) {
                                    c.setSoTimeout(10_000); // half the cycles read on the timed path
                                }
                                c.getOutputStream().write(0x5a);
                                InputStream in = c.getInputStream();
                                int b = in.read();
                                int eof = in.read();
                                if (b != 0xa5 || eof != -1) {
                                    errors.add("cycle " + n + ": read " + b + " then " + eof);
                                    return;
                                }
                            }
                            done.incrementAndGet();
                        }
                    } catch (IOException | RuntimeException e) {
                        errors.add("client: " + e);
                    }
                }, "churn-client-" + t);
                client.setDaemon(true);
                threads.add(client);
                client.start();
            }
            joinAll(threads, deadline);
            elapsedNanos = System.nanoTime() - start;
            if (alive(threads) > 0) {
                for (Socket c : current) {
                    closeQuietly(c);
                }
                fail(what + ": clients still running after " + limit.toSeconds() + " s; " + done.get() + " of "
                        + cycles + " cycles done; errors: " + errors);
            }
            sampler.stop();
        } finally {
            listener.close();
            acceptor.join(10_000);
        }
        assertFalse(acceptor.isAlive(), "the acceptor was not woken by close()");
        assertTrue(errors.isEmpty(), () -> what + ": errors: " + errors);
        assertEquals(cycles, done.get(), what + ": cycles completed");
        assertEquals(cycles, served.get(), what + ": connections served");

        boolean fdsBack = baseline.back();
        int fdAfter = TestSupport.processFdCount();
        int openAfter = Descriptors.openCount();
        long rssAfter = Sampler.take(cycles).rssKib;
        double seconds = elapsedNanos / 1e9;
        report(String.format(Locale.ROOT, "SoakTest %s: %d connect/accept/exchange/close cycles (%d client threads)"
                        + " in %.1f s = %.0f cycles/s; process fds before/max during/after %d/%d/%d;"
                        + " Descriptors.openCount %d/%d/%d; RSS MiB before %s, max middle third %s, max last third %s,"
                        + " after %s; RSS samples (MiB): %s",
                what, cycles, clientCount, seconds, cycles / seconds, baseline.process, sampler.maxFds(), fdAfter,
                baseline.library,
                sampler.maxOpen(), openAfter, mib(rssBefore), mib(sampler.maxRss(1.0 / 3, 2.0 / 3)),
                mib(sampler.maxRss(2.0 / 3, 1.0)), mib(rssAfter), sampler.rssSeries()));
        assertTrue(fdsBack, what + ": descriptors after close: process " + fdAfter + " (baseline " + baseline.process
                + "), Descriptors.openCount() " + openAfter + " (baseline " + baseline.library + ")");
        sampler.assertPlateau(what);
    }
}
