package io.rustsocket;

import io.rustsocket.RedisServerProcess.ServerProcesses;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away vsftpd on a free 127.0.0.1 port with its own config file, for tests. Anonymous
 * login (user "anonymous", no password) lands in {@link #root()}; {@link #uploadDir()} ("pub") is
 * writable by it. PASV answers with 127.0.0.1; PORT is allowed (vsftpd connects from an ephemeral
 * port, not 20). Run as root, vsftpd chroots into the root and drops to the "ftp" user; otherwise
 * it runs as the launching user without chroot. {@link #close()} stops it and every session
 * process it forked.
 */
final class FtpServerProcess implements AutoCloseable {
    private final Process process;
    private final Path dir;
    private final Path root;
    private final Path log;
    private final Path output;
    private final Path config;
    private final int port;
    private final Thread shutdownHook;

    private FtpServerProcess(Process process, Path dir, int port) {
        this.process = process;
        this.dir = dir;
        this.root = dir.resolve("root");
        this.log = dir.resolve("vsftpd.log");
        this.output = dir.resolve("vsftpd.out");
        this.config = dir.resolve("vsftpd.conf");
        this.port = port;
        this.shutdownHook = new Thread(() -> {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }, "vsftpd-reaper");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** The vsftpd executable: /usr/sbin/vsftpd, else the first one on PATH. */
    static Optional<Path> executable() {
        return ServerProcesses.find("vsftpd", "/usr/sbin/vsftpd");
    }

    static boolean runningAsRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** The config this class writes (also reported by the test on failure). */
    static String config(Path dir, int port) {
        StringBuilder c = new StringBuilder();
        c.append("listen=YES\n")
                .append("listen_ipv6=NO\n")
                .append("listen_address=127.0.0.1\n")
                .append("listen_port=").append(port).append('\n')
                .append("background=NO\n")
                .append("anonymous_enable=YES\n")
                .append("no_anon_password=YES\n")
                .append("local_enable=NO\n")
                .append("anon_root=").append(dir.resolve("root")).append('\n')
                .append("write_enable=YES\n")
                .append("anon_upload_enable=YES\n")
                .append("anon_mkdir_write_enable=YES\n")
                .append("anon_world_readable_only=NO\n")
                .append("anon_umask=022\n")
                .append("chown_uploads=NO\n")
                .append("secure_chroot_dir=").append(dir.resolve("empty")).append('\n')
                .append("seccomp_sandbox=NO\n")
                .append("pasv_enable=YES\n")
                .append("pasv_address=127.0.0.1\n")
                .append("port_enable=YES\n")
                .append("connect_from_port_20=NO\n")
                .append("dirmessage_enable=NO\n")
                .append("use_localtime=NO\n")
                .append("xferlog_enable=YES\n")
                .append("xferlog_std_format=NO\n")
                .append("log_ftp_protocol=YES\n")
                .append("vsftpd_log_file=").append(dir.resolve("vsftpd.log")).append('\n');
        if (!runningAsRoot()) {
            // no chroot or user switch possible: serve as ourselves
            c.append("run_as_launching_user=YES\n");
        }
        return c.toString();
    }

    /** Starts vsftpd and waits for its 220 greeting; retries on another port if the one picked got taken. */
    static FtpServerProcess start() throws IOException, InterruptedException {
        Path exe = executable().orElseThrow(() -> new IOException("vsftpd is not installed"));
        IOException last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            Path dir = Files.createTempDirectory("rustsocket-vsftpd");
            Path root = dir.resolve("root");
            Files.createDirectories(root.resolve("pub"));
            Files.createDirectories(dir.resolve("empty"));
            // the anonymous "ftp" user must traverse dir and root, and write only in pub
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(dir.resolve("empty"), PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(root.resolve("pub"), PosixFilePermissions.fromString("rwxrwxrwx"));
            int port = ServerProcesses.freeLoopbackPort();
            Path config = dir.resolve("vsftpd.conf");
            Files.writeString(config, config(dir, port), StandardCharsets.US_ASCII);
            // vsftpd only reads a config file owned by root or by the user running it (true here)
            Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
            ProcessBuilder pb = new ProcessBuilder(List.of(exe.toString(), config.toString()));
            pb.directory(dir.toFile());
            pb.redirectErrorStream(true);
            pb.redirectOutput(dir.resolve("vsftpd.out").toFile());
            Process p = pb.start();
            FtpServerProcess server = new FtpServerProcess(p, dir, port);
            try {
                server.awaitReady(10_000);
                return server;
            } catch (IOException e) {
                last = new IOException(e.getMessage() + "\n" + server.diagnostics(), e);
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

    /** Where anonymous logins land. */
    Path root() {
        return root;
    }

    /** root()/pub, writable by the anonymous user. */
    Path uploadDir() {
        return root.resolve("pub");
    }

    /** Config, output and protocol log tail, for failure messages. */
    String diagnostics() {
        return "vsftpd config " + config + ":\n" + ServerProcesses.tail(config, 100)
                + "\nvsftpd output:\n" + ServerProcesses.tail(output, 20)
                + "\nvsftpd log (tail):\n" + ServerProcesses.tail(log, 60);
    }

    private void awaitReady(long timeoutMillis) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        IOException last = null;
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("vsftpd exited with status " + process.exitValue()
                        + " before greeting on port " + port);
            }
            // plain JDK socket: the probe must not depend on the library under test
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(loopback, port), 500);
                s.setSoTimeout(2000);
                String greeting = ServerProcesses.readLine(s.getInputStream());
                if (greeting.startsWith("220")) {
                    s.getOutputStream().write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
                    ServerProcesses.readLine(s.getInputStream());
                    return;
                }
                last = new IOException("unexpected greeting: " + greeting);
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(20);
        }
        throw new IOException("vsftpd did not greet on 127.0.0.1:" + port + " within " + timeoutMillis + " ms", last);
    }

    /** Stops vsftpd and its session processes (SIGTERM, SIGKILL after 5 s), waits, deletes its directory. */
    @Override
    public void close() {
        ServerProcesses.stopAndCleanUp(process, shutdownHook, dir);
    }
}
