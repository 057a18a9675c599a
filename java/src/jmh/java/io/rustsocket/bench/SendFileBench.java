package io.rustsocket.bench;

import io.rustsocket.RustSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Sends one large file over loopback in each of several ways and reports MB/s, round by round:
 * <ul>
 *   <li>{@code jdk-stream}: a JDK {@code Socket}, {@code Files.newInputStream(f).transferTo(socket.getOutputStream())};</li>
 *   <li>{@code rust-stream}: the same on a {@code RustSocket};</li>
 *   <li>{@code rust-sendFile}: {@code RustSocket.sendFile(f, 0, size)} (sendfile(2));</li>
 *   <li>{@code jdk-nio-transferTo}: the JDK's own zero-copy path, {@code FileChannel.transferTo}
 *       to a {@code SocketChannel}, for reference;</li>
 *   <li>{@code jdk-stream-again}: the first configuration again, the A/A control.</li>
 * </ul>
 * The receiver is the same for all: a JDK {@code SocketChannel} reading into a 1 MiB direct
 * buffer. The order of the configurations rotates from round to round; ratios are taken within
 * a round against {@code jdk-stream}. Run pinned to one core ({@code taskset -c 1}, as
 * {@code gradle sendFileBench} does).
 *
 * <p>Arguments: {@code [rounds] [size MiB] [file] [summary.json]}; the file is created, and
 * deleted at the end.
 */
public final class SendFileBench {
    private static final String[] CONFIGS = {
        "jdk-stream", "rust-stream", "rust-sendFile", "jdk-nio-transferTo", "jdk-stream-again"};

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** One send's figures: MB/s, and CPU time (user + system) of the sending and the receiving thread. */
    private static final class Outcome {
        final double mbps;
        final long senderCpuNanos;
        final long receiverCpuNanos;

        Outcome(double mbps, long senderCpuNanos, long receiverCpuNanos) {
            this.mbps = mbps;
            this.senderCpuNanos = senderCpuNanos;
            this.receiverCpuNanos = receiverCpuNanos;
        }
    }

    private SendFileBench() {}

