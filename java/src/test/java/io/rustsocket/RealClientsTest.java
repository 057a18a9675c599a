package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.SocketFactory;
import org.apache.commons.net.ProtocolCommandEvent;
import org.apache.commons.net.ProtocolCommandListener;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPFile;
import org.apache.commons.net.ftp.FTPReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.JedisSocketFactory;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisConnectionException;

/**
 * Unmodified, popular clients over our factories, against real servers that each test starts on
 * 127.0.0.1 and stops again: Jedis 5.2.0 against redis-server, and Apache Commons Net's FTPClient
 * against vsftpd in passive mode (client connects data sockets from {@link RustSocketFactory}) and
 * in active mode (client listens on a {@link RustServerSocket} from {@link RustServerSocketFactory}
 * and vsftpd connects to it).
 *
 * <p>Jedis 5.2.0 takes no {@code javax.net.SocketFactory}; its hook is {@link JedisSocketFactory},
 * which {@code new Jedis(JedisSocketFactory, JedisClientConfig)} and the pools accept. {@link
 * RustJedisSocketFactory} implements it on top of {@link RustSocketFactory} with the same socket
 * set-up as Jedis's own {@code DefaultJedisSocketFactory}.
 */
@Timeout(value = 45, unit = TimeUnit.SECONDS)
class RealClientsTest {
    private static final int KIB = 1024;
    private static final int MIB = 1024 * KIB;

    private static final int KEYS = 10_000;
    private static final int MAX_VALUE = 64 * KIB;
    /** Lengths the first keys get, around Jedis's 8 KiB stream buffers and at the limit. */
    private static final int[] EDGE_LENGTHS = {0, 1, 2, 8191, 8192, 8193, 16384, 65535, MAX_VALUE};
    private static final int PIPELINE = 10_000;
    private static final int PIPELINE_MAX_VALUE = 4 * KIB;
    private static final int POOL_THREADS = 8;
    private static final int POOL_OPS = 500;
    private static final int BLOCKING_TIMEOUT_MS = 300;

    private static final Map<String, String> REPORT = new ConcurrentSkipListMap<>();

    @AfterAll
    static void writeReport() throws IOException {
        if (REPORT.isEmpty()) {
            return;
        }
        StringBuilder line = new StringBuilder("RealClientsTest:");
        REPORT.forEach((k, v) -> line.append(' ').append(k).append('[').append(v).append(']'));
        TestSupport.appendToReport("real-clients.txt", line.toString());
    }

    // ------------------------------------------------------------------------------------ Redis

    private static void assumeRedis() {
        Assumptions.assumeTrue(RedisServerProcess.executable().isPresent(),
                "redis-server is not installed (not at /usr/bin/redis-server nor on PATH); CI installs it");
    }

    private static DefaultJedisClientConfig.Builder jedisConfig() {
        return DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(5_000)
                .socketTimeoutMillis(15_000);
    }

    /**
     * Jedis's socket hook over {@link RustSocketFactory}; set-up copied from Jedis 5.2.0's
     * DefaultJedisSocketFactory (reuse address, keep-alive, no delay, linger 0, connect with
     * the connection timeout, then the socket timeout). Remembers every socket it made.
     */
    static final class RustJedisSocketFactory implements JedisSocketFactory {
        private final SocketFactory factory;
        private final HostAndPort address;
        private final JedisClientConfig config;
        final List<Socket> sockets = new CopyOnWriteArrayList<>();

        RustJedisSocketFactory(int port, JedisClientConfig config) {
            this(new RustSocketFactory(), port, config);
        }

        /** Over another factory (a {@link RustUnixSocketFactory} ignores the address it connects to). */
        RustJedisSocketFactory(SocketFactory factory, int port, JedisClientConfig config) {
            this.factory = factory;
            this.address = new HostAndPort("127.0.0.1", port);
            this.config = config;
        }

