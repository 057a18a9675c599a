package io.rustsocket;

import static io.rustsocket.TestSupport.assertThrowsExactly;
import static io.rustsocket.TestSupport.async;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.Reference;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Descriptor passing (SCM_RIGHTS) on Unix RustSockets: files and sockets from one JVM used in
 * another, several at once, what arrives with which read, close-on-exec, no leak when the
 * application ignores what arrives, and bad input refused with standard exceptions before
 * anything is sent. The JDK has no descriptor passing, so there is no JDK row: the proof is
 * that the receiver can use what it got.
 */
class DescriptorPassingTest {
    @TempDir
    Path dir;

    private static final byte[] ONE = {'!'};

    @BeforeAll
    static void descriptorPassing() {
        assumeFalse(TestSupport.WINDOWS, "Windows passes no descriptors: DescriptorPassingUnsupportedTest");
        TestSupport.assumeUnixSockets();
    }

    /** A file in the test directory holding {@code content}. */
    private Path file(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    private static String readAll(FileDescriptor fd) throws IOException {
        try (FileInputStream in = new FileInputStream(fd)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** A connected pair whose second end receives descriptors. */
    private static RustSocket[] receivingPair() throws IOException {
        RustSocket[] p = RustSocket.pair();
        p[1].setReceivingDescriptors(true);
        return p;
    }

    private static void closeAll(Socket... sockets) throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
    }

    // ---------------------------------------------------------------- between two JVMs

    /** Runs {@link DescriptorPassingChild} with {@code args}, optionally under a descriptor limit. */
    private static Process child(Integer nofile, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (nofile != null) {
            cmd.addAll(List.of("bash", "-c", "ulimit -n " + nofile + " && exec \"$@\"", "bash"));
        }
        cmd.addAll(TestSupport.childCommand(DescriptorPassingChild.class, args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    /** The child's key=value lines, once it has finished well (exit 0 and DONE). */
    private static Map<String, String> report(Process child, FutureTask<String> output) throws Exception {
        boolean ended = child.waitFor(30, TimeUnit.SECONDS);
        if (!ended) {
            child.destroyForcibly();
        }
        String text = output.get(10, TimeUnit.SECONDS);
        assertTrue(ended, () -> "the child is still running; output:\n" + text);
        assertEquals(0, child.exitValue(), () -> "the child failed:\n" + text);
        assertTrue(text.contains("DONE"), () -> "the child did not finish:\n" + text);
        Map<String, String> r = new HashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                r.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        r.put("output", text);
        return r;
    }

    private static FutureTask<String> output(Process child) {
        return async("descriptor-child-output",
                () -> new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void aFileOpenedHereIsReadInAnotherJvmThroughTheDescriptorAlone() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fdinfo")), "the child checks its descriptors in /proc");
        byte[] content = TestSupport.randomBytes(200_000);
        Path path = dir.resolve("secret.bin");
        Files.write(path, content);
        UnixDomainSocketAddress name = UnixDomainSocketAddress.of(dir.resolve("file.sock"));
        try (RustServerSocket server = new RustServerSocket();
                FileInputStream file = new FileInputStream(path.toFile())) {
            server.bind(name);
            Files.delete(path); // only the descriptor reaches it now
            Process child = child(null, "file", name.getPath().toString());
            FutureTask<String> output = output(child);
            try (RustSocket s = server.accept()) {
                s.writeWithDescriptors(new byte[] {'F'}, 0, 1, file.getFD());
                DataInputStream in = new DataInputStream(s.getInputStream());
                byte[] back = new byte[in.readInt()];
                in.readFully(back);
                assertArrayEquals(content, back);
            }
            Map<String, String> r = report(child, output);
            assertEquals("F", r.get("byte"), r.get("output"));
            assertEquals("1", r.get("count"), r.get("output"));
            // exactly one descriptor appeared with the read, the deleted file, and close-on-exec
            List<String> received = new ArrayList<>();
            r.forEach((k, v) -> {
                if (k.startsWith("received.")) {
                    received.add(k.substring(9));
                }
            });
            assertEquals(1, received.size(), r.get("output"));
            assertEquals(path + " (deleted)", r.get("received." + received.get(0)), r.get("output"));
            assertEquals("true", r.get("cloexec." + received.get(0)), r.get("output"));
        }
    }

    @Test
    void aSocketPassedToAnotherJvmIsARustSocketThere() throws Exception {
        UnixDomainSocketAddress name = UnixDomainSocketAddress.of(dir.resolve("socket.sock"));
        RustSocket[] pair = RustSocket.pair();
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(name);
            Process child = child(null, "socket", name.getPath().toString());
            FutureTask<String> output = output(child);
            try (RustSocket s = server.accept()) {
                FileDescriptor end = FileDescriptors.detach(pair[1]); // closed here, not shut down
                s.writeWithDescriptors(new byte[] {'S'}, 0, 1, end);
                FileDescriptors.close(end); // the child holds the only copy of that end now
            }
            DataInputStream in = new DataInputStream(pair[0].getInputStream());
            assertEquals(child.pid(), in.readLong(), "the pid written by the child through the passed socket");
            DataOutputStream to = new DataOutputStream(pair[0].getOutputStream());
            to.writeUTF("ping from " + ProcessHandle.current().pid());
            to.flush();
            assertEquals("echo ping from " + ProcessHandle.current().pid(), in.readUTF());
            assertEquals(-1, in.read(), "the child closed its socket");
            Map<String, String> r = report(child, output);
            assertEquals("1", r.get("count"), r.get("output"));
            assertEquals("false", r.get("descriptorValid"), "socket() closes the descriptor it adopted");
        } finally {
            closeAll(pair);
        }
    }

    @Test
    void descriptorsThatDoNotAllArriveAreClosedAndReportedOnce() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "the child counts its descriptors in /proc");
        UnixDomainSocketAddress name = UnixDomainSocketAddress.of(dir.resolve("lost.sock"));
        Path path = file("many.txt", "many");
        try (RustServerSocket server = new RustServerSocket();
                FileInputStream f = new FileInputStream(path.toFile())) {
            server.bind(name);
            // the child may open 128 descriptors, and the JVM already holds some: 253 cannot all arrive
            Process child = child(128, "lost", name.getPath().toString());
            FutureTask<String> output = output(child);
            try (RustSocket s = server.accept()) {
                FileDescriptor[] many = new FileDescriptor[253];
                Arrays.fill(many, f.getFD());
                s.writeWithDescriptors(new byte[] {'L'}, 0, 1, many);
                assertEquals('r', s.getInputStream().read());
                s.writeWithDescriptors(new byte[] {'N'}, 0, 1, f.getFD());
                Map<String, String> r = report(child, output);
                String all = r.get("output");
                assertEquals("L", r.get("first"), all);
                assertEquals("N", r.get("second"), all);
                assertEquals("0", r.get("leaked"), "the descriptors of the cut message stay open: " + all);
                assertTrue(r.getOrDefault("lost", "").startsWith("Descriptors sent with the bytes read were lost"), all);
                assertEquals("0", r.get("again"), all);
                assertEquals("1", r.get("after"), "the socket receives normally afterwards: " + all);
            }
        }
    }

    // ---------------------------------------------------------------- in one JVM

    @Test
    void severalFilesAndAPipeTravelInOneWriteInOrder() throws Exception {
        RustSocket[] p = receivingPair();
        Pipe pipe = Pipe.open();
        try (FileInputStream a = new FileInputStream(file("a.txt", "alpha").toFile());
                FileInputStream b = new FileInputStream(file("b.txt", "beta").toFile())) {
            FileDescriptor sink = FileDescriptors.duplicate(pipe.sink());
            p[0].writeWithDescriptors("abc".getBytes(StandardCharsets.US_ASCII), 0, 3, a.getFD(), b.getFD(), sink);
            FileDescriptors.close(sink);
            assertEquals("abc", new String(p[1].getInputStream().readNBytes(3), StandardCharsets.US_ASCII));
            FileDescriptor[] got = p[1].takeReceivedDescriptors();
            assertEquals(3, got.length);
            assertEquals("alpha", readAll(got[0]));
            assertEquals("beta", readAll(got[1]));
            try (FileOutputStream toPipe = new FileOutputStream(got[2])) {
                toPipe.write("through the pipe".getBytes(StandardCharsets.US_ASCII));
            }
            pipe.sink().close();
            ByteBuffer buf = ByteBuffer.allocate(64);
            while (pipe.source().read(buf) >= 0) {
                // until the last writer closes
            }
            assertEquals("through the pipe", new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII));
            assertEquals(0, p[1].takeReceivedDescriptors().length, "taken once");
        } finally {
            pipe.source().close();
            closeAll(p);
        }
    }

    @Test
    void descriptorsArriveWithTheReadThatReturnsTheFirstByteTheyWereSentWith() throws Exception {
        RustSocket[] p = receivingPair();
        try (FileInputStream one = new FileInputStream(file("one.txt", "1").toFile());
                FileInputStream two = new FileInputStream(file("two.txt", "2").toFile());
                FileInputStream three = new FileInputStream(file("three.txt", "3").toFile())) {
            InputStream in = p[1].getInputStream();
            p[0].getOutputStream().write("plain".getBytes(StandardCharsets.US_ASCII));
            p[0].writeWithDescriptors("with".getBytes(StandardCharsets.US_ASCII), 0, 4, one.getFD());
            assertEquals(0, p[1].takeReceivedDescriptors().length, "nothing read yet");
            assertEquals("plain", new String(in.readNBytes(5), StandardCharsets.US_ASCII));
            assertEquals(0, p[1].takeReceivedDescriptors().length, "the bytes before them carry none");
            assertEquals('w', in.read());
            FileDescriptor[] first = p[1].takeReceivedDescriptors();
            assertEquals(1, first.length);
            assertEquals("1", readAll(first[0]));
            assertEquals(-1, one.read(), "the same open file: reading the copy moved the sender's offset too");
            assertEquals("ith", new String(in.readNBytes(3), StandardCharsets.US_ASCII));
            assertEquals(0, p[1].takeReceivedDescriptors().length);
            // two writes read at once: both sets, in order
            p[0].writeWithDescriptors(new byte[] {'x'}, 0, 1, two.getFD());
            p[0].writeWithDescriptors(new byte[] {'y'}, 0, 1, three.getFD());
            byte[] xy = in.readNBytes(2);
            assertEquals("xy", new String(xy, StandardCharsets.US_ASCII));
            FileDescriptor[] both = p[1].takeReceivedDescriptors();
            assertEquals(2, both.length);
            assertEquals("2", readAll(both[0]));
            assertEquals("3", readAll(both[1]));
        } finally {
            closeAll(p);
        }
    }

    @Test
    void aLongWriteCarriesItsDescriptorsWithItsFirstChunkAndArrivesWhole() throws Exception {
        RustSocket[] p = receivingPair();
        byte[] data = TestSupport.randomBytes(1_000_000);
        try (FileInputStream f = new FileInputStream(file("long.txt", "long").toFile())) {
            FutureTask<byte[]> reader = async("reader", () -> p[1].getInputStream().readNBytes(data.length));
            p[0].writeWithDescriptors(data, 0, data.length, f.getFD());
            assertArrayEquals(data, reader.get(20, TimeUnit.SECONDS));
            FileDescriptor[] got = p[1].takeReceivedDescriptors();
            assertEquals(1, got.length);
            assertEquals("long", readAll(got[0]));
        } finally {
            closeAll(p);
        }
    }

    @Test
    void withoutReceivingTheSystemClosesWhatArrives() throws Exception {
        RustSocket[] p = RustSocket.pair();
        try (FileInputStream f = new FileInputStream(file("ignored.txt", "i").toFile())) {
            DescriptorBaseline baseline = DescriptorBaseline.now();
            InputStream in = p[1].getInputStream();
            for (int i = 0; i < 3000; i++) {
                p[0].writeWithDescriptors(ONE, 0, 1, f.getFD());
                assertEquals('!', in.read());
            }
            assertFalse(p[1].isReceivingDescriptors());
            assertEquals(0, p[1].takeReceivedDescriptors().length);
            baseline.assertBack(); // with both sockets still open
        } finally {
            closeAll(p);
        }
    }

    @Test
    void descriptorsNobodyTakesAreClosedWithTheSocket() throws Exception {
        Path path = file("untaken.txt", "u");
        DescriptorBaseline baseline = DescriptorBaseline.now();
        try (FileInputStream f = new FileInputStream(path.toFile())) {
            RustSocket[] p = receivingPair();
            InputStream in = p[1].getInputStream();
            for (int i = 0; i < 2000; i++) {
                p[0].writeWithDescriptors(ONE, 0, 1, f.getFD());
                assertEquals('!', in.read());
            }
            assertTrue(TestSupport.processFdCount() >= baseline.process + 2000, "they are held until taken");
            closeAll(p);
            // and thousands of short connections, each leaving some behind
            UnixDomainSocketAddress name = UnixDomainSocketAddress.of(dir.resolve("many.sock"));
            try (RustServerSocket server = new RustServerSocket()) {
                server.bind(name);
                for (int i = 0; i < 2000; i++) {
                    try (RustSocket client = new RustSocket()) {
                        client.connect(name);
                        try (RustSocket accepted = server.accept()) {
                            accepted.setReceivingDescriptors(true);
                            client.writeWithDescriptors(ONE, 0, 1, f.getFD(), f.getFD());
                            assertEquals('!', accepted.getInputStream().read());
                        }
                    }
                }
            }
        }
        baseline.assertBack();
    }

    @Test
    void descriptorsDroppedUnclosedAreClosedByTheCleaner() throws Exception {
        Path path = file("dropped.txt", "d");
        DescriptorBaseline baseline = DescriptorBaseline.now();
        try (FileInputStream f = new FileInputStream(path.toFile())) {
            RustSocket[] p = receivingPair();
            InputStream in = p[1].getInputStream();
            for (int i = 0; i < 1000; i++) {
                p[0].writeWithDescriptors(ONE, 0, 1, f.getFD());
                assertEquals('!', in.read());
                assertEquals(1, p[1].takeReceivedDescriptors().length); // taken, then dropped
            }
            // and a socket dropped without close, holding descriptors nobody took
            RustSocket[] q = receivingPair();
            for (int i = 0; i < 100; i++) {
                q[0].writeWithDescriptors(ONE, 0, 1, f.getFD());
            }
            assertEquals(100, q[1].getInputStream().readNBytes(100).length);
            q[0].close();
            Reference.reachabilityFence(q);
            q = null;
            closeAll(p);
        }
        assertTrue(TestSupport.eventually(() -> {
            System.gc();
            return TestSupport.processFdCount() <= baseline.process;
        }), baseline::change);
        baseline.assertBack();
    }

    @Test
    void receivedDescriptorsAreCloseOnExec() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fdinfo")), "read from /proc/self/fdinfo");
        Path path = file("cloexec.txt", "c");
        RustSocket[] p = receivingPair();
        try {
            try (FileInputStream f = new FileInputStream(path.toFile())) {
                p[0].writeWithDescriptors(ONE, 0, 1, f.getFD(), f.getFD());
            }
            assertEquals('!', p[1].getInputStream().read());
            List<Integer> received = new ArrayList<>();
            DescriptorPassingChild.openDescriptors().forEach((fd, target) -> {
                if (target.equals(path.toString())) {
                    received.add(fd);
                }
            });
            assertEquals(2, received.size(), "the sender closed its own: only the two received point there");
            for (int fd : received) {
                assertTrue(DescriptorPassingChild.closeOnExec(fd), "descriptor " + fd + " is close-on-exec");
            }
            for (FileDescriptor d : p[1].takeReceivedDescriptors()) {
                FileDescriptors.close(d);
                assertFalse(d.valid());
            }
        } finally {
            closeAll(p);
        }
    }

    @Test
    void aSocketPassedInTheSameProcessBecomesARustSocket() throws Exception {
        RustSocket[] carrier = receivingPair();
        RustSocket[] passed = RustSocket.pair();
        try {
            FileDescriptor end = FileDescriptors.detach(passed[1]);
            assertTrue(passed[1].isClosed());
            carrier[0].writeWithDescriptors(ONE, 0, 1, end);
            FileDescriptors.close(end);
            assertEquals('!', carrier[1].getInputStream().read());
            FileDescriptor received = carrier[1].takeReceivedDescriptors()[0];
            try (RustSocket s = FileDescriptors.socket(received)) {
                assertFalse(received.valid(), "adopted: the descriptor is closed, the socket has its own");
                assertTrue(s.isConnected());
                assertEquals(UnixDomainSocketAddress.of(""), s.getRemoteSocketAddress());
                s.getOutputStream().write(7);
                assertEquals(7, passed[0].getInputStream().read());
                passed[0].getOutputStream().write(8);
                assertEquals(8, s.getInputStream().read());
                s.setSoTimeout(100);
                assertThrows(SocketTimeoutException.class, () -> s.getInputStream().read());
                assertEquals(ProcessHandle.current().pid(), s.peerCredentials().pid());
            }
            assertEquals(-1, passed[0].getInputStream().read(), "closing the adopted socket ends the connection");
        } finally {
            closeAll(carrier);
            closeAll(passed);
        }
    }

    @Test
    void closingTheSendersCopyShutsTheConnectionDownEverywhereAsTheJdksCloseDoes() throws Exception {
        RustSocket[] carrier = receivingPair();
        RustSocket[] passed = RustSocket.pair();
        try {
            FileDescriptor copy = FileDescriptors.duplicate(passed[1]);
            carrier[0].writeWithDescriptors(ONE, 0, 1, copy);
            FileDescriptors.close(copy);
            passed[1].close(); // a FIN, as the JDK's close sends, for every holder of the socket
            assertEquals('!', carrier[1].getInputStream().read());
            try (RustSocket s = FileDescriptors.socket(carrier[1].takeReceivedDescriptors()[0])) {
                assertEquals(-1, passed[0].getInputStream().read(), "the peer saw the FIN");
                assertThrowsExactly(SocketException.class, "Broken pipe", () -> s.getOutputStream().write(1));
            }
        } finally {
            closeAll(carrier);
            closeAll(passed);
        }
    }

    @Test
    void detachRefusesASocketInUseOrClosed() throws Exception {
        RustSocket[] p = RustSocket.pair();
        try {
            FutureTask<Integer> reader = new FutureTask<>(() -> p[1].getInputStream().read());
            Thread t = new Thread(reader, "reader");
            t.setDaemon(true);
            t.start();
            // inside the read's system call (or parked in the poller, where reads wait there)
            assertTrue(TestSupport.eventually(() -> Arrays.stream(t.getStackTrace()).anyMatch(
                    f -> f.getClassName().endsWith(".Native") || f.getClassName().endsWith(".Poller"))));
            assertThrowsExactly(SocketException.class, "Socket is in use by another thread",
                    () -> FileDescriptors.detach(p[1]));
            assertFalse(p[1].isClosed());
            p[0].getOutputStream().write(5);
            assertEquals(5, reader.get(10, TimeUnit.SECONDS));
            FileDescriptor d = FileDescriptors.detach(p[1]);
            assertThrowsExactly(SocketException.class, "Socket is closed", () -> FileDescriptors.detach(p[1]));
            // the connection lives on in d
            try (FileOutputStream out = new FileOutputStream(d)) {
                out.write(6);
            }
            assertEquals(6, p[0].getInputStream().read());
            assertEquals(-1, p[0].getInputStream().read(), "the last copy closed: now the connection ends");
        } finally {
            closeAll(p);
        }
        try (RustServerSocket server = new RustServerSocket()) {
            assertThrowsExactly(SocketException.class, "Socket has no descriptor yet", () -> FileDescriptors.detach(server));
        }
    }

    @Test
    void aListenerHandedOverListensOn() throws Exception {
        UnixDomainSocketAddress name = UnixDomainSocketAddress.of(dir.resolve("handover.sock"));
        RustServerSocket server = new RustServerSocket();
        server.bind(name);
        FileDescriptor listening = FileDescriptors.detach(server);
        assertTrue(server.isClosed());
        try (RustSocket client = new RustSocket()) {
            client.connect(name); // queued by the listener that lives on in the descriptor
        } finally {
            FileDescriptors.close(listening);
        }
        try (RustSocket late = new RustSocket()) {
            assertThrows(java.net.ConnectException.class, () -> late.connect(name), "its last copy is closed");
        }
    }

    @Test
    void theJdksUnixChannelsAndSocketsPassToo() throws Exception {
        RustSocket[] carrier = receivingPair();
        UnixDomainSocketAddress name = UnixDomainSocketAddress.of(dir.resolve("jdk.sock"));
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(name);
            try (SocketChannel jdkClient = SocketChannel.open(name);
                    SocketChannel jdkServer = listener.accept()) {
                // a JDK Unix channel's end, used as a RustSocket on the other side
                FileDescriptor end = FileDescriptors.duplicate(jdkClient);
                carrier[0].writeWithDescriptors(ONE, 0, 1, end);
                FileDescriptors.close(end);
                assertEquals('!', carrier[1].getInputStream().read());
                try (RustSocket s = FileDescriptors.socket(carrier[1].takeReceivedDescriptors()[0])) {
                    s.getOutputStream().write("via rust".getBytes(StandardCharsets.US_ASCII));
                    ByteBuffer buf = ByteBuffer.allocate(8);
                    while (buf.hasRemaining()) {
                        jdkServer.read(buf);
                    }
                    assertEquals("via rust", new String(buf.array(), StandardCharsets.US_ASCII));
                }
            }
        }
        // a JDK TCP socket: written through a FileOutputStream on the descriptor received
        try (ServerSocket tcp = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket jdkClient = new Socket(InetAddress.getLoopbackAddress(), tcp.getLocalPort());
                Socket jdkServer = tcp.accept()) {
            carrier[0].writeWithDescriptors(ONE, 0, 1, FileDescriptors.duplicate(jdkClient));
            assertEquals('!', carrier[1].getInputStream().read());
            FileDescriptor d = carrier[1].takeReceivedDescriptors()[0];
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> FileDescriptors.socket(d));
            assertTrue(e.getMessage().contains("is not a Unix domain socket"), e.getMessage());
            assertTrue(d.valid(), "a refused descriptor stays the caller's");
            try (FileOutputStream raw = new FileOutputStream(d)) {
                raw.write("tcp".getBytes(StandardCharsets.US_ASCII));
            }
            assertEquals("tcp", new String(jdkServer.getInputStream().readNBytes(3), StandardCharsets.US_ASCII));
            // a JDK server socket's descriptor: a TCP listener, refused as a TCP socket
            FileDescriptor listening = FileDescriptors.duplicate(tcp);
            assertThrows(UnsupportedOperationException.class, () -> FileDescriptors.socket(listening));
            FileDescriptors.close(listening);
            // a TCP SocketChannel's Socket adaptor reaches the channel's descriptor
            try (SocketChannel channel = SocketChannel.open(tcp.getLocalSocketAddress());
                    Socket accepted = tcp.accept()) {
                FileDescriptor viaAdaptor = FileDescriptors.duplicate(channel.socket());
                try (FileOutputStream raw = new FileOutputStream(viaAdaptor)) {
                    raw.write('a');
                }
                assertEquals('a', accepted.getInputStream().read());
            }
        } finally {
            closeAll(carrier);
        }
    }

    @Test
    void fileChannelsOfEveryModePass() throws Exception {
        Path path = file("channel.txt", "");
        RustSocket[] p = receivingPair();
        try (FileChannel writeOnly = FileChannel.open(path, StandardOpenOption.WRITE);
                FileChannel readOnly = FileChannel.open(path, StandardOpenOption.READ)) {
            FileDescriptor w = FileDescriptors.duplicate(writeOnly);
            FileDescriptor r = FileDescriptors.duplicate(readOnly);
            p[0].writeWithDescriptors(ONE, 0, 1, w, r);
            FileDescriptors.close(w);
            FileDescriptors.close(r);
            assertEquals('!', p[1].getInputStream().read());
            FileDescriptor[] got = p[1].takeReceivedDescriptors();
            try (FileChannel out = new FileOutputStream(got[0]).getChannel()) {
                out.write(ByteBuffer.wrap("written there".getBytes(StandardCharsets.US_ASCII)));
            }
            assertEquals("written there", readAll(got[1]));
        } finally {
            closeAll(p);
        }
    }

    @Test
    void aClosedChannelHasNoDescriptorToPass() throws Exception {
        FileChannel channel = FileChannel.open(file("gone.txt", "g"), StandardOpenOption.READ);
        channel.close();
        assertThrows(ClosedChannelException.class, () -> FileDescriptors.duplicate(channel));
    }

    @Test
    void aReadThatReceivesWaitsTimesOutAndIsWokenByCloseAsAnyRead() throws Exception {
        RustSocket[] p = receivingPair();
        try {
            p[1].setSoTimeout(100);
            assertThrowsExactly(SocketTimeoutException.class, "Read timed out", () -> p[1].getInputStream().read());
            p[1].setSoTimeout(0);
            FutureTask<Object> blocked = async("blocked-reader", () -> {
                try {
                    return p[1].getInputStream().read();
                } catch (IOException e) {
                    return e;
                }
            });
            Thread.sleep(100);
            p[1].close();
            Object r = blocked.get(10, TimeUnit.SECONDS);
            assertTrue(r instanceof SocketException, () -> "the read ended with " + r);
            assertEquals("Socket closed", ((SocketException) r).getMessage());
        } finally {
            closeAll(p);
        }
    }

    @Test
    void virtualThreadsWaitingToReceiveLeaveTheirCarriersFree() throws Exception {
        assumeTrue(Virtual.AVAILABLE, "virtual threads");
        // as many readers as carriers: if a waiting reader held its carrier, the virtual writer
        // below would never run
        int carriers = Runtime.getRuntime().availableProcessors();
        List<RustSocket[]> pairs = new ArrayList<>();
        List<FutureTask<String>> readers = new ArrayList<>();
        List<FileInputStream> files = new ArrayList<>();
        try {
            for (int i = 0; i < carriers; i++) {
                files.add(new FileInputStream(file("virtual" + i + ".txt", "v" + i).toFile()));
                RustSocket[] p = receivingPair();
                pairs.add(p);
                FutureTask<String> reader = new FutureTask<>(() -> {
                    assertEquals('!', p[1].getInputStream().read());
                    return readAll(p[1].takeReceivedDescriptors()[0]);
                });
                readers.add(reader);
                Virtual.unstarted("receiver-" + i, reader).start();
            }
            Thread.sleep(200);
            FutureTask<Void> writer = new FutureTask<>(() -> {
                for (int i = 0; i < carriers; i++) {
                    pairs.get(i)[0].writeWithDescriptors(ONE, 0, 1, files.get(i).getFD());
                }
                return null;
            });
            Virtual.unstarted("sender", writer).start();
            writer.get(10, TimeUnit.SECONDS);
            for (int i = 0; i < carriers; i++) {
                assertEquals("v" + i, readers.get(i).get(10, TimeUnit.SECONDS));
            }
        } finally {
            for (RustSocket[] p : pairs) {
                closeAll(p);
            }
            for (FileInputStream f : files) {
                f.close();
            }
        }
    }

    // ---------------------------------------------------------------- bad input

    @Test
    void badArgumentsAreRefusedAndNothingIsSent() throws Exception {
        RustSocket[] p = receivingPair();
        try (FileInputStream f = new FileInputStream(file("bad.txt", "b").toFile())) {
            FileDescriptor good = f.getFD();
            RustSocket s = p[0];
            assertThrows(NullPointerException.class, () -> s.writeWithDescriptors(null, 0, 1, good));
            assertThrows(NullPointerException.class, () -> s.writeWithDescriptors(ONE, 0, 1, (FileDescriptor[]) null));
            assertThrows(NullPointerException.class, () -> s.writeWithDescriptors(ONE, 0, 1, good, null));
            assertThrows(IndexOutOfBoundsException.class, () -> s.writeWithDescriptors(ONE, 1, 1, good));
            assertThrows(IndexOutOfBoundsException.class, () -> s.writeWithDescriptors(ONE, -1, 1, good));
            assertThrowsExactly(IllegalArgumentException.class,
                    "descriptors travel with data on a stream socket: write at least one byte with them",
                    () -> s.writeWithDescriptors(ONE, 0, 0, good));
            FileDescriptor[] tooMany = new FileDescriptor[254];
            Arrays.fill(tooMany, good);
            assertThrowsExactly(IllegalArgumentException.class,
                    "at most 253 descriptors travel with one write, not 254",
                    () -> s.writeWithDescriptors(ONE, 0, 1, tooMany));
            assertThrowsExactly(IllegalArgumentException.class,
                    "the FileDescriptor is not valid (closed, or never opened)",
                    () -> s.writeWithDescriptors(ONE, 0, 1, good, new FileDescriptor()));
            FileInputStream closed = new FileInputStream(file("closed.txt", "c").toFile());
            FileDescriptor closedFd = closed.getFD();
            closed.close();
            assertThrowsExactly(IllegalArgumentException.class,
                    "the FileDescriptor is not valid (closed, or never opened)",
                    () -> s.writeWithDescriptors(ONE, 0, 1, closedFd));
            assertEquals(0, p[1].getInputStream().available(), "nothing was sent");
            // no descriptors at all: a plain write; nothing at all: nothing
            s.writeWithDescriptors(ONE, 0, 0);
            s.writeWithDescriptors(ONE, 0, 1);
            assertEquals('!', p[1].getInputStream().read());
            assertEquals(0, p[1].takeReceivedDescriptors().length);
            // the most one write carries
            FileDescriptor[] most = Arrays.copyOf(tooMany, 253);
            s.writeWithDescriptors(ONE, 0, 1, most);
            assertEquals('!', p[1].getInputStream().read());
            FileDescriptor[] got = p[1].takeReceivedDescriptors();
            assertEquals(253, got.length);
            for (FileDescriptor d : got) {
                FileDescriptors.close(d);
            }
        } finally {
            closeAll(p);
        }
    }

    @Test
    void theSocketsStateIsCheckedAsForAWrite() throws Exception {
        FileDescriptor in = FileDescriptor.in;
        RustSocket[] p = RustSocket.pair();
        p[0].shutdownOutput();
        assertThrowsExactly(SocketException.class, "Socket output is shutdown",
                () -> p[0].writeWithDescriptors(ONE, 0, 1, in));
        closeAll(p);
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> p[0].writeWithDescriptors(ONE, 0, 1, in));
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> p[0].setReceivingDescriptors(true));
        assertThrowsExactly(SocketException.class, "Socket is closed", p[0]::takeReceivedDescriptors);
        try (RustSocket unconnected = new RustSocket()) {
            assertThrowsExactly(SocketException.class, "Socket is not connected",
                    () -> unconnected.writeWithDescriptors(ONE, 0, 1, in));
            assertThrowsExactly(SocketException.class, "Socket is not connected",
                    () -> unconnected.setReceivingDescriptors(true));
        }
        try (RustServerSocket tcp = new RustServerSocket(0);
                RustSocket s = new RustSocket(InetAddress.getLoopbackAddress(), tcp.getLocalPort())) {
            assertThrowsExactly(UnsupportedOperationException.class, "Not a Unix domain socket",
                    () -> s.writeWithDescriptors(ONE, 0, 1, in));
            assertThrowsExactly(UnsupportedOperationException.class, "Not a Unix domain socket",
                    () -> s.setReceivingDescriptors(true));
            assertThrowsExactly(UnsupportedOperationException.class, "Not a Unix domain socket",
                    s::takeReceivedDescriptors);
            assertFalse(s.isReceivingDescriptors());
        }
    }

    @Test
    void whatIsNotAConnectedUnixSocketDoesNotBecomeOne() throws Exception {
        Path path = file("plain.txt", "p");
        try (FileInputStream f = new FileInputStream(path.toFile())) {
            FileDescriptor copy = FileDescriptors.duplicate(f.getChannel());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FileDescriptors.socket(copy));
            assertTrue(e.getMessage().endsWith("is not a socket"), e.getMessage());
            assertTrue(copy.valid(), "a refused descriptor stays the caller's");
            FileDescriptors.close(copy);
        }
        assertThrowsExactly(IllegalArgumentException.class, "the FileDescriptor is not valid (closed, or never opened)",
                () -> FileDescriptors.socket(new FileDescriptor()));
        assertThrows(NullPointerException.class, () -> FileDescriptors.socket(null));
        UnixDomainSocketAddress name = UnixDomainSocketAddress.of(dir.resolve("listening.sock"));
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(name);
            FileDescriptor listening = FileDescriptors.duplicate(server);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FileDescriptors.socket(listening));
            assertTrue(e.getMessage().endsWith("is a listening socket, not a connected one"), e.getMessage());
            FileDescriptors.close(listening);
        }
        try (Socket unconnected = new Socket()) {
            assertThrows(SocketException.class, () -> FileDescriptors.duplicate(unconnected));
        }
        Socket closed = new Socket();
        closed.close();
        assertThrowsExactly(SocketException.class, "Socket is closed", () -> FileDescriptors.duplicate(closed));
        try (RustSocket unconnected = new RustSocket()) {
            assertThrows(SocketException.class, () -> FileDescriptors.duplicate(unconnected));
        }
    }
}
