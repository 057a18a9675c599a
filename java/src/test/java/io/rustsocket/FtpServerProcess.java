package io.rustsocket;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;

/**
 * A throw-away vsftpd on a free 127.0.0.1 port with its own config file, for tests. Anonymous
 * login (user "anonymous", no password) lands in {@link #root()}; {@link #uploadDir()} ("pub") is
 * writable by it. PASV answers with 127.0.0.1; PORT is allowed (vsftpd connects from an ephemeral
 * port, not 20). Run as root, vsftpd chroots into the root and drops to the "ftp" user; otherwise
 * it runs as the launching user without chroot. {@link #close()} stops it and every session
 * process it forked.
 */
final class FtpServerProcess extends ServerProcess {
    private final Path root;
    private final Path output;
    private final Path config;

    private FtpServerProcess(Process process, Path dir, int port) {
        super("vsftpd", process, dir, dir.resolve("vsftpd.log"), port, true);
        this.root = dir.resolve("root");
        this.output = dir.resolve("vsftpd.out");
        this.config = dir.resolve("vsftpd.conf");
    }

    /** The vsftpd executable: /usr/sbin/vsftpd, else the first one on PATH. */
    static Optional<Path> executable() {
        return find("vsftpd", "/usr/sbin/vsftpd");
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
        return startOnFreePort(port -> {
            Path dir = Files.createTempDirectory("rustsocket-vsftpd");
            Path root = dir.resolve("root");
            Files.createDirectories(root.resolve("pub"));
            Files.createDirectories(dir.resolve("empty"));
            // the anonymous "ftp" user must traverse dir and root, and write only in pub
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(dir.resolve("empty"), PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(root.resolve("pub"), PosixFilePermissions.fromString("rwxrwxrwx"));
            Path config = dir.resolve("vsftpd.conf");
            Files.writeString(config, config(dir, port), StandardCharsets.US_ASCII);
            // vsftpd only reads a config file owned by root or by the user running it (true here)
            Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
            ProcessBuilder pb = new ProcessBuilder(List.of(exe.toString(), config.toString()));
            pb.directory(dir.toFile());
            pb.redirectErrorStream(true);
            pb.redirectOutput(dir.resolve("vsftpd.out").toFile());
            return new FtpServerProcess(pb.start(), dir, port);
        });
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
    @Override
    String diagnostics() {
        return "vsftpd config " + config + ":\n" + tail(config, 100)
                + "\nvsftpd output:\n" + tail(output, 20)
                + "\nvsftpd log (tail):\n" + tail(log, 60);
    }

    @Override
    protected void awaitReady() throws IOException, InterruptedException {
        pollUntilReady(10_000, 20, "before greeting on port " + port,
                "did not greet on 127.0.0.1:" + port, () -> answers(2000, s -> {
                    String greeting = readLine(s.getInputStream());
                    if (!greeting.startsWith("220")) {
                        throw new IOException("unexpected greeting: " + greeting);
                    }
                    s.getOutputStream().write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
                    readLine(s.getInputStream());
                }));
    }
}
