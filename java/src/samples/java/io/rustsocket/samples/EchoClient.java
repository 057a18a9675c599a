package io.rustsocket.samples;

import io.rustsocket.RustSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Echo client on rustsocket: sends a message, reads it back, checks it and reports the round trip.
 *
 * <p>Run: {@code java -cp build/libs/rustsocket-0.1.0.jar:build/classes/java/samples
 * io.rustsocket.samples.EchoClient localhost 7007 "hello"}
 */
public final class EchoClient {
    /** Messages up to this size are written and read back by one thread. */
    private static final int SMALL = 16 * 1024;

    private EchoClient() {}

    private static void writeQuietly(OutputStream out, byte[] message) {
        try {
            out.write(message);
        } catch (IOException e) {
            // the reader sees the short echo and reports it
        }
    }

    /** What one exchange measured. */
    public static final class Result {
        /** Bytes sent (and received back). */
        public final int bytes;
        /** Median round-trip time in microseconds over the exchange's rounds. */
        public final long medianRoundTripMicros;

        Result(int bytes, long medianRoundTripMicros) {
            this.bytes = bytes;
            this.medianRoundTripMicros = medianRoundTripMicros;
        }
    }

    /**
     * Sends {@code message} {@code rounds} times and checks every echo.
     *
     * @param host the server's host name
     * @param port the server's port
     * @param message the bytes to send each round
     * @param rounds how many round trips
     * @return bytes and median round trip
     * @throws IOException if the connection fails or an echo differs
     */
    public static Result exchange(String host, int port, byte[] message, int rounds) throws IOException {
        long[] rtt = new long[rounds];
        try (RustSocket s = new RustSocket(host, port)) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            for (int i = 0; i < rounds; i++) {
                long t0 = System.nanoTime();
                byte[] back;
                if (message.length <= SMALL) {
                    out.write(message);
                    back = in.readNBytes(message.length);
                } else {
                    // A large message is written from another thread: the server echoes while we
                    // are still sending, and one thread doing both could fill both buffers and stall.
                    Thread writer = new Thread(() -> writeQuietly(out, message), "echo-writer");
                    writer.start();
                    back = in.readNBytes(message.length);
                    try {
                        writer.join();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted", e);
                    }
                }
                rtt[i] = System.nanoTime() - t0;
                if (!Arrays.equals(back, message)) {
                    throw new IOException("echo differs in round " + i);
                }
            }
        }
        Arrays.sort(rtt);
        return new Result(message.length * rounds, rtt[rounds / 2] / 1000);
    }

    /**
     * Sends one message and prints the echo.
     *
     * @param args {@code host port message}
     * @throws Exception on connection failure
     */
    public static void main(String[] args) throws Exception {
        String host = args.length > 0 ? args[0] : "localhost";
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 7007;
        String text = args.length > 2 ? args[2] : "hello from rustsocket";
        Result r = exchange(host, port, text.getBytes(StandardCharsets.UTF_8), 100);
        System.out.printf("echoed \"%s\" 100 times (%d bytes), median round trip %d us%n",
                text, r.bytes, r.medianRoundTripMicros);
    }
}
