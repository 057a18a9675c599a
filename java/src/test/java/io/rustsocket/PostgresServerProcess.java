package io.rustsocket;

import io.rustsocket.RedisServerProcess.ServerProcesses;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throw-away PostgreSQL server for tests: a cluster made by {@code initdb} in a temporary
 * directory (trust authentication, no fsync), listening on a free 127.0.0.1 port with its Unix
 * socket in that directory, stopped and deleted by {@link #close()}. PostgreSQL refuses to run
 * as root, so when the tests run as root the cluster belongs to, and runs as, the
 * {@code postgres} user (through {@code runuser}).
 */
final class PostgresServerProcess implements AutoCloseable {
    private final Process process;
    private final Path dir;
    private final Path log;
    private final int port;
    private final Thread shutdownHook;

    private PostgresServerProcess(Process process, Path dir, Path log, int port) {
        this.process = process;
        this.dir = dir;
        this.log = log;
        this.port = port;
        this.shutdownHook = new Thread(process::destroyForcibly, "postgres-reaper");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** The directory holding {@code initdb} and {@code postgres} of the newest installed version. */
    static Optional<Path> binDir() {
        Path root = Paths.get("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("postgres")))
                    .max(Comparator.comparing(b -> versionOf(b.getParent())));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static int versionOf(Path dir) {
        try {
            return Integer.parseInt(dir.getFileName().toString());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static boolean runningAsRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** {@code cmd}, as the postgres user when we are root. */
    private static List<String> asServerUser(List<String> cmd) {
        if (!runningAsRoot()) {
            return cmd;
        }
        List<String> wrapped = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
        wrapped.addAll(cmd);
        return wrapped;
    }

    /** Makes a cluster and starts the server; waits until it accepts connections. */
    static PostgresServerProcess start() throws IOException, InterruptedException {
        Path bin = binDir().orElseThrow(() -> new IOException("PostgreSQL is not installed"));
        Path dir = Files.createTempDirectory("rustsocket-pg");
        Path data = dir.resolve("data");
        Path log = dir.resolve("postgres.log");
        if (runningAsRoot()) {
            UserPrincipal pg = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
            Files.setOwner(dir, pg);
        }
        Process init = new ProcessBuilder(asServerUser(List.of(bin.resolve("initdb").toString(),
                "-D", data.toString(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")))
                .redirectErrorStream(true).redirectOutput(dir.resolve("initdb.log").toFile()).start();
        if (!init.waitFor(120, TimeUnit.SECONDS) || init.exitValue() != 0) {
            init.destroyForcibly();
            String out = ServerProcesses.tail(dir.resolve("initdb.log"), 40);
            ServerProcesses.deleteTree(dir);
            throw new IOException("initdb failed:\n" + out);
        }
        IOException last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            int port = ServerProcesses.freeLoopbackPort();
            Process p = new ProcessBuilder(asServerUser(List.of(bin.resolve("postgres").toString(),
                    "-D", data.toString(), "-p", Integer.toString(port), "-k", dir.toString(),
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "logging_collector=off")))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            PostgresServerProcess server = new PostgresServerProcess(p, dir, log, port);
            try {
                server.awaitReady(60_000);
                return server;
            } catch (IOException e) {
                last = new IOException(e.getMessage() + "\npostgres log:\n" + server.logTail(), e);
                ServerProcesses.stop(p);
                Runtime.getRuntime().removeShutdownHook(server.shutdownHook);
            }
        }
        ServerProcesses.deleteTree(dir);
        throw last;
    }

    int port() {
        return port;
    }

    String logTail() {
        return ServerProcesses.tail(log, 40);
    }

    /** Ready once the log says so for this start (earlier failed attempts share the log). */
    private void awaitReady(long millis) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("postgres exited with status " + process.exitValue() + " on port " + port);
            }
            String text = Files.exists(log) ? Files.readString(log) : "";
            int here = text.lastIndexOf("port " + port);
            if (here >= 0 && text.indexOf("database system is ready to accept connections", here) >= 0) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IOException("postgres did not become ready on 127.0.0.1:" + port + " within " + millis + " ms");
    }

    /** Stops the server (SIGTERM, then SIGKILL after 5 s) and deletes the cluster. */
    @Override
    public void close() {
        ServerProcesses.stopAndCleanUp(process, shutdownHook, dir);
    }
}
