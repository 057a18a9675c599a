package io.rustsocket.internal;

import io.rustsocket.DatagramBatch;
import io.rustsocket.RustDatagramSocket;
import io.rustsocket.RustServerSocket;
import io.rustsocket.RustSocket;
import io.rustsocket.RustSockets;
import io.rustsocket.TcpInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code java -jar rustsocket.jar}: a report on the machine it runs on (platform, where the
 * native library came from, system and JVM, the features and options this platform has) and
 * checks that exercise the library over loopback, with their timings. Exit status 0 when every
 * check passed, 1 otherwise (the library could not load, or a check failed).
 */
public final class SelfTest {
    private static final int ROUND_TRIPS = 1000;
    private static final int WARM_UP = 100;
    private static final int MESSAGE = 64;
    private static final int TIMEOUT_MILLIS = 10_000;

    private final PrintStream out;
    private int passed;
    private int failed;
    private int skipped;

    private SelfTest(PrintStream out) {
        this.out = out;
    }

    /**
     * Prints the report to standard output and exits with 0 when every check passed.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        int status = new SelfTest(System.out).run();
        System.out.flush();
        System.exit(status);
    }

    private int run() {
        Package pkg = RustSockets.class.getPackage();
        String version = pkg == null ? null : pkg.getImplementationVersion();
        out.println("rustsocket " + (version == null ? "(unknown version)" : version) + " self-test");
        line("platform", NativeLibrary.describePlatform());
        Set<String> bundled = NativeLibrary.bundledPlatforms();
        line("jar holds", bundled.isEmpty() ? "no native library" : String.join(", ", bundled));
        line("system", system());
        line("java", System.getProperty("java.runtime.version", System.getProperty("java.version")) + " ("
                + System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + "), "
                + System.getProperty("java.home"));
        if (!RustSockets.isAvailable()) {
            line("library", "NOT LOADED");
            out.println();
            out.println(RustSockets.unavailabilityCause().getMessage());
            out.println();
            out.println("result: FAILED (the native library could not be loaded)");
            return 1;
        }
        line("library", NativeLibrary.loadedFrom());

        out.println("features");
        feature("platform threads block in the kernel", Platform.shutdownWakesBlockedCalls(),
                "a shutdown wakes blocked calls", "they wait in the poller, which close() wakes");
        line("virtual-thread poller", poller() + (Runtime.version().feature() >= 21 ? ""
                : " (used on JDK 21+; this JVM has no virtual threads)"));
        feature("zero-copy sendFile", Platform.zeroCopySendFile(), "sendfile(2)", "copied through a buffer");
        feature("tcpInfo()", Platform.hasTcpInfo(), "TCP_INFO", "UnsupportedOperationException");
        feature("batched UDP system calls", Platform.batchSystemCalls(), "sendmmsg/recvmmsg",
                "a loop of single calls");

        out.println("options");
        try (RustSocket s = new RustSocket(); RustServerSocket ss = new RustServerSocket();
             RustDatagramSocket ds = new RustDatagramSocket(null)) {
            options("RustSocket", s.supportedOptions());
            options("RustServerSocket", ss.supportedOptions());
            options("RustDatagramSocket", ds.supportedOptions());
        } catch (IOException | RuntimeException e) {
            line("(cannot list)", e.toString());
        }

        out.println("checks");
        check("TCP loopback round trip", this::tcpRoundTrips);
        check("UDP loopback round trip", this::udpRoundTrips);
        check("sendFile", this::sendFile);
        check("tcpInfo()", this::tcpInfo);
        check("datagram batch", this::datagramBatch);
        check("virtual-thread round trip", this::virtualThreadRoundTrips);
        boolean ok = failed == 0;
        out.printf(Locale.ROOT, "result: %s (%d passed, %d failed, %d skipped)%n", ok ? "OK" : "FAILED", passed,
                failed, skipped);
        return ok ? 0 : 1;
    }

    private void line(String key, String value) {
        out.printf(Locale.ROOT, "  %-38s %s%n", key, value);
    }

    private void feature(String name, boolean has, String how, String otherwise) {
        line(name, has ? "yes (" + how + ")" : "no (" + otherwise + ")");
    }

    private void options(String type, Set<SocketOption<?>> options) {
        Set<String> names = new TreeSet<>();
        for (SocketOption<?> o : options) {
            names.add(o.name());
        }
        StringBuilder sb = new StringBuilder();
        int width = 0;
        for (String n : names) {
            if (sb.length() > 0) {
                sb.append(',');
                width++;
                if (width + n.length() > 60) {
                    sb.append('\n').append(" ".repeat(41));
                    width = 0;
                } else {
                    sb.append(' ');
                    width++;
                }
            }
            sb.append(n);
            width += n.length();
        }
        line(type + " (" + names.size() + ")", sb.toString());
    }

    private static String poller() {
        switch (Platform.NAME) {
            case "Linux":
                return "epoll";
            case "macOS":
                return "kqueue";
            case "Windows":
                return "AFD";
            default:
                return Platform.NAME;
        }
    }

    private static String system() {
        String os = System.getProperty("os.name") + " " + System.getProperty("os.version");
        Path release = Paths.get("/etc/os-release");
        if (Files.isReadable(release)) {
            try {
                for (String l : Files.readAllLines(release)) {
                    if (l.startsWith("PRETTY_NAME=")) {
                        os += ", " + l.substring("PRETTY_NAME=".length()).replace("\"", "");
                    }
                }
            } catch (IOException | RuntimeException e) {
                // the kernel version is enough
            }
        }
        return os;
    }

    /** A check: returns what it measured, throws on failure, returns {@code null} to skip (with {@link #skip}). */
    private interface Check {
        String run() throws Exception;
    }

