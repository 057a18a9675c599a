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
        this(new RustSocketImpl(false), checkPort(port), resolve(host), null);
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
        this(new RustSocketImpl(false), checkPort(port), new InetAddress[] {requireAddress(address)}, null);
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
        this(new RustSocketImpl(false), checkPort(port), resolve(host), new InetSocketAddress(localAddr, localPort));
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
        this(new RustSocketImpl(false), checkPort(port), new InetAddress[] {requireAddress(address)},
                new InetSocketAddress(localAddr, localPort));
    }

    /** An unconnected socket over the given implementation; used by accept. */
    RustSocket(RustSocketImpl impl) throws SocketException {
        super(impl);
    }

    private RustSocket(RustSocketImpl impl, int port, InetAddress[] addresses, SocketAddress local)
            throws IOException {
        super(impl);
        try {
            if (local != null) {
                bind(local);
            }
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

    private static InetAddress[] resolve(String host) throws UnknownHostException {
        return InetAddress.getAllByName(host);
    }

    private static InetAddress requireAddress(InetAddress address) {
        // the JDK's NullPointerException here has no message
        return Objects.requireNonNull(address);
    }

    private static int checkPort(int port) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port out of range:" + port);
        }
        return port;
    }
}
