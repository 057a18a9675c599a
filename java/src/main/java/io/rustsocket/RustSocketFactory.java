package io.rustsocket;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import javax.net.SocketFactory;

/**
 * A {@link SocketFactory} of {@link RustSocket}s, for libraries that take a factory (JDBC
 * drivers, Redis and HTTP clients). It has a public no-argument constructor, so drivers that
 * instantiate a factory by class name ({@code socketFactory=io.rustsocket.RustSocketFactory})
 * can use it.
 */
public class RustSocketFactory extends SocketFactory {
    private static final RustSocketFactory DEFAULT = new RustSocketFactory();

    /** Creates a factory; all instances behave the same. */
    public RustSocketFactory() {}

    /**
     * Returns the shared factory.
     *
     * @return the shared factory
     */
    public static SocketFactory getDefault() {
        return DEFAULT;
    }

    /**
     * Creates an unconnected {@link RustSocket}.
     *
     * @return an unconnected socket
     * @throws IOException if the socket cannot be set up
     */
    @Override
    public Socket createSocket() throws IOException {
        return new RustSocket();
    }

    /**
     * Creates a socket connected to {@code host}:{@code port}, trying each address of the host.
     *
     * @param host the host name, or {@code null} for loopback
     * @param port the remote port
     * @return the connected socket
     * @throws IOException if the connection cannot be made
     */
    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return new RustSocket(host, port);
    }

    /**
     * Creates a socket bound locally and connected to {@code host}:{@code port}.
     *
     * @param host the host name, or {@code null} for loopback
     * @param port the remote port
     * @param localHost the local address, or {@code null} for any
     * @param localPort the local port, or 0 for an ephemeral one
     * @return the connected socket
     * @throws IOException if binding or connecting fails
     */
    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return new RustSocket(host, port, localHost, localPort);
    }

    /**
     * Creates a socket connected to {@code host}:{@code port}.
     *
     * @param host the remote address
     * @param port the remote port
     * @return the connected socket
     * @throws IOException if the connection cannot be made
     */
    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return new RustSocket(host, port);
    }

    /**
     * Creates a socket bound locally and connected to {@code address}:{@code port}.
     *
     * @param address the remote address
     * @param port the remote port
     * @param localAddress the local address, or {@code null} for any
     * @param localPort the local port, or 0 for an ephemeral one
     * @return the connected socket
     * @throws IOException if binding or connecting fails
     */
    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        return new RustSocket(address, port, localAddress, localPort);
    }
}
