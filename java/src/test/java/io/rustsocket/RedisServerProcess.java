package io.rustsocket;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A throw-away {@code redis-server} on a free 127.0.0.1 port, for tests: no persistence, its own
 * working directory, stopped (with anything it started) by {@link #close()}. Readiness is probed
 * with a plain {@link java.net.Socket} (see {@link ServerProcess}).
 */
final class RedisServerProcess extends ServerProcess {
    private RedisServerProcess(Process process, Path dir, Path log, int port) {
        super("redis-server", process, dir, log, port, false);
    }

    /** The redis-server executable: /usr/bin/redis-server, else the first one on PATH. */
    static Optional<Path> executable() {
        return find("redis-server", "/usr/bin/redis-server");
    }

    /** Starts a server and waits until it answers PING; retries on another port if the one picked got taken. */
    static RedisServerProcess start() throws IOException, InterruptedException {
        return start(false);
    }

    /**
     * As {@link #start()}, the server also listening on the Unix socket {@link #unixSocket()}
     * ({@code unixsocket} in its configuration), readable and writable by this user only.
     */
    static RedisServerProcess startWithUnixSocket() throws IOException, InterruptedException {
        return start(true);
    }

    /** The server's Unix socket file (there only when started by {@link #startWithUnixSocket()}). */
    Path unixSocket() {
        return dir.resolve(UNIX_SOCKET);
    }

    private static final String UNIX_SOCKET = "redis.sock";

    private static RedisServerProcess start(boolean unixSocket) throws IOException, InterruptedException {
        Path exe = executable().orElseThrow(() -> new IOException("redis-server is not installed"));
        return startOnFreePort(port -> {
            Path dir = Files.createTempDirectory("rustsocket-redis");
            Path log = dir.resolve("redis.log");
            List<String> cmd = new ArrayList<>(List.of(
                    exe.toString(),
                    "--port", Integer.toString(port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--daemonize", "no",
                    "--dir", dir.toString()));
            if (unixSocket) {
                cmd.addAll(List.of("--unixsocket", dir.resolve(UNIX_SOCKET).toString(), "--unixsocketperm", "700"));
            }
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.directory(dir.toFile());
            pb.redirectErrorStream(true);
            pb.redirectOutput(log.toFile());
            return new RedisServerProcess(pb.start(), dir, log, port);
        });
    }

    @Override
    protected void awaitReady() throws IOException, InterruptedException {
        pollUntilReady(10_000, 20, "before answering on port " + port,
                "did not answer PING on 127.0.0.1:" + port, () -> answers(1000, s -> {
                    s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
                    String reply = readLine(s.getInputStream());
                    if (!reply.equals("+PONG")) {
                        throw new IOException("unexpected PING reply: " + reply);
                    }
                }));
    }
}
