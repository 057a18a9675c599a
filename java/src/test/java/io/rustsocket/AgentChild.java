package io.rustsocket;

import com.sun.net.httpserver.HttpServer;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.SocketImplFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.management.ObjectName;
import javax.net.SocketFactory;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import jdk.net.ExtendedSocketOptions;

/**
 * The application of {@link AgentTest}: plain JDK networking code that knows nothing of
 * rustsocket, run in a child JVM started with {@code -javaagent:rustsocket.jar}. It checks its
 * own data byte for byte and reports on stdout, one {@code key=value} per line: whether the agent
 * installed rustsocket, and how much each statistics figure grew during the scenario
 * ({@code delta.bytesRead=...}). Exits 0, or 1 with the reason when its data was not intact.
 *
 * <ul>
 *   <li>{@code plain}: {@code new ServerSocket}, {@code new Socket}, {@code SocketFactory.getDefault()},
 *       1 MiB each way; also prints the keepalive options of both ends and the MXBean's figure.</li>
 *   <li>{@code http}: {@code HttpURLConnection} POSTs against the JDK's HttpServer, direct and
 *       through it as an HTTP proxy.</li>
 *   <li>{@code tls KEYSTORE}: a JDK {@code SSLServerSocket} and {@code SSLSocket}, 256 KiB each way.</li>
 *   <li>{@code jdbc PORT}: PostgreSQL's JDBC driver, no socketFactory parameter, against 127.0.0.1:PORT.</li>
 *   <li>{@code uncovered}: NIO {@code SocketChannel}, {@code java.net.http.HttpClient} and a SOCKS
 *       {@code Socket(Proxy)}, which stay on the JDK.</li>
 *   <li>{@code attach JAR}: loads the agent into itself at run time (Agent-Class, agentmain).</li>
 *   <li>{@code logmanager}: {@code plain} after choosing its own {@code LogManager} in
 *       {@code main}; prints the LogManager class the JVM ended up with.</li>
 *   <li>{@code listenerOptions}: sets TCP_KEEPIDLE 77 on its listener; prints the keepalive
 *       options of a client and of the connection accepted there.</li>
 *   <li>{@code preinstalled}: run after an agent that installed its own factory; also tries
 *       {@link RustSockets#installAsDefault()} and prints what it threw.</li>
 * </ul>
 */
public final class AgentChild {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    private AgentChild() {}

    public static void main(String[] args) throws Exception {
        if (args[0].equals("logmanager")) {
            // what JBoss Modules and others do first thing in main: too late if anything before
            // main (the agent) has started java.util.logging
            System.setProperty("java.util.logging.manager", OwnLogManager.class.getName());
            OUT.println("logManager=" + java.util.logging.LogManager.getLogManager().getClass().getName());
        }
        OUT.println("installed=" + RustSockets.isInstalledAsDefault());
        SocketStatistics before = RustSockets.statistics();
        switch (args[0]) {
            case "plain":
            case "logmanager":
                plain();
                break;
            case "listenerOptions":
                // the application's own option on its listener wins over the agent's default for
                // every connection accepted there
                try (ServerSocket l = new ServerSocket(0, 50, LOOPBACK)) {
                    l.setOption(keepIdleOption(l.supportedOptions()), 77);
                    try (Socket c = new Socket(LOOPBACK, l.getLocalPort()); Socket a = l.accept()) {
                        OUT.println("client.keepIdle=" + keepIdle(c));
                        OUT.println("accepted.keepAlive=" + a.getKeepAlive());
                        OUT.println("accepted.keepIdle=" + keepIdle(a));
                    }
                }
                break;
            case "http":
                http();
                break;
            case "tls":
                tls(args[1]);
                break;
            case "jdbc":
                jdbc(Integer.parseInt(args[1]));
                break;
            case "uncovered":
                uncovered();
                break;
            case "attach":
                // a running JVM: sockets made before the attach keep the JDK's implementation
                try (ServerSocket early = new ServerSocket(0, 50, LOOPBACK)) {
                    com.sun.tools.attach.VirtualMachine vm =
                            com.sun.tools.attach.VirtualMachine.attach(Long.toString(ProcessHandle.current().pid()));
                    try {
                        vm.loadAgent(args[1], "keepAlive=true");
                    } finally {
                        vm.detach();
                    }
                    OUT.println("attached.installed=" + RustSockets.isInstalledAsDefault());
                    OUT.println("early.openServerSockets=" + RustSockets.statistics().getOpenServerSockets());
                    OUT.println("early.bound=" + early.isBound());
                    plainExchange(new ServerSocket(0, 50, LOOPBACK), SocketFactory.getDefault());
                }
                break;
            case "preinstalled":
                plainExchange(new ServerSocket(0, 50, LOOPBACK), SocketFactory.getDefault());
                try {
                    RustSockets.installAsDefault();
                    OUT.println("install=returned");
                } catch (SocketException e) {
                    OUT.println("install=" + e.getMessage());
                }
                break;
            default:
                throw new IllegalArgumentException(args[0]);
        }
        SocketStatistics after = RustSockets.statistics();
        OUT.println("delta.connectionsOpened=" + (after.getConnectionsOpened() - before.getConnectionsOpened()));
        OUT.println("delta.connectionsAccepted=" + (after.getConnectionsAccepted() - before.getConnectionsAccepted()));
        OUT.println("delta.bytesRead=" + (after.getBytesRead() - before.getBytesRead()));
        OUT.println("delta.bytesWritten=" + (after.getBytesWritten() - before.getBytesWritten()));
        OUT.println("stats=" + after);
        OUT.println("DONE");
    }

