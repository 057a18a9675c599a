package io.rustsocket.samples;

import io.rustsocket.RustServerSocket;
import io.rustsocket.RustSocket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A line-based key-value server on rustsocket serving many clients at once, one thread each.
 *
 * <p>Protocol, one command per line: {@code SET key value} answers {@code OK}; {@code GET key}
 * answers {@code VALUE v} or {@code NIL}; {@code DEL key} answers {@code 1} or {@code 0};
 * {@code COUNT} answers the number of keys; {@code QUIT} closes the connection. Anything else
 * answers {@code ERR ...}. Try it with {@code nc 127.0.0.1 7008}.
 */
public final class KeyValueServer implements AutoCloseable {
    private final Map<String, String> store = new ConcurrentHashMap<>();
    private final RustServerSocket server;
    private final Thread acceptor;
    private final AtomicInteger clientsServed = new AtomicInteger();
    // Executors.newVirtualThreadPerTaskExecutor(), found at run time so the sample compiles with --release 17
    private final java.util.concurrent.ExecutorService virtualThreads;

    /**
     * Starts serving on {@code address}:{@code port} (port 0 picks a free one).
     *
     * @param address the local address
     * @param port the port, or 0
     * @throws IOException if the port cannot be bound
     */
    public KeyValueServer(InetAddress address, int port) throws IOException {
        this(address, port, false);
    }

    /**
     * Starts serving on {@code address}:{@code port}, each client on a virtual thread when
     * {@code virtualThreads} is set (JDK 21+; a blocked client then parks instead of holding a
     * carrier thread).
     *
     * @param address the local address
     * @param port the port, or 0
     * @param virtualThreads serve each client on a virtual thread
     * @throws IOException if the port cannot be bound
     * @throws UnsupportedOperationException if virtual threads are asked for on JDK 17-20
     */
    public KeyValueServer(InetAddress address, int port, boolean virtualThreads) throws IOException {
        this.virtualThreads = virtualThreads ? virtualThreadBuilder() : null;
        server = new RustServerSocket(port, 128, address);
        acceptor = new Thread(this::acceptLoop, "kv-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** @return the port being served */
    public int port() {
        return server.getLocalPort();
    }

    /** @return how many connections have been accepted */
    public int clientsServed() {
        return clientsServed.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                RustSocket client = server.accept();
                clientsServed.incrementAndGet();
                Runnable task = () -> serve(client);
                if (virtualThreads != null) {
                    virtualThreads.execute(task);
                } else {
                    Thread t = new Thread(task, "kv-" + client.getPort());
                    t.setDaemon(true);
                    t.start();
                }
            } catch (SocketException closed) {
                return;
            } catch (IOException e) {
                System.err.println("accept failed: " + e);
            }
        }
    }

    private void serve(RustSocket client) {
        try (RustSocket c = client;
             BufferedReader in = new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.UTF_8));
             PrintWriter out = new PrintWriter(new OutputStreamWriter(c.getOutputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                String reply = handle(line);
                if (reply == null) {
                    break;
                }
                out.print(reply + "\n");
                out.flush();
            }
        } catch (IOException e) {
            // client vanished; its connection is closed by try-with-resources
        }
    }

    private static java.util.concurrent.ExecutorService virtualThreadBuilder() {
        try {
            return (java.util.concurrent.ExecutorService) java.util.concurrent.Executors.class
                    .getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        } catch (ReflectiveOperationException e) {
            throw new UnsupportedOperationException("virtual threads need JDK 21 or newer", e);
        }
    }

    /** Executes one command; {@code null} means close the connection. */
    String handle(String line) {
        String[] parts = line.trim().split(" ", 3);
        switch (parts[0].toUpperCase(java.util.Locale.ROOT)) {
            case "SET":
                if (parts.length < 3) {
                    return "ERR usage: SET key value";
                }
                store.put(parts[1], parts[2]);
                return "OK";
            case "GET":
                if (parts.length < 2) {
                    return "ERR usage: GET key";
                }
                String v = store.get(parts[1]);
                return v == null ? "NIL" : "VALUE " + v;
            case "DEL":
                if (parts.length < 2) {
                    return "ERR usage: DEL key";
                }
                return store.remove(parts[1]) != null ? "1" : "0";
            case "COUNT":
                return Integer.toString(store.size());
            case "QUIT":
                return null;
            default:
                return "ERR unknown command " + parts[0];
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        if (virtualThreads != null) {
            virtualThreads.shutdown();
        }
    }

    /**
     * Serves until killed.
     *
     * @param args {@code [port] [--virtual-threads]}, default port 7008
     * @throws Exception if the server cannot start
     */
    public static void main(String[] args) throws Exception {
        boolean virtual = java.util.Arrays.asList(args).contains("--virtual-threads");
        int port = args.length > 0 && !args[0].startsWith("--") ? Integer.parseInt(args[0]) : 7008;
        try (KeyValueServer s = new KeyValueServer(InetAddress.getLoopbackAddress(), port, virtual)) {
            System.out.println("key-value server on 127.0.0.1:" + s.port()
                    + (virtual ? ", a virtual thread per client" : "") + " (Ctrl-C to stop)");
            s.acceptor.join();
        }
    }
}
