package io.rustsocket.bench;

import io.rustsocket.RustServerSocket;
import io.rustsocket.RustSocket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Echo with one virtual thread per connection, rustsocket against the JDK's sockets in the same
 * run: N connections on loopback, the server (an acceptor and one handler per connection) and
 * the clients all on virtual threads. Each client connects, does one untimed round trip, waits
 * for every other client, then does M timed round trips of S bytes; the server closes each
 * connection after its last echo. Rounds interleave the engines: JDK, RUST, then the JDK again as
 * the A/A control, whose ratio to the first JDK run shows how much of a difference is noise.
 *
 * <p>Reported per engine per round: messages (round trips) per second over the timed phase, the
 * peak VmRSS of the process (sampled every 10 ms from /proc/self/status) and its rise over the
 * value when the run began, and the number of distinct carrier threads the virtual threads ran
 * on (the {@code @ForkJoinPool-1-worker-N} of a virtual thread's {@code toString()}, sampled every
 * 16 messages). A final summary gives the medians and the RUST/JDK and JDK_AA/JDK ratios.
 *
 * <p>Needs JDK 21+ (virtual threads, reached by reflection: this compiles with --release 17), and
 * about 2N descriptors. Run it as, for example:
 *
 * <pre>
 * bash -c 'ulimit -n 65536 &amp;&amp; java --enable-native-access=ALL-UNNAMED \
 *     -cp build/libs/rustsocket-0.1.0.jar:build/classes/java/jmh \
 *     io.rustsocket.bench.VirtualThreadEcho 10000 3'
 * </pre>
 *
 * Arguments: connections (10000), rounds (3), messages per connection (100), message bytes (64),
 * and optionally {@code --split} or {@code --same-process}. Where the descriptor limit cannot be
 * raised to 2N plus a margin, the server side runs in a child JVM (same classpath and JVM
 * options, still one virtual thread per connection) and both processes' RSS and carriers are
 * reported, as {@code clients+server}; {@code --split} forces that layout.
 *
 * <p>The heap's growth dominates RSS and lingers from run to run; to compare what the engines
 * add outside the heap, fix and pre-touch it ({@code -Xms1g -Xmx1g -XX:+AlwaysPreTouch}; a server
 * child gets the same options). On a shared machine, trust a RUST/JDK difference only beyond
 * the JDK_AA/JDK spread.
 */
public final class VirtualThreadEcho {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int BACKLOG = 4096;
    /** Descriptors beyond the sockets: the JVM's own, jars, pollers. */
    private static final int FD_MARGIN = 512;

    /** The socket classes of a run; JDK_AA is the JDK measured again. */
    enum Engine {
        JDK, RUST, JDK_AA;

        ServerSocket listen() throws IOException {
            return this == RUST ? new RustServerSocket(0, BACKLOG, LOOPBACK) : new ServerSocket(0, BACKLOG, LOOPBACK);
        }

        Socket connect(int port) throws IOException {
            return this == RUST ? new RustSocket(LOOPBACK, port) : new Socket(LOOPBACK, port);
        }
    }

    /**
     * {@code -Dio.rustsocket.bench.serverBuffer=N}: the server reads whatever has come into an
     * N-byte buffer and echoes it, as a buffered server does, instead of reading each message
     * exactly (0, the default).
     */
    static final int SERVER_BUFFER = Integer.getInteger("io.rustsocket.bench.serverBuffer", 0);

    private VirtualThreadEcho() {}

    // ------------------------------------------------------------------ virtual threads by reflection