    private String skipReason;

    private String skip(String reason) {
        skipReason = reason;
        return null;
    }

    private void check(String name, Check check) {
        skipReason = null;
        String result;
        try {
            result = check.run();
        } catch (Exception | Error e) {
            if (e instanceof VirtualMachineError) {
                throw (VirtualMachineError) e;
            }
            failed++;
            out.printf(Locale.ROOT, "  FAIL  %-32s %s%n", name, e);
            return;
        }
        if (result == null) {
            skipped++;
            out.printf(Locale.ROOT, "  SKIP  %-32s %s%n", name, skipReason);
        } else {
            passed++;
            out.printf(Locale.ROOT, "  PASS  %-32s %s%n", name, result);
        }
    }

    private static String micros(long nanos, int count) {
        return String.format(Locale.ROOT, "%.1f µs each", nanos / 1000.0 / count);
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
    }

    /** An echo server on loopback, answering each connection on its own daemon thread. */
    private static final class EchoServer implements AutoCloseable {
        final RustServerSocket server;
        final AtomicReference<Throwable> error = new AtomicReference<>();

        EchoServer() throws IOException {
            server = new RustServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread t = new Thread(() -> {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(TIMEOUT_MILLIS);
                    s.setTcpNoDelay(true);
                    InputStream in = s.getInputStream();
                    OutputStream o = s.getOutputStream();
                    byte[] buf = new byte[8192];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        o.write(buf, 0, n);
                    }
                } catch (IOException e) {
                    if (!server.isClosed()) {
                        error.set(e);
                    }
                }
            }, "rustsocket-selftest-echo");
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** {@code rounds} exchanges of {@link #MESSAGE} bytes on {@code s}; returns the time taken. */
    private static long exchange(Socket s, int rounds) throws IOException {
        byte[] msg = new byte[MESSAGE];
        byte[] back = new byte[MESSAGE];
        OutputStream o = s.getOutputStream();
        InputStream in = s.getInputStream();
        long start = System.nanoTime();
        for (int i = 0; i < rounds; i++) {
            msg[0] = (byte) i;
            o.write(msg);
            int got = 0;
            while (got < MESSAGE) {
                int n = in.read(back, got, MESSAGE - got);
                if (n < 0) {
                    throw new IOException("the echo server closed the connection after " + i + " round trips");
                }
                got += n;
            }
            if (back[0] != msg[0]) {
                throw new IOException("round trip " + i + " came back with other bytes");
            }
        }
        return System.nanoTime() - start;
    }

    private String tcpRoundTrips() throws Exception {
        try (EchoServer echo = new EchoServer()) {
            long start = System.nanoTime();
            try (RustSocket s = new RustSocket(echo.address().getAddress(), echo.address().getPort())) {
                long connect = System.nanoTime() - start;
                s.setSoTimeout(TIMEOUT_MILLIS);
                s.setTcpNoDelay(true);
                exchange(s, WARM_UP);
                long took = exchange(s, ROUND_TRIPS);
                return ROUND_TRIPS + " x " + MESSAGE + " B, " + micros(took, ROUND_TRIPS) + " (connect "
                        + millis(connect) + ")";
            }
        }
    }

    private String udpRoundTrips() throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (RustDatagramSocket server = new RustDatagramSocket(0, loopback);
             RustDatagramSocket client = new RustDatagramSocket(0, loopback)) {
            server.setSoTimeout(TIMEOUT_MILLIS);
            client.setSoTimeout(TIMEOUT_MILLIS);
            AtomicReference<Throwable> error = new AtomicReference<>();
            int total = WARM_UP + ROUND_TRIPS;
            Thread t = new Thread(() -> {
                DatagramPacket p = new DatagramPacket(new byte[MESSAGE], MESSAGE);
                try {
                    for (int i = 0; i < total; i++) {
                        p.setLength(MESSAGE);
                        server.receive(p);
                        server.send(p);
                    }
                } catch (IOException e) {
                    error.set(e);
                }
            }, "rustsocket-selftest-udp");
            t.setDaemon(true);
            t.start();
            InetSocketAddress to = new InetSocketAddress(loopback, server.getLocalPort());
            DatagramPacket out = new DatagramPacket(new byte[MESSAGE], MESSAGE, to);
            DatagramPacket in = new DatagramPacket(new byte[MESSAGE], MESSAGE);
            long start = 0;
            for (int i = 0; i < total; i++) {
                if (i == WARM_UP) {
                    start = System.nanoTime();
                }
                out.getData()[0] = (byte) i;
                client.send(out);
                in.setLength(MESSAGE);
                client.receive(in);
                if (in.getLength() != MESSAGE || in.getData()[0] != (byte) i) {
                    throw new IOException("datagram " + i + " came back wrong (" + in.getLength() + " bytes)");
                }
            }
            long took = System.nanoTime() - start;
            t.join(TIMEOUT_MILLIS);
            if (error.get() != null) {
                throw new IOException("echo side failed: " + error.get(), error.get());
            }
            return ROUND_TRIPS + " x " + MESSAGE + " B, " + micros(took, ROUND_TRIPS);
        }
    }

