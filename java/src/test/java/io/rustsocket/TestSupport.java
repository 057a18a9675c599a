package io.rustsocket;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/** Helpers shared by the tests. */
public final class TestSupport {
    private TestSupport() {}

    /** Descriptors open in this process right now (Linux: entries of /proc/self/fd). */
    public static int processFdCount() {
        String[] entries = new File("/proc/self/fd").list();
        return Objects.requireNonNull(entries, "/proc/self/fd").length;
    }

    /** Random bytes of the given length. */
    public static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    /** Reads exactly n bytes or fails. */
    public static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new IOException("EOF after " + b.length + " of " + n + " bytes");
        }
        return b;
    }

    /** A connected pair: client made by one engine, server side accepted by another. */
    public static final class Pair implements AutoCloseable {
        public final ServerSocket listener;
        public final Socket client;
        public final Socket server;

        public Pair(Engine clientEngine, Engine serverEngine) throws IOException {
            listener = serverEngine.listen();
            client = clientEngine.connect(InetAddress.getLoopbackAddress(), listener.getLocalPort());
            server = listener.accept();
        }

        public Pair(Engine engine) throws IOException {
            this(engine, engine);
        }

        @Override
        public void close() throws IOException {
            client.close();
            server.close();
            listener.close();
        }
    }

    /** A port on 127.0.0.1 with nothing listening (bound briefly, then released). */
    public static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Waits up to 10 s for the condition, polling; returns whether it became true. */
    public static boolean eventually(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(5);
        }
        return condition.getAsBoolean();
    }
}
