package io.rustsocket;

import static io.rustsocket.VirtualThreadChecks.Task;
import static io.rustsocket.VirtualThreadChecks.WAIT_MS;
import static io.rustsocket.VirtualThreadChecks.assertThrown;
import static io.rustsocket.VirtualThreadChecks.awaitParked;
import static io.rustsocket.VirtualThreadChecks.info;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Unix datagram sockets on virtual threads, run by {@link UnixDatagramTest} in a child JVM of JDK
 * 21+ (through {@link VirtualThreadsChild}, whose descriptor check runs after them) with two
 * carriers: every receive or send that waits must park, never hold its carrier. The ByteBuffer
 * calls are used where many threads park, since a packet call holds the packet's monitor, which
 * pins the carrier on JDK 21 to 23.
 */
@SuppressWarnings("try") // closing a socket inside its try-with-resources is what a check tests
final class UnixDatagramChecks {
    static final String PREFIX = "unix-dgram-";
    static final String PARK_THOUSAND = PREFIX + "park-thousand";
    static final String CLOSE_AND_INTERRUPT = PREFIX + "close-and-interrupt";
    static final String TIMEOUT = PREFIX + "timeout";
    static final String SEND_FULL = PREFIX + "send-full";
    /** The interrupt of a UDP receive, JDK and rustsocket: the same engine path as a Unix one's. */
    static final String UDP_INTERRUPT_JDK = PREFIX + "udp-interrupt-jdk";
    static final String UDP_INTERRUPT_RUST = PREFIX + "udp-interrupt-rust";

    private static final List<String> ALL = List.of(PARK_THOUSAND, CLOSE_AND_INTERRUPT, TIMEOUT, SEND_FULL,
            UDP_INTERRUPT_JDK, UDP_INTERRUPT_RUST);
    private static VirtualThreadsChildRun run;

    private UnixDatagramChecks() {}

    /** The child JVM's run of every check here, under two carriers; started once. */
    static synchronized VirtualThreadsChildRun childRun() {
        if (run == null) {
            List<String> checks = new ArrayList<>();
            for (String c : ALL) {
                checks.add(c + ":" + Engine.RUST);
            }
            run = VirtualThreadsChildRun.run("unix datagrams, parallelism=2 maxPoolSize=2",
                    VirtualThreadsChildRun.STARVED_SCHEDULER, checks);
        }
        return run;
    }

