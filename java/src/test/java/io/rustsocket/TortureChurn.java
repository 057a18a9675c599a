package io.rustsocket;

import static io.rustsocket.Cells.foreignByte;
import static io.rustsocket.Torture.*;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Threads that keep opening and closing other descriptors while the races run: connected pairs
 * (RustSocket and JDK, both directions checked), files and pipes. Linux hands out the lowest
 * free descriptor number, so a number the races release is soon one of these; if any operation
 * of the races used a number after releasing it, it would hit one of these and be caught here
 * (a foreign or missing byte, or a wrong error) or there.
 */
final class TortureChurn implements AutoCloseable {
    final Run run;
    final Path dir;
    final ServerSocket rustListener;
    final ServerSocket jdkListener;
    final LongAdder socketCycles = new LongAdder();
    final LongAdder fileCycles = new LongAdder();
    final AtomicBoolean stop = new AtomicBoolean();
    final List<Task> tasks = new ArrayList<>();
    int fileNo;

    TortureChurn(Run run) throws IOException {
        this.run = run;
        dir = Files.createTempDirectory("torture-churn");
        rustListener = new RustServerSocket(0, 50, LOOPBACK);
        jdkListener = new ServerSocket(0, 50, LOOPBACK);
        rustListener.setSoTimeout(SETUP_MILLIS);
        jdkListener.setSoTimeout(SETUP_MILLIS);
    }

    void start() {
        SplittableRandom r1 = new SplittableRandom(run.seed ^ 1);
        SplittableRandom r2 = new SplittableRandom(run.seed ^ 2);
        tasks.add(run.start("churn: sockets", () -> {
            while (!stop.get()) {
                cycleSockets(r1);
                LockSupport.parkNanos(250_000);
            }
        }));
        tasks.add(run.start("churn: files and pipes", () -> {
            while (!stop.get()) {
                cycleFiles(r2);
                LockSupport.parkNanos(250_000);
            }
        }));
    }

    void cycleSockets(SplittableRandom rnd) throws IOException {
        ServerSocket l = rnd.nextBoolean() ? rustListener : jdkListener;
        boolean rustClient = rnd.nextBoolean();
        String what = "churn: " + (rustClient ? "RustSocket" : "JDK socket") + " to a "
                + (l == rustListener ? "RustServerSocket" : "JDK ServerSocket");
        try (Socket c = rustClient ? new RustSocket(LOOPBACK, l.getLocalPort()) : new Socket(LOOPBACK, l.getLocalPort());
                Socket s = l.accept()) {
            if (s.getPort() != c.getLocalPort()) {
                throw new AssertionError(what + ": accepted a foreign connection");
            }
            c.setSoTimeout(RECEIVE_MILLIS);
            s.setSoTimeout(RECEIVE_MILLIS);
            exchange(c, s, rnd, what + ", client to server");
            exchange(s, c, rnd, what + ", server to client");
            if (rnd.nextBoolean()) {
                c.shutdownOutput();
                if (s.getInputStream().read() != -1) {
                    throw new AssertionError(what + ": a byte after shutdownOutput");
                }
            }
        } catch (IOException e) {
            throw new AssertionError(what + " failed: " + e
                    + " (no racing thread may touch this socket: was a descriptor closed or reused under it?)", e);
        }
        socketCycles.increment();
    }

    private static void exchange(Socket from, Socket to, SplittableRandom rnd, String what) throws IOException {
        long key = rnd.nextLong();
        int n = 1 + rnd.nextInt(4096);
        byte[] b = new byte[n];
        Cells.fill(key, 0, b, 0, n);
        from.getOutputStream().write(b);
        byte[] got = TestSupport.readExactly(to.getInputStream(), n);
        int bad = Cells.check(key, 0, got, 0, n);
        if (bad >= 0) {
            throw foreignByte(what, key, bad, got[bad]);
        }
    }

    void cycleFiles(SplittableRandom rnd) throws IOException {
        long key = rnd.nextLong();
        int n = 1 + rnd.nextInt(8192);
        byte[] b = new byte[n];
        Cells.fill(key, 0, b, 0, n);
        Path f = dir.resolve("f" + (fileNo++ % 4));
        try {
            try (FileOutputStream out = new FileOutputStream(f.toFile())) {
                out.write(b);
            }
            byte[] got;
            try (FileInputStream in = new FileInputStream(f.toFile())) {
                got = in.readAllBytes();
            }
            if (got.length != n || Cells.check(key, 0, got, 0, n) >= 0) {
                throw new AssertionError("churn: a file read back " + got.length + " bytes, " + n
                        + " were written" + (got.length == n ? ", with other contents" : "")
                        + " (was its descriptor closed or written by someone else?)");
            }
            Pipe p = Pipe.open();
            try (Pipe.SinkChannel sink = p.sink(); Pipe.SourceChannel source = p.source()) {
                int m = Math.min(n, 4096);
                ByteBuffer w = ByteBuffer.wrap(b, 0, m);
                while (w.hasRemaining()) {
                    sink.write(w);
                }
                ByteBuffer r = ByteBuffer.allocate(m);
                while (r.hasRemaining()) {
                    if (source.read(r) < 0) {
                        throw new AssertionError("churn: EOF from a pipe");
                    }
                }
                if (Cells.check(key, 0, r.array(), 0, m) >= 0) {
                    throw new AssertionError("churn: a pipe returned other bytes than were written");
                }
            }
        } catch (IOException e) {
            throw new AssertionError("churn: a file or pipe failed: " + e
                    + " (was its descriptor closed or reused by someone else?)", e);
        }
        fileCycles.increment();
    }

    @Override
    public void close() throws IOException {
        stop.set(true);
        try {
            run.awaitAll(tasks, WAKE_MILLIS, "stopping the churn threads");
        } finally {
            rustListener.close();
            jdkListener.close();
            try (java.util.stream.Stream<Path> files = Files.list(dir)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }
}