        @Override
        public Socket createSocket() {
            Socket socket = null;
            try {
                socket = factory.createSocket();
                sockets.add(socket);
                socket.setReuseAddress(true);
                socket.setKeepAlive(true);
                socket.setTcpNoDelay(true);
                socket.setSoLinger(true, 0);
                socket.connect(new InetSocketAddress(address.getHost(), address.getPort()),
                        config.getConnectionTimeoutMillis());
                socket.setSoTimeout(config.getSocketTimeoutMillis());
                return socket;
            } catch (IOException e) {
                if (socket != null) {
                    try {
                        socket.close();
                    } catch (IOException suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
                throw new JedisConnectionException("Failed to connect to " + address + " with " + factory, e);
            }
        }
    }

    private static byte[] key(String prefix, int i) {
        return (prefix + ":" + i).getBytes(StandardCharsets.US_ASCII);
    }

    /** The value for key i, regenerated from the seed instead of kept (10,000 x 32 KiB on average). */
    private static byte[] value(long seed, int i, int maxLength, int[] edges) {
        SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (i + 1)));
        int length = i < edges.length ? edges[i] : r.nextInt(maxLength + 1);
        byte[] v = new byte[length];
        r.nextBytes(v);
        return v;
    }

    private static void assertRustSockets(List<Socket> sockets) {
        assertFalse(sockets.isEmpty(), "the JedisSocketFactory was never asked for a socket");
        for (Socket s : sockets) {
            assertInstanceOf(RustSocket.class, s, "Jedis got a socket that is not a RustSocket");
        }
    }

    /** Runs body; on failure attaches the server's log to the exception. */
    private static void withDiagnostics(Supplier<String> diagnostics, Executable body) throws Throwable {
        try {
            body.execute();
        } catch (Throwable t) {
            t.addSuppressed(new Exception("server diagnostics:\n" + diagnostics.get()));
            throw t;
        }
    }

    @Test
    void jedisSetAndGetTenThousandRandomBinaryValues() throws Throwable {
        assumeRedis();
        try (RedisServerProcess redis = RedisServerProcess.start()) {
            withDiagnostics(redis::logTail, () -> {
                JedisClientConfig config = jedisConfig().build();
                RustJedisSocketFactory sockets = new RustJedisSocketFactory(redis.port(), config);
                long seed = ThreadLocalRandom.current().nextLong();
                long bytes = 0;
                Socket socket;
                try (Jedis jedis = new Jedis(sockets, config)) {
                    assertEquals("PONG", jedis.ping());
                    assertRustSockets(sockets.sockets);
                    assertEquals(1, sockets.sockets.size());
                    socket = sockets.sockets.get(0);
                    // the server sees the endpoints our socket reports
                    String info = jedis.clientInfo();
                    assertTrue(info.contains("addr=127.0.0.1:" + socket.getLocalPort() + " "),
                            "CLIENT INFO " + info + " vs local port " + socket.getLocalPort());
                    assertTrue(info.contains("laddr=127.0.0.1:" + redis.port() + " "), info);
                    assertEquals(redis.port(), socket.getPort());

                    for (int i = 0; i < KEYS; i++) {
                        byte[] v = value(seed, i, MAX_VALUE, EDGE_LENGTHS);
                        assertEquals("OK", jedis.set(key("k", i), v), "SET k:" + i);
                        bytes += v.length;
                    }
                    assertEquals(KEYS, jedis.dbSize());
                    for (int i = 0; i < KEYS; i++) {
                        byte[] expected = value(seed, i, MAX_VALUE, EDGE_LENGTHS);
                        byte[] got = jedis.get(key("k", i));
                        if (!Arrays.equals(expected, got)) {
                            final int k = i;
                            assertArrayEquals(expected, got, () -> "GET k:" + k + " (" + expected.length
                                    + " bytes, seed " + seed + ")");
                        }
                    }
                    assertNull(jedis.get(key("k", KEYS)));
                    assertEquals(1, sockets.sockets.size(), "Jedis reconnected: " + sockets.sockets);
                }
                assertTrue(socket.isClosed(), "Jedis.close() did not close the RustSocket");
                REPORT.put("jedis-set-get", "keys=" + KEYS + " values=" + bytes + "B each way, max "
                        + MAX_VALUE + "B, all compared");
            });
        }
    }

