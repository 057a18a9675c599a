package io.rustsocket;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Moves bytes over rustsocket connections with reads and writes large enough for the native side
 * to pin the caller's array for the system call, mixed with small ones (which go through its
 * staging buffer), while other threads churn the heap and call {@code System.gc()}. Every byte
 * that arrives is checked against its position in the stream, and every byte of a read buffer
 * outside the range read must be left as it was. Run in a child JVM by
 * {@link PinnedTransferTest}, once per garbage collector, because each one keeps a pinned array
 * in place in its own way.
 *
 * <p>Arguments: seconds (and at least {@link #MIN_BYTES} per connection), {@code platform} or
 * {@code virtual}, connections. Half of the
 * connections read with a timeout (a non-blocking descriptor on platform threads too). Prints
 * one {@code transferred ...} line and exits 0, or prints the first difference and exits 1.
 */
public final class PinnedTransferChild {
    private PinnedTransferChild() {}

    // lengths of reads and writes: around and far above the pinning threshold, and small ones
    private static final int[] LENGTHS = {1, 1500, 4096, 16383, 16384, 16385, 65536, 100_003, 131_072, 131_073,
        262_144, 1 << 20};
    private static final byte SENTINEL = 0x5A;
    /** Each connection moves at least this much, however long that takes (at most {@link #CAP_NANOS}). */
    static final long MIN_BYTES = 32 << 20;
    private static final long CAP_NANOS = 90_000_000_000L;
    private static volatile boolean done;

    /** The byte at position {@code p} of connection {@code c}'s stream. */
    static byte expected(int c, long p) {
        return (byte) (p ^ (p >>> 8) ^ (p >>> 19) ^ (c * 37));
    }

    public static void main(String[] args) throws Exception {
        long nanos = (long) (Double.parseDouble(args[0]) * 1e9);
        boolean virtual = args[1].equals("virtual");
        int connections = Integer.parseInt(args[2]);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long[] written = new long[connections];
        long[] read = new long[connections];
        List<Thread> threads = new ArrayList<>();
        List<Socket> sockets = new ArrayList<>();
        Thread churn = daemon("heap-churn", PinnedTransferChild::churn);
        Thread collector = daemon("system-gc", () -> {
            while (!done) {
                System.gc();
                sleep(20);
            }
        });
        churn.start();
        collector.start();

        long start = System.nanoTime();
        try (ServerSocket listener = new RustServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            for (int c = 0; c < connections; c++) {
                Socket client = new RustSocket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
                Socket server = listener.accept();
                sockets.add(client);
                sockets.add(server);
                if (c % 2 == 1) {
                    server.setSoTimeout(60_000);
                    client.setSoTimeout(60_000);
                }
                int id = c;
                threads.add(start(virtual, "writer-" + c, failure, () -> {
                    written[id] = write(id, client, start + nanos);
                }));
                threads.add(start(virtual, "reader-" + c, failure, () -> {
                    read[id] = read(id, server);
                }));
            }
            long limit = start + CAP_NANOS + 30_000_000_000L;
            for (Thread t : threads) {
                // a failed reader or writer would leave its peer waiting: closing ends both
                while (t.isAlive() && failure.get() == null && System.nanoTime() < limit) {
                    t.join(100);
                }
                if (failure.get() != null) {
                    break;
                }
                if (t.isAlive()) {
                    failure.set(new AssertionError(t.getName() + " did not finish"));
                }
            }
        } finally {
            done = true;
            for (Socket s : sockets) {
                s.close();
            }
        }
        churn.join();
        collector.join();
        long total = 0;
        for (int c = 0; c < connections && failure.get() == null; c++) {
            if (read[c] != written[c]) {
                failure.set(new AssertionError("connection " + c + ": wrote " + written[c] + " bytes, read " + read[c]));
            }
            total += read[c];
        }
        if (failure.get() != null) {
            System.out.println("FAILED: " + failure.get());
            failure.get().printStackTrace(System.out);
            System.exit(1);
        }
        long collections = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            collections += Math.max(0, gc.getCollectionCount());
        }
        System.out.println("transferred " + total + " bytes over " + connections + " " + args[1]
                + "-thread connections, " + collections + " collections");
    }

    /**
     * Writes patterned ranges of old and new arrays until the deadline has passed and
     * {@link #MIN_BYTES} are written, then shuts the output down.
     */
    private static long write(int c, Socket s, long deadline) throws IOException {
        SplittableRandom random = new SplittableRandom(c);
        OutputStream out = s.getOutputStream();
        byte[] array = new byte[0];
        long pos = 0;
        long cap = System.nanoTime() + CAP_NANOS;
        while ((System.nanoTime() < deadline || pos < MIN_BYTES) && System.nanoTime() < cap) {
            int len = LENGTHS[random.nextInt(LENGTHS.length)];
            int slack = random.nextInt(64);
            if (array.length < len + slack || random.nextInt(4) == 0) {
                array = new byte[len + slack]; // young, so a collection would move it if it could
                random.nextBytes(array); // bytes outside the range must never be sent
            }
            int off = random.nextInt(array.length - len + 1);
            for (int i = 0; i < len; i++) {
                array[off + i] = expected(c, pos + i);
            }
            out.write(array, off, len);
            pos += len;
        }
        s.shutdownOutput();
        return pos;
    }

    /** Reads into ranges of old and new arrays until EOF, checking each byte and the bytes around it. */
    private static long read(int c, Socket s) throws IOException {
        SplittableRandom random = new SplittableRandom(~c);
        InputStream in = s.getInputStream();
        byte[] array = new byte[0];
        long pos = 0;
        while (true) {
            int len = LENGTHS[random.nextInt(LENGTHS.length)];
            int slack = random.nextInt(64);
            if (array.length < len + slack || random.nextInt(4) == 0) {
                array = new byte[len + slack];
            }
            java.util.Arrays.fill(array, SENTINEL);
            int off = random.nextInt(array.length - len + 1);
            int n = in.read(array, off, len);
            if (n < 0) {
                return pos;
            }
            if (n == 0 || n > len) {
                throw new AssertionError("read(" + len + ") returned " + n);
            }
            for (int i = 0; i < array.length; i++) {
                boolean inside = i >= off && i < off + n;
                byte want = inside ? expected(c, pos + i - off) : SENTINEL;
                if (array[i] != want) {
                    throw new AssertionError("connection " + c + ": stream position " + (pos + i - off)
                            + (inside ? "" : " (outside the " + n + " bytes read at offset " + off + ")")
                            + ": byte " + array[i] + ", expected " + want);
                }
            }
            pos += n;
        }
    }

    /** Allocates arrays of many sizes, keeping some for a while so that they age. */
    private static void churn() {
        SplittableRandom random = new SplittableRandom(42);
        byte[][] kept = new byte[256][];
        long sink = 0;
        while (!done) {
            byte[] b = new byte[16 + random.nextInt(256 * 1024)];
            b[b.length - 1] = 1;
            kept[random.nextInt(kept.length)] = b;
            sink += b.length;
        }
        if (sink == 42) {
            System.out.println(); // keeps the allocations observable
        }
    }

    private interface Body {
        void run() throws Exception;
    }

    private static Thread start(boolean virtual, String name, AtomicReference<Throwable> failure, Body body) {
        Runnable r = () -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, new AssertionError(name + " failed", e));
            }
        };
        Thread t = virtual ? Virtual.unstarted(name, r) : new Thread(r, name);
        t.start();
        return t;
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
