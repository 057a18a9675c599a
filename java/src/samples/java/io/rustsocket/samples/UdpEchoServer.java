package io.rustsocket.samples;

import io.rustsocket.DatagramBatch;
import io.rustsocket.RustDatagramSocket;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;

/**
 * A UDP echo service built on the batched API: each {@code receive(batch)} takes every datagram
 * already queued (up to 64) in one {@code recvmmsg}, and the same batch, whose slots still hold
 * each datagram's sender, goes straight back with one {@code sendmmsg}. Nothing is allocated per
 * datagram. Run it alone with {@code java ... io.rustsocket.samples.UdpEchoServer 7009}, then
 * for example {@code echo hi | nc -u -w1 127.0.0.1 7009}.
 */
public final class UdpEchoServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(UdpEchoServer.class.getName());

    private final RustDatagramSocket socket;
    private final Thread thread;
    private volatile long echoed;

    /**
     * Starts serving on {@code address:port} (port 0: any free port).
     *
     * @param address the local address
     * @param port the local port
     * @throws SocketException if the socket cannot be bound
     */
    public UdpEchoServer(InetAddress address, int port) throws SocketException {
        socket = new RustDatagramSocket(new InetSocketAddress(address, port));
        thread = new Thread(this::serve, "udp-echo");
        thread.setDaemon(true);
        thread.start();
    }

    /** @return the port the service listens on */
    public int port() {
        return socket.getLocalPort();
    }

    /** @return how many datagrams were echoed so far */
    public long echoed() {
        return echoed;
    }

    private void serve() {
        DatagramBatch batch = new DatagramBatch(64, 2048);
        while (true) {
            int n;
            try {
                n = socket.receive(batch);
            } catch (IOException e) {
                if (!socket.isClosed()) {
                    System.err.println("udp echo: " + e);
                }
                return;
            }
            int sent = 0;
            int refused = 0;
            while (sent < n) {
                try {
                    sent += socket.send(batch, sent); // partial sends: carry on from the first unsent
                } catch (IOException e) {
                    if (socket.isClosed()) {
                        return;
                    }
                    // this one datagram's echo was refused (no route to its sender, a firewall,
                    // no buffer space): skip it, the others still deserve theirs
                    int failed = sent;
                    LOG.log(System.Logger.Level.DEBUG, () -> "udp echo: no echo to " + batch.address(failed) + ": " + e);
                    sent++;
                    refused++;
                }
            }
            echoed += n - refused;
        }
    }

    @Override
    public void close() {
        socket.close(); // wakes the blocked receive
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Serves until killed.
     *
     * @param args the port (default 7009)
     * @throws Exception if the socket cannot be bound
     */
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 7009;
        try (UdpEchoServer server = new UdpEchoServer(InetAddress.getLoopbackAddress(), port)) {
            System.out.println("UDP echo on 127.0.0.1:" + server.port());
            Thread.currentThread().join();
        }
    }
}
