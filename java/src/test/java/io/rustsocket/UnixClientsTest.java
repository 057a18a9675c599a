package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.rmi.Remote;
import java.rmi.RemoteException;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.UnicastRemoteObject;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSink;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.Pipeline;

/**
 * Unmodified clients over a Unix domain socket through {@link RustUnixSocketFactory} and
 * {@link RustUnixRMISocketFactory}, against real servers listening on socket files: PostgreSQL's
 * JDBC driver (the factory named in the URL), OkHttp against a Python HTTP server that listens
 * on a socket file only, Java RMI (registry and object), and Jedis against redis-server's
 * {@code unixsocket}. Each test shows that the session came over the file, not TCP, the way the
 * server can tell.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UnixClientsTest {

    /** Skips where the system makes no AF_UNIX sockets (Wine). */
    @BeforeAll
    static void unixSocketsHere() {
        TestSupport.assumeUnixSockets();
    }
    @TempDir
    Path dir;

    // ---------------------------------------------------------------- PostgreSQL JDBC

    @Test
    void postgresJdbcOverTheServersSocketFile() throws Exception {
        assumeTrue(PostgresServerProcess.binDir().isPresent(), "PostgreSQL is not installed; CI installs it");
        try (PostgresServerProcess pg = PostgresServerProcess.start()) {
            Path socket = pg.dir.resolve(".s.PGSQL." + pg.port());
            assertTrue(Files.exists(socket), "no socket file at " + socket);
            // the URL a user writes: the host and (default) port go unused
            String url = "jdbc:postgresql://localhost/postgres?user=postgres"
                    + "&socketFactory=io.rustsocket.RustUnixSocketFactory"
                    + "&socketFactoryArg=" + URLEncoder.encode(socket.toString(), StandardCharsets.UTF_8);
            long opened = RustSockets.statistics().getConnectionsOpened();
            try (Connection c = DriverManager.getConnection(url)) {
                try (Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT inet_client_addr() IS NULL, inet_server_addr() IS NULL")) {
                    assertTrue(rs.next());
                    // NULL for a session that came over the Unix socket, an address over TCP
                    assertTrue(rs.getBoolean(1), "inet_client_addr() is not NULL: the session came over TCP");
                    assertTrue(rs.getBoolean(2), "inet_server_addr() is not NULL: the session came over TCP");
                }
                assertTrue(RustSockets.statistics().getConnectionsOpened() > opened, "no RustSocket was connected");
                byte[][] rows = new byte[200][];
                try (Statement st = c.createStatement()) {
                    st.execute("CREATE TEMP TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL)");
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO blobs VALUES (?, ?)")) {
                    for (int i = 0; i < rows.length; i++) {
                        // up to 1 MiB a row, so rows cross many socket buffers each way
                        rows[i] = TestSupport.randomBytes(i == 0 ? 0 : i < 190 ? 4096 + i : 1 << 20);
                        ps.setInt(1, i);
                        ps.setBytes(2, rows[i]);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
                int n = 0;
                try (Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT id, data FROM blobs ORDER BY id")) {
                    while (rs.next()) {
                        int id = rs.getInt(1);
                        assertArrayEquals(rows[id], rs.getBytes(2), "row " + id);
                        n++;
                    }
                }
                assertEquals(rows.length, n);
            }
        }
    }

    // ---------------------------------------------------------------- OkHttp

    /** A factory that keeps every socket it made, to see which sockets OkHttp used. */
    static final class KeepingUnixSocketFactory extends RustUnixSocketFactory {
        final List<Socket> made = new CopyOnWriteArrayList<>();

        KeepingUnixSocketFactory(Path path) {
            super(path);
        }

        @Override
        public RustSocket createSocket() throws IOException {
            RustSocket s = super.createSocket();
            made.add(s);
            return s;
        }
    }

    /** The Python HTTP server of unix_http_server.py on {@code socket}, serving files from {@code data}. */
    private static Process startHttpServer(Path script, Path socket, Path data) throws Exception {
        Process p = new ProcessBuilder("python3", script.toString(), socket.toString(), data.toString())
                .redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        if (!"ready".equals(line)) {
            StringBuilder all = new StringBuilder(String.valueOf(line));
            for (String l; (l = out.readLine()) != null; ) {
                all.append('\n').append(l);
            }
            p.destroyForcibly();
            fail("the HTTP server did not start:\n" + all);
        }
        return p;
    }

    private static String sha256(byte[] data) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    @Test
    void okHttpGetsAndPostsOverASocketFile() throws Exception {
        assumeTrue(ServerProcess.find("python3", "/usr/bin/python3").isPresent(), "python3 is not installed");
        Path script = dir.resolve("unix_http_server.py");
        try (InputStream in = UnixClientsTest.class.getResourceAsStream("unix_http_server.py")) {
            assertNotNull(in, "unix_http_server.py is not on the test class path");
            Files.copy(in, script);
        }
        Path data = Files.createDirectory(dir.resolve("data"));
        byte[] big = TestSupport.randomBytes(3 << 20);
        Files.write(data.resolve("big.bin"), big);
        Files.write(data.resolve("empty.bin"), new byte[0]);
        Path socket = dir.resolve("http.sock");
        Process server = startHttpServer(script, socket, data);
        KeepingUnixSocketFactory sockets = new KeepingUnixSocketFactory(socket);
        OkHttpClient client = new OkHttpClient.Builder()
                .socketFactory(sockets)
                .connectTimeout(5, TimeUnit.SECONDS)
                .readTimeout(20, TimeUnit.SECONDS)
                .build();
        // nothing listens on port 1: only the factory can make these requests arrive
        String base = "http://localhost:1";
        MediaType octets = MediaType.get("application/octet-stream");
        try {
            List<String> connections = new ArrayList<>();
            try (Response r = client.newCall(new Request.Builder().url(base + "/files/big.bin").build()).execute()) {
                assertEquals(200, r.code());
                assertArrayEquals(big, r.body().bytes());
                connections.add(r.header("X-Connection"));
            }
            try (Response r = client.newCall(new Request.Builder().url(base + "/files/empty.bin").build()).execute()) {
                assertEquals(200, r.code());
                assertEquals(0, r.body().bytes().length);
                connections.add(r.header("X-Connection"));
            }
            try (Response r = client.newCall(new Request.Builder().url(base + "/files/none").build()).execute()) {
                assertEquals(404, r.code());
                r.body().bytes();
                connections.add(r.header("X-Connection"));
            }
            // a body of known length (Content-Length)
            byte[] upload = TestSupport.randomBytes(2 << 20);
            try (Response r = client.newCall(new Request.Builder().url(base + "/echo")
                    .post(RequestBody.create(upload, octets)).build()).execute()) {
                assertEquals(200, r.code());
                assertEquals(Integer.toString(upload.length), r.header("X-Body-Length"));
                assertEquals(sha256(upload), r.header("X-Body-Sha256"));
                assertArrayEquals(upload, r.body().bytes());
                connections.add(r.header("X-Connection"));
            }
            // a streamed body of unknown length: chunked transfer coding, written in uneven pieces
            byte[] streamed = TestSupport.randomBytes(1_500_000);
            RequestBody chunked = new RequestBody() {
                @Override
                public MediaType contentType() {
                    return octets;
                }

                @Override
                public void writeTo(BufferedSink sink) throws IOException {
                    int off = 0;
                    int step = 1;
                    while (off < streamed.length) {
                        int n = Math.min(step, streamed.length - off);
                        sink.write(streamed, off, n);
                        sink.flush();
                        off += n;
                        step = step * 3 % 100_000 + 1;
                    }
                }
            };
            try (Response r = client.newCall(new Request.Builder().url(base + "/echo").post(chunked).build()).execute()) {
                assertEquals(200, r.code());
                assertEquals(Integer.toString(streamed.length), r.header("X-Body-Length"));
                assertEquals(sha256(streamed), r.header("X-Body-Sha256"));
                assertArrayEquals(streamed, r.body().bytes());
                connections.add(r.header("X-Connection"));
            }
            // OkHttp kept one connection alive for all of them, over one of our sockets
            assertEquals(1, connections.stream().distinct().count(), "connections used: " + connections);
            assertEquals(1, sockets.made.size(), "sockets made: " + sockets.made);
            Socket s = sockets.made.get(0);
            assertInstanceOf(RustSocket.class, s);
            assertEquals(java.net.UnixDomainSocketAddress.of(socket), s.getRemoteSocketAddress());
        } finally {
            client.connectionPool().evictAll();
            client.dispatcher().executorService().shutdown();
            server.destroy();
            assertTrue(server.waitFor(10, TimeUnit.SECONDS), "the HTTP server did not stop");
        }
        for (Socket s : sockets.made) {
            assertTrue(s.isClosed(), "OkHttp's evictAll left a socket open: " + s);
        }
    }

    // ---------------------------------------------------------------- RMI

    /** A remote service taking arguments and returning results. */
    public interface Digests extends Remote {
        /** The SHA-256 of data, hex. */
        String sha256(byte[] data) throws RemoteException;

        /** Each string with the prefix, in order. */
        List<String> prefixed(List<String> values, String prefix) throws RemoteException;
    }

    static final class DigestsImpl implements Digests {
        @Override
        public String sha256(byte[] data) throws RemoteException {
            try {
                return UnixClientsTest.sha256(data);
            } catch (NoSuchAlgorithmException e) {
                throw new RemoteException("no SHA-256", e);
            }
        }

        @Override
        public List<String> prefixed(List<String> values, String prefix) {
            List<String> out = new ArrayList<>();
            for (String v : values) {
                out.add(prefix + v);
            }
            return out;
        }
    }

    @Test
    void rmiRegistryAndRemoteObjectOverASocketFile() throws Exception {
        Path socket = dir.resolve("rmi.sock");
        RustUnixRMISocketFactory unix = new RustUnixRMISocketFactory(socket.toString());
        int port = 1099; // a label for RMI only: nothing listens on TCP
        for (int round = 0; round < 2; round++) {
            long accepted = RustSockets.statistics().getConnectionsAccepted();
            Registry registry = LocateRegistry.createRegistry(port, unix, unix);
            DigestsImpl impl = new DigestsImpl();
            try {
                Digests exported = (Digests) UnicastRemoteObject.exportObject(impl, port, unix, unix);
                assertTrue(Files.exists(socket), "no socket file at " + socket);
                // bind through a registry stub, so the stub (carrying our factory) passes the
                // registry's deserialization filter on its way in
                Registry remote = LocateRegistry.getRegistry("localhost", port, unix);
                remote.bind("digests", exported);
                Digests d = (Digests) remote.lookup("digests");
                byte[] data = TestSupport.randomBytes(300_000);
                assertEquals(sha256(data), d.sha256(data));
                assertEquals(List.of("x-a", "x-b", "x-"), d.prefixed(List.of("a", "b", ""), "x-"));
                if (round == 0) {
                    // (the second round's calls may ride on connections RMI keeps from the first)
                    assertTrue(RustSockets.statistics().getConnectionsAccepted() > accepted,
                            "no RustServerSocket accepted the calls");
                }
            } finally {
                UnicastRemoteObject.unexportObject(impl, true);
                UnicastRemoteObject.unexportObject(registry, true);
            }
            // RMI closed its listener when the last object went, and the listener its file, so the
            // next round can export on the same factory again
            assertTrue(TestSupport.within(5_000, 10, () -> !Files.exists(socket)), "the socket file stayed after unexport");
        }
    }

    // ---------------------------------------------------------------- Redis

    @Test
    void jedisOverRedisUnixSocket() throws Exception {
        assumeTrue(RedisServerProcess.executable().isPresent(), "redis-server is not installed; CI installs it");
        try (RedisServerProcess redis = RedisServerProcess.startWithUnixSocket()) {
            JedisClientConfig config = DefaultJedisClientConfig.builder()
                    .connectionTimeoutMillis(5_000).socketTimeoutMillis(15_000).build();
            // Jedis's own socket set-up (TCP options included, which do nothing on a Unix socket)
            RealClientsTest.RustJedisSocketFactory sockets = new RealClientsTest.RustJedisSocketFactory(
                    new RustUnixSocketFactory(redis.unixSocket()), redis.port(), config);
            Socket socket;
            try (Jedis jedis = new Jedis(sockets, config)) {
                assertEquals("PONG", jedis.ping());
                // Redis shows a Unix client by its socket file and port 0
                String info = jedis.clientInfo();
                assertTrue(info.contains("addr=" + redis.unixSocket() + ":0 "), "CLIENT INFO " + info);
                List<byte[]> values = new ArrayList<>();
                for (int i = 0; i < 500; i++) {
                    byte[] v = TestSupport.randomBytes(i < 10 ? i : (i * 131) % 70_000);
                    values.add(v);
                    assertEquals("OK", jedis.set(("k:" + i).getBytes(StandardCharsets.US_ASCII), v));
                }
                Pipeline p = jedis.pipelined();
                List<redis.clients.jedis.Response<byte[]>> got = new ArrayList<>();
                for (int i = 0; i < values.size(); i++) {
                    got.add(p.get(("k:" + i).getBytes(StandardCharsets.US_ASCII)));
                }
                p.sync();
                for (int i = 0; i < values.size(); i++) {
                    assertArrayEquals(values.get(i), got.get(i).get(), "k:" + i);
                }
                assertEquals(1, sockets.sockets.size(), "Jedis reconnected: " + sockets.sockets);
                socket = sockets.sockets.get(0);
                assertInstanceOf(RustSocket.class, socket);
            }
            assertTrue(socket.isClosed(), "Jedis.close() did not close the socket");
        }
    }
}
