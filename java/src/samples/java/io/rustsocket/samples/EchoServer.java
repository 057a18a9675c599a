package io.rustsocket.samples;

import io.rustsocket.RustServerSocket;
import io.rustsocket.RustSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.SocketException;

/**
 * Echo server on rustsocket: every byte a client sends comes back, one thread per client.
 *
 * <p>Run: {@code java -cp build/libs/rustsocket-0.1.0.jar:build/classes/java/samples
 * io.rustsocket.samples.EchoServer 7007}
 */
public final class EchoServer implements AutoCloseable {
    private final RustServerSocket server;
    private final Thread acceptor;

    /**
     * Starts serving on {@code address}:{@code port} (port 0 picks a free one).
     *
     * @param address the local address to listen on
     * @param port the port, or 0
     * @throws IOException if the port cannot be bound
     */
    public EchoServer(InetAddress address, int port) throws IOException {
        server = new RustServerSocket(port, 50, address);
        acceptor = new Thread(this::acceptLoop, "echo-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** @return the port being served */
    public int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                RustSocket client = server.accept();
                Thread t = new Thread(() -> echo(client), "echo-" + client.getPort());
                t.setDaemon(true);
                t.start();
            } catch (SocketException closed) {
                return; // server closed
            } catch (IOException e) {
                System.err.println("accept failed: " + e);
            }
        }
    }

    private static void echo(RustSocket client) {
        try (RustSocket c = client; InputStream in = c.getInputStream(); OutputStream out = c.getOutputStream()) {
            byte[] buf = new byte[16 * 1024];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
        } catch (IOException e) {
            // the client went away mid-stream; nothing to do for an echo service
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    /**
     * Serves until killed.
     *
     * @param args {@code [port]}, default 7007
     * @throws Exception if the server cannot start
     */
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 7007;
        try (EchoServer s = new EchoServer(InetAddress.getLoopbackAddress(), port)) {
            System.out.println("echo server on 127.0.0.1:" + s.port() + " (Ctrl-C to stop)");
            s.acceptor.join();
        }
    }
}