    private String sendFile() throws Exception {
        int size = 1 << 20;
        Path file = Files.createTempFile("rustsocket-selftest", ".bin");
        try {
            byte[] data = new byte[size];
            for (int i = 0; i < size; i++) {
                data[i] = (byte) (i * 31);
            }
            Files.write(file, data);
            try (RustServerSocket server = new RustServerSocket(0, 50, InetAddress.getLoopbackAddress());
                 RustSocket s = new RustSocket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                 Socket accepted = server.accept()) {
                accepted.setSoTimeout(TIMEOUT_MILLIS);
                AtomicReference<Object> received = new AtomicReference<>();
                Thread reader = new Thread(() -> {
                    try {
                        received.set(accepted.getInputStream().readNBytes(size));
                    } catch (IOException e) {
                        received.set(e);
                    }
                }, "rustsocket-selftest-sendfile");
                reader.setDaemon(true);
                reader.start();
                long start = System.nanoTime();
                long sent = s.sendFile(file, 0, size);
                reader.join(TIMEOUT_MILLIS);
                long took = System.nanoTime() - start;
                if (sent != size) {
                    throw new IOException("sendFile sent " + sent + " of " + size + " bytes");
                }
                if (!(received.get() instanceof byte[]) || !Arrays.equals(data, (byte[]) received.get())) {
                    throw new IOException("the receiver got other bytes: " + received.get());
                }
                return "1 MiB in " + millis(took) + (Platform.zeroCopySendFile() ? ", zero-copy" : ", copied");
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private String tcpInfo() throws Exception {
        if (!Platform.hasTcpInfo()) {
            return skip("this platform has no TCP_INFO");
        }
        try (EchoServer echo = new EchoServer();
             RustSocket s = new RustSocket(echo.address().getAddress(), echo.address().getPort())) {
            s.setSoTimeout(TIMEOUT_MILLIS);
            exchange(s, 10);
            TcpInfo info = s.tcpInfo();
            if (info.state() != TcpInfo.State.ESTABLISHED) {
                throw new IOException("state " + info.state() + ", expected ESTABLISHED");
            }
            return "ESTABLISHED, rtt " + info.rttMicros() + " µs, mss " + info.sendMssBytes() + " B";
        }
    }

    private String datagramBatch() throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        int count = 16;
        try (RustDatagramSocket receiver = new RustDatagramSocket(0, loopback);
             RustDatagramSocket sender = new RustDatagramSocket(0, loopback)) {
            receiver.setSoTimeout(TIMEOUT_MILLIS);
            InetSocketAddress to = new InetSocketAddress(loopback, receiver.getLocalPort());
            DatagramBatch out = new DatagramBatch(count, MESSAGE);
            for (int i = 0; i < count; i++) {
                byte[] d = ("datagram " + i).getBytes(StandardCharsets.US_ASCII);
                out.add(d, 0, d.length, to);
            }
            long start = System.nanoTime();
            int sent = sender.send(out);
            DatagramBatch in = new DatagramBatch(count, MESSAGE);
            int got = 0;
            int calls = 0;
            while (got < count) {
                in.clear();
                int n = receiver.receive(in);
                calls++;
                for (int i = 0; i < n; i++) {
                    String text = new String(in.buffer(), in.offset(i), in.length(i), StandardCharsets.US_ASCII);
                    if (!text.equals("datagram " + (got + i))) {
                        throw new IOException("datagram " + (got + i) + " arrived as '" + text + "'");
                    }
                }
                got += n;
            }
            long took = System.nanoTime() - start;
            if (sent != count) {
                throw new IOException("sent " + sent + " of " + count);
            }
            return count + " datagrams, 1 send and " + calls + " receive call" + (calls == 1 ? "" : "s") + ", "
                    + millis(took);
        }
    }

    private String virtualThreadRoundTrips() throws Exception {
        Method start;
        try {
            start = Thread.class.getMethod("startVirtualThread", Runnable.class);
        } catch (NoSuchMethodException e) {
            return skip("JDK " + Runtime.version().feature() + " has no virtual threads (JDK 21+)");
        }
        try (EchoServer echo = new EchoServer()) {
            AtomicReference<Object> result = new AtomicReference<>();
            Thread t = (Thread) start.invoke(null, (Runnable) () -> {
                try (RustSocket s = new RustSocket(echo.address().getAddress(), echo.address().getPort())) {
                    s.setSoTimeout(TIMEOUT_MILLIS);
                    s.setTcpNoDelay(true);
                    exchange(s, WARM_UP);
                    result.set(exchange(s, ROUND_TRIPS));
                } catch (IOException | RuntimeException e) {
                    result.set(e);
                }
            });
            t.join(TIMEOUT_MILLIS * 2L);
            Object r = result.get();
            if (r instanceof Long) {
                return ROUND_TRIPS + " x " + MESSAGE + " B, " + micros((Long) r, ROUND_TRIPS) + " (parked in "
                        + poller() + ")";
            }
            throw new IOException("the virtual thread " + (r == null ? "did not finish" : "failed: " + r));
        }
    }
}
