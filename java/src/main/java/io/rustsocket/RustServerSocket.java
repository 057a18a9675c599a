package io.rustsocket;

import io.rustsocket.internal.RustSocketImpl;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketException;

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
 */
public class RustServerSocket extends ServerSocket {

    /**
     * Creates an unbound server socket; bind it with {@link #bind(java.net.SocketAddress)}.
     *
     * @throws IOException if the socket cannot be set up
     * @throws UnsatisfiedLinkError if the native library is not available on this platform
     */
    public RustServerSocket() throws IOException {
        super(new RustSocketImpl(true));
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
        super(new RustSocketImpl(true));
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
}
