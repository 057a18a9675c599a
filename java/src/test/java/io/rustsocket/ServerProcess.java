package io.rustsocket;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * A throw-away server process for tests, listening on a free 127.0.0.1 port with its files in a
 * temporary directory of its own: what {@link RedisServerProcess}, {@link FtpServerProcess} and
 * {@link PostgresServerProcess} share. A subclass says how its server is launched and when it is
 * ready; this class picks the port (another one if the one picked got taken), waits for the
 * server, reaps it if the JVM exits first, and {@link #close()} stops it (with anything it
 * started) and deletes its directory. Readiness probes use plain {@link java.net.Socket}s, so that
 * a fault in the socket under test cannot hide as a server that "did not start".
 */
abstract class ServerProcess implements AutoCloseable {
    static final InetAddress LOOPBACK_V4 = loopbackV4();
    /** Ports tried before giving up on starting a server. */
    private static final int ATTEMPTS = 5;

    /** The server's name in messages ("redis-server"). */
    protected final String name;
    protected final Process process;
    protected final Path dir;
    /** Where the server logs. */
    protected final Path log;
    protected final int port;
    private final Thread shutdownHook;

    /**
     * Registers a shutdown hook ("NAME-reaper") that kills the process (and, with
     * {@code reapDescendants}, everything it started) if the JVM exits before {@link #close()}.
     */
    protected ServerProcess(String name, Process process, Path dir, Path log, int port, boolean reapDescendants) {
        this.name = name;
        this.process = process;
        this.dir = dir;
        this.log = log;
        this.port = port;
        this.shutdownHook = new Thread(() -> {
            if (reapDescendants) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
            }
            process.destroyForcibly();
        }, name + "-reaper");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    int port() {
        return port;
    }

    /** The last lines of the server's log, for failure messages. */
    String logTail() {
        return tail(log, 40);
    }

    /** What the server wrote, for failure messages: by default "NAME log:" and its last lines. */
    String diagnostics() {
        return name + " log:\n" + logTail();
    }

    /** Returns once the server serves; throws an IOException saying why it does not. */
    protected abstract void awaitReady() throws IOException, InterruptedException;

    /** Stops the server (SIGTERM, then SIGKILL after 5 s), waits for it, and deletes its directory. */
    @Override
    public void close() {
        try {
            stop(process);
        } finally {
            removeShutdownHook();
            deleteTree(dir);
        }
    }

    /** Gets rid of a server that did not become ready; by default {@link #close()}. */
    protected void discard() {
        close();
    }

    /** Stops the process and forgets its reaper, leaving its directory (for a next attempt). */
    protected final void stopKeepingDirectory() {
        try {
            stop(process);
        } finally {
            removeShutdownHook();
        }
    }

