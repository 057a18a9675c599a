package io.rustsocket.bench;

import io.rustsocket.RustServerSocket;
import io.rustsocket.RustSocket;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Ping-pong and one-way bulk over a Unix domain socket file: rustsocket's {@link RustSocket}
 * streams against the JDK's {@link SocketChannel} over a {@link UnixDomainSocketAddress} (the
 * only Unix sockets the JDK has), each run in the same invocation, with {@code JDK_AA} the JDK
 * measured again as the A/A control.
 *
 * <p>The JDK rows use the faster of its two blocking styles: {@code JDK} reads and writes a
 * direct {@link ByteBuffer} allocated once (no copy between the heap and native memory);
 * {@code JDK_STREAM} is the stream style that code written for {@code Socket} would use,
 * {@link Channels#newInputStream}/{@link Channels#newOutputStream} over heap arrays (each call
 * copies through the JDK's temporary direct buffer). rustsocket is measured as it is used,
 * through its streams over heap arrays. The peer of each connection uses the same engine and
 * style. Under JMH's {@code -Djmh.executor=VIRTUAL} (JDK 21+) the benchmark thread is virtual and
 * the peer is started as a virtual thread too.
 */
public class UnixSocketBench {

    /** Which sockets, and which style for the JDK. */
    public enum Engine {
        JDK, RUST, JDK_AA, JDK_STREAM
    }

    /** One end of a connection, whatever the engine: moves exactly {@code n} bytes of its buffer. */
    abstract static class End {
        abstract void writeAll(int n) throws IOException;

        abstract void readFully(int n) throws IOException;

        /** Reads whatever is there into the buffer; false at end of stream. */
        abstract boolean readSome() throws IOException;

        abstract void close() throws IOException;
    }

    /** A JDK channel with a direct buffer. */
    static final class ChannelEnd extends End {
        final SocketChannel ch;
        final ByteBuffer buf;

        ChannelEnd(SocketChannel ch, int capacity) {
            this.ch = ch;
            this.buf = ByteBuffer.allocateDirect(capacity);
        }

        @Override
        void writeAll(int n) throws IOException {
            buf.clear().limit(n);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }

        @Override
        void readFully(int n) throws IOException {
            buf.clear().limit(n);
            while (buf.hasRemaining()) {
                if (ch.read(buf) < 0) {
                    throw new EOFException();
                }
            }
        }

        @Override
        boolean readSome() throws IOException {
            buf.clear();
            return ch.read(buf) >= 0;
        }

        @Override
        void close() throws IOException {
            ch.close();
        }
    }

    /** Streams over heap arrays: a RustSocket's, or the JDK channel's through {@link Channels}. */
    static final class StreamEnd extends End {
        final AutoCloseable owner;
        final InputStream in;
        final OutputStream out;
        final byte[] buf;

        StreamEnd(AutoCloseable owner, InputStream in, OutputStream out, int capacity) {
            this.owner = owner;
            this.in = in;
            this.out = out;
            this.buf = new byte[capacity];
        }

        @Override
        void writeAll(int n) throws IOException {
            out.write(buf, 0, n);
        }

        @Override
        void readFully(int n) throws IOException {
            int off = 0;
            while (off < n) {
                int r = in.read(buf, off, n - off);
                if (r < 0) {
                    throw new EOFException();
                }
                off += r;
            }
        }

        @Override
        boolean readSome() throws IOException {
            return in.read(buf) >= 0;
        }

        @Override
        void close() throws IOException {
            try {
                owner.close();
            } catch (IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException(e);
            }
        }
    }

    /** A connected pair over a socket file: {@code client} in the benchmark thread, {@code server} in a peer thread. */
    abstract static class Connection {
        Path dir;
        AutoCloseable listener;
        End client;
        End server;
        Thread peer;

        void open(Engine engine, int capacity) throws Exception {
            dir = Files.createTempDirectory("rustsocket-unix-bench");
            UnixDomainSocketAddress name = UnixDomainSocketAddress.of(dir.resolve("bench.sock"));
            if (engine == Engine.RUST) {
                RustServerSocket l = new RustServerSocket();
                l.bind(name);
                listener = l;
                RustSocket c = new RustSocket();
                c.connect(name);
                RustSocket s = l.accept();
                client = new StreamEnd(c, c.getInputStream(), c.getOutputStream(), capacity);
                server = new StreamEnd(s, s.getInputStream(), s.getOutputStream(), capacity);
            } else {
                ServerSocketChannel l = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                l.bind(name);
                listener = l;
                SocketChannel c = SocketChannel.open(name);
                SocketChannel s = l.accept();
                if (engine == Engine.JDK_STREAM) {
                    client = new StreamEnd(c, Channels.newInputStream(c), Channels.newOutputStream(c), capacity);
                    server = new StreamEnd(s, Channels.newInputStream(s), Channels.newOutputStream(s), capacity);
                } else {
                    client = new ChannelEnd(c, capacity);
                    server = new ChannelEnd(s, capacity);
                }
            }
            peer = VirtualThreads.startLikeCurrent("bench-peer", this::serve);
        }

        abstract void serve();

        void close() throws Exception {
            client.close();
            peer.join(10_000);
            server.close();
            listener.close();
            Files.deleteIfExists(dir.resolve("bench.sock"));
            Files.deleteIfExists(dir);
        }
    }

    /** Ping-pong: the peer echoes every message. */
    @State(Scope.Thread)
    public static class PingPong extends Connection {
        /** Engine under test. */
        @Param({"JDK", "RUST", "JDK_AA"})
        public Engine engine;
        /** Message size in bytes. */
        @Param({"64", "1024"})
        public int size;

        /** Opens the connection. */
        @Setup(Level.Trial)
        public void setUp() throws Exception {
            open(engine, size);
        }

        @Override
        void serve() {
            try {
                while (true) {
                    server.readFully(size);
                    server.writeAll(size);
                }
            } catch (IOException e) {
                // the client closed at tear-down
            }
        }

        /** Closes the connection. */
        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            close();
        }
    }

    /** One-way bulk: the peer reads and discards. */
    @State(Scope.Thread)
    public static class Bulk extends Connection {
        /** Engine under test. */
        @Param({"JDK", "RUST", "JDK_AA"})
        public Engine engine;
        /** Bytes per write call. */
        @Param({"1024", "65536"})
        public int size;

        /** Opens the connection; the peer reads with a 64 KiB buffer whatever the write size. */
        @Setup(Level.Trial)
        public void setUp() throws Exception {
            open(engine, Math.max(size, 64 * 1024));
        }

        @Override
        void serve() {
            try {
                while (server.readSome()) {
                    // discard
                }
            } catch (IOException e) {
                // the client closed at tear-down
            }
        }

        /** Closes the connection. */
        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            close();
        }
    }

    /**
     * The CPU time the whole JVM used in an iteration (both ends of the connection, on whatever
     * threads), and the operations done: JMH reports both per iteration as secondary results,
     * and their ratio is the CPU cost of one operation. On a shared, loaded machine the time an
     * operation takes swings with the time spent waiting for a core; the CPU it burns does much
     * less.
     */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Cpu {
        private static final com.sun.management.OperatingSystemMXBean OS =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        /** Process CPU nanoseconds used during the iteration. */
        public long cpuNanos;
        /** Operations done during the iteration. */
        public long ops;
        private long start;

        /** Starts counting. */
        @Setup(Level.Iteration)
        public void start() {
            ops = 0;
            cpuNanos = 0;
            start = processCpuNanos();
        }

        /** Stops counting. */
        @TearDown(Level.Iteration)
        public void stop() {
            cpuNanos = processCpuNanos() - start;
        }

        /**
         * The CPU time of all the JVM's threads: on Linux the sum of each thread's
         * {@code /proc/self/task/N/schedstat} (nanoseconds; the JDK's process CPU time counts
         * in 10 ms clock ticks there), elsewhere the JDK's figure.
         */
        static long processCpuNanos() {
            Path tasks = Path.of("/proc/self/task");
            if (!Files.isDirectory(tasks)) {
                return OS.getProcessCpuTime();
            }
            long sum = 0;
            try (DirectoryStream<Path> threads = Files.newDirectoryStream(tasks)) {
                for (Path t : threads) {
                    try {
                        String line = Files.readString(t.resolve("schedstat"));
                        sum += Long.parseLong(line.substring(0, line.indexOf(' ')));
                    } catch (IOException | RuntimeException gone) {
                        // the thread ended meanwhile
                    }
                }
            } catch (IOException e) {
                return OS.getProcessCpuTime();
            }
            return sum;
        }
    }

    /**
     * A round trip of {@code size} bytes: write, then read the echo.
     *
     * @param c the connection
     * @param cpu the CPU counters
     * @return the connection, so nothing is optimised away
     * @throws IOException if the connection fails
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Object pingPong(PingPong c, Cpu cpu) throws IOException {
        c.client.writeAll(c.size);
        c.client.readFully(c.size);
        cpu.ops++;
        return c.client;
    }

    /**
     * One write of {@code size} bytes to a peer that reads and discards.
     *
     * @param c the connection
     * @param cpu the CPU counters
     * @return the connection, so nothing is optimised away
     * @throws IOException if the connection fails
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public Object bulk(Bulk c, Cpu cpu) throws IOException {
        c.client.writeAll(c.size);
        cpu.ops++;
        return c.client;
    }
}
