package io.rustsocket;

import io.rustsocket.internal.RustSocketImpl;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * A {@link Socket} whose system calls are made by rustsocket's Rust engine.
 *
 * <p>It keeps {@code java.net.Socket}'s contract: the same constructors, streams, timeouts,
 * options and exceptions, so code written for {@code Socket} runs unchanged. One addition: when
 * a host name resolves to several addresses, the host-name constructors try each address in
 * turn and fail only when every one failed.
 *
 * <pre>{@code
 * try (Socket s = new RustSocket("localhost", 6379)) {
 *     s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
 * }
 * }</pre>
 */
public class RustSocket extends Socket {
    private final RustSocketImpl impl;

    /**
     * Creates an unconnected socket; connect it with {@link #connect(SocketAddress, int)}.
     *
     * @throws SocketException if the socket cannot be set up
     * @throws UnsatisfiedLinkError if the native library is not available on this platform
     */
    public RustSocket() throws SocketException {
        this(new RustSocketImpl(false));
    }

    /**
     * Creates a socket connected to {@code host} at {@code port}, trying each of the host's
     * addresses in turn.
     *
     * @param host the host name, or {@code null} for the loopback address
     * @param port the remote port
     * @throws UnknownHostException if the host name cannot be resolved
     * @throws IOException if no address of the host accepted the connection
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    public RustSocket(String host, int port) throws IOException {
        this(new RustSocketImpl(false), checkPort(port), new Resolution(host), null);
    }

    /**
     * Creates a socket connected to {@code address} at {@code port}.
     *
     * @param address the remote address
     * @param port the remote port
     * @throws IOException if the connection cannot be made
     * @throws IllegalArgumentException if the port is outside 0..65535
     * @throws NullPointerException if {@code address} is null
     */
    public RustSocket(InetAddress address, int port) throws IOException {
        this(new RustSocketImpl(false), remote(address, port), null);
    }

    /**
     * Creates a socket bound to {@code localAddr}:{@code localPort} and connected to
     * {@code host} at {@code port}, trying each of the host's addresses in turn.
     *
     * @param host the host name, or {@code null} for the loopback address
     * @param port the remote port
     * @param localAddr the local address to bind to, or {@code null} for any
     * @param localPort the local port, or 0 for an ephemeral one
     * @throws IOException if binding or connecting fails
     * @throws IllegalArgumentException if a port is outside 0..65535
     */
    public RustSocket(String host, int port, InetAddress localAddr, int localPort) throws IOException {
        this(new RustSocketImpl(false), checkPort(port), new Resolution(host), new InetSocketAddress(localAddr, localPort));
    }

    /**
     * Creates a socket bound to {@code localAddr}:{@code localPort} and connected to
     * {@code address} at {@code port}.
     *
     * @param address the remote address
     * @param port the remote port
     * @param localAddr the local address to bind to, or {@code null} for any
     * @param localPort the local port, or 0 for an ephemeral one
     * @throws IOException if binding or connecting fails
     * @throws IllegalArgumentException if a port is outside 0..65535
     * @throws NullPointerException if {@code address} is null
     */
    public RustSocket(InetAddress address, int port, InetAddress localAddr, int localPort) throws IOException {
        this(new RustSocketImpl(false), remote(address, port), new InetSocketAddress(localAddr, localPort));
    }

    /** An unconnected socket over the given implementation; used by accept. */
    RustSocket(RustSocketImpl impl) throws SocketException {
        super(impl);
        this.impl = impl;
    }

    /**
     * A snapshot of the kernel's state of this connection ({@code getsockopt(TCP_INFO)}): round-trip
     * times, congestion window, retransmissions, bytes sent, acknowledged and received, and more.
     *
     * @return the snapshot, immutable
     * @throws SocketException if the socket is closed ({@code "Socket is closed"}) or not yet
     *         connected ({@code "Socket is not connected"})
     * @throws IOException if the kernel refuses
     */
    public TcpInfo tcpInfo() throws IOException {
        if (isClosed()) {
            throw new SocketException("Socket is closed");
        }
        if (!isConnected()) {
            throw new SocketException("Socket is not connected");
        }
        return TcpInfo.of(impl.tcpInfo(TcpInfo.FIELDS));
    }

    /**
     * Connects to a literal address. Arguments are checked in the JDK's order: the remote port
     * (when there is an address), then the local address and port, then a null remote address.
     */
    private RustSocket(RustSocketImpl impl, InetSocketAddress remote, SocketAddress local) throws IOException {
        this(impl, requireRemote(remote).getPort(), new Resolution(remote.getAddress()), local);
    }

    private RustSocket(RustSocketImpl impl, int port, Resolution target, SocketAddress local)
            throws IOException {
        super(impl);
        this.impl = impl;
        try {
            if (local != null) {
                bind(local);
            }
            // as in the JDK, a name that does not resolve fails at connect, after the bind
            InetAddress[] addresses = target.addresses();
            impl.setConnectCandidates(addresses);
            connect(new InetSocketAddress(addresses[0], port));
        } catch (IOException | RuntimeException e) {
            try {
                close();
            } catch (IOException ce) {
                e.addSuppressed(ce);
            }
            throw e;
        }
    }

    /** The remote end for the InetAddress constructors; null when the address is null. */
    private static InetSocketAddress remote(InetAddress address, int port) {
        return address != null ? new InetSocketAddress(address, port) : null;
    }

    private static InetSocketAddress requireRemote(InetSocketAddress remote) {
        // the JDK's NullPointerException here has no message
        return Objects.requireNonNull(remote);
    }

    /**
     * A host name resolved to all its addresses through {@link InetAddress} (the JVM's resolver
     * and cache). A name that does not resolve is reported when the addresses are asked for, with
     * the JDK's message (just the host name).
     */
    private static final class Resolution {
        private final InetAddress[] addresses;
        private final UnknownHostException failure;

        Resolution(String host) {
            InetAddress[] found = null;
            UnknownHostException error = null;
            try {
                found = InetAddress.getAllByName(host);
            } catch (UnknownHostException e) {
                error = new UnknownHostException(host);
                error.initCause(e);
            }
            this.addresses = found;
            this.failure = error;
        }

        Resolution(InetAddress address) {
            this.addresses = new InetAddress[] {address};
            this.failure = null;
        }

        InetAddress[] addresses() throws UnknownHostException {
            if (failure != null) {
                throw failure;
            }
            return addresses;
        }
    }

    private static int checkPort(int port) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port out of range:" + port);
        }
        return port;
    }
}
