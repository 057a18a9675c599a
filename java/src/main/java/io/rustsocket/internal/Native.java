package io.rustsocket.internal;

import java.io.FileDescriptor;
import java.io.IOException;
import java.net.SocketImpl;
import java.nio.channels.Channel;
import java.nio.channels.FileChannel;

/**
 * Every native method of the socket engine, implemented in Rust ({@code native/src/exports/}).
 *
 * <p>Descriptors are plain {@code int}s owned by {@link RustSocketImpl}. Methods that may
 * meet a non-blocking descriptor return {@link #UNAVAILABLE} instead of blocking; failures
 * arrive as the Java exception the JDK would throw, mapped in {@code native/src/error.rs}.
 * Callers load the library first with {@link NativeLibrary#ensureLoaded()}.
 */
public final class Native {
    /** Version of the Java/native contract; must equal {@code ABI_VERSION} in the library. */
    static final int ABI_VERSION = 9;

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

    /** Returned by {@link #unixConnect} when the socket is connected. */
    public static final int CONNECTED = 1;

    /** Returned by {@link #unixConnect} when the listener's backlog is full: wait and try again. */
    public static final int CONNECT_BUSY = 2;

    /** Byte 0 of an accepted socket's peer address when the peer is a Unix socket. */
    public static final int UNIX_PEER = 1;

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

    private Native() {}

    /**
     * Starts native logging and returns the library's ABI version; with {@code preferIPv4Stack}
     * every socket opened afterwards is IPv4 only (the JDK's {@code java.net.preferIPv4Stack}).
     */
    static native int init(boolean preferIPv4Stack);

    static native boolean ipv6Available();

    /** What the system offers: bits read by {@link Platform}. */
    static native int capabilities();

    /** The system's name, as messages name it. */
    static native String platform();

    static native int socket(boolean server) throws IOException;

    static native void configureBlocking(int fd, boolean blocking) throws IOException;

    /**
     * How long a {@link #read} on a blocking descriptor waits in the kernel before it returns
     * {@link #UNAVAILABLE} (SO_RCVTIMEO), in milliseconds; 0: without limit.
     */
    static native void setReadTimeout(int fd, int millis) throws IOException;

    static native void bind(int fd, byte[] ip, int scopeId, int port) throws IOException;

    static native void listen(int fd, int backlog) throws IOException;

    /** Returns 1 when connected, 0 when the connection is in progress. */
    static native int connect(int fd, byte[] ip, int scopeId, int port) throws IOException;

    /**
     * Throws the error of a connect that {@link #poll} reported ready; returns if it connected.
     * {@code blockingCall}: whether the JDK would have made this connect one blocking call (a
     * platform thread, no timeout), whose failure it words as the connect's own (on Windows,
     * "Connection refused: connect" rather than the "...: getsockopt" of a connect waited for).
     */
    static native void connectResult(int fd, boolean blockingCall) throws IOException;

    /** Returns the accepted descriptor, its peer written to {@code peer}, or {@link #UNAVAILABLE}. */
    static native int accept(int fd, byte[] peer) throws IOException;

    /**
     * Returns the bytes read, {@link #EOF}, or {@link #UNAVAILABLE}: nothing to read on a
     * non-blocking descriptor, the read timeout ({@link #setReadTimeout}) passed on a blocking
     * one, or a signal ended the wait.
     */
    static native int read(int fd, byte[] b, int off, int len) throws IOException;

    static native int write(int fd, byte[] b, int off, int len) throws IOException;

    /**
     * {@link #read} without the staging copy: the kernel writes straight into {@code b}, which is
     * pinned for this one call; never waits, whatever the descriptor's mode ({@link #UNAVAILABLE}
     * when nothing is there).
     */
    static native int readNow(int fd, byte[] b, int off, int len) throws IOException;

    /** Added to {@link #readNoticingEmpty}'s byte count when the read left the socket empty. */
    static final int EMPTIED = 1 << 30;

    /**
     * {@link #read} that never waits ({@link #UNAVAILABLE} when nothing is there) and adds
     * {@link #EMPTIED} to the byte count when the read left the receive queue empty, on a socket
     * set up by {@link #noticeEmptyReads}.
     */
    static native int readNoticingEmpty(int fd, byte[] b, int off, int len) throws IOException;

    /**
     * Makes the reads of TCP socket {@code fd} able to tell when they empty it (Linux
     * {@code TCP_INQ}); false where the system cannot.
     */
    static native boolean noticeEmptyReads(int fd) throws IOException;

    /** {@link #write} without the staging copy, as {@link #readNow}: sends what fits now. */
    static native int writeNow(int fd, byte[] b, int off, int len) throws IOException;

    static native int sendUrgent(int fd, int data) throws IOException;

    static native int poll(int fd, int events, int timeoutMillis) throws IOException;

    static native void shutdown(int fd, int how) throws IOException;

    /** Resets the connection now (RST), waking every thread blocked on it. */
    static native void abort(int fd) throws IOException;

    static native void close(int fd);

    static native int available(int fd) throws IOException;

    static native void localAddress(int fd, byte[] out) throws IOException;

    static native void peerAddress(int fd, byte[] out) throws IOException;

    /** The option table of {@code native/src/options.rs}: one tab-separated line per option. */
    static native String optionTable();

    /** Reads option {@code id} (a row of {@link OptionTable}) as an int. */
    static native int getOption(int fd, int id) throws IOException;

    /** Sets option {@code id}; the native side checks the value against the row. */
    static native void setOption(int fd, int id, int value) throws IOException;

    /** Reads string option {@code id}. */
    static native String getStringOption(int fd, int id) throws IOException;

    /** Sets string option {@code id}. */
    static native void setStringOption(int fd, int id, String value) throws IOException;

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