    private static void fail(String why) {
        OUT.println("FAILED " + why);
        System.exit(1);
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    private static void check(String what, byte[] expected, byte[] got) {
        if (!Arrays.equals(expected, got)) {
            fail(what + ": " + got.length + " bytes differ from the " + expected.length + " sent");
        }
        OUT.println("intact." + what + "=true");
    }

    /** 1 MiB from client to server and 1 MiB back, over whatever the JVM's sockets are now. */
    private static void plainExchange(ServerSocket listener, SocketFactory clients) throws Exception {
        byte[] up = pattern(1 << 20, 1);
        byte[] down = pattern(1 << 20, 2);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (ServerSocket l = listener) {
            Future<byte[]> served = pool.submit(() -> {
                try (Socket s = l.accept()) {
                    OUT.println("accepted.keepAlive=" + s.getKeepAlive());
                    OUT.println("accepted.keepIdle=" + keepIdle(s));
                    byte[] got = s.getInputStream().readNBytes(up.length);
                    s.getOutputStream().write(down);
                    s.shutdownOutput();
                    return got;
                }
            });
            try (Socket c = clients.createSocket()) {
                c.connect(new InetSocketAddress(LOOPBACK, l.getLocalPort()), 10_000);
                OUT.println("client.keepAlive=" + c.getKeepAlive());
                OUT.println("client.keepIdle=" + keepIdle(c));
                c.getOutputStream().write(up);
                byte[] got = c.getInputStream().readAllBytes();
                check("down", down, got);
            }
            check("up", up, served.get());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * TCP_KEEPIDLE as a socket has it: through the JDK's constant where the socket lists it, or
     * else ours (Windows before JDK 22, where the JDK has none: a plain socket on rustsocket
     * takes ours without listing it, as it lists only the JDK's options).
     */
    static java.net.SocketOption<Integer> keepIdleOption(java.util.Set<java.net.SocketOption<?>> supported) {
        return supported.contains(ExtendedSocketOptions.TCP_KEEPIDLE)
                ? ExtendedSocketOptions.TCP_KEEPIDLE
                : RustSocketOptions.TCP_KEEPIDLE;
    }

    /** The socket's TCP_KEEPIDLE, or "unsupported" where it has none (the JDK's sockets on Windows). */
    static String keepIdle(Socket s) throws IOException {
        try {
            return String.valueOf(s.getOption(keepIdleOption(s.supportedOptions())));
        } catch (UnsupportedOperationException e) {
            return "unsupported";
        }
    }

    private static void plain() throws Exception {
        plainExchange(new ServerSocket(0, 50, LOOPBACK), SocketFactory.getDefault());
        // the MXBean answers the same figures as the Java API; it exists only once installed
        ObjectName name = new ObjectName(RustSockets.MBEAN_NAME);
        boolean registered = ManagementFactory.getPlatformMBeanServer().isRegistered(name);
        // the agent registers it on a thread of its own once the first socket is made
        for (int i = 0; i < 200 && !registered && RustSockets.isInstalledAsDefault(); i++) {
            Thread.sleep(50);
            registered = ManagementFactory.getPlatformMBeanServer().isRegistered(name);
        }
        OUT.println("jmx.registered=" + registered);
        if (registered) {
            OUT.println("jmx.bytesRead=" + ManagementFactory.getPlatformMBeanServer().getAttribute(name, "BytesRead"));
            OUT.println("api.bytesRead=" + RustSockets.statistics().getBytesRead());
        }
        // and the one-argument constructors, with no factory in sight
        try (ServerSocket l = new ServerSocket(0); Socket c = new Socket("localhost", l.getLocalPort());
                Socket a = l.accept()) {
            c.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            check("ping", "ping".getBytes(StandardCharsets.US_ASCII), a.getInputStream().readNBytes(4));
        }
    }

    private static void http() throws Exception {
        byte[] body = pattern(300_000, 3);
        byte[] reply = pattern(500_000, 4);
        HttpServer server = HttpServer.create(new InetSocketAddress(LOOPBACK, 0), 0);
        server.createContext("/echo", ex -> {
            byte[] got = ex.getRequestBody().readAllBytes();
            byte[] answer = Arrays.equals(got, body) ? reply : new byte[0];
            ex.sendResponseHeaders(200, answer.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(answer);
            }
        });
        server.start();
        try {
            URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/echo");
            for (int i = 0; i < 3; i++) {
                HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection(Proxy.NO_PROXY);
                c.setDoOutput(true);
                c.setRequestMethod("POST");
                c.setFixedLengthStreamingMode(body.length);
                try (OutputStream os = c.getOutputStream()) {
                    os.write(body);
                }
                try (InputStream in = c.getInputStream()) {
                    check("http" + i, reply, in.readAllBytes());
                }
            }
            // through an HTTP proxy: HttpURLConnection reaches the proxy with a plain socket; the
            // "proxy" here is the same server, which answers the absolute-form request itself
            Proxy viaProxy = new Proxy(Proxy.Type.HTTP, new InetSocketAddress(LOOPBACK, server.getAddress().getPort()));
            long openedBefore = RustSockets.statistics().getConnectionsOpened();
            HttpURLConnection p = (HttpURLConnection) URI.create("http://proxied.invalid/echo").toURL()
                    .openConnection(viaProxy);
            p.setDoOutput(true);
            p.setFixedLengthStreamingMode(body.length);
            try (OutputStream os = p.getOutputStream()) {
                os.write(body);
            }
            try (InputStream in = p.getInputStream()) {
                check("httpProxy", reply, in.readAllBytes());
            }
            OUT.println("httpProxy.connections=" + (RustSockets.statistics().getConnectionsOpened() - openedBefore));
            // the default proxy selection (no proxy configured) goes the same way
            HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
            c.setDoOutput(true);
            try (OutputStream os = c.getOutputStream()) {
                os.write(body);
            }
            try (InputStream in = c.getInputStream()) {
                check("httpDefault", reply, in.readAllBytes());
            }
        } finally {
            server.stop(0);
        }
    }

    private static void tls(String keystore) throws Exception {
        char[] password = "changeit".toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(keystore)) {
            ks.load(in, password);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, password);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);

        byte[] up = pattern(256 * 1024, 5);
        byte[] down = pattern(256 * 1024, 6);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (SSLServerSocket l = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 50, LOOPBACK)) {
            Future<byte[]> served = pool.submit(() -> {
                try (Socket s = l.accept()) {
                    byte[] got = s.getInputStream().readNBytes(up.length);
                    s.getOutputStream().write(down);
                    s.getOutputStream().flush();
                    return got;
                }
            });
            try (SSLSocket c = (SSLSocket) ctx.getSocketFactory().createSocket(LOOPBACK, l.getLocalPort())) {
                c.startHandshake();
                OUT.println("tls.protocol=" + c.getSession().getProtocol());
                c.getOutputStream().write(up);
                c.getOutputStream().flush();
                check("tlsDown", down, c.getInputStream().readNBytes(down.length));
            }
            check("tlsUp", up, served.get());
        } finally {
            pool.shutdownNow();
        }
    }

    private static void jdbc(int port) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
        byte[][] rows = new byte[200][];
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TEMP TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL)");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO blobs VALUES (?, ?)")) {
                for (int i = 0; i < rows.length; i++) {
                    rows[i] = pattern(4096 + i, 100 + i);
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
                    if (!Arrays.equals(rows[rs.getInt(1)], rs.getBytes(2))) {
                        fail("row " + rs.getInt(1) + " came back different");
                    }
                    n++;
                }
            }
            if (n != rows.length) {
                fail(n + " rows came back, not " + rows.length);
            }
            OUT.println("intact.jdbc=true");
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT version()")) {
                rs.next();
                OUT.println("jdbc.server=" + rs.getString(1));
            }
        }
    }

    /** Paths the JDK serves without java.net.Socket's implementation: nothing may be counted. */
    private static void uncovered() throws Exception {
        SocketStatistics start = RustSockets.statistics();
        // NIO channels
        try (ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress(LOOPBACK, 0));
                SocketChannel c = SocketChannel.open(l.getLocalAddress());
                SocketChannel a = l.accept()) {
            c.write(ByteBuffer.wrap("nio".getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer got = ByteBuffer.allocate(3);
            while (got.hasRemaining()) {
                a.read(got);
            }
            check("nio", "nio".getBytes(StandardCharsets.US_ASCII), got.array());
            // the socket adaptor of a channel is a java.net.Socket, but not one the factory made
            OUT.println("nio.adaptor=" + c.socket().getClass().getName());
        }
        OUT.println("uncovered.nio.bytes=" + bytesSince(start));
        // java.net.http.HttpClient (NIO underneath)
        byte[] reply = pattern(10_000, 7);
        HttpServer server = HttpServer.create(new InetSocketAddress(LOOPBACK, 0), 0);
        server.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            ex.sendResponseHeaders(200, reply.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(reply);
            }
        });
        server.start();
        try {
            HttpClient client = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
            HttpResponse<byte[]> r = client.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/")).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            check("httpClient", reply, r.body());
        } finally {
            server.stop(0);
        }
        OUT.println("uncovered.httpClient.bytes=" + bytesSince(start));
        // a Socket through a SOCKS proxy: the JDK wraps its own platform implementation, never the
        // factory's; the proxy here is a plain listener that answers nothing, enough to see the
        // connection arrive without rustsocket counting it
        try (ServerSocket fakeProxy = new ServerSocket(0, 50, LOOPBACK)) {
            long connectedBefore = RustSockets.statistics().getConnectionsOpened();
            Socket s = new Socket(new Proxy(Proxy.Type.SOCKS, fakeProxy.getLocalSocketAddress()));
            s.setSoTimeout(200);
            ExecutorService pool = Executors.newSingleThreadExecutor();
            Future<?> accepted = pool.submit(() -> {
                try (Socket a = fakeProxy.accept()) {
                    a.getInputStream().read(); // the SOCKS greeting
                }
                return null;
            });
            try {
                s.connect(new InetSocketAddress(LOOPBACK, 9), 2_000);
            } catch (IOException expected) {
                // the fake proxy hung up
            } finally {
                s.close();
            }
            accepted.get();
            pool.shutdownNow();
            OUT.println("uncovered.socks.connections="
                    + (RustSockets.statistics().getConnectionsOpened() - connectedBefore));
        }
    }

    private static long bytesSince(SocketStatistics start) {
        SocketStatistics now = RustSockets.statistics();
        return now.getBytesRead() - start.getBytesRead() + now.getBytesWritten() - start.getBytesWritten();
    }

    /** An application's own {@code LogManager}, chosen in {@code main} (the {@code logmanager} scenario). */
    public static final class OwnLogManager extends java.util.logging.LogManager {
        public OwnLogManager() {
            super();
        }
    }

    /**
     * A stand-in for another library's agent that installs its own client socket factory
     * first, or with the option {@code server} only a server socket factory: its factory hands
     * out the JDK's platform implementation (the child runs with
     * {@code --add-opens java.base/java.net=ALL-UNNAMED} for that).
     */
    public static final class OtherFactoryAgent {
        private OtherFactoryAgent() {}

        @SuppressWarnings("deprecation") // the hook another agent would use
        public static void premain(String options) throws Exception {
            Method platform = SocketImpl.class.getDeclaredMethod("createPlatformSocketImpl", boolean.class);
            platform.setAccessible(true);
            boolean server = "server".equals(options);
            SocketImplFactory factory = () -> {
                try {
                    return (SocketImpl) platform.invoke(null, server);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            };
            if (server) {
                ServerSocket.setSocketFactory(factory);
            } else {
                Socket.setSocketImplFactory(factory);
            }
        }
    }
}
