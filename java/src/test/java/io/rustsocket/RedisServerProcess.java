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
 * A throw-away {@code redis-server} on a free 127.0.0.1 port, for tests: no persistence, its own
 * working directory, stopped (with anything it started) by {@link #close()}. Readiness is probed
 * with a plain {@link java.net.Socket} so that a fault in the socket under test cannot hide as a
 * server that "did not start".
 */
final class RedisServerProcess implements AutoCloseable {
    private static final InetAddress LOOPBACK_V4 = loopbackV4();

    private final Process process;
    private final Path dir;
    private final Path log;
    private final int port;
    private final Thread shutdownHook;

    private RedisServerProcess(Process process, Path dir, Path log, int port) {
        this.process = process;
        this.dir = dir;
        this.log = log;
        this.port = port;
        this.shutdownHook = new Thread(process::destroyForcibly, "redis-server-reaper");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** The redis-server executable: /usr/bin/redis-server, else the first one on PATH. */
    static Optional<Path> executable() {
        return ServerProcesses.find("redis-server", "/usr/bin/redis-server");
    }

    /** Starts a server and waits until it answers PING; retries on another port if the one picked got taken. */
    static RedisServerProcess start() throws IOException, InterruptedException {
        Path exe = executable().orElseThrow(() -> new IOException("redis-server is not installed"));
        IOException last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            Path dir = Files.createTempDirectory("rustsocket-redis");
            Path log = dir.resolve("redis.log");
            int port = ServerProcesses.freeLoopbackPort();
            ProcessBuilder pb = new ProcessBuilder(List.of(
                    exe.toString(),
                    "--port", Integer.toString(port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--daemonize", "no",
                    "--dir", dir.toString()));
            pb.directory(dir.toFile());
            pb.redirectErrorStream(true);
            pb.redirectOutput(log.toFile());
            Process p = pb.start();
            RedisServerProcess server = new RedisServerProcess(p, dir, log, port);
            try {
                server.awaitReady(10_000);
                return server;
            } catch (IOException e) {
                last = new IOException(e.getMessage() + "\nredis-server log:\n" + server.logTail(), e);
                server.close();
            } catch (InterruptedException | RuntimeException | Error e) {
                server.close();
                throw e;
            }
        }
        throw last;
    }

    int port() {
        return port;
    }

    /** The last lines of the server's output, for failure messages. */
    String logTail() {
        return ServerProcesses.tail(log, 40);
    }

    private void awaitReady(long timeoutMillis) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("redis-server exited with status " + process.exitValue()
                        + " before answering on port " + port);
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(LOOPBACK_V4, port), 500);
                s.setSoTimeout(1000);
                s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
                String reply = ServerProcesses.readLine(s.getInputStream());
                if (reply.equals("+PONG")) {
                    return;
                }
                last = new IOException("unexpected PING reply: " + reply);
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(20);
        }
        throw new IOException("redis-server did not answer PING on 127.0.0.1:" + port + " within "
                + timeoutMillis + " ms", last);
    }

    /** Stops the server (SIGTERM, then SIGKILL after 5 s), waits for it, and deletes its directory. */
    @Override
    public void close() {
        ServerProcesses.stopAndCleanUp(process, shutdownHook, dir);
    }

    private static InetAddress loopbackV4() {
        try {
            return InetAddress.getByName("127.0.0.1");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Process, port and file helpers shared by the server wrappers. */
    static final class ServerProcesses {
        private ServerProcesses() {}

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

        /** Stops a server started by a test, removes its shutdown hook and deletes its directory. */
        static void stopAndCleanUp(Process process, Thread shutdownHook, Path dir) {
            try {
                stop(process);
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(shutdownHook);
                } catch (IllegalStateException ignored) {
                    // the JVM is already shutting down; the hook does the same
                }
                deleteTree(dir);
            }
        }

        static Optional<Path> find(String name, String preferred) {
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
    }
}
