package io.rustsocket.samples;

import io.rustsocket.RustSocket;
import io.rustsocket.RustSocketFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What {@code gradle demo} runs: the echo and key-value samples on ephemeral loopback ports,
 * clients against them, and a report of what crossed the wire. Exits non-zero if anything
 * came back wrong.
 */
public final class Demo {
    private Demo() {}

    /**
     * Runs the demo.
     *
     * @param args ignored
     * @throws Exception if an exchange fails
     */
    public static void main(String[] args) throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        System.out.println("rustsocket demo on " + System.getProperty("java.vm.name") + " "
                + System.getProperty("java.version"));

        try (EchoServer echo = new EchoServer(loopback, 0)) {
            System.out.println("echo server listening on 127.0.0.1:" + echo.port());
            byte[] small = "hello, rustsocket".getBytes(StandardCharsets.UTF_8);
            EchoClient.Result r = EchoClient.exchange("127.0.0.1", echo.port(), small, 1000);
            System.out.printf("  %d round trips of %d bytes: %d bytes echoed intact, median round trip %d us%n",
                    1000, small.length, r.bytes, r.medianRoundTripMicros);
            byte[] big = new byte[1 << 20];
            ThreadLocalRandom.current().nextBytes(big);
            EchoClient.Result b = EchoClient.exchange("127.0.0.1", echo.port(), big, 8);
            System.out.printf("  8 round trips of 1 MiB random bytes: %d bytes echoed intact, median round trip %d us%n",
                    b.bytes, b.medianRoundTripMicros);
        }

        boolean virtual = Runtime.version().feature() >= 21;
        try (KeyValueServer kv = new KeyValueServer(loopback, 0, virtual)) {
            System.out.println("key-value server listening on 127.0.0.1:" + kv.port()
                    + (virtual ? " (a virtual thread per client)" : " (a platform thread per client)"));
            int clients = 20;
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            List<Future<Integer>> results = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                final int id = c;
                results.add(pool.submit(() -> kvSession(kv.port(), id)));
            }
            int commands = 0;
            for (Future<Integer> f : results) {
                commands += f.get();
            }
            pool.shutdown();
            try (Socket s = RustSocketFactory.getDefault().createSocket("127.0.0.1", kv.port());
                 BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                 PrintWriter out = new PrintWriter(s.getOutputStream(), true)) {
                out.println("COUNT");
                String count = in.readLine();
                System.out.printf("  %d clients at once ran %d commands; the store holds %s keys (expected %d)%n",
                        clients, commands, count, clients * 50);
                if (!Integer.toString(clients * 50).equals(count)) {
                    throw new IllegalStateException("wrong key count " + count);
                }
            }
        }
        System.out.println("demo finished: every byte came back as sent");
    }

    /** One client: 50 SETs and 50 GETs, each answer checked; returns commands sent. */
    private static int kvSession(int port, int id) throws Exception {
        try (RustSocket s = new RustSocket("127.0.0.1", port);
             BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
             PrintWriter out = new PrintWriter(s.getOutputStream(), true)) {
            for (int i = 0; i < 50; i++) {
                out.println("SET client" + id + ":key" + i + " value-" + id + "-" + i);
                expect("OK", in.readLine());
            }
            for (int i = 0; i < 50; i++) {
                out.println("GET client" + id + ":key" + i);
                expect("VALUE value-" + id + "-" + i, in.readLine());
            }
            out.println("QUIT");
            return 101;
        }
    }

    private static void expect(String want, String got) {
        if (!want.equals(got)) {
            throw new IllegalStateException("expected " + want + " but got " + got);
        }
    }
}
