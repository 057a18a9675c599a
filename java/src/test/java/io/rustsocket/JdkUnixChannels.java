package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * The JDK's Unix channels as the reference for what a Unix name does: what a connect or a bind
 * through them throws, and the check that rustsocket throws the same.
 */
final class JdkUnixChannels {
    private JdkUnixChannels() {}

    /** What the JDK's Unix {@code SocketChannel} throws connecting to {@code to}; null if it connects. */
    static Throwable jdkConnect(SocketAddress to) {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(to);
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** What the JDK's Unix {@code ServerSocketChannel} throws binding to {@code at}; null if it binds. */
    static Throwable jdkListen(SocketAddress at) {
        try (ServerSocketChannel c = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.bind(at);
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** Both threw, the same class and message. */
    static void assertSameFailure(Throwable jdk, Throwable rust) {
        assertNotNull(jdk, "the JDK did not fail");
        assertNotNull(rust, () -> "rustsocket did not fail; the JDK threw " + jdk);
        assertEquals(jdk.getClass(), rust.getClass(), () -> "JDK " + jdk + ", rustsocket " + rust);
        assertEquals(jdk.getMessage(), rust.getMessage());
    }
}
