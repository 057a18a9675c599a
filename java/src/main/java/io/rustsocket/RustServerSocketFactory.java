package io.rustsocket;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import javax.net.ServerSocketFactory;

/**
 * A {@link ServerSocketFactory} of {@link RustServerSocket}s, with a public no-argument
 * constructor for code that instantiates factories by class name.
 */
public class RustServerSocketFactory extends ServerSocketFactory {
    private static final RustServerSocketFactory DEFAULT = new RustServerSocketFactory();

    /** Creates a factory; all instances behave the same. */
    public RustServerSocketFactory() {}

    /**
     * Returns the shared factory.
     *
     * @return the shared factory
     */
    public static ServerSocketFactory getDefault() {
        return DEFAULT;
    }

    /**
     * Creates an unbound {@link RustServerSocket}.
     *
     * @return an unbound server socket
     * @throws IOException if the socket cannot be set up
     */
    @Override
    public ServerSocket createServerSocket() throws IOException {
        return new RustServerSocket();
    }

    /**
     * Creates a server socket listening on {@code port} of every local address.
     *
     * @param port the port, or 0 for an ephemeral one
     * @return the listening socket
     * @throws IOException if binding fails
     */
    @Override
    public ServerSocket createServerSocket(int port) throws IOException {
        return new RustServerSocket(port);
    }

    /**
     * Creates a server socket listening on {@code port} of every local address.
     *
     * @param port the port, or 0 for an ephemeral one
     * @param backlog the requested queue length; below 1 means 50
     * @return the listening socket
     * @throws IOException if binding fails
     */
    @Override
    public ServerSocket createServerSocket(int port, int backlog) throws IOException {
        return new RustServerSocket(port, backlog);
    }

    /**
     * Creates a server socket listening on {@code ifAddress}:{@code port}.
     *
     * @param port the port, or 0 for an ephemeral one
     * @param backlog the requested queue length; below 1 means 50
     * @param ifAddress the local address, or {@code null} for every local address
     * @return the listening socket
     * @throws IOException if binding fails
     */
    @Override
    public ServerSocket createServerSocket(int port, int backlog, InetAddress ifAddress) throws IOException {
        return new RustServerSocket(port, backlog, ifAddress);
    }
}
