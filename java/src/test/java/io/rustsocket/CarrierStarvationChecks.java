package io.rustsocket;

import static io.rustsocket.VirtualThreadChecks.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.rustsocket.TestSupport.FullBacklog;
import io.rustsocket.TestSupport.Pair;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The carrier-starvation checks of {@link VirtualThreadChecks}, run in a child JVM whose scheduler
 * has two carriers ({@link VirtualThreadsChildRun#STARVED_SCHEDULER}): virtual threads blocked in
 * read, accept, connect or write must park, so that an echo and a CPU task still run beside them.
 */
final class CarrierStarvationChecks {
    private CarrierStarvationChecks() {}

    /**
     * While other virtual threads are parked: a new virtual thread connects to an echo server
     * (served by a platform thread), echoes 64 KiB and checks it, then does a CPU task
     * (SHA-256 of 8 MiB). Must finish within {@link #WAIT_MS}: with the two carriers blocked
     * in native code it could never start.
     */
    static String probe(Engine engine, String whileWhat, String parkedProblem) throws Exception {
        try (ServerSocket echo = engine.listen()) {
            echo.setSoTimeout((int) WAIT_MS);
            FutureTask<Void> server = TestSupport.async("probe-echo-server", () -> {
                try (Socket s = echo.accept()) {
                    s.setSoTimeout((int) WAIT_MS);
                    TestSupport.copyUntilEof(s.getInputStream(), s.getOutputStream(), 8192);
                }
                return null;
            });
            long start = System.nanoTime();
            Task<long[]> probe = Task.start("probe", () -> {
                byte[] data = TestSupport.randomBytes(64 * 1024);
                long t0 = System.nanoTime();
                try (Socket s = engine.connect(LOOPBACK, echo.getLocalPort())) {
                    s.getOutputStream().write(data);
                    byte[] back = TestSupport.readExactly(s.getInputStream(), data.length);
                    assertArrayEquals(data, back, "probe echo");
                    s.shutdownOutput();
                    assertEquals(-1, s.getInputStream().read(), "probe: EOF after the echo");
                }
                long t1 = System.nanoTime();
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                byte[] chunk = new byte[64 * 1024];
                for (int i = 0; i < 128; i++) {
                    chunk[0] = (byte) i;
                    sha.update(chunk);
                }
                if (sha.digest().length != 32) {
                    throw new AssertionError("sha-256");
                }
                long t2 = System.nanoTime();
                return new long[] {t1 - t0, t2 - t1};
            });
            long[] took;
            try {
                took = probe.future.get(WAIT_MS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("an echo over a new connection plus a CPU task on a virtual thread did"
                        + " not finish within " + WAIT_MS + " ms while " + whileWhat
                        + ": the carriers are blocked (pinned in native code?); probe: "
                        + describeThread(probe.thread)
                        + (parkedProblem == null ? "" : "\nbefore the probe, " + parkedProblem));
            } catch (ExecutionException e) {
                throw new AssertionError("probe failed while " + whileWhat + ": " + e.getCause(), e.getCause());
            }
            TestSupport.await(server, WAIT_MS);
            String s = String.format("probe while %s: echo %.1f ms, cpu %.1f ms, total %.1f ms", whileWhat,
                    took[0] / 1e6, took[1] / 1e6, (System.nanoTime() - start) / 1e6);
            info(engine + " " + s);
            if (parkedProblem != null) {
                throw new AssertionError("the probe ran, but not every blocked virtual thread was parked: "
                        + parkedProblem);
            }
            return s;
        }
    }

    /** The 16 bytes the server answers reader {@code id}. */
    static byte[] reply(int id) {
        byte[] b = new byte[16];
        new Random(id).nextBytes(b);
        b[0] = (byte) (id >>> 24);
        b[1] = (byte) (id >>> 16);
        b[2] = (byte) (id >>> 8);
        b[3] = (byte) id;
        return b;
    }

    /**
     * 1,000 virtual threads each block in read on their own connection (the server side is
     * accepted by a platform thread and kept); meanwhile the probe must run; then the server
     * answers every one and each must finish with its own bytes.
     */
    static void starveRead(Engine engine) throws Exception {
        List<Socket> accepted = Collections.synchronizedList(new ArrayList<>());
        List<Socket> clients = Collections.synchronizedList(new ArrayList<>());
        List<Task<Void>> readers = new ArrayList<>();
        ServerSocket listener = listen(engine, READERS + 64);
        try {
            listener.setSoTimeout((int) WAIT_MS);
            int port = listener.getLocalPort();
            long t0 = System.nanoTime();
            FutureTask<Void> acceptor = TestSupport.async("acceptor", () -> {
                for (int i = 0; i < READERS; i++) {
                    Socket a = listener.accept();
                    a.setSoTimeout((int) WAIT_MS);
                    accepted.add(a);
                }
                return null;
            });
            for (int i = 0; i < READERS; i++) {
                int id = i;
                readers.add(Task.start("reader-" + id, () -> {
                    Socket s = engine.connect(LOOPBACK, port);
                    clients.add(s);
                    new DataOutputStream(s.getOutputStream()).writeInt(id);
                    byte[] got = TestSupport.readExactly(s.getInputStream(), 16);
                    if (!Arrays.equals(reply(id), got)) {
                        throw new AssertionError("reader " + id + " got " + Arrays.toString(got));
                    }
                    s.close();
                    return null;
                }));
            }
            String parkedProblem;
            try {
                acceptor.get(WAIT_MS, TimeUnit.MILLISECONDS);
                parkedProblem = parkedProblem(READERS + " readers blocked in read", readers);
            } catch (TimeoutException e) {
                parkedProblem = "only " + accepted.size() + " of " + READERS + " reader connections were accepted"
                        + " within " + WAIT_MS + " ms (" + clients.size() + " connected); for example "
                        + describeThread(readers.get(0).thread);
            }
            long parked = System.nanoTime();
            probe(engine, READERS + " virtual threads are blocked in read", parkedProblem);
            // answer every reader, each on its own connection
            long t1 = System.nanoTime();
            for (Socket a : accepted) {
                int id = new DataInputStream(a.getInputStream()).readInt();
                a.getOutputStream().write(reply(id));
            }
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            for (Task<Void> r : readers) {
                long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                r.get(left, "answered readers");
            }
            info(String.format("%s %d readers connected and parked in %.0f ms; all answered and finished in %.0f ms",
                    engine, READERS, (parked - t0) / 1e6, (System.nanoTime() - t1) / 1e6));
        } finally {
            closeQuietly(listener);
            synchronized (clients) {
                clients.forEach(VirtualThreadChecks::closeQuietly);
            }
            synchronized (accepted) {
                accepted.forEach(VirtualThreadChecks::closeQuietly);
            }
        }
    }

    /** Three virtual threads block in accept on their own listeners; the probe runs; then each accepts. */
    static void starveAccept(Engine engine) throws Exception {
        List<ServerSocket> listeners = new ArrayList<>();
        List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());
        try {
            List<Task<Integer>> acceptors = new ArrayList<>();
            for (int i = 0; i < BLOCKERS; i++) {
                ServerSocket l = engine.listen();
                listeners.add(l);
                acceptors.add(Task.start("acceptor-" + i, () -> {
                    Socket s = l.accept();
                    sockets.add(s);
                    return s.getInputStream().read();
                }));
            }
            String parkedProblem = parkedProblem(BLOCKERS + " acceptors blocked in accept", acceptors);
            probe(engine, BLOCKERS + " virtual threads are blocked in accept", parkedProblem);
            for (int i = 0; i < BLOCKERS; i++) {
                Socket c = engine.connect(LOOPBACK, listeners.get(i).getLocalPort());
                sockets.add(c);
                c.getOutputStream().write(100 + i);
            }
            for (int i = 0; i < BLOCKERS; i++) {
                assertEquals(100 + i, acceptors.get(i).get(WAIT_MS, "acceptor after a connect"), "byte through acceptor " + i);
            }
        } finally {
            listeners.forEach(VirtualThreadChecks::closeQuietly);
            synchronized (sockets) {
                sockets.forEach(VirtualThreadChecks::closeQuietly);
            }
        }
    }

    /**
     * Three virtual threads block in an untimed connect to a full backlog (SYNs dropped); the
     * probe runs while all three are still connecting; then the listener drains its queue and
     * the connectors get through when their SYNs are retransmitted (1 s, 3 s after the first),
     * each sends a byte and reads the one the listener's side writes to everything it accepts.
     */
    static void starveConnect(Engine engine) throws Exception {
        List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());
        FullBacklog backlog = new FullBacklog();
        try {
            List<Task<Integer>> connectors = new ArrayList<>();
            for (int i = 0; i < BLOCKERS; i++) {
                Socket s = engine.socket();
                sockets.add(s);
                connectors.add(Task.start("connector-" + i, () -> {
                    s.connect(backlog.address);
                    // A connect can complete on a SYN cookie while the server drops the final
                    // ACK (accept queue full): data makes the client retransmit until accepted.
                    s.getOutputStream().write(1);
                    return s.getInputStream().read();
                }));
            }
            String parkedProblem = parkedProblem(BLOCKERS + " connectors blocked in connect", connectors);
            probe(engine, BLOCKERS + " virtual threads are blocked in connect", parkedProblem);
            for (Task<Integer> c : connectors) {
                assertFalse(c.future.isDone(), () -> "a connect to a full backlog ended during the probe: "
                        + TestSupport.describe(c.future));
            }
            // drain: accept everything queued (the setup's sockets too), answer one byte each
            long start = System.nanoTime();
            backlog.listener.setSoTimeout(100);
            long deadline = start + TimeUnit.SECONDS.toNanos(20);
            while (connectors.stream().anyMatch(c -> !c.future.isDone()) && System.nanoTime() - deadline < 0) {
                try {
                    Socket a = backlog.listener.accept();
                    sockets.add(a);
                    a.getOutputStream().write(42);
                } catch (SocketTimeoutException e) {
                    // SYNs come back on retransmission
                }
            }
            for (Task<Integer> c : connectors) {
                assertEquals(42, c.get(1, "connector after the backlog drained"), "byte through " + c.name);
            }
            info(String.format("%s %d connectors got through %.0f ms after the backlog began to drain",
                    engine, BLOCKERS, (System.nanoTime() - start) / 1e6));
        } finally {
            synchronized (sockets) {
                sockets.forEach(VirtualThreadChecks::closeQuietly);
            }
            backlog.close();
        }
    }

    /**
     * Three virtual threads write 8 MiB each to a peer that does not read (both buffers shrunk,
     * so the write blocks); the probe runs; then platform threads read everything and check it.
     */
    static void starveWrite(Engine engine) throws Exception {
        byte[] data = TestSupport.randomBytes(BIG_WRITE);
        List<Pair> pairs = new ArrayList<>();
        try {
            List<Task<Void>> writers = new ArrayList<>();
            for (int i = 0; i < BLOCKERS; i++) {
                Pair p = new Pair(engine);
                pairs.add(p);
                p.client.setSendBufferSize(SMALL_BUFFER);
                p.server.setReceiveBufferSize(SMALL_BUFFER);
                p.server.setSoTimeout((int) WAIT_MS);
                writers.add(Task.start("writer-" + i, () -> {
                    p.client.getOutputStream().write(data);
                    p.client.close();
                    return null;
                }));
            }
            String parkedProblem = parkedProblem(BLOCKERS + " writers blocked in write", writers);
            probe(engine, BLOCKERS + " virtual threads are blocked in write", parkedProblem);
            List<FutureTask<Void>> drains = new ArrayList<>();
            for (Pair p : pairs) {
                drains.add(TestSupport.async("drain", () -> {
                    byte[] got = TestSupport.readExactly(p.server.getInputStream(), data.length);
                    assertArrayEquals(data, got, "bytes through a parked writer");
                    assertEquals(-1, p.server.getInputStream().read(), "EOF after the write");
                    return null;
                }));
            }
            for (FutureTask<Void> d : drains) {
                TestSupport.await(d, WAIT_MS);
            }
            for (Task<Void> w : writers) {
                w.get(WAIT_MS, "writer after the peer read");
            }
        } finally {
            for (Pair p : pairs) {
                closeQuietly(p);
            }
        }
    }

    /**
     * {@link #starveRead} over Unix domain sockets: 1,000 virtual threads connect to a socket
     * file and block in read (the JDK row: its Unix {@code SocketChannel} through
     * {@code Channels} streams; ours: {@code RustSocket}); the probe must run meanwhile; then
     * every reader gets its own answer.
     */
    static void starveReadUnix(Engine engine) throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("rustsocket-vt");
        java.net.UnixDomainSocketAddress path = java.net.UnixDomainSocketAddress.of(dir.resolve("s.sock"));
        List<AutoCloseable> open = Collections.synchronizedList(new ArrayList<>());
        List<UnixStream> accepted = Collections.synchronizedList(new ArrayList<>());
        List<Task<Void>> readers = new ArrayList<>();
        try {
            UnixListener listener = UnixListener.open(engine, path, READERS + 64);
            open.add(listener);
            long t0 = System.nanoTime();
            FutureTask<Void> acceptor = TestSupport.async("unix-acceptor", () -> {
                for (int i = 0; i < READERS; i++) {
                    UnixStream a = listener.accept();
                    open.add(a);
                    accepted.add(a);
                }
                return null;
            });
            for (int i = 0; i < READERS; i++) {
                int id = i;
                readers.add(Task.start("unix-reader-" + id, () -> {
                    UnixStream s = UnixStream.connect(engine, path);
                    open.add(s);
                    new DataOutputStream(s.out).writeInt(id);
                    byte[] got = TestSupport.readExactly(s.in, 16);
                    if (!Arrays.equals(reply(id), got)) {
                        throw new AssertionError("unix reader " + id + " got " + Arrays.toString(got));
                    }
                    s.close();
                    return null;
                }));
            }
            String parkedProblem;
            try {
                acceptor.get(WAIT_MS, TimeUnit.MILLISECONDS);
                parkedProblem = parkedProblem(READERS + " readers blocked in read on Unix sockets", readers);
            } catch (TimeoutException e) {
                parkedProblem = "only " + accepted.size() + " of " + READERS + " Unix connections were accepted within "
                        + WAIT_MS + " ms; for example " + describeThread(readers.get(0).thread);
            }
            long parked = System.nanoTime();
            probe(engine, READERS + " virtual threads are blocked in read on Unix sockets", parkedProblem);
            long t1 = System.nanoTime();
            synchronized (accepted) {
                for (UnixStream a : accepted) {
                    int id = new DataInputStream(a.in).readInt();
                    a.out.write(reply(id));
                }
            }
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            for (Task<Void> r : readers) {
                long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                r.get(left, "answered Unix readers");
            }
            info(String.format("%s %d Unix readers connected and parked in %.0f ms; all answered in %.0f ms",
                    engine, READERS, (parked - t0) / 1e6, (System.nanoTime() - t1) / 1e6));
        } finally {
            synchronized (open) {
                open.forEach(VirtualThreadChecks::closeQuietly);
            }
            java.nio.file.Files.deleteIfExists(path.getPath());
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    /**
     * One Unix connection of {@code engine} whose reader parks once: so that the classes and
     * pollers a Unix check uses (and the jars the class loader opens to find them) exist before
     * the descriptor baseline is taken.
     */
    static void warmUpUnix(Engine engine) throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("rustsocket-vt");
        java.net.UnixDomainSocketAddress path = java.net.UnixDomainSocketAddress.of(dir.resolve("w.sock"));
        try (UnixListener l = UnixListener.open(engine, path, 1); UnixStream c = UnixStream.connect(engine, path);
                UnixStream a = l.accept()) {
            Task<Integer> reader = Task.start("warm-unix-read", () -> c.in.read());
            awaitParked("warm-up Unix read " + engine, reader);
            a.out.write(1);
            assertEquals(1, reader.get(WAIT_MS, "warm-up Unix read " + engine));
        } finally {
            java.nio.file.Files.deleteIfExists(path.getPath());
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    /** One end of a Unix stream connection, the JDK's channel or our socket, as two streams. */
    private static final class UnixStream implements AutoCloseable {
        final java.io.InputStream in;
        final java.io.OutputStream out;
        private final AutoCloseable owner;

        UnixStream(java.io.InputStream in, java.io.OutputStream out, AutoCloseable owner) {
            this.in = in;
            this.out = out;
            this.owner = owner;
        }

        static UnixStream of(Socket s) throws java.io.IOException {
            return new UnixStream(s.getInputStream(), s.getOutputStream(), s);
        }

        static UnixStream of(java.nio.channels.SocketChannel c) {
            return new UnixStream(java.nio.channels.Channels.newInputStream(c),
                    java.nio.channels.Channels.newOutputStream(c), c);
        }

        static UnixStream connect(Engine engine, java.net.UnixDomainSocketAddress path) throws java.io.IOException {
            if (engine == Engine.JDK) {
                return of(java.nio.channels.SocketChannel.open(path));
            }
            RustSocket s = new RustSocket();
            s.connect(path);
            return of(s);
        }

        @Override
        public void close() {
            closeQuietly(owner);
        }
    }

    /** A Unix listener, the JDK's channel or our server socket. */
    private static final class UnixListener implements AutoCloseable {
        private final java.nio.channels.ServerSocketChannel channel;
        private final RustServerSocket socket;

        private UnixListener(java.nio.channels.ServerSocketChannel channel, RustServerSocket socket) {
            this.channel = channel;
            this.socket = socket;
        }

        static UnixListener open(Engine engine, java.net.UnixDomainSocketAddress path, int backlog)
                throws java.io.IOException {
            if (engine == Engine.JDK) {
                java.nio.channels.ServerSocketChannel c =
                        java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX);
                c.bind(path, backlog);
                return new UnixListener(c, null);
            }
            RustServerSocket s = new RustServerSocket();
            s.bind(path, backlog);
            return new UnixListener(null, s);
        }

        UnixStream accept() throws java.io.IOException {
            return channel != null ? UnixStream.of(channel.accept()) : UnixStream.of(socket.accept());
        }

        @Override
        public void close() throws java.io.IOException {
            if (channel != null) {
                channel.close();
            } else {
                socket.close();
            }
        }
    }
}
