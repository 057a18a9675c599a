package io.rustsocket;

import io.rustsocket.internal.RustSocketImpl;
import io.rustsocket.internal.UnixNames;
import io.rustsocket.internal.UnixSockets;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.util.Set;

/**
 * A {@link ServerSocket} whose system calls are made by rustsocket's Rust engine.
 * {@link #accept()} returns {@link RustSocket}s.
 *
 * <pre>{@code
 * try (RustServerSocket server = new RustServerSocket(0)) {
 *     try (RustSocket client = server.accept()) {
 *         client.getInputStream().transferTo(client.getOutputStream()); // echo
 *     }
 * }
 * }</pre>
 *
 * <p>Bound to a {@link java.net.UnixDomainSocketAddress} (or, on Linux, an
 * {@link AbstractUnixSocketAddress}), it listens on a Unix domain socket and accepts Unix
 * {@link RustSocket}s; {@link #getLocalSocketAddress()} returns its Unix name,
 * {@link #getInetAddress()} the loopback address and {@link #getLocalPort()} 0. Its options are
 * SO_RCVBUF through {@link #setOption}; {@link #setReuseAddress} does nothing. The socket file
 * stays after close, as with the JDK: delete it when done.
 */
public class RustServerSocket extends ServerSocket {
    private final RustSocketImpl impl;

    /**
     * Creates an unbound server socket; bind it with {@link #bind(java.net.SocketAddress)}.
     *
     * @throws IOException if the socket cannot be set up
     * @throws UnsatisfiedLinkError if the native library is not available on this platform
     */
    public RustServerSocket() throws IOException {
        this(new RustSocketImpl(true));
    }

    private RustServerSocket(RustSocketImpl impl) throws IOException {
        super(impl);
        this.impl = impl;
    }

    /**
     * Creates a server socket listening on {@code port} of every local address, backlog 50.
     *
     * @param port the port, or 0 for an ephemeral one
     * @throws IOException if the socket cannot be bound
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    public RustServerSocket(int port) throws IOException {
        this(port, 50, null);
    }

    /**
     * Creates a server socket listening on {@code port} of every local address.
     *
     * @param port the port, or 0 for an ephemeral one
     * @param backlog the requested length of the queue of pending connections; below 1 means 50
     * @throws IOException if the socket cannot be bound
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    public RustServerSocket(int port, int backlog) throws IOException {
        this(port, backlog, null);
    }

    /**
     * Creates a server socket listening on {@code bindAddr}:{@code port}.
     *
     * @param port the port, or 0 for an ephemeral one
     * @param backlog the requested length of the queue of pending connections; below 1 means 50
     * @param bindAddr the local address, or {@code null} for every local address
     * @throws IOException if the socket cannot be bound
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    public RustServerSocket(int port, int backlog, InetAddress bindAddr) throws IOException {
        this(new RustSocketImpl(true));
        if (port < 0 || port > 0xFFFF) {
            close();
            throw new IllegalArgumentException("Port value out of range: " + port);
        }
        try {
            bind(new InetSocketAddress(bindAddr, port), backlog < 1 ? 50 : backlog);
        } catch (IOException | RuntimeException e) {
            try {
                close();
            } catch (IOException ce) {
                e.addSuppressed(ce);
            }
            throw e;
        }
    }

    /**
     * Binds to {@code endpoint} and listens, as {@link ServerSocket#bind(SocketAddress, int)}
     * does; a {@link java.net.UnixDomainSocketAddress} (which creates the socket file) or an
     * {@link AbstractUnixSocketAddress} makes this a Unix domain listener.
     *
     * @param endpoint an {@code InetSocketAddress}, a Unix name, or null for an ephemeral port of
     *     every local address
     * @param backlog the requested length of the queue of pending connections; below 1 means 50
     * @throws java.net.BindException if the address is in use (for a Unix name: the file exists)
     * @throws IOException as {@code ServerSocket.bind}
     * @throws UnsupportedOperationException for an abstract name on a system without them
     */
    @Override
    public void bind(SocketAddress endpoint, int backlog) throws IOException {
        if (!UnixNames.isUnix(endpoint)) {
            super.bind(endpoint, backlog);
            return;
        }
        if (isClosed()) {
            throw new SocketException("Socket is closed");
        }
        if (isBound()) {
            throw new SocketException("Already bound");
        }
        UnixSockets.prepareBind(impl, endpoint);
        try {
            super.bind(UnixNames.PLACEHOLDER, backlog);
        } catch (IOException e) {
            UnixSockets.revertAfterFailedBind(impl, e);
            throw e;
        } finally {
            UnixSockets.forgetNames(impl);
        }
    }

    /**
     * The local address: for a Unix listener its Unix name, otherwise as
     * {@link ServerSocket#getLocalSocketAddress()}.
     *
     * @return the local address, or null if not bound
     */
    @Override
    public SocketAddress getLocalSocketAddress() {
        if (impl.isUnix()) {
            return isBound() ? UnixSockets.localAddress(impl) : null;
        }
        return super.getLocalSocketAddress();
    }

    /**
     * The options of this socket: those of a Unix listener once it is one; otherwise those of {@link
     * ServerSocket#supportedOptions()} and the {@link RustSocketOptions} this kernel supports on a
     * listening socket. (A plain {@code java.net.ServerSocket} on rustsocket, under the agent, lists
     * only the JDK's options, and still accepts these.)
     *
     * @return the supported options, an unmodifiable set
     */
    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return impl.allSupportedOptions(super::supportedOptions);
    }

    /** For a Unix listener, its name; otherwise as {@link ServerSocket#toString()}. */
    @Override
    public String toString() {
        if (impl.isUnix() && isBound()) {
            return "RustServerSocket[local=" + getLocalSocketAddress() + "]";
        }
        return super.toString();
    }

    /**
     * Waits for a connection and returns it as a connected {@link RustSocket}.
     *
     * @return the accepted connection
     * @throws java.net.SocketTimeoutException if {@link #setSoTimeout(int)} is set and expires
     * @throws SocketException if this socket is closed, also when closed by another thread
     *     while waiting
     * @throws IOException if accepting fails
     */
    @Override
    public RustSocket accept() throws IOException {
        if (isClosed()) {
            throw new SocketException("Socket is closed");
        }
        if (!isBound()) {
            throw new SocketException("Socket is not bound yet");
        }
        RustSocket s = new RustSocket(new RustSocketImpl(false));
        implAccept(s);
        return s;
    }

    /** The implementation, for {@link FileDescriptors}. */
    RustSocketImpl impl() {
        return impl;
    }
}