    /** Creates a virtual-thread poller and returns its handle. */
    static native long pollerCreate() throws IOException;

    /** Releases a poller made by {@link #pollerCreate}. */
    static native void pollerClose(long poller);

    /** Arms {@code fd} in {@code poller} for one {@link #POLLIN} or {@link #POLLOUT} event. */
    static native void pollerArm(long poller, int fd, int events) throws IOException;

    /**
     * Adds {@code fd} to {@code poller} for good, edge-triggered, for {@link #POLLIN} or
     * {@link #POLLOUT}: reported once each time it becomes ready again, with no re-arming
     * (only where {@link Platform#edgeTriggeredPollers()}).
     */
    static native void pollerWatch(long poller, int fd, int events) throws IOException;

    /** Removes {@code fd} from {@code poller}; nothing happens if it is not there. */
    static native void pollerDelete(long poller, int fd) throws IOException;

    /**
     * Waits for armed descriptors; writes the ready ones into {@code ready}; returns how many.
     * A watched descriptor ({@link #pollerWatch}) whose event said more than ready (urgent data,
     * the peer's FIN, a hang-up, an error) is written as its complement {@code ~fd}.
     */
    static native int pollerWait(long poller, int[] ready, int timeoutMillis) throws IOException;

    /** Opens a Unix domain socket (stream or datagram) and returns its descriptor. */
    static native int unixSocket(boolean datagram, boolean server) throws IOException;

    /** socketpair(2): two connected Unix sockets, written to {@code out[0]} and {@code out[1]}. */
    static native void unixPair(boolean datagram, int[] out) throws IOException;

    /** Binds a Unix socket to a name of {@link UnixNames#toNative}. */
    static native void unixBind(int fd, byte[] name) throws IOException;

    /** Connects a Unix socket: 1 connected, 0 in progress, {@link #CONNECT_BUSY} when the backlog is full. */
    static native int unixConnect(int fd, byte[] name) throws IOException;

    /** The socket's own Unix name: a kind byte, then the name (see {@link UnixNames#fromNative}). */
    static native byte[] unixLocalName(int fd) throws IOException;

    /** The peer's Unix name, as {@link #unixLocalName}. */
    static native byte[] unixPeerName(int fd) throws IOException;

    /** The peer's pid (-1 where unknown), uid and gid, into {@code out[0..3]}. */
    static native void peerCredentials(int fd, long[] out) throws IOException;

    /** A default-file-system path's own bytes, as its system calls see them; null for another class. */
    static native byte[] unixPathBytes(Object path);

    /** The longest Unix socket path, in bytes (the JDK's limit on this system). */
    static native int unixPathLimit();

    /** The name of user (or group) {@code id} in the system's databases, or null if it has none. */
    static native String accountName(long id, boolean group) throws IOException;

    // ---------------------------------------------------------------- descriptor passing

    /** The most descriptors one write carries (Linux's {@code SCM_MAX_FD}, kept everywhere). */
    public static final int MAX_PASSED_DESCRIPTORS = 253;

    /** The ints {@link #unixReadWithDescriptors} writes before the descriptors (count, lost flag). */
    static final int RECEIVED_HEADER = 2;

    /**
     * Writes at most one chunk of {@code b[off..off+len]} with {@code fds[0..count]} attached to
     * its first byte (SCM_RIGHTS); returns the bytes written, or {@link #UNAVAILABLE} when the
     * send buffer is full and nothing was sent.
     */
    static native int unixWriteWithDescriptors(int fd, byte[] b, int off, int len, int[] fds, int count)
            throws IOException;

    /**
     * Reads at most one chunk, taking the descriptors sent with the bytes read: returns the byte
     * count, {@link #EOF} or {@link #UNAVAILABLE}; {@code out[0]} is how many descriptors arrived,
     * {@code out[1]} 1 when some were lost (those that arrived were closed), and they follow from
     * {@code out[2]}. {@code out} holds {@link #RECEIVED_HEADER} + {@link #MAX_PASSED_DESCRIPTORS}
     * ints. Received descriptors are close-on-exec and belong to the caller.
     */
    static native int unixReadWithDescriptors(int fd, byte[] b, int off, int len, int[] out) throws IOException;

    /** A close-on-exec duplicate of the descriptor in {@code descriptor}, checked against a concurrent close. */
    static native int duplicateDescriptor(FileDescriptor descriptor) throws IOException;

    /** A close-on-exec duplicate of descriptor {@code fd}. */
    static native int duplicate(int fd) throws IOException;

    /** A duplicate of a JDK channel's descriptor, or {@link #NO_DESCRIPTOR} for another class or a closed channel. */
    static native int channelDescriptor(Channel channel) throws IOException;

    /** The {@code SocketImpl} of a {@code java.net.Socket} or {@code ServerSocket}, or null. */
    static native SocketImpl socketImpl(Object socket);

    /** A duplicate of a JDK {@code SocketImpl}'s descriptor, or {@link #NO_DESCRIPTOR}. */
    static native int socketImplDescriptor(SocketImpl impl) throws IOException;

    /**
     * A new {@code FileDescriptor} owning {@code fd}, closed by the JDK's streams built on it and,
     * when it becomes unreachable still open, by the JDK's own cleaner. On failure the caller
     * still owns {@code fd}.
     */
    static native FileDescriptor newFileDescriptor(int fd);

    /**
     * Checks that {@code fd} is a connected Unix stream socket and puts it in the mode this
     * library expects ({@code IllegalArgumentException} when it is no connected stream socket,
     * {@code UnsupportedOperationException} for another family).
     */
    static native void adoptSocket(int fd) throws IOException;

    /** Panics inside Rust; exists only in libraries built with the {@code test-hooks} feature. */
    static native int panicForTest();
}
