package io.rustsocket;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The other JVM of {@link DescriptorPassingTest}: it connects to the socket file it is given,
 * receives descriptors there and proves what they are by using them. It reports on stdout, one
 * {@code key=value} line per fact, then {@code DONE}, and exits 0 unless a check failed.
 *
 * <ul>
 *   <li>{@code file PATH}: one byte arrives with a file's descriptor (a file already deleted, so
 *       nothing but the descriptor reaches it); sends back the file's bytes, prefixed with their
 *       count, over the socket, and reports whether the descriptor was close-on-exec.</li>
 *   <li>{@code socket PATH}: one byte arrives with a Unix socket's descriptor; makes a
 *       RustSocket of it, writes its own pid through it and echoes one line back.</li>
 *   <li>{@code lost PATH}: (run with a low descriptor limit) one byte arrives with more
 *       descriptors than this process may open: the read returns, {@code takeReceivedDescriptors}
 *       reports the loss once, and the descriptors that did arrive were closed; then one byte
 *       with one descriptor arrives normally.</li>
 * </ul>
 */
public final class DescriptorPassingChild {
    private DescriptorPassingChild() {}

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (RustSocket s = new RustSocket()) {
            s.connect(UnixDomainSocketAddress.of(args[1]));
            s.setReceivingDescriptors(true);
            switch (args[0]) {
                case "file":
                    file(s, out);
                    break;
                case "socket":
                    socket(s, out);
                    break;
                case "lost":
                    lost(s, out);
                    break;
                default:
                    throw new IllegalArgumentException(args[0]);
            }
        }
        out.println("DONE");
    }

    private static void file(RustSocket s, PrintStream out) throws IOException {
        Map<Integer, String> before = openDescriptors();
        DataInputStream in = new DataInputStream(s.getInputStream());
        out.println("byte=" + (char) in.read());
        for (Map.Entry<Integer, String> e : openDescriptors().entrySet()) {
            if (!e.getValue().equals(before.get(e.getKey()))) {
                out.println("received." + e.getKey() + "=" + e.getValue());
                out.println("cloexec." + e.getKey() + "=" + closeOnExec(e.getKey()));
            }
        }
        FileDescriptor[] fds = s.takeReceivedDescriptors();
        out.println("count=" + fds.length);
        byte[] content;
        try (FileInputStream file = new FileInputStream(fds[0])) {
            content = file.readAllBytes();
        }
        DataOutputStream back = new DataOutputStream(s.getOutputStream());
        back.writeInt(content.length);
        back.write(content);
        back.flush();
        out.println("sent=" + content.length);
    }

    private static void socket(RustSocket s, PrintStream out) throws IOException {
        DataInputStream in = new DataInputStream(s.getInputStream());
        out.println("byte=" + (char) in.read());
        FileDescriptor[] fds = s.takeReceivedDescriptors();
        out.println("count=" + fds.length);
        try (RustSocket passed = FileDescriptors.socket(fds[0])) {
            out.println("descriptorValid=" + fds[0].valid());
            DataOutputStream to = new DataOutputStream(passed.getOutputStream());
            to.writeLong(ProcessHandle.current().pid());
            to.flush();
            DataInputStream from = new DataInputStream(passed.getInputStream());
            String line = from.readUTF();
            to.writeUTF("echo " + line);
            to.flush();
            out.println("line=" + line);
        }
    }

    private static void lost(RustSocket s, PrintStream out) throws IOException {
        int before = TestSupport.processFdCount();
        out.println("first=" + (char) s.getInputStream().read());
        out.println("leaked=" + (TestSupport.processFdCount() - before));
        try {
            FileDescriptor[] fds = s.takeReceivedDescriptors();
            out.println("took=" + fds.length);
        } catch (SocketException e) {
            out.println("lost=" + e.getMessage());
        }
        out.println("again=" + s.takeReceivedDescriptors().length);
        s.getOutputStream().write('r'); // ready for the next one
        out.println("second=" + (char) s.getInputStream().read());
        FileDescriptor[] fds = s.takeReceivedDescriptors();
        out.println("after=" + fds.length);
        for (FileDescriptor d : fds) {
            FileDescriptors.close(d);
        }
    }

    /**
     * The descriptors open in this process and what each is (Linux's /proc/self/fd), less the
     * one listing the directory.
     */
    static Map<Integer, String> openDescriptors() throws IOException {
        Map<Integer, String> fds = new TreeMap<>();
        try (var entries = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                try {
                    String target = Files.readSymbolicLink(p).toString();
                    if (!target.startsWith("/proc/")) {
                        fds.put(Integer.parseInt(p.getFileName().toString()), target);
                    }
                } catch (IOException gone) {
                    // closed while listed
                }
            }
        }
        return fds;
    }

    /** Whether descriptor {@code fd} of this process is close-on-exec (O_CLOEXEC in /proc/self/fdinfo). */
    static boolean closeOnExec(int fd) throws IOException {
        return (TestSupport.fdFlags(fd) & 02000000) != 0;
    }
}