    /** {@code Executors.newVirtualThreadPerTaskExecutor()}, or null before JDK 21. */
    static ExecutorService newVirtualThreadPerTaskExecutor() {
        try {
            return (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    /** Records the carrier the calling virtual thread is mounted on. */
    static void recordCarrier(Set<String> carriers) {
        String s = Thread.currentThread().toString(); // VirtualThread[#42]/runnable@ForkJoinPool-1-worker-2
        int at = s.lastIndexOf('@');
        if (at >= 0) {
            carriers.add(s.substring(at + 1));
        }
    }

    // ------------------------------------------------------------------ process measurements

    /** VmRSS of this process in KiB, from /proc/self/status; -1 if unknown. */
    static long rssKiB() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return -1;
    }

    /** The soft limit on open files, from /proc/self/limits; Long.MAX_VALUE if unlimited or unknown. */
    static long openFilesLimit() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/limits"))) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                    return "unlimited".equals(soft) ? Long.MAX_VALUE : Long.parseLong(soft);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return Long.MAX_VALUE;
    }

    /** Samples VmRSS every 10 ms on a daemon platform thread, keeping the peak. */
    static final class RssSampler implements AutoCloseable {
        final long startKiB = rssKiB();
        private volatile long peakKiB = startKiB;
        private volatile boolean running = true;
        private final Thread thread;

        RssSampler() {
            thread = new Thread(() -> {
                while (running) {
                    long now = rssKiB();
                    if (now > peakKiB) {
                        peakKiB = now;
                    }
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "rss-sampler");
            thread.setDaemon(true);
        }

        RssSampler begin() {
            thread.start();
            return this;
        }

        long peakKiB() {
            long now = rssKiB();
            return Math.max(now, peakKiB);
        }

        @Override
        public void close() {
            running = false;
            try {
                thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ------------------------------------------------------------------ server

    /** The echo server: an acceptor virtual thread and one handler virtual thread per connection. */
    static final class Server implements AutoCloseable {
        final ServerSocket listener;
        final ExecutorService threads;
        final Set<String> carriers = ConcurrentHashMap.newKeySet();
        final AtomicInteger handlersDone = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final int messages;
        private final int size;

        Server(Engine engine, int messages, int size) throws IOException {
            this.listener = engine.listen();
            this.threads = newVirtualThreadPerTaskExecutor();
            this.messages = messages;
            this.size = size;
        }

        Server start() {
            threads.execute(this::acceptLoop);
            return this;
        }

        int port() {
            return listener.getLocalPort();
        }

        private void acceptLoop() {
            recordCarrier(carriers);
            while (!listener.isClosed()) {
                Socket s;
                try {
                    s = listener.accept();
                } catch (IOException e) {
                    if (!listener.isClosed()) {
                        failure.compareAndSet(null, e);
                    }
                    return;
                }
                threads.execute(() -> handle(s));
            }
        }

        /**
         * Echoes the warm-up message and the timed ones, then closes first (TIME_WAIT stays here).
         * Each message is read exactly ({@code readNBytes}), or with {@link #SERVER_BUFFER} set,
         * as a buffered server reads: whatever has come, into a buffer that size, echoed as is.
         */
        private void handle(Socket s) {
            try (Socket socket = s) {
                socket.setTcpNoDelay(true);
                InputStream in = socket.getInputStream();
                OutputStream out = socket.getOutputStream();
                if (SERVER_BUFFER > 0) {
                    echoBuffered(in, out);
                    return;
                }
                byte[] buf = new byte[size];
                for (int m = 0; m <= messages; m++) {
                    if (in.readNBytes(buf, 0, size) != size) {
                        throw new IOException("EOF after " + m + " messages");
                    }
                    out.write(buf);
                    if ((m & 15) == 0) {
                        recordCarrier(carriers);
                    }
                }
            } catch (IOException | RuntimeException e) {
                failure.compareAndSet(null, e);
            } finally {
                handlersDone.incrementAndGet();
            }
        }

        private void echoBuffered(InputStream in, OutputStream out) throws IOException {
            byte[] buf = new byte[SERVER_BUFFER];
            long total = (messages + 1L) * size;
            long echoed = 0;
            int reads = 0;
            while (echoed < total) {
                int n = in.read(buf);
                if (n < 0) {
                    throw new IOException("EOF after " + echoed + " bytes");
                }
                out.write(buf, 0, n);
                echoed += n;
                if ((reads++ & 15) == 0) {
                    recordCarrier(carriers);
                }
            }
        }

        /** Waits until n handlers have ended. */
        boolean awaitHandlers(int n, long millis) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            while (handlersDone.get() < n && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            return handlersDone.get() >= n;
        }

        @Override
        public void close() throws IOException {
            listener.close();
            threads.shutdown();
            try {
                if (!threads.awaitTermination(60, TimeUnit.SECONDS)) {
                    throw new IOException("server threads still running 60 s after close");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while closing the server", e);
            }
        }
    }

    /**
     * Where the server runs: this process, or a child JVM driven over its stdin/stdout
     * ({@code START engine messages size} answered by {@code PORT p}; {@code STOP n} answered by
     * {@code STATS rssPeakKiB rssStartKiB carriers failure}).
     */
    interface ServerSide extends AutoCloseable {
        int start(Engine engine, int messages, int size) throws Exception;

        /** Waits for n handlers, stops the server; returns {rssPeakKiB, rssStartKiB, carriers}. */
        long[] stop(int n) throws Exception;

        @Override
        void close() throws IOException;
    }

    /** The server in this process: its RSS and carriers are the clients' too, so it reports none. */
    static final class LocalServer implements ServerSide {
        Server server;
        Set<String> carriers;

        @Override
        public int start(Engine engine, int messages, int size) throws IOException {
            server = new Server(engine, messages, size).start();
            carriers = server.carriers;
            return server.port();
        }

        @Override
        public long[] stop(int n) throws Exception {
            boolean all = server.awaitHandlers(n, 60_000);
            server.close();
            if (server.failure.get() != null) {
                throw new IOException("server failed", server.failure.get());
            }
            if (!all) {
                throw new IOException("only " + server.handlersDone.get() + " of " + n + " handlers ended");
            }
            return null;
        }

        @Override
        public void close() {}
    }

    /** The server in a child JVM of the same java, classpath and JVM options. */
    static final class ChildServer implements ServerSide {
        private final Process process;
        private final BufferedReader in;
        private final PrintStream out;

        ChildServer() throws IOException {
            List<String> cmd = new ArrayList<>();
            cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(VirtualThreadEcho.class.getName());
            cmd.add("--server");
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.redirectError(ProcessBuilder.Redirect.INHERIT);
            process = pb.start();
            in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            out = new PrintStream(process.getOutputStream(), true, "UTF-8");
        }

        private String expect(String prefix) throws IOException {
            String line = in.readLine();
            if (line == null || !line.startsWith(prefix)) {
                throw new IOException("server child said " + line + ", expected " + prefix);
            }
            return line.substring(prefix.length()).trim();
        }

        @Override
        public int start(Engine engine, int messages, int size) throws IOException {
            out.println("START " + engine + " " + messages + " " + size);
            return Integer.parseInt(expect("PORT"));
        }

        @Override
        public long[] stop(int n) throws IOException {
            out.println("STOP " + n);
            String[] f = expect("STATS").split(" ", 4);
            if (f.length > 3 && !f[3].equals("-")) {
                throw new IOException("server child: " + f[3]);
            }
            return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2])};
        }

        @Override
        public void close() {
            out.println("EXIT");
            try {
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The child JVM's loop (argument {@code --server}). */
    static void serveChild() throws Exception {
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        Server server = null;
        RssSampler rss = null;
        String line;
        while ((line = commands.readLine()) != null) {
            String[] f = line.split(" ");
            switch (f[0]) {
                case "START":
                    System.gc();
                    rss = new RssSampler().begin();
                    server = new Server(Engine.valueOf(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3])).start();
                    out.println("PORT " + server.port());
                    break;
                case "STOP": {
                    int n = Integer.parseInt(f[1]);
                    boolean all = server.awaitHandlers(n, 60_000);
                    server.close();
                    rss.close();
                    Throwable failure = server.failure.get();
                    String problem = failure != null ? failure.toString().replace('\n', ' ')
                            : all ? "-" : "only " + server.handlersDone.get() + " of " + n + " handlers ended";
                    out.println("STATS " + rss.peakKiB() + " " + rss.startKiB + " " + server.carriers.size() + " " + problem);
                    server = null;
                    break;
                }
                case "EXIT":
                    return;
                default:
                    throw new IllegalArgumentException(line);
            }
        }
    }

    // ------------------------------------------------------------------ one run

    /** What one run of one engine measured. */
    static final class Result {
        final Engine engine;
        double messagesPerSecond;
        double connectSeconds;
        double timedSeconds;
        long rssPeakKiB;
        long rssStartKiB;
        int carriers;
        // the server child's, when the server runs apart (else -1)
        long serverRssPeakKiB = -1;
        long serverRssStartKiB = -1;
        int serverCarriers = -1;
        double p50Micros = Double.NaN;
        double p99Micros = Double.NaN;
        /** With --counters: system calls and context switches of the timed phase, or null. */
        String counters;

        Result(Engine engine) {
            this.engine = engine;
        }

        long totalRssPeakKiB() {
            return rssPeakKiB + Math.max(0, serverRssPeakKiB);
        }

        String line(String label) {
            boolean split = serverRssPeakKiB >= 0;
            String rss = split
                    ? String.format(Locale.ROOT, "%4d+%4d MiB (+%d+%d)", rssPeakKiB / 1024, serverRssPeakKiB / 1024,
                            (rssPeakKiB - rssStartKiB) / 1024, (serverRssPeakKiB - serverRssStartKiB) / 1024)
                    : String.format(Locale.ROOT, "%5d MiB (+%d)", rssPeakKiB / 1024, (rssPeakKiB - rssStartKiB) / 1024);
            String carrierText = split ? carriers + "+" + serverCarriers : Integer.toString(carriers);
            return String.format(Locale.ROOT, "%-8s %-6s msgs/s %,10.0f   p50 %7.1f us   p99 %8.1f us   rss-peak %s   carriers %s"
                    + "   [connect %.1f s, timed %.1f s]%s",
                    label, engine, messagesPerSecond, p50Micros, p99Micros, rss, carrierText, connectSeconds, timedSeconds,
                    counters == null ? "" : "\n" + counters);
        }
    }

    static Result runOnce(Engine engine, ServerSide serverSide, int n, int messages, int size, boolean counters)
            throws Exception {
        System.gc();
        Result result = new Result(engine);
        Set<String> carriers = ConcurrentHashMap.newKeySet();
        ExecutorService clients = newVirtualThreadPerTaskExecutor();
        try (RssSampler rss = new RssSampler().begin()) {
            result.rssStartKiB = rss.startKiB;
            int port = serverSide.start(engine, messages, size);
            CountDownLatch ready = new CountDownLatch(n);
            CountDownLatch go = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(n);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            long[][] latencies = new long[n][messages];
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                int id = i;
                clients.execute(() -> {
                    boolean readied = false;
                    boolean counted = false;
                    try (Socket s = engine.connect(port)) {
                        s.setTcpNoDelay(true);
                        InputStream in = s.getInputStream();
                        OutputStream out = s.getOutputStream();
                        byte[] msg = new byte[size];
                        byte[] back = new byte[size];
                        Arrays.fill(msg, (byte) id);
                        // one untimed round trip: the connection is accepted and warm before timing starts
                        out.write(msg);
                        if (in.readNBytes(back, 0, size) != size || !Arrays.equals(msg, back)) {
                            throw new IOException("bad warm-up echo");
                        }
                        ready.countDown();
                        readied = true;
                        go.await();
                        long[] took = latencies[id];
                        for (int m = 0; m < messages; m++) {
                            msg[0] = (byte) m;
                            long sent = System.nanoTime();
                            out.write(msg);
                            if (in.readNBytes(back, 0, size) != size || !Arrays.equals(msg, back)) {
                                throw new IOException("bad echo at message " + m);
                            }
                            took[m] = System.nanoTime() - sent;
                            if ((m & 15) == 0) {
                                recordCarrier(carriers);
                            }
                        }
                        done.countDown();
                        counted = true;
                        if (in.read() != -1) { // the server closes first
                            throw new IOException("no EOF after the last echo");
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    } finally {
                        if (!readied) {
                            ready.countDown();
                        }
                        if (!counted) {
                            done.countDown();
                        }
                    }
                });
            }
            if (!ready.await(180, TimeUnit.SECONDS)) {
                throw new IOException(engine + ": only " + (n - ready.getCount()) + " of " + n + " clients connected in 180 s");
            }
            ProcessCounters.SyscallCount syscalls = counters ? ProcessCounters.SyscallCount.start() : null;
            Map<String, long[]> threadsBefore = counters ? ProcessCounters.threadSnapshot() : null;
            long t1 = System.nanoTime();
            go.countDown();
            if (!done.await(600, TimeUnit.SECONDS)) {
                throw new IOException(engine + ": clients still echoing after 600 s");
            }
            long t2 = System.nanoTime();
            if (counters) {
                long total = (long) n * messages;
                Map<String, long[]> threads = ProcessCounters.threadDelta(threadsBefore, ProcessCounters.threadSnapshot());
                result.counters = "      " + (syscalls == null ? "syscalls: no perf (mount -t tracefs nodev /sys/kernel/tracing)"
                        : ProcessCounters.describeSyscalls(syscalls.stop(), total)) + "\n"
                        + ProcessCounters.describeThreads(threads, total);
            }
            double[] pct = ProcessCounters.percentilesMicros(Arrays.asList(latencies));
            result.p50Micros = pct[0];
            result.p99Micros = pct[1];
            if (failure.get() != null) {
                throw new IOException(engine + ": a client failed", failure.get());
            }
            clients.shutdown();
            if (!clients.awaitTermination(60, TimeUnit.SECONDS)) {
                throw new IOException(engine + ": clients still running 60 s after their last echo");
            }
            long[] server = serverSide.stop(n);
            result.connectSeconds = (t1 - t0) / 1e9;
            result.timedSeconds = (t2 - t1) / 1e9;
            result.messagesPerSecond = (double) n * messages / result.timedSeconds;
            result.rssPeakKiB = rss.peakKiB();
            if (server == null) {
                carriers.addAll(((LocalServer) serverSide).carriers);
            } else {
                result.serverRssPeakKiB = server[0];
                result.serverRssStartKiB = server[1];
                result.serverCarriers = (int) server[2];
            }
            result.carriers = carriers.size();
        } finally {
            clients.shutdownNow();
        }
        return result;
    }

    // ------------------------------------------------------------------ main

    static double median(List<Double> values) {
        List<Double> v = new ArrayList<>(values);
        Collections.sort(v);
        int k = v.size();
        return k % 2 == 1 ? v.get(k / 2) : (v.get(k / 2 - 1) + v.get(k / 2)) / 2;
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--server")) {
            serveChild();
            return;
        }
        List<String> numbers = new ArrayList<>();
        Boolean split = null;
        boolean counters = false;
        List<Engine> order = List.of(Engine.JDK, Engine.RUST, Engine.JDK_AA);
        for (String a : args) {
            if (a.equals("--split")) {
                split = true;
            } else if (a.equals("--same-process")) {
                split = false;
            } else if (a.equals("--counters")) {
                counters = true;
            } else if (a.startsWith("--only=")) {
                order = List.of(Engine.valueOf(a.substring("--only=".length())));
            } else {
                numbers.add(a);
            }
        }
        int n = numbers.size() > 0 ? Integer.parseInt(numbers.get(0)) : 10_000;
        int rounds = numbers.size() > 1 ? Integer.parseInt(numbers.get(1)) : 3;
        int messages = numbers.size() > 2 ? Integer.parseInt(numbers.get(2)) : 100;
        int size = numbers.size() > 3 ? Integer.parseInt(numbers.get(3)) : 64;
        if (newVirtualThreadPerTaskExecutor() == null) {
            System.err.println("VirtualThreadEcho needs JDK 21+ (virtual threads); this is " + Runtime.version());
            System.exit(2);
        }
        long limit = openFilesLimit();
        long needed = 2L * n + FD_MARGIN;
        if (split == null) {
            split = limit < needed;
        }
        if (limit < (split ? n + FD_MARGIN : needed)) {
            System.err.printf("VirtualThreadEcho: %d connections need about %d descriptors but the limit is %d;"
                    + " raise it (bash -c 'ulimit -n 65536 && java ...')%n", n, split ? n + FD_MARGIN : needed, limit);
            System.exit(2);
        }
        System.out.printf(Locale.ROOT, "VirtualThreadEcho: %s, %d cores, scheduler parallelism %s; %d connections x %d"
                        + " messages of %d bytes, %d rounds; open files limit %d%s%n",
                Runtime.version(), Runtime.getRuntime().availableProcessors(),
                System.getProperty("jdk.virtualThreadScheduler.parallelism", "default"), n, messages, size, rounds, limit,
                split ? "; server side in a child JVM (figures: clients+server)" : "; one process");
        if (counters && split) {
            System.out.println("--counters: the server runs in a child JVM; the figures are the clients' only");
        }
        System.out.println("JVM options: " + ProcessCounters.jvmOptions());
        Map<Engine, List<Result>> results = new EnumMap<>(Engine.class);
        try (ServerSide serverSide = split ? new ChildServer() : new LocalServer()) {
            // warm-up: every engine once on fewer connections, not counted
            int warmN = Math.min(n, 1000);
            for (Engine e : order.size() == 1 ? order : List.of(Engine.JDK, Engine.RUST)) {
                System.out.println(runOnce(e, serverSide, warmN, Math.min(messages, 50), size, false).line("warm-up"));
            }
            for (int r = 1; r <= rounds; r++) {
                for (Engine e : order) {
                    Result res = runOnce(e, serverSide, n, messages, size, counters);
                    results.computeIfAbsent(e, k -> new ArrayList<>()).add(res);
                    System.out.println(res.line("round " + r));
                }
            }
        }
        System.out.println();
        System.out.println("summary (medians over " + rounds + " rounds)");
        Map<Engine, double[]> medians = new EnumMap<>(Engine.class);
        for (Engine e : order) {
            List<Result> rs = results.get(e);
            List<Double> mps = new ArrayList<>();
            List<Double> rss = new ArrayList<>();
            List<Double> carriers = new ArrayList<>();
            List<Double> p50 = new ArrayList<>();
            List<Double> p99 = new ArrayList<>();
            for (Result res : rs) {
                p50.add(res.p50Micros);
                p99.add(res.p99Micros);
                mps.add(res.messagesPerSecond);
                rss.add(res.totalRssPeakKiB() / 1024.0);
                carriers.add((double) res.carriers + Math.max(0, res.serverCarriers));
            }
            double[] m = {median(mps), median(rss), median(carriers), median(p50), median(p99)};
            medians.put(e, m);
            System.out.printf(Locale.ROOT, "  %-6s msgs/s %,10.0f   p50 %7.1f us   p99 %8.1f us   rss-peak %6.0f MiB%s   carriers %.0f%n",
                    e, m[0], m[3], m[4], m[1], split ? " (clients+server)" : "", m[2]);
        }
        if (order.size() == 1) {
            System.exit(0);
        }
        double[] jdk = medians.get(Engine.JDK);
        double[] rust = medians.get(Engine.RUST);
        double[] aa = medians.get(Engine.JDK_AA);
        System.out.printf(Locale.ROOT, "  RUST/JDK    msgs/s %.3f   p50 %.3f   p99 %.3f   rss-peak %.3f%n",
                rust[0] / jdk[0], rust[3] / jdk[3], rust[4] / jdk[4], rust[1] / jdk[1]);
        System.out.printf(Locale.ROOT, "  JDK_AA/JDK  msgs/s %.3f   p50 %.3f   p99 %.3f   rss-peak %.3f   (A/A control: the noise)%n",
                aa[0] / jdk[0], aa[3] / jdk[3], aa[4] / jdk[4], aa[1] / jdk[1]);
        // per round: the ratios within the round, whose spread says more than the medians do
        for (int r = 0; r < rounds; r++) {
            Result j = results.get(Engine.JDK).get(r);
            System.out.printf(Locale.ROOT, "  round %d: RUST/JDK %.3f   JDK_AA/JDK %.3f%n", r + 1,
                    results.get(Engine.RUST).get(r).messagesPerSecond / j.messagesPerSecond,
                    results.get(Engine.JDK_AA).get(r).messagesPerSecond / j.messagesPerSecond);
        }
        System.exit(0);
    }
}
