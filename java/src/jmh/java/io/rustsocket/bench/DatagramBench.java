package io.rustsocket.bench;

import io.rustsocket.DatagramBatch;
import io.rustsocket.RustDatagramSocket;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * 64-byte datagrams per second over loopback: {@link #oneByOne} sends {@value #BURST} datagrams
 * with {@code send(DatagramPacket)} and receives them with {@code receive(DatagramPacket)}, for
 * the JDK's {@code DatagramSocket}, rustsocket, and the JDK again ({@code JDK_AA}, the A/A
 * control); {@link #batched} moves the same datagrams with rustsocket's
 * {@code send(DatagramBatch)}/{@code receive(DatagramBatch)} ({@code sendmmsg}/{@code recvmmsg}),
 * which the JDK has no counterpart for. Sender and receiver are in the benchmark thread, so a
 * burst never outruns the receive buffer and nothing is dropped: every datagram sent is counted
 * only once received. Scores are datagrams per second.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class DatagramBench {
    /** Datagrams per benchmark invocation. */
    static final int BURST = 32;
    /** Bytes per datagram. */
    static final int SIZE = 64;

    /** Which datagram socket class a benchmark uses. */
    public enum Engine {
        JDK, RUST, JDK_AA;

        DatagramSocket open() throws SocketException {
            InetSocketAddress lo = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
            return this == RUST ? new RustDatagramSocket(lo) : new DatagramSocket(lo);
        }
    }

    /** A sender and a receiver socket and the packets they reuse. */
    @State(Scope.Thread)
    public static class Pair {
        /** Engine under test. */
        @Param({"JDK", "RUST", "JDK_AA"})
        public Engine engine;

        DatagramSocket sender;
        DatagramSocket receiver;
        DatagramPacket out;
        DatagramPacket in;

        @Setup
        public void open() throws IOException {
            sender = engine.open();
            receiver = engine.open();
            receiver.setReceiveBufferSize(1 << 20);
            out = new DatagramPacket(new byte[SIZE], SIZE,
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), receiver.getLocalPort()));
            in = new DatagramPacket(new byte[SIZE], SIZE);
        }

        @TearDown
        public void close() {
            sender.close();
            receiver.close();
        }
    }

    /** rustsocket sockets and two reusable batches. */
    @State(Scope.Thread)
    public static class Batches {
        RustDatagramSocket sender;
        RustDatagramSocket receiver;
        DatagramBatch out;
        DatagramBatch in;

        @Setup
        public void open() throws IOException {
            InetSocketAddress lo = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
            sender = new RustDatagramSocket(lo);
            receiver = new RustDatagramSocket(lo);
            receiver.setReceiveBufferSize(1 << 20);
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), receiver.getLocalPort());
            out = new DatagramBatch(BURST, SIZE);
            byte[] payload = new byte[SIZE];
            for (int i = 0; i < BURST; i++) {
                out.add(payload, 0, SIZE, to);
            }
            in = new DatagramBatch(BURST, SIZE);
        }

        @TearDown
        public void close() {
            sender.close();
            receiver.close();
        }
    }

    /** {@value #BURST} datagrams sent and received one system call each. */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public int oneByOne(Pair p) throws IOException {
        for (int i = 0; i < BURST; i++) {
            p.sender.send(p.out);
        }
        int bytes = 0;
        for (int i = 0; i < BURST; i++) {
            p.receiver.receive(p.in);
            bytes += p.in.getLength();
        }
        return bytes;
    }

    /** {@value #BURST} datagrams sent with one sendmmsg and received with as few recvmmsg as it takes. */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public int batched(Batches b) throws IOException {
        int sent = 0;
        while (sent < BURST) {
            sent += b.sender.send(b.out, sent);
        }
        int got = 0;
        while (got < BURST) {
            got += b.receiver.receive(b.in);
        }
        return got;
    }
}