    @Test
    void jedisPipelinesTenThousandCommands() throws Throwable {
        assumeRedis();
        try (RedisServerProcess redis = RedisServerProcess.start()) {
            withDiagnostics(redis::logTail, () -> {
                JedisClientConfig config = jedisConfig().build();
                RustJedisSocketFactory sockets = new RustJedisSocketFactory(redis.port(), config);
                long seed = ThreadLocalRandom.current().nextLong();
                int[] edges = {0, 1, 8192, PIPELINE_MAX_VALUE};
                long bytes = 0;
                try (Jedis jedis = new Jedis(sockets, config)) {
                    List<Response<String>> sets = new ArrayList<>(PIPELINE);
                    try (Pipeline p = jedis.pipelined()) {
                        for (int i = 0; i < PIPELINE; i++) {
                            byte[] v = value(seed, i, PIPELINE_MAX_VALUE, edges);
                            bytes += v.length;
                            sets.add(p.set(key("p", i), v));
                        }
                        p.sync();
                    }
                    for (int i = 0; i < PIPELINE; i++) {
                        assertEquals("OK", sets.get(i).get(), "pipelined SET p:" + i);
                    }

                    List<Response<byte[]>> gets = new ArrayList<>(PIPELINE);
                    try (Pipeline p = jedis.pipelined()) {
                        for (int i = 0; i < PIPELINE; i++) {
                            gets.add(p.get(key("p", i)));
                        }
                        p.sync();
                    }
                    for (int i = 0; i < PIPELINE; i++) {
                        byte[] expected = value(seed, i, PIPELINE_MAX_VALUE, edges);
                        byte[] got = gets.get(i).get();
                        if (!Arrays.equals(expected, got)) {
                            final int k = i;
                            assertArrayEquals(expected, got, () -> "pipelined GET p:" + k + " (seed " + seed + ")");
                        }
                    }
                    assertEquals(PIPELINE, jedis.dbSize());
                    assertRustSockets(sockets.sockets);
                    assertEquals(1, sockets.sockets.size(), "Jedis reconnected: " + sockets.sockets);
                }
                assertTrue(sockets.sockets.get(0).isClosed());
                REPORT.put("jedis-pipeline", PIPELINE + " SET + " + PIPELINE + " GET in two pipelines, "
                        + bytes + "B each way");
            });
        }
    }

