package io.rustsocket;

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
final class PostgresServerProcess extends ServerProcess {
    private PostgresServerProcess(Process process, Path dir, Path log, int port) {
        super("postgres", process, dir, log, port, false);
    }

    /** The directory holding {@code initdb} and {@code postgres} of the newest installed version. */
    static Optional<Path> binDir() {
        Path root = Paths.get("/usr/lib/postgresql");
        if (!TestSupport.LINUX || !Files.isDirectory(root)) {
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
            String out = tail(dir.resolve("initdb.log"), 40);
            deleteTree(dir);
            throw new IOException("initdb failed:\n" + out);
        }
        try {
            return startOnFreePort(port -> launch(bin, data, log, port));
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            deleteTree(dir);
            throw e;
        }
    }

    /** Starts the server of the cluster in {@code data} on {@code port}, its Unix socket beside {@code data}. */
    private static PostgresServerProcess launch(Path bin, Path data, Path log, int port) throws IOException {
        Path dir = data.getParent();
        Process p = new ProcessBuilder(asServerUser(List.of(bin.resolve("postgres").toString(),
                "-D", data.toString(), "-p", Integer.toString(port), "-k", dir.toString(),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "logging_collector=off")))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        return new PostgresServerProcess(p, dir, log, port);
    }

    /** Ready once the log says so for this start (earlier failed attempts share the log). */
    @Override
    protected void awaitReady() throws IOException, InterruptedException {
        pollUntilReady(60_000, 50, "on port " + port, "did not become ready on 127.0.0.1:" + port, () -> {
            String text = Files.exists(log) ? Files.readString(log) : "";
            int here = text.lastIndexOf("port " + port);
            return here >= 0 && text.indexOf("database system is ready to accept connections", here) >= 0;
        });
    }

    /** A start that failed stops its server but keeps the cluster, which the next attempt starts again. */
    @Override
    protected void discard() {
        stopKeepingDirectory();
    }
}
