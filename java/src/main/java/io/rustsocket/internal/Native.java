package io.rustsocket.internal;

import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * Every native method of rustsocket, implemented in Rust ({@code native/src/exports.rs}).
 *
 * <p>Descriptors are plain {@code int}s owned by {@link RustSocketImpl}. Methods that may
 * meet a non-blocking descriptor return {@link #UNAVAILABLE} instead of blocking; failures
 * arrive as the Java exception the JDK would throw, mapped in {@code native/src/error.rs}.
 * Callers load the library first with {@link NativeLibrary#ensureLoaded()}.
 */
public final class Native {
    /** Version of the Java/native contract; must equal {@code ABI_VERSION} in the library. */
    static final int ABI_VERSION = 3;

    /** Returned by {@link #read} at end of stream. */
    public static final int EOF = -1;
    /** Returned when a non-blocking call would have blocked. */
    public static final int UNAVAILABLE = -2;

    /** Bit of {@link #socketFactoriesSet}: {@code Socket.setSocketImplFactory} was called. */
    public static final int SOCKET_FACTORY_SET = 1;
    /** Bit of {@link #socketFactoriesSet}: {@code ServerSocket.setSocketFactory} was called. */
    public static final int SERVER_SOCKET_FACTORY_SET = 2;
    /** Returned by {@link #socketFactoriesSet} when the JDK's fields could not be read. */
    public static final int FACTORIES_UNKNOWN = -1;

    /** Returned by {@link #sendFile} when the file cannot be spliced (a pipe, a directory). */
    public static final int SENDFILE_UNSUPPORTED = -3;
    /** Returned by {@link #fileChannelDescriptor}: no descriptor to use (see there). */
    public static final int NO_DESCRIPTOR = -1;
    /** Returned by {@link #fileChannelDescriptor}: the channel's file is open for writing only. */
    public static final int NOT_READABLE = -3;

    /** {@code poll} event: readable, or a connection is waiting to be accepted. */
    public static final int POLLIN = 0x001;
    /** {@code poll} event: writable, or a connect finished. */
    public static final int POLLOUT = 0x004;

    /** {@code shutdown} direction: receive. */
    public static final int SHUT_RD = 0;
    /** {@code shutdown} direction: send. */
    public static final int SHUT_WR = 1;
    /** {@code shutdown} direction: both. */
    public static final int SHUT_RDWR = 2;

    /** Option ids shared with {@code IntOption} in {@code native/src/sock.rs}. */
    public static final int OPT_TCP_NODELAY = 1;
    /** SO_KEEPALIVE. */
    public static final int OPT_SO_KEEPALIVE = 2;
    /** SO_RCVBUF. */
    public static final int OPT_SO_RCVBUF = 3;
    /** SO_SNDBUF. */
    public static final int OPT_SO_SNDBUF = 4;
    /** SO_LINGER: -1 off, else seconds. */
    public static final int OPT_SO_LINGER = 5;
    /** SO_REUSEADDR. */
    public static final int OPT_SO_REUSEADDR = 6;
    /** SO_REUSEPORT. */
    public static final int OPT_SO_REUSEPORT = 7;
    /** IP_TOS / IPV6_TCLASS. */
    public static final int OPT_IP_TOS = 8;
    /** SO_OOBINLINE. */
    public static final int OPT_SO_OOBINLINE = 9;
    /** TCP_KEEPIDLE (seconds). */
    public static final int OPT_TCP_KEEPIDLE = 10;
    /** TCP_KEEPINTVL (seconds). */
    public static final int OPT_TCP_KEEPINTERVAL = 11;
    /** TCP_KEEPCNT. */
    public static final int OPT_TCP_KEEPCOUNT = 12;
    /** TCP_QUICKACK. */
    public static final int OPT_TCP_QUICKACK = 13;
    /** SO_INCOMING_NAPI_ID (read only). */
    public static final int OPT_SO_INCOMING_NAPI_ID = 14;
    // 15..99: the Linux options of io.rustsocket.RustSocketOptions
    /** TCP_USER_TIMEOUT (milliseconds). */
    public static final int OPT_TCP_USER_TIMEOUT = 15;
    /** TCP_CORK. */
    public static final int OPT_TCP_CORK = 16;
    /** TCP_NOTSENT_LOWAT (bytes). */
    public static final int OPT_TCP_NOTSENT_LOWAT = 17;
    /** TCP_MAXSEG (bytes). */
    public static final int OPT_TCP_MAXSEG = 18;
    /** TCP_FASTOPEN (listener queue length). */
    public static final int OPT_TCP_FASTOPEN = 19;
    /** TCP_FASTOPEN_CONNECT. */
    public static final int OPT_TCP_FASTOPEN_CONNECT = 20;
    /** TCP_DEFER_ACCEPT (seconds). */
    public static final int OPT_TCP_DEFER_ACCEPT = 21;
    /** IP_TTL / IPV6_UNICAST_HOPS. */
    public static final int OPT_IP_TTL = 22;
    /** IPV6_V6ONLY. */
    public static final int OPT_IPV6_V6ONLY = 23;
    /** IP_FREEBIND. */
    public static final int OPT_IP_FREEBIND = 24;
    /** IP_BIND_ADDRESS_NO_PORT. */
    public static final int OPT_IP_BIND_ADDRESS_NO_PORT = 25;
    /** SO_MARK. */
    public static final int OPT_SO_MARK = 26;
    /** SO_INCOMING_CPU. */
    public static final int OPT_SO_INCOMING_CPU = 27;
    /** SO_BUSY_POLL (microseconds). */
    public static final int OPT_SO_BUSY_POLL = 28;
    /** TCP_CONGESTION, a string option ({@link #getStringOption}). */
    public static final int OPT_TCP_CONGESTION = 50;
    /** SO_BINDTODEVICE, a string option. */
    public static final int OPT_SO_BINDTODEVICE = 51;

    private Native() {}

    static native int init();

    static native boolean ipv6Available();

    static native int socket(boolean server) throws IOException;

    static native void configureBlocking(int fd, boolean blocking) throws IOException;

    static native void bind(int fd, byte[] ip, int scopeId, int port) throws IOException;

    static native void listen(int fd, int backlog) throws IOException;

    /** Returns 1 when connected, 0 when the connection is in progress. */
    static native int connect(int fd, byte[] ip, int scopeId, int port) throws IOException;

    /** Throws the error of a connect that {@link #poll} reported ready; returns if it connected. */
    static native void connectResult(int fd) throws IOException;

    /** Returns the accepted descriptor, its peer written to {@code peer}, or {@link #UNAVAILABLE}. */
    static native int accept(int fd, byte[] peer) throws IOException;

    static native int read(int fd, byte[] b, int off, int len) throws IOException;

    static native int write(int fd, byte[] b, int off, int len) throws IOException;

    static native int sendUrgent(int fd, int data) throws IOException;

    static native int poll(int fd, int events, int timeoutMillis) throws IOException;

    static native void shutdown(int fd, int how) throws IOException;

    /** Resets the connection now (RST), waking every thread blocked on it. */
    static native void abort(int fd) throws IOException;

    static native void close(int fd);

    static native int available(int fd) throws IOException;

    static native void localAddress(int fd, byte[] out) throws IOException;

    static native void peerAddress(int fd, byte[] out) throws IOException;

    static native int getOption(int fd, int option) throws IOException;

    static native void setOption(int fd, int option, int value) throws IOException;

    /** Writes a string option's ASCII value into {@code out} (truncated to fit); returns its length. */
    static native int getStringOption(int fd, int option, byte[] out) throws IOException;

    static native void setStringOption(int fd, int option, byte[] value) throws IOException;

    /** Writes the TCP_INFO values into {@code out} in {@code io.rustsocket.TcpInfo}'s order; returns how many. */
    static native int tcpInfo(int fd, long[] out) throws IOException;
    /**
     * sendfile(2): up to {@code count} bytes of the file {@code fileFd} from {@code position} on
     * socket {@code fd}, without copying them through user memory. Returns the bytes sent (0 at
     * or past the end of the file), {@link #UNAVAILABLE} when a non-blocking socket's send
     * buffer is full, or {@link #SENDFILE_UNSUPPORTED}.
     */
    static native long sendFile(int fd, int fileFd, long position, long count) throws IOException;

    /**
     * A close-on-exec duplicate of the descriptor behind a JDK {@code FileChannel} (the
     * {@code sun.nio.ch.FileChannelImpl} that {@code FileChannel.open},
     * {@code FileInputStream.getChannel} and {@code RandomAccessFile.getChannel} return), which
     * the caller must close. {@link #NO_DESCRIPTOR} for any other class, for a JDK whose fields
     * differ, or for a closed channel; {@link #NOT_READABLE} for a write-only one.
     */
    static native int fileChannelDescriptor(FileChannel channel) throws IOException;

    /**
     * Which of the JDK's socket implementation factories are already set, read from the private
     * static fields {@code java.net.Socket.factory} and {@code java.net.ServerSocket.factory}:
     * {@link #SOCKET_FACTORY_SET} and {@link #SERVER_SOCKET_FACTORY_SET} or'ed, or
     * {@link #FACTORIES_UNKNOWN} when this JDK has no such fields.
     */
    public static native int socketFactoriesSet();

    /**
     * poll(2) on the first {@code count} (at most 64) descriptors of {@code fds}; the events of
     * each go into {@code revents}. Returns how many are ready, 0 on timeout or signal.
     */
    static native int pollAny(int[] fds, int count, int events, int timeoutMillis, int[] revents) throws IOException;

    static native int epollCreate() throws IOException;

    /** Arms {@code fd} in {@code epfd} for one {@link #POLLIN} or {@link #POLLOUT} event. */
    static native void epollArm(int epfd, int fd, int events) throws IOException;

    /** Waits for armed descriptors; writes the ready ones into {@code ready}; returns how many. */
    static native int epollWait(int epfd, int[] ready, int timeoutMillis) throws IOException;

    /** Panics inside Rust; exists only in libraries built with the {@code test-hooks} feature. */
    static native int panicForTest();
}