    @Test
    void jedisBlockingCommandTimesOutWithOurSocketTimeoutException() throws Throwable {
        assumeRedis();
        try (RedisServerProcess redis = RedisServerProcess.start()) {
            withDiagnostics(redis::logTail, () -> {
                JedisClientConfig config = jedisConfig().blockingSocketTimeoutMillis(BLOCKING_TIMEOUT_MS).build();
                RustJedisSocketFactory sockets = new RustJedisSocketFactory(redis.port(), config);
                long elapsedMs;
                Socket socket;
                try (Jedis jedis = new Jedis(sockets, config)) {
                    assertEquals("PONG", jedis.ping());
                    assertRustSockets(sockets.sockets);
                    socket = sockets.sockets.get(0);
                    long t0 = System.nanoTime();
                    // the server would block 10 s; Jedis sets SO_TIMEOUT to the blocking timeout for BLPOP
                    JedisConnectionException e = assertThrows(JedisConnectionException.class,
                            () -> jedis.blpop(10, "empty-list"));
                    elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                    SocketTimeoutException cause = assertInstanceOf(SocketTimeoutException.class, e.getCause(),
                            "cause of " + e);
                    assertTrue(Arrays.stream(cause.getStackTrace())
                                    .anyMatch(f -> f.getClassName().startsWith("io.rustsocket.")),
                            "the SocketTimeoutException did not come from io.rustsocket: "
                                    + Arrays.toString(cause.getStackTrace()));
                    assertTrue(elapsedMs >= BLOCKING_TIMEOUT_MS - 50 && elapsedMs < 5_000,
                            "BLPOP timed out after " + elapsedMs + " ms, SO_TIMEOUT " + BLOCKING_TIMEOUT_MS);
                    // Jedis put its normal timeout back on the same socket after the blocking call
                    assertEquals(config.getSocketTimeoutMillis(), socket.getSoTimeout(),
                            "SO_TIMEOUT after Jedis's rollbackTimeout()");
                    assertTrue(jedis.isBroken());
                    // like java.net.Socket, a read timeout leaves the socket open
                    assertFalse(socket.isClosed(), "SocketTimeoutException closed the socket");
                }
                assertTrue(socket.isClosed());

                // the close reached the server (its blocked BLPOP is gone), and a new connection works
                try (Jedis jedis = new Jedis(sockets, jedisConfig().build())) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    while (!jedis.info("clients").contains("blocked_clients:0")) {
                        if (System.nanoTime() > deadline) {
                            fail("the timed-out connection's BLPOP is still blocked in the server: "
                                    + jedis.info("clients"));
                        }
                        Thread.sleep(10);
                    }
                    assertEquals(1, jedis.rpush("empty-list", "x"));
                    assertEquals("x", jedis.lpop("empty-list"));
                }
                assertEquals(2, sockets.sockets.size());
                assertRustSockets(sockets.sockets);
                REPORT.put("jedis-blpop-timeout", "SO_TIMEOUT " + BLOCKING_TIMEOUT_MS + "ms -> "
                        + "JedisConnectionException(SocketTimeoutException) after " + elapsedMs + "ms");
            });
        }
    }

    @Test
    void jedisPoolFromManyThreads() throws Throwable {
        assumeRedis();
        try (RedisServerProcess redis = RedisServerProcess.start()) {
            withDiagnostics(redis::logTail, () -> {
                JedisClientConfig config = jedisConfig().build();
                RustJedisSocketFactory sockets = new RustJedisSocketFactory(redis.port(), config);
                ConnectionPoolConfig poolConfig = new ConnectionPoolConfig();
                poolConfig.setMaxTotal(POOL_THREADS);
                ExecutorService threads = Executors.newFixedThreadPool(POOL_THREADS);
                try (JedisPooled pool = new JedisPooled(poolConfig, sockets, config)) {
                    List<Future<?>> done = new ArrayList<>();
                    for (int t = 0; t < POOL_THREADS; t++) {
                        final int thread = t;
                        done.add(threads.submit(() -> {
                            SplittableRandom r = new SplittableRandom(thread);
                            for (int i = 0; i < POOL_OPS; i++) {
                                byte[] k = key("t" + thread, i);
                                byte[] v = new byte[r.nextInt(8 * KIB + 1)];
                                r.nextBytes(v);
                                assertEquals("OK", pool.set(k, v));
                                pool.incr("counter");
                                assertArrayEquals(v, pool.get(k), "thread " + thread + " key " + i);
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : done) {
                        f.get(30, TimeUnit.SECONDS);
                    }
                    assertEquals(Integer.toString(POOL_THREADS * POOL_OPS), pool.get("counter"));
                } finally {
                    threads.shutdownNow();
                    assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS));
                }
                assertRustSockets(sockets.sockets);
                assertTrue(sockets.sockets.size() <= POOL_THREADS, "pool made " + sockets.sockets.size() + " sockets");
                for (Socket s : sockets.sockets) {
                    assertTrue(s.isClosed(), "closing the pool left " + s + " open");
                }
                REPORT.put("jedis-pool", POOL_THREADS + " threads x " + POOL_OPS + " SET/INCR/GET over "
                        + sockets.sockets.size() + " pooled RustSockets");
            });
        }
    }

    // -------------------------------------------------------------------------------------- FTP

    enum Mode {
        PASSIVE,
        ACTIVE
    }

    /** RustSocketFactory that remembers every socket it made. */
    static final class CountingSocketFactory extends RustSocketFactory {
        final List<Socket> sockets = new CopyOnWriteArrayList<>();

        private Socket track(Socket s) {
            sockets.add(s);
            return s;
        }

        @Override
        public Socket createSocket() throws IOException {
            return track(super.createSocket());
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return track(super.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return track(super.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return track(super.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                throws IOException {
            return track(super.createSocket(address, port, localAddress, localPort));
        }
    }

    /** RustServerSocketFactory that remembers every server socket it made. */
    static final class CountingServerSocketFactory extends RustServerSocketFactory {
        final List<ServerSocket> servers = new CopyOnWriteArrayList<>();

        private ServerSocket track(ServerSocket s) {
            servers.add(s);
            return s;
        }

        @Override
        public ServerSocket createServerSocket() throws IOException {
            return track(super.createServerSocket());
        }

        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return track(super.createServerSocket(port));
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog) throws IOException {
            return track(super.createServerSocket(port, backlog));
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog, InetAddress ifAddress) throws IOException {
            return track(super.createServerSocket(port, backlog, ifAddress));
        }
    }

    private static void assumeVsftpd() {
        Assumptions.assumeTrue(FtpServerProcess.executable().isPresent(),
                "vsftpd is not installed (not at /usr/sbin/vsftpd nor on PATH); CI installs it");
    }

    private static String reply(FTPClient ftp) {
        return ftp.getReplyString() == null ? "(no reply)" : ftp.getReplyString().trim();
    }

    /** Commands the client sent, in order (PASS masked by Commons Net). */
    private static final class CommandLog implements ProtocolCommandListener {
        final List<String> commands = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void protocolCommandSent(ProtocolCommandEvent event) {
            commands.add(event.getMessage().trim());
        }

        @Override
        public void protocolReplyReceived(ProtocolCommandEvent event) {}

        long count(String verb) {
            synchronized (commands) {
                return commands.stream().filter(c -> c.startsWith(verb + " ") || c.equals(verb)).count();
            }
        }

        List<String> all(String verb) {
            synchronized (commands) {
                return commands.stream().filter(c -> c.startsWith(verb + " ")).toList();
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Mode.class)
    void ftpUploadDownloadAndList(Mode mode) throws Throwable {
        assumeVsftpd();
        try (FtpServerProcess server = FtpServerProcess.start()) {
            withDiagnostics(server::diagnostics, () -> ftpRoundTrips(server, mode));
        }
    }

    private static void ftpRoundTrips(FtpServerProcess server, Mode mode) throws IOException {
        CountingSocketFactory sockets = new CountingSocketFactory();
        CountingServerSocketFactory servers = new CountingServerSocketFactory();
        CommandLog log = new CommandLog();
        FTPClient ftp = new FTPClient();
        ftp.setSocketFactory(sockets);
        ftp.setServerSocketFactory(servers);
        ftp.setConnectTimeout(5_000);
        ftp.setDefaultTimeout(15_000);
        ftp.setDataTimeout(Duration.ofSeconds(15));
        ftp.addProtocolCommandListener(log);

        String dir = mode.name().toLowerCase(java.util.Locale.ROOT);
        Path onDisk = server.uploadDir().resolve(dir);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("empty.bin", new byte[0]);
        files.put("one.bin", TestSupport.randomBytes(1));
        files.put("mib.bin", TestSupport.randomBytes(MIB));
        files.put("big.bin", TestSupport.randomBytes(20 * MIB));
        long up = 0;
        long down = 0;
        int uploads = 0;
        int downloads = 0;
        try {
            ftp.connect("127.0.0.1", server.port());
            assertTrue(FTPReply.isPositiveCompletion(ftp.getReplyCode()), reply(ftp));
            assertTrue(ftp.login("anonymous", "rustsocket@example.com"), reply(ftp));
            assertTrue(ftp.setFileType(FTP.BINARY_FILE_TYPE), reply(ftp));
            if (mode == Mode.PASSIVE) {
                ftp.enterLocalPassiveMode();
            } else {
                ftp.enterLocalActiveMode();
            }
            assertTrue(ftp.changeWorkingDirectory("pub"), reply(ftp));
            assertTrue(ftp.makeDirectory(dir), reply(ftp));
            assertTrue(ftp.changeWorkingDirectory(dir), reply(ftp));

            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                String name = f.getKey();
                byte[] data = f.getValue();
                assertTrue(ftp.storeFile(name, new ByteArrayInputStream(data)), "STOR " + name + ": " + reply(ftp));
                uploads++;
                up += data.length;
                assertArrayEquals(data, Files.readAllBytes(onDisk.resolve(name)), "server's copy of " + name);

                ByteArrayOutputStream out = new ByteArrayOutputStream(data.length);
                assertTrue(ftp.retrieveFile(name, out), "RETR " + name + ": " + reply(ftp));
                downloads++;
                down += out.size();
                assertArrayEquals(data, out.toByteArray(), "downloaded " + name);
            }

            // the streaming API: the test writes and reads the data socket's streams itself, in odd chunks
            byte[] streamed = TestSupport.randomBytes(MIB + 4099);
            try (OutputStream os = ftp.storeFileStream("stream.bin")) {
                assertNotNull(os, "STOR stream.bin: " + reply(ftp));
                for (int off = 0; off < streamed.length; off += 7777) {
                    os.write(streamed, off, Math.min(7777, streamed.length - off));
                }
            }
            assertTrue(ftp.completePendingCommand(), "STOR stream.bin: " + reply(ftp));
            uploads++;
            up += streamed.length;
            files.put("stream.bin", streamed);
            assertArrayEquals(streamed, Files.readAllBytes(onDisk.resolve("stream.bin")), "server's copy of stream.bin");

            ByteArrayOutputStream got = new ByteArrayOutputStream();
            try (InputStream is = ftp.retrieveFileStream("stream.bin")) {
                assertNotNull(is, "RETR stream.bin: " + reply(ftp));
                byte[] buf = new byte[5003];
                int n;
                while ((n = is.read(buf)) != -1) {
                    got.write(buf, 0, n);
                }
            }
            assertTrue(ftp.completePendingCommand(), "RETR stream.bin: " + reply(ftp));
            downloads++;
            down += got.size();
            assertArrayEquals(streamed, got.toByteArray(), "downloaded stream.bin");

            // listings: LIST (parsed) and NLST
            Map<String, Long> expectedSizes = new TreeMap<>();
            files.forEach((name, data) -> expectedSizes.put(name, (long) data.length));
            Map<String, Long> listed = new TreeMap<>();
            for (FTPFile f : ftp.listFiles()) {
                assertNotNull(f, "unparsable LIST line");
                listed.put(f.getName(), f.getSize());
            }
            assertEquals(expectedSizes, listed, "LIST");
            String[] names = ftp.listNames();
            assertNotNull(names, "NLST: " + reply(ftp));
            assertEquals(expectedSizes.keySet(), new TreeSet<>(Arrays.asList(names)), "NLST");

            assertTrue(ftp.logout(), reply(ftp));
        } finally {
            if (ftp.isConnected()) {
                ftp.disconnect();
            }
        }

        // every connection went through our factories
        long dataCommands = log.count("STOR") + log.count("RETR") + log.count("LIST") + log.count("NLST");
        assertEquals(uploads + downloads + 2, dataCommands, log.commands.toString());
        for (Socket s : sockets.sockets) {
            assertInstanceOf(RustSocket.class, s);
            assertTrue(s.isClosed(), s + " left open");
        }
        for (ServerSocket s : servers.servers) {
            assertInstanceOf(RustServerSocket.class, s);
            assertTrue(s.isClosed(), s + " left open");
        }
        if (mode == Mode.PASSIVE) {
            assertEquals(dataCommands, log.count("PASV"), log.commands.toString());
            assertEquals(0, log.count("PORT"), log.commands.toString());
            assertEquals(1 + dataCommands, sockets.sockets.size(), "control + one data socket per transfer");
            assertTrue(servers.servers.isEmpty(), "passive mode opened server sockets");
        } else {
            List<String> ports = log.all("PORT");
            assertEquals(dataCommands, ports.size(), log.commands.toString());
            assertEquals(0, log.count("PASV"), log.commands.toString());
            assertEquals(1, sockets.sockets.size(), "active mode: only the control socket is client-made");
            assertEquals(dataCommands, servers.servers.size(), "one RustServerSocket per transfer");
            // each PORT announced the RustServerSocket made for it, on 127.0.0.1
            for (int i = 0; i < ports.size(); i++) {
                String[] h = ports.get(i).substring("PORT ".length()).split(",");
                assertEquals("127.0.0.1", h[0] + "." + h[1] + "." + h[2] + "." + h[3], ports.get(i));
                int port = Integer.parseInt(h[4]) * 256 + Integer.parseInt(h[5]);
                ServerSocket s = servers.servers.get(i);
                assertEquals(port, s.getLocalPort(), ports.get(i) + " vs " + s);
                assertEquals("127.0.0.1", s.getInetAddress().getHostAddress(), s.toString());
            }
        }
        REPORT.put("ftp-" + dir, uploads + " files up " + up + "B, " + downloads + " down " + down
                + "B (0B,1B,1MiB,20MiB,1MiB+4099B streamed), 2 listings, "
                + sockets.sockets.size() + " RustSockets, " + servers.servers.size() + " RustServerSockets");
    }
}
