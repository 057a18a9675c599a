package io.rustsocket.internal;

/**
 * What the system under the native library offers, read once from it. On Linux a shutdown wakes
 * every call blocked on the socket, so platform threads block in the kernel (one system call per
 * read) and close() still wakes them; elsewhere sockets stay non-blocking and platform threads
 * wait in the {@link Poller} as virtual threads do, so that close() can wake them by unparking
 * them.
 */
public final class Platform {
    private static final int SHUTDOWN_WAKES = 1;
    private static final int ZERO_COPY_SENDFILE = 2;
    private static final int TCP_INFO = 4;
    private static final int BATCH_SYSCALLS = 8;
    private static final int EDGE_POLLERS = 16;

    private static final int CAPABILITIES;
    /** The system's name, as messages name it ("Linux", "macOS", "Windows"). */
    public static final String NAME;

    static {
        NativeLibrary.ensureLoaded();
        CAPABILITIES = Native.capabilities();
        NAME = Native.platform();
    }

    private Platform() {}

    /** Whether platform threads may block in the kernel: a shutdown wakes every blocked call. */
    static boolean shutdownWakesBlockedCalls() {
        return (CAPABILITIES & SHUTDOWN_WAKES) != 0;
    }

    /** Whether {@code sendFile} moves bytes without copying them through user memory. */
    public static boolean zeroCopySendFile() {
        return (CAPABILITIES & ZERO_COPY_SENDFILE) != 0;
    }

    /** Whether {@code tcpInfo()} has a kernel snapshot to read. */
    public static boolean hasTcpInfo() {
        return (CAPABILITIES & TCP_INFO) != 0;
    }

    /**
     * Whether the virtual-thread pollers keep each descriptor registered, edge-triggered
     * (epoll), rather than arming it one-shot before every park (kqueue and AFD through the
     * {@code polling} crate).
     */
    static boolean edgeTriggeredPollers() {
        return (CAPABILITIES & EDGE_POLLERS) != 0;
    }

    /** Whether a datagram batch is one system call (sendmmsg/recvmmsg) rather than a loop. */
    public static boolean batchSystemCalls() {
        return (CAPABILITIES & BATCH_SYSCALLS) != 0;
    }

    /** Whether Unix stream sockets pass descriptors ({@code SCM_RIGHTS}): everywhere but Windows. */
    static boolean descriptorPassing() {
        return !"Windows".equals(NAME);
    }

    /** Whether Unix sockets have an abstract namespace (Linux's, names that start with a NUL). */
    public static boolean abstractUnixNames() {
        return "Linux".equals(NAME);
    }

    /** Whether a connected Unix socket can tell who its peer is (not on Windows). */
    public static boolean peerCredentials() {
        return !"Windows".equals(NAME);
    }
}