    static void run(String name) throws Exception {
        Path dir = Files.createTempDirectory("rsdg-vt");
        try {
            switch (name) {
                case PARK_THOUSAND:
                    parkThousand();
                    break;
                case CLOSE_AND_INTERRUPT:
                    closeAndInterrupt(dir);
                    break;
                case TIMEOUT:
                    timeout(dir);
                    break;
                case SEND_FULL:
                    sendFull(dir);
                    break;
                case UDP_INTERRUPT_JDK:
                    udpInterrupt(new DatagramSocket(0, InetAddress.getLoopbackAddress()));
                    break;
                case UDP_INTERRUPT_RUST:
                    udpInterrupt(new RustDatagramSocket(0, InetAddress.getLoopbackAddress()));
                    break;
                default:
                    throw new IllegalArgumentException("unknown check " + name);
            }
        } finally {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** 1,000 virtual threads park in receives on pair ends; one datagram each wakes them all. */
    private static void parkThousand() throws Exception {
        int n = 1000;
        List<RustDatagramSocket[]> pairs = new ArrayList<>();
        List<Task<Integer>> readers = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                RustDatagramSocket[] pair = RustDatagramSocket.pair();
                pairs.add(pair);
                readers.add(Task.start("unix-reader-" + i, () -> {
                    ByteBuffer in = ByteBuffer.allocate(8);
                    pair[1].receive(in);
                    return in.getInt(0);
                }));
            }
            awaitParked(n + " Unix datagram receivers", readers);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                pairs.get(i)[0].send(ByteBuffer.allocate(4).putInt(0, i), null);
            }
            for (int i = 0; i < n; i++) {
                assertEquals(i, (int) readers.get(i).get(WAIT_MS, "receiver " + i));
            }
            info(String.format("%d parked Unix datagram receivers woken in %.1f ms", n,
                    (System.nanoTime() - t0) / 1e6));
        } finally {
            for (RustDatagramSocket[] pair : pairs) {
                pair[0].close();
                pair[1].close();
            }
        }
    }

    /** close() wakes a parked packet receive; an interrupt closes the socket of a parked ByteBuffer receive. */
    private static void closeAndInterrupt(Path dir) throws Exception {
        try (RustDatagramSocket s = new RustDatagramSocket(UnixDomainSocketAddress.of(dir.resolve("close.sock")))) {
            Task<Void> receiver = Task.start("unix-close", () -> {
                s.receive(new DatagramPacket(new byte[1], 1));
                return null;
            });
            awaitParked("packet receive", receiver);
            s.close();
            assertThrown(receiver.failure(WAIT_MS, "receive after close"), SocketException.class, "Socket closed",
                    "parked receive woken by close");
        }
        RustDatagramSocket[] pair = RustDatagramSocket.pair();
        try {
            Task<SocketAddress> receiver = Task.start("unix-interrupt", () -> pair[0].receive(ByteBuffer.allocate(1)));
            awaitParked("ByteBuffer receive", receiver);
            receiver.thread.interrupt();
            assertThrown(receiver.failure(WAIT_MS, "receive after interrupt"), SocketException.class,
                    "Closed by interrupt", "parked receive interrupted");
            assertTrue(pair[0].isClosed(), "the interrupt closed the socket");
            assertTrue(receiver.interruptedAtEnd, "interrupt status still set");
        } finally {
            pair[0].close();
            pair[1].close();
        }
    }

    /** An interrupt closes the socket of a virtual thread parked in a UDP receive, as the JDK's does. */
    private static void udpInterrupt(DatagramSocket s) throws Exception {
        try (s) {
            Task<Void> receiver = Task.start("udp-interrupt", () -> {
                s.receive(new DatagramPacket(new byte[1], 1));
                return null;
            });
            awaitParked("UDP receive", receiver);
            receiver.thread.interrupt();
            assertThrown(receiver.failure(WAIT_MS, "receive after interrupt"), SocketException.class,
                    "Closed by interrupt", s.getClass().getSimpleName() + " receive interrupted");
            assertTrue(s.isClosed(), "the interrupt closed the socket");
        }
    }

    /** A timed receive parks, times out with the UDP message, and the socket then receives. */
    private static void timeout(Path dir) throws Exception {
        try (RustDatagramSocket s = new RustDatagramSocket(UnixDomainSocketAddress.of(dir.resolve("timeout.sock")));
                RustDatagramSocket peer = new RustDatagramSocket(UnixDomainSocketAddress.of(dir.resolve("peer.sock")))) {
            s.setSoTimeout(VirtualThreadChecks.TIMEOUT_MS);
            long t0 = System.nanoTime();
            Task<SocketAddress> receiver = Task.start("unix-timed", () -> s.receive(ByteBuffer.allocate(1)));
            awaitParked("timed receive", receiver);
            Throwable t = receiver.failure(WAIT_MS, "timed receive");
            long took = TimeUnit.NANOSECONDS.toMillis(receiver.endedAt - t0);
            assertThrown(t, SocketTimeoutException.class, "Receive timed out", "timed receive");
            assertTrue(took >= VirtualThreadChecks.TIMEOUT_MS - 10, "timed out after " + took + " ms");
            peer.send(ByteBuffer.allocate(1), s.getLocalSocketAddress());
            Task<SocketAddress> again = Task.start("unix-again", () -> s.receive(ByteBuffer.allocate(1)));
            assertEquals(peer.getLocalSocketAddress(), again.get(WAIT_MS, "receive after the timeout"));
        }
    }

    /**
     * Sends to a receiver whose queue is full park (connected: until the kernel says there is
     * room; to a name: between tries), and go on once it reads.
     */
    private static void sendFull(Path dir) throws Exception {
        for (boolean connected : new boolean[] {true, false}) {
            UnixDomainSocketAddress to = UnixDomainSocketAddress.of(dir.resolve("full-" + connected + ".sock"));
            try (RustDatagramSocket receiver = new RustDatagramSocket(to);
                    RustDatagramSocket sender = new RustDatagramSocket(
                            UnixDomainSocketAddress.of(dir.resolve("sender-" + connected + ".sock")))) {
                if (connected) {
                    sender.connect(to);
                }
                int count = 200; // far more than a Unix datagram queue holds (10 on Linux by default)
                Task<Integer> flood = Task.start("unix-flood-" + connected, () -> {
                    for (int i = 0; i < count; i++) {
                        sender.send(ByteBuffer.allocate(4).putInt(0, i), connected ? null : to);
                    }
                    return count;
                });
                awaitParked((connected ? "connected" : "unconnected") + " send to a full receiver", flood);
                receiver.setSoTimeout((int) WAIT_MS);
                ByteBuffer in = ByteBuffer.allocate(4);
                for (int i = 0; i < count; i++) {
                    in.clear();
                    receiver.receive(in);
                    assertEquals(i, in.getInt(0), "datagrams in order, none lost");
                }
                assertEquals(count, (int) flood.get(WAIT_MS, "the flood"));
            }
        }
    }
}
