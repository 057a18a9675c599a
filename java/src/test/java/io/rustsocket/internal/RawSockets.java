package io.rustsocket.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;

/** Connected TCP pairs on raw descriptors, for the tests that call the natives directly. */
final class RawSockets {
    static final byte[] LOOPBACK = {127, 0, 0, 1};

    static {
        NativeLibrary.ensureLoaded();
    }

    private RawSockets() {}

    /** A blocking client connected to a blocking accepted socket: {client, accepted, listener}. */
    static int[] pair() throws IOException {
        int l = Native.socket(true);
        Native.bind(l, LOOPBACK, 0, 0);
        Native.listen(l, 8);
        int c = Native.socket(false);
        if (Native.connect(c, LOOPBACK, 0, AddressWire.localOf(l).getPort()) == 0) {
            assertTrue(Native.poll(c, Native.POLLOUT, 5000) != 0, "connect did not finish");
            Native.connectResult(c, false);
        }
        Native.configureBlocking(c, true);
        int s = Native.accept(l, new byte[AddressWire.LEN]);
        assertTrue(s >= 0);
        return new int[] {c, s, l};
    }

    /** Closes every descriptor of {@code pairs}. */
    static void closeAll(int[]... pairs) {
        for (int[] p : pairs) {
            for (int fd : p) {
                Native.close(fd);
            }
        }
    }
}
