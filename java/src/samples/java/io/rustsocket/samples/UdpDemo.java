package io.rustsocket.samples;

import io.rustsocket.DatagramBatch;
import io.rustsocket.RustDatagramSocket;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * What {@code gradle udpDemo} runs: the {@link UdpEchoServer} sample on an ephemeral loopback
 * port, a JDK {@code DatagramSocket} and a {@code RustDatagramSocket} client exchanging
 * datagrams with it one by one, then a batched client. Exits non-zero if anything came back
 * wrong.
 */
public final class UdpDemo {
    private UdpDemo() {}

    /**
     * Runs the demo.
     *
     * @param args ignored
     * @throws Exception if an exchange fails
     */
    public static void main(String[] args) throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        System.out.println("rustsocket UDP demo on " + System.getProperty("java.vm.name") + " "
                + System.getProperty("java.version"));
        try (UdpEchoServer server = new UdpEchoServer(loopback, 0)) {
            InetSocketAddress to = new InetSocketAddress(loopback, server.port());
            System.out.println("UDP echo server (RustDatagramSocket, batched) on " + to);
            try (DatagramSocket jdk = new DatagramSocket(0, loopback);
                 RustDatagramSocket rust = new RustDatagramSocket(0, loopback)) {
                for (DatagramSocket client : new DatagramSocket[] {jdk, rust}) {
                    client.setSoTimeout(5_000);
                    client.connect(to);
                    byte[] msg = ("hello from " + client.getClass().getSimpleName()).getBytes(StandardCharsets.UTF_8);
                    DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
                    long start = System.nanoTime();
                    for (int i = 0; i < 1000; i++) {
                        client.send(new DatagramPacket(msg, msg.length));
                        client.receive(in);
                        check(Arrays.equals(msg, Arrays.copyOf(in.getData(), in.getLength())), "echo differs");
                    }
                    System.out.printf("  %-18s 1000 round trips of %d bytes, all intact, %.1f us each%n",
                            client.getClass().getSimpleName(), msg.length, (System.nanoTime() - start) / 1000 / 1000.0);
                }
            }
            try (RustDatagramSocket client = new RustDatagramSocket(0, loopback)) {
                client.setSoTimeout(5_000);
                DatagramBatch out = new DatagramBatch(32, 64);
                DatagramBatch in = new DatagramBatch(32, 64);
                for (int i = 0; i < 32; i++) {
                    byte[] d = ("datagram #" + i).getBytes(StandardCharsets.UTF_8);
                    out.add(d, 0, d.length, to);
                }
                int sent = client.send(out);
                int got = 0;
                while (got < sent) {
                    int n = client.receive(in);
                    for (int i = 0; i < n; i++) {
                        check(in.address(i).equals(to), "reply from elsewhere");
                    }
                    got += n;
                }
                System.out.printf("  batched client: %d datagrams out in one sendmmsg, %d back%n", sent, got);
            }
            System.out.println("server echoed " + server.echoed() + " datagrams");
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }
}
