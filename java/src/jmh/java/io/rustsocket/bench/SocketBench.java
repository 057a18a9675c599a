package io.rustsocket.bench;

import io.rustsocket.RustServerSocket;
import io.rustsocket.RustSocket;
import io.rustsocket.RustSockets;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
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
 * The socket scenarios of the performance issue, each run for the JDK's sockets and for
 * rustsocket in the same invocation. {@code JDK_AA} is the JDK measured a second time: the
 * A/A control, whose ratio to {@code JDK} shows how much of a difference is noise.
 */
public class SocketBench {

    /** Which socket classes a benchmark uses. */
    public enum Engine {
        JDK, RUST, JDK_AA;

        ServerSocket listen() throws IOException {
            // docs/bench/ab_rounds.py --after-agent measures the JDK rows under -javaagent: a run
            // where the agent did not take over would silently measure the JDK's sockets
            if (this != RUST && Boolean.getBoolean("io.rustsocket.bench.underAgent")
                    && !RustSockets.isInstalledAsDefault()) {
                throw new IllegalStateException("io.rustsocket.bench.underAgent is set, but the agent is not installed");
            }
            InetAddress lo = InetAddress.getLoopbackAddress();
            return this == RUST ? new RustServerSocket(0, 50, lo) : new ServerSocket(0, 50, lo);
        }

        Socket connect(int port) throws IOException {
            InetAddress lo = InetAddress.getLoopbackAddress();
            return this == RUST ? new RustSocket(lo, port) : new Socket(lo, port);
        }
    }

    /** A connected pair: {@code client} in the benchmark thread, {@code server} served by a helper thread. */
    abstract static class Connection {
        ServerSocket listener;
        Socket client;
        Socket server;
        Thread peer;
        InputStream in;
        OutputStream out;

        void open(Engine engine) throws IOException {
            listener = engine.listen();
            client = engine.connect(listener.getLocalPort());
            server = listener.accept();
            client.setTcpNoDelay(true);
            server.setTcpNoDelay(true);
            in = client.getInputStream();
            out = client.getOutputStream();
            peer = new Thread(this::serve, "bench-peer");
            peer.setDaemon(true);
            peer.start();
        }

        abstract void serve();

        void close() throws Exception {
            client.close();
            peer.join(10_000);
            server.close();
            listener.close();
        }
    }

    /** Ping-pong: the peer echoes every message. */
    @State(Scope.Thread)
    public static class PingPong extends Connection {
        /** Engine under test. */
        @Param({"JDK", "RUST", "JDK_AA"})
        public Engine engine;
        /** Message size in bytes. */
        @Param({"64", "4096"})
        public int size;
        /**
         * SO_TIMEOUT of both ends in ms (0: none); HTTP, Redis and database clients set one, so
         * every read they make is timed ({@code -p soTimeout=2000}).
         */
        @Param({"0"})
        public int soTimeout;
        byte[] message;

        /** Opens the connection. */
        @Setup(Level.Trial)
        public void setUp() throws IOException {
            message = new byte[size];
            open(engine);
            client.setSoTimeout(soTimeout);
            server.setSoTimeout(soTimeout);
        }

        @Override
        void serve() {
            byte[] buf = new byte[size];
            try {
                InputStream sin = server.getInputStream();
                OutputStream sout = server.getOutputStream();
                while (readFully(sin, buf)) {
                    sout.write(buf);
                }
            } catch (IOException e) {
                // client closed at tear-down
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
        @Param({"1024", "8192", "65536", "1048576"})
        public int size;
        byte[] chunk;

        /** Opens the connection. */
        @Setup(Level.Trial)
        public void setUp() throws IOException {
            chunk = new byte[size];
            open(engine);
        }

        @Override
        void serve() {
            byte[] buf = new byte[64 * 1024];
            try {
                InputStream sin = server.getInputStream();
                while (sin.read(buf) >= 0) {
                    // discard
                }
            } catch (IOException e) {
                // client closed at tear-down
            }
        }

        /** Closes the connection. */
        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            close();
        }
    }

    /** One-way bulk the other way round: the peer writes without pause, the benchmark thread reads. */
    @State(Scope.Thread)
    public static class BulkRead extends Connection {
        /** Engine under test. */
        @Param({"JDK", "RUST", "JDK_AA"})
        public Engine engine;
        /** Bytes per read call, and per write of the peer. */
        @Param({"65536", "1048576"})
        public int size;
        byte[] buf;

        /** Opens the connection. */
        @Setup(Level.Trial)
        public void setUp() throws IOException {
            buf = new byte[size];
            open(engine);
        }

        @Override
        void serve() {
            byte[] chunk = new byte[size];
            try {
                OutputStream sout = server.getOutputStream();
                while (true) {
                    sout.write(chunk);
                }
            } catch (IOException e) {
                // client closed at tear-down
            }
        }

        /** Closes the connection. */
        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            close();
        }
    }

    /** A listener for the connection-rate scenario. */
    @State(Scope.Thread)
    public static class Listener {
        /** Engine under test. */
        @Param({"JDK", "RUST", "JDK_AA"})
        public Engine engine;
        ServerSocket listener;

        /** Opens the listener. */
        @Setup(Level.Trial)
        public void setUp() throws IOException {
            listener = engine.listen();
        }

        /** Closes the listener. */
        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            listener.close();
        }
    }

    /** A connected pair that stays idle, for the cost of one cheap native call. */
    @State(Scope.Thread)
    public static class Idle extends Connection {
        /** Engine under test. */
        @Param({"JDK", "RUST", "JDK_AA"})
        public Engine engine;

        /** Opens the connection. */
        @Setup(Level.Trial)
        public void setUp() throws IOException {
            open(engine);
        }

        @Override
        void serve() {
            try {
                server.getInputStream().read();
            } catch (IOException e) {
                // closed at tear-down
            }
        }

        /** Closes the connection. */
        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            close();
        }
    }

    static boolean readFully(InputStream in, byte[] buf) throws IOException {
        int off = 0;
        while (off < buf.length) {
            int n = in.read(buf, off, buf.length - off);
            if (n < 0) {
                return false;
            }
            off += n;
        }
        return true;
    }

    /** Scenario 1: one round trip of {@code size} bytes with TCP_NODELAY. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public byte[] pingPong(PingPong c) throws IOException {
        c.out.write(c.message);
        readFully(c.in, c.message);
        return c.message;
    }

    /** Scenario 2: one write of {@code size} bytes to a reading peer (ops/s times size is the rate). */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void bulk(Bulk c) throws IOException {
        c.out.write(c.chunk);
    }

    /** Scenario 2b: one read of {@code size} bytes (in as many calls as it takes) from a writing peer. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public byte[] bulkRead(BulkRead c) throws IOException {
        readFully(c.in, c.buf);
        return c.buf;
    }

    /**
     * Scenario 3: connect, accept and close both ends, in one thread. The accepted end closes
     * first, as a server does, so TIME_WAIT stays on the listener's port: client-side TIME_WAIT
     * would fill the ephemeral port range and make every later connect search it (tens of
     * microseconds, growing through the run), which would measure the kernel, not the library.
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public void connectAcceptClose(Listener l) throws IOException {
        Socket c = l.engine.connect(l.listener.getLocalPort());
        Socket s = l.listener.accept();
        s.close();
        c.close();
    }

    /** Scenario 5: one cheap call that crosses into native code (an ioctl). */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public int available(Idle c) throws IOException {
        return c.in.available();
    }
}
