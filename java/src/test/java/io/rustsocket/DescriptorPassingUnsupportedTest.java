package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Windows' {@code AF_UNIX} cannot pass descriptors: every descriptor-passing call there throws
 * {@code UnsupportedOperationException}, whatever the socket or file, and sends nothing. The
 * other systems are {@link DescriptorPassingTest}'s.
 */
class DescriptorPassingUnsupportedTest {
    @TempDir
    Path dir;

    private static void unsupported(Executable call) {
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, call);
        assertEquals(UnsupportedOperationException.class, e.getClass(), () -> "wrong class: " + e);
    }

    @Test
    void onWindowsEveryCallIsUnsupported() throws Exception {
        assumeTrue(TestSupport.WINDOWS, "Windows only");
        Path path = Files.writeString(dir.resolve("file.txt"), "f");
        try (FileInputStream file = new FileInputStream(path.toFile());
                FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
                ServerSocket tcp = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket client = new Socket(InetAddress.getLoopbackAddress(), tcp.getLocalPort());
                RustServerSocket rustTcp = new RustServerSocket(0)) {
            unsupported(() -> FileDescriptors.duplicate(channel));
            unsupported(() -> FileDescriptors.duplicate(client));
            unsupported(() -> FileDescriptors.duplicate(tcp));
            unsupported(() -> FileDescriptors.detach(rustTcp));
            assertFalse(rustTcp.isClosed(), "a refused detach leaves the socket open");
            unsupported(() -> FileDescriptors.socket(file.getFD()));
            unsupported(() -> FileDescriptors.socket(FileDescriptor.in));
        }
        if (!TestSupport.UNIX_SOCKETS) {
            return; // Wine makes no AF_UNIX sockets: the calls above are all there is to check
        }
        UnixDomainSocketAddress name = UnixDomainSocketAddress.of(dir.resolve("u.sock"));
        try (RustServerSocket server = new RustServerSocket()) {
            server.bind(name);
            try (RustSocket client = new RustSocket();
                    FileInputStream file = new FileInputStream(Files.writeString(dir.resolve("g.txt"), "g").toFile())) {
                client.connect(name);
                try (RustSocket accepted = server.accept()) {
                    unsupported(() -> client.writeWithDescriptors(new byte[] {1}, 0, 1, file.getFD()));
                    unsupported(() -> accepted.setReceivingDescriptors(true));
                    unsupported(accepted::takeReceivedDescriptors);
                    assertFalse(accepted.isReceivingDescriptors());
                    unsupported(() -> FileDescriptors.detach(client));
                    // nothing was sent: the next byte the other end reads is this one
                    client.getOutputStream().write(2);
                    assertEquals(2, accepted.getInputStream().read());
                }
            }
        }
    }
}
