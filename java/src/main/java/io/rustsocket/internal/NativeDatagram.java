package io.rustsocket.internal;

import java.io.IOException;
import java.net.DatagramPacket;

/**
 * The native methods of the datagram (UDP) engine, implemented in Rust
 * ({@code native/src/exports/datagram.rs} over {@code native/src/udp.rs}).
 *
 * <p>Descriptors are plain {@code int}s owned by {@link RustDatagramSocketImpl}; binding, local
 * addresses, {@code poll}, {@code shutdown}, {@code close} and options go through {@link Native}. Calls on a non-blocking descriptor return {@link Native#UNAVAILABLE}
 * instead of blocking. Addresses travel in the fixed layout of {@link AddressWire}.
 */
public final class NativeDatagram {
    /** Most datagrams one batched call moves (the kernel's {@code UIO_MAXIOV}). */
    public static final int MAX_BATCH = 1024;
    /** Largest UDP payload over IPv4. */
    public static final int MAX_DATAGRAM = 65_507;

    /**
     * Whether the native side reads {@code DatagramPacket}'s buffer length and writes its
     * received length directly (the JDK's private fields); if not, receives fall back to
     * {@code getLength()} and {@code setLength()}.
     */
    static final boolean PACKET_FIELDS;

    static {
        NativeLibrary.ensureLoaded();
        PACKET_FIELDS = init();
    }

    private NativeDatagram() {}

    private static native boolean init();

    static native int open() throws IOException;

    static native void connect(int fd, byte[] ip, int scopeId, int port) throws IOException;

    /** Removes the peer; binds again to {@code ip:port} (the pre-connect address) if the kernel dropped the port. */
    static native void disconnect(int fd, byte[] ip, int scopeId, int port) throws IOException;

    static native void membership(int fd, byte[] group, int ifindex, boolean join) throws IOException;

    /** Sends {@code b[off..off+len]} to {@code target} (wire layout), or to the peer when null. */
    static native int send(int fd, byte[] b, int off, int len, byte[] target) throws IOException;

    /**
     * Receives into {@code b[off..]}, at most {@code cap} bytes, or the packet's buffer length
     * when {@code cap} is negative; writes the sender into {@code sender}; returns the bytes
     * stored or {@link Native#UNAVAILABLE}.
     */
    static native int receive(int fd, DatagramPacket packet, byte[] b, int off, int cap, byte[] sender,
                              boolean peek, boolean connected) throws IOException;

    /** sendmmsg of slots {@code from..from+count}; returns how many were sent or UNAVAILABLE. */
    static native int sendBatch(int fd, byte[] data, int slot, int[] lens, byte[] targets, int from, int count)
            throws IOException;

    /**
     * recvmmsg into slots {@code from..from+count}, waiting for the first datagram only with
     * {@code wait}; a truncated datagram's length is stored as {@code -length - 1}; returns
     * how many or UNAVAILABLE.
     */
    static native int receiveBatch(int fd, byte[] data, int slot, int[] lens, byte[] senders, int from, int count,
                                   boolean connected, boolean wait) throws IOException;

    // ---------------------------------------------------------------- Unix domain datagrams
    // (native/src/exports/local_datagram.rs; opened, bound and paired through Native's Unix calls)

    /** Bytes of {@link #unixReceive}'s sender array: a length byte, then the name as {@link UnixNames} reads it. */
    static final int UNIX_SENDER_LEN = 128;

    /** Connects to the Unix name {@code name} (native form, see {@link UnixNames}); discards what was queued. */
    static native void unixConnect(int fd, byte[] name) throws IOException;

    /** Removes the peer of a Unix datagram socket; its own name stays. */
    static native void unixDisconnect(int fd) throws IOException;

    /**
     * Sends {@code b[off..off+len]} to the Unix name {@code name}, or to the peer when null,
     * without waiting: returns the bytes sent, or {@link Native#UNAVAILABLE} when it cannot go now.
     */
    static native int unixSend(int fd, byte[] b, int off, int len, byte[] name) throws IOException;

    /**
     * Receives into {@code b[off..]}, at most {@code cap} bytes, or the packet's buffer length
     * when {@code cap} is negative; writes the sender's name into {@code sender} (its length,
     * then the name); returns the bytes stored or {@link Native#UNAVAILABLE}. A shutdown's
     * wake-up returns 0 bytes from an unnamed sender, as an empty datagram would.
     */
    static native int unixReceive(int fd, DatagramPacket packet, byte[] b, int off, int cap, byte[] sender,
                                  boolean peek) throws IOException;
}