    private void removeShutdownHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // the JVM is already shutting down; the hook does the same
        }
    }

    // ---------------------------------------------------------------- starting

    /** Starts a server process listening on the given port. */
    interface Launcher<S extends ServerProcess> {
        S launch(int port) throws IOException;
    }

    /**
     * Launches a server on a port that was free a moment ago and waits until it is ready; if it
     * is not (the port got taken, or it failed), discards it and tries another port, up to 5.
     */
    static <S extends ServerProcess> S startOnFreePort(Launcher<S> launcher) throws IOException, InterruptedException {
        IOException last = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            S server = launcher.launch(freeLoopbackPort());
            try {
                server.awaitReady();
                return server;
            } catch (IOException e) {
                last = new IOException(e.getMessage() + "\n" + server.diagnostics(), e);
                server.discard();
            } catch (InterruptedException | RuntimeException | Error e) {
                server.discard();
                throw e;
            }
        }
        throw last;
    }

    /** Something a readiness probe checks; returns whether the server is ready. */
    protected interface Probe {
        boolean ready() throws IOException;
    }

    /**
     * Polls {@code probe} every {@code pollMillis} until it says the server is ready. Fails when
     * the process exits first ("NAME exited with status N " + {@code exitedWhen}) or when
     * {@code timeoutMillis} run out ("NAME " + {@code notReady} + " within T ms", caused by the
     * probe's last IOException).
     */
    protected final void pollUntilReady(long timeoutMillis, long pollMillis, String exitedWhen, String notReady,
            Probe probe) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException(name + " exited with status " + process.exitValue() + " " + exitedWhen);
            }
            try {
                if (probe.ready()) {
                    return;
                }
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(pollMillis);
        }
        throw new IOException(name + " " + notReady + " within " + timeoutMillis + " ms", last);
    }

    /** What a probe does on a connection to the server. */
    protected interface Exchange {
        /** Returns normally if the server answered as a ready one does; throws an IOException if not. */
        void run(Socket s) throws IOException;
    }

    /**
     * Connects a plain JDK socket to the server (500 ms connect timeout, then
     * {@code soTimeoutMillis} per read) and runs {@code exchange} on it; true if it returned.
     */
    protected final boolean answers(int soTimeoutMillis, Exchange exchange) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(LOOPBACK_V4, port), 500);
            s.setSoTimeout(soTimeoutMillis);
            exchange.run(s);
            return true;
        }
    }

    // ---------------------------------------------------------------- process, port and file helpers

    static boolean runningAsRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** One protocol line (CRLF or LF ended) read byte by byte from a plain JDK socket. */
    static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    /**
     * An executable: {@code preferred} if it is one, else the first {@code name} on PATH; none
     * off Linux, where these servers and their set-up (runuser, Unix sockets) are Linux's (under
     * Wine the Linux binaries are visible on drive Z: but cannot be run as Windows programs).
     */
    static Optional<Path> find(String name, String preferred) {
        if (!TestSupport.LINUX) {
            return Optional.empty();
        }
        Path p = Path.of(preferred);
        if (Files.isExecutable(p)) {
            return Optional.of(p);
        }
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        return Stream.of(path.split(":"))
                .filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, name))
                .filter(Files::isExecutable)
                .findFirst();
    }

    /** A port that was free on 127.0.0.1 a moment ago (found with a JDK socket). */
    static int freeLoopbackPort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(LOOPBACK_V4, 0));
            return s.getLocalPort();
        }
    }

    /**
     * SIGTERM to the process and everything it started, SIGKILL to whatever is still there
     * after 5 s, and waits for each to exit. Also when the calling thread was interrupted (a
     * JUnit timeout): the wait goes on and the interrupt is restored afterwards.
     */
    static void stop(Process process) {
        List<ProcessHandle> all = new ArrayList<>();
        all.add(process.toHandle());
        all.addAll(process.descendants().toList()); // before the parent dies and they are re-parented
        boolean interrupted = Thread.interrupted();
        all.forEach(ProcessHandle::destroy);
        for (ProcessHandle h : all) {
            if (!awaitExit(h, 5_000)) {
                h.destroyForcibly();
                awaitExit(h, 5_000);
            }
        }
        try {
            process.waitFor(5, TimeUnit.SECONDS); // reaps it and closes the Process's streams
        } catch (InterruptedException e) {
            interrupted = true;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits up to millis for h to exit, ignoring (and then restoring) interrupts. */
    private static boolean awaitExit(ProcessHandle h, long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        boolean interrupted = false;
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                if (!h.isAlive()) {
                    return true;
                }
                if (left <= 0) {
                    return false;
                }
                try {
                    h.onExit().get(left, TimeUnit.NANOSECONDS);
                    return true;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    return !h.isAlive();
                } catch (TimeoutException e) {
                    return false;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The last {@code lines} lines of a text file, or why it cannot be read. */
    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e + ")";
        }
    }

    /** Deletes a directory this test created, and everything in it. */
    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a leftover temp file must not fail the test
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    private static InetAddress loopbackV4() {
        try {
            return InetAddress.getByName("127.0.0.1");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
