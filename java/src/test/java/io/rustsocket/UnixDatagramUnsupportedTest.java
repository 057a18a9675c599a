package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where AF_UNIX is stream-only (Windows), each way to make a Unix datagram socket says so. */
class UnixDatagramUnsupportedTest {
    @Test
    void windowsRefusesUnixDatagramSocketsAndLeavesNoFileOrDescriptor(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(TestSupport.WINDOWS, "only Windows lacks Unix datagram sockets");
        int fds = TestSupport.processFdCount();
        Path file = dir.resolve("d.sock");
        UnsupportedOperationException bound = assertThrows(UnsupportedOperationException.class,
                () -> new RustDatagramSocket(UnixDomainSocketAddress.of(file)).close());
        assertEquals("Windows has no Unix domain datagram sockets", bound.getMessage());
        UnsupportedOperationException pair = assertThrows(UnsupportedOperationException.class, RustDatagramSocket::pair);
        assertTrue(pair.getMessage().startsWith("Windows has no"), pair.getMessage());
        assertTrue(!file.toFile().exists(), "no socket file made");
        assertEquals(fds, TestSupport.processFdCount(), "descriptors back to the baseline");
    }
}