    /**
     * Runs the benchmark.
     *
     * @param args rounds, size in MiB, file path, summary path
     * @throws Exception on any failure
     */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        long size = (args.length > 1 ? Long.parseLong(args[1]) : 1024) << 20;
        Path file = Paths.get(args.length > 2 ? args[2] : "build/sendfile-bench.bin");
        Path summary = Paths.get(args.length > 3 ? args[3] : "build/sendfile-bench/summary.json");
        Files.createDirectories(file.toAbsolutePath().getParent());
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "receiver");
            t.setDaemon(true);
            return t;
        });
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
            createFile(file, size);
            // warm-up: each configuration once on a quarter of the file, not counted
            for (String config : CONFIGS) {
                send(config, file, size / 4, listener, pool);
            }
            List<Map<String, Outcome>> results = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                List<String> order = new ArrayList<>(List.of(CONFIGS));
                Collections.rotate(order, round);
                Map<String, Outcome> outcomes = new LinkedHashMap<>();
                StringBuilder line = new StringBuilder("round " + (round + 1) + ":");
                for (String config : order) {
                    Outcome o = send(config, file, size, listener, pool);
                    outcomes.put(config, o);
                    line.append(String.format(" %s %.0f MB/s (cpu ms: sender %d, receiver %d);", config, o.mbps,
                            o.senderCpuNanos / 1_000_000, o.receiverCpuNanos / 1_000_000));
                }
                results.add(outcomes);
                System.out.println(line);
            }
            report(results, size, rounds, summary);
        } finally {
            Files.deleteIfExists(file);
            pool.shutdownNow();
        }
    }

    private static void createFile(Path file, long size) throws IOException {
        byte[] block = new byte[1 << 20];
        new Random(42).nextBytes(block);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long written = 0; written < size; written += block.length) {
                ByteBuffer b = ByteBuffer.wrap(block, 0, (int) Math.min(block.length, size - written));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
        }
    }

    /** Sends {@code count} bytes of the file one way; MB/s (10^6 bytes) are counted until the receiver had them all. */
    private static Outcome send(String config, Path file, long count, ServerSocketChannel listener, ExecutorService pool)
            throws Exception {
        InetSocketAddress address = (InetSocketAddress) listener.getLocalAddress();
        if (config.equals("jdk-nio-transferTo")) {
            try (SocketChannel sender = SocketChannel.open(address); SocketChannel receiver = listener.accept()) {
                Future<long[]> got = pool.submit(() -> drain(receiver, count));
                long start = System.nanoTime();
                long cpu = THREADS.getCurrentThreadCpuTime();
                try (FileChannel ch = FileChannel.open(file)) {
                    long sent = 0;
                    while (sent < count) {
                        sent += ch.transferTo(sent, count - sent, sender);
                    }
                }
                return finish(got, count, start, THREADS.getCurrentThreadCpuTime() - cpu);
            }
        }
        try (Socket sender = config.startsWith("rust") ? new RustSocket(address.getAddress(), address.getPort())
                : new Socket(address.getAddress(), address.getPort());
             SocketChannel receiver = listener.accept()) {
            Future<long[]> got = pool.submit(() -> drain(receiver, count));
            long start = System.nanoTime();
            long cpu = THREADS.getCurrentThreadCpuTime();
            if (config.equals("rust-sendFile")) {
                long sent = ((RustSocket) sender).sendFile(file, 0, count);
                if (sent != count) {
                    throw new IllegalStateException("sent " + sent + " of " + count);
                }
            } else {
                OutputStream out = sender.getOutputStream();
                try (InputStream in = Files.newInputStream(file)) {
                    long sent = count == Files.size(file) ? in.transferTo(out) : copy(in, out, count);
                    if (sent != count) {
                        throw new IllegalStateException("sent " + sent + " of " + count);
                    }
                }
            }
            return finish(got, count, start, THREADS.getCurrentThreadCpuTime() - cpu);
        }
    }

    private static long copy(InputStream in, OutputStream out, long count) throws IOException {
        byte[] buf = new byte[16384];
        long sent = 0;
        while (sent < count) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, count - sent));
            out.write(buf, 0, n);
            sent += n;
        }
        return sent;
    }

    private static Outcome finish(Future<long[]> got, long count, long start, long senderCpu) throws Exception {
        long[] received = got.get(10, TimeUnit.MINUTES);
        long nanos = System.nanoTime() - start;
        if (received[0] != count) {
            throw new IllegalStateException("received " + received[0] + " of " + count);
        }
        return new Outcome(count / 1e6 / (nanos / 1e9), senderCpu, received[1]);
    }

    /** Reads until {@code count} bytes came; returns them and this thread's CPU time. */
    private static long[] drain(SocketChannel receiver, long count) throws IOException {
        long cpu = THREADS.getCurrentThreadCpuTime();
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        long total = 0;
        while (total < count) {
            buf.clear();
            int n = receiver.read(buf);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return new long[] {total, THREADS.getCurrentThreadCpuTime() - cpu};
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static void report(List<Map<String, Outcome>> results, long size, int rounds, Path summary) throws IOException {
        double gib = size / (double) (1L << 30);
        StringBuilder md = new StringBuilder();
        md.append(String.format("Median over %d rounds of one %d MiB file each (min..max of the per-round ratio);%n",
                rounds, size >> 20));
        md.append(String.format("%s, pinned with taskset -c 1; ratio against jdk-stream in the same round; CPU is%n",
                System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version")));
        md.append("user + system time of the sending and of the receiving thread, per GiB.\n\n");
        md.append("| configuration | MB/s | / jdk-stream | sender CPU ms/GiB | receiver CPU ms/GiB |\n|---|---|---|---|---|\n");
        StringBuilder json = new StringBuilder("{\"sizeBytes\": " + size + ", \"rounds\": [");
        for (int r = 0; r < results.size(); r++) {
            json.append(r > 0 ? ", " : "").append("{");
            int i = 0;
            for (Map.Entry<String, Outcome> e : results.get(r).entrySet()) {
                Outcome o = e.getValue();
                json.append(i++ > 0 ? ", " : "").append(String.format(
                        "\"%s\": {\"MBps\": %.1f, \"senderCpuNanos\": %d, \"receiverCpuNanos\": %d}",
                        e.getKey(), o.mbps, o.senderCpuNanos, o.receiverCpuNanos));
            }
            json.append("}");
        }
        json.append("], \"summary\": {");
        int i = 0;
        for (String config : CONFIGS) {
            List<Double> mbps = new ArrayList<>();
            List<Double> ratios = new ArrayList<>();
            List<Double> senderCpu = new ArrayList<>();
            List<Double> receiverCpu = new ArrayList<>();
            for (Map<String, Outcome> round : results) {
                Outcome o = round.get(config);
                mbps.add(o.mbps);
                ratios.add(o.mbps / round.get("jdk-stream").mbps);
                senderCpu.add(o.senderCpuNanos / 1e6 / gib);
                receiverCpu.add(o.receiverCpuNanos / 1e6 / gib);
            }
            md.append(String.format("| %s | %,.0f | %.3f (%.3f..%.3f) | %,.0f | %,.0f |%n", config, median(mbps),
                    median(ratios), Collections.min(ratios), Collections.max(ratios), median(senderCpu),
                    median(receiverCpu)));
            json.append(i++ > 0 ? ", " : "").append(String.format(
                    "\"%s\": {\"medianMBps\": %.1f, \"medianRatio\": %.4f, \"minRatio\": %.4f, \"maxRatio\": %.4f, "
                            + "\"medianSenderCpuMsPerGiB\": %.1f, \"medianReceiverCpuMsPerGiB\": %.1f}",
                    config, median(mbps), median(ratios), Collections.min(ratios), Collections.max(ratios),
                    median(senderCpu), median(receiverCpu)));
        }
        json.append("}}\n");
        PrintStream out = System.out;
        out.println();
        out.print(md);
        Files.createDirectories(summary.toAbsolutePath().getParent());
        Files.write(summary, json.toString().getBytes(StandardCharsets.UTF_8));
        Files.write(summary.resolveSibling("summary.md"), md.toString().getBytes(StandardCharsets.UTF_8));
    }
}
