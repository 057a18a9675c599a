package io.rustsocket.samples;

import io.rustsocket.PeerCredentials;
import io.rustsocket.RustServerSocket;
import io.rustsocket.RustSocket;
import io.rustsocket.RustUnixServerSocketFactory;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A small HTTP/1.1 server on a Unix domain socket file, the way Docker's API or a sidecar is
 * served: {@code GET /hello} answers with the caller's process id and user id, which the kernel
 * gives for a Unix socket ({@link RustSocket#peerCredentials()}), and {@code POST /echo} sends
 * the request body back. Connections are kept alive (Content-Length bodies only), one thread per
 * connection. The socket file goes away when the server closes ({@link RustUnixServerSocketFactory}).
 *
 * <p>Run: {@code java -cp build/libs/rustsocket-0.1.0.jar:build/classes/java/samples
 * io.rustsocket.samples.UnixHttpServer /tmp/hello.sock}, then
 * {@code curl --unix-socket /tmp/hello.sock http://localhost/hello}.
 */
public final class UnixHttpServer implements AutoCloseable {
    private static final String TEXT = "text/plain; charset=utf-8";

    private final RustServerSocket server;
    private final Thread acceptor;

    /**
     * Starts serving on the socket file {@code path}, which must not exist yet.
     *
     * @param path where to create the socket file
     * @throws IOException if it cannot be bound (for instance, the file exists)
     */
    public UnixHttpServer(Path path) throws IOException {
        server = new RustUnixServerSocketFactory(path).createServerSocket(0);
        acceptor = new Thread(this::acceptLoop, "http-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /**
     * The address served, as the server socket reports it.
     *
     * @return the socket file's {@code UnixDomainSocketAddress}
     */
    public SocketAddress address() {
        return server.getLocalSocketAddress();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                RustSocket client = server.accept();
                Thread t = new Thread(() -> serve(client), "http-connection");
                t.setDaemon(true);
                t.start();
            } catch (SocketException closed) {
                return; // the server was closed
            } catch (IOException e) {
                System.err.println("accept failed: " + e);
            }
        }
    }

    private static void serve(RustSocket client) {
        try (RustSocket c = client) {
            InputStream in = new BufferedInputStream(c.getInputStream());
            OutputStream out = c.getOutputStream();
            String requestLine;
            while ((requestLine = readLine(in)) != null && !requestLine.isEmpty()) {
                Map<String, String> headers = readHeaders(in);
                int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
                byte[] body = in.readNBytes(length);
                if (body.length < length) {
                    return; // the client went away mid-request
                }
                String[] parts = requestLine.split(" ");
                String target = parts.length > 1 ? parts[0] + " " + parts[1] : requestLine;
                switch (target) {
                    case "GET /hello": {
                        PeerCredentials who = c.peerCredentials();
                        respond(out, 200, TEXT, ("hello, process " + who.pid() + " (uid " + who.uid() + ")\n")
                                .getBytes(StandardCharsets.UTF_8));
                        break;
                    }
                    case "POST /echo":
                        respond(out, 200, "application/octet-stream", body);
                        break;
                    default:
                        respond(out, 404, TEXT, "not found\n".getBytes(StandardCharsets.UTF_8));
                }
            }
        } catch (IOException e) {
            // the client went away; nothing to clean up beyond the socket
        }
    }

    /** One line of the head, without its CRLF; null at end of stream. */
    static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                return line.length() == 0 ? null : line.toString();
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }

    /** The header lines up to the empty one, names in lower case. */
    static Map<String, String> readHeaders(InputStream in) throws IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        String line;
        while ((line = readLine(in)) != null && !line.isEmpty()) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
        }
        return headers;
    }

    private static void respond(OutputStream out, int status, String type, byte[] body) throws IOException {
        String head = "HTTP/1.1 " + status + (status == 200 ? " OK" : " Not Found") + "\r\n"
                + "Content-Length: " + body.length + "\r\n"
                + "Content-Type: " + type + "\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
    }

    /** Stops accepting and removes the socket file. */
    @Override
    public void close() throws IOException {
        server.close();
    }

    /**
     * Serves until killed.
     *
     * @param args {@code SOCKET_PATH}
     * @throws Exception if the server cannot start
     */
    public static void main(String[] args) throws Exception {
        Path path = Path.of(args.length > 0 ? args[0] : "/tmp/rustsocket-http.sock");
        UnixHttpServer s = new UnixHttpServer(path);
        // Ctrl-C: close, which removes the socket file
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                s.close();
            } catch (IOException e) {
                System.err.println("close failed: " + e);
            }
        }));
        System.out.println("HTTP on unix:" + path + " (Ctrl-C to stop)");
        s.acceptor.join();
    }
}
