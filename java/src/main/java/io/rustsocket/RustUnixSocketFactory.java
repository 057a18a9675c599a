package io.rustsocket;

import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import javax.net.SocketFactory;

/**
 * A {@link SocketFactory} whose sockets all connect to one Unix domain socket, whatever host and
 * port the caller asks for: the way to run a client written for TCP over a socket file,
 * unchanged. The sockets are {@link RustSocket}s; their streams, timeouts and close behave as
 * over TCP (see {@link RustSocket}'s section on Unix domain sockets).
 *
 * <p>PostgreSQL's JDBC driver instantiates the factory by name, passing {@code socketFactoryArg}
 * to the {@link #RustUnixSocketFactory(String)} constructor:
 * <pre>{@code
 * jdbc:postgresql://localhost/db?socketFactory=io.rustsocket.RustUnixSocketFactory
 *     &socketFactoryArg=/var/run/postgresql/.s.PGSQL.5432
 * }</pre>
 * An HTTP client that takes a factory, such as OkHttp, reaches a server on a socket file (the
 * host in the URL then only fills the {@code Host} header):
 * <pre>{@code
 * OkHttpClient client = new OkHttpClient.Builder()
 *     .socketFactory(new RustUnixSocketFactory("/var/run/docker.sock"))
 *     .build();
 * client.newCall(new Request.Builder().url("http://localhost/version").build()).execute();
 * }</pre>
 *
 * <p>What the caller passes is handled this way:
 * <ul>
 *   <li>The host and port of the connecting {@code createSocket} overloads are not used (the
 *       host is not even resolved); a port outside 0..65535 is still refused with
 *       {@code IllegalArgumentException}, as {@code Socket}'s constructors refuse it.</li>
 *   <li>The local address and port of the four-argument overloads are ignored: a Unix client
 *       needs no name, and an IP address cannot be one.</li>
 *   <li>{@link #createSocket()} returns an unconnected socket whose {@code connect}, to any
 *       endpoint (an {@code InetSocketAddress} included), goes to this factory's socket file
 *       (with the timeout given); a {@code bind} to an IP address or to null does nothing, a
 *       bind to a Unix name names the client end.</li>
 * </ul>
 * A missing socket file, or one nobody listens on, fails the connect as
 * {@link RustSocket#connect(SocketAddress, int)} describes. The path is checked when a socket
 * connects, not when the factory is made.
 */
public class RustUnixSocketFactory extends SocketFactory {
    private final SocketAddress address;

    /**
     * A factory of sockets connected to the socket file at {@code path}; the constructor that
     * drivers taking a {@code socketFactoryArg} call.
     *
     * @param path the socket file's path
     * @throws NullPointerException if {@code path} is null
     * @throws IllegalArgumentException if {@code path} is empty
     * @throws java.nio.file.InvalidPathException if {@code path} is not a valid path
     */
    public RustUnixSocketFactory(String path) {
        this.address = UnixTarget.of(path);
    }

    /**
     * A factory of sockets connected to the socket file at {@code path}.
     *
     * @param path the socket file's path, on the default file system
     * @throws NullPointerException if {@code path} is null
     * @throws IllegalArgumentException if {@code path} is empty or on another file system
     */
    public RustUnixSocketFactory(Path path) {
        this.address = UnixTarget.of(path);
    }

    /**
     * A factory of sockets connected to {@code address}: a
     * {@link java.net.UnixDomainSocketAddress}, or (on Linux) an {@link AbstractUnixSocketAddress}.
     *
     * @param address the Unix name to connect to
     * @throws NullPointerException if {@code address} is null
     * @throws IllegalArgumentException if it is not a Unix name, or an empty path
     */
    public RustUnixSocketFactory(SocketAddress address) {
        this.address = UnixTarget.of(address);
    }

    /**
     * The Unix name every socket of this factory connects to.
     *
     * @return a {@code UnixDomainSocketAddress} or an {@code AbstractUnixSocketAddress}
     */
    public SocketAddress getAddress() {
        return address;
    }

    /**
     * Creates an unconnected socket whose connect, to whatever endpoint, goes to this factory's
     * Unix name.
     *
     * @return an unconnected socket
     * @throws IOException if the socket cannot be set up
     */
    @Override
    public RustSocket createSocket() throws IOException {
        return new UnixTarget.Client(address);
    }

    /**
     * Creates a socket connected to this factory's Unix name; {@code host} and {@code port} are
     * not used.
     *
     * @param host ignored
     * @param port ignored, but checked to be in 0..65535
     * @return the connected socket
     * @throws IOException if the connection cannot be made
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    @Override
    public RustSocket createSocket(String host, int port) throws IOException {
        UnixTarget.checkPort(port);
        return UnixTarget.connect(address);
    }

    /**
     * Creates a socket connected to this factory's Unix name; the arguments are not used.
     *
     * @param host ignored
     * @param port ignored, but checked to be in 0..65535
     * @param localHost ignored
     * @param localPort ignored, but checked to be in 0..65535
     * @return the connected socket
     * @throws IOException if the connection cannot be made
     * @throws IllegalArgumentException if a port is outside 0..65535
     */
    @Override
    public RustSocket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        UnixTarget.checkPort(port);
        UnixTarget.checkPort(localPort);
        return UnixTarget.connect(address);
    }

    /**
     * Creates a socket connected to this factory's Unix name; {@code host} and {@code port} are
     * not used.
     *
     * @param host ignored
     * @param port ignored, but checked to be in 0..65535
     * @return the connected socket
     * @throws IOException if the connection cannot be made
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    @Override
    public RustSocket createSocket(InetAddress host, int port) throws IOException {
        UnixTarget.checkPort(port);
        return UnixTarget.connect(address);
    }

    /**
     * Creates a socket connected to this factory's Unix name; the arguments are not used.
     *
     * @param address ignored
     * @param port ignored, but checked to be in 0..65535
     * @param localAddress ignored
     * @param localPort ignored, but checked to be in 0..65535
     * @return the connected socket
     * @throws IOException if the connection cannot be made
     * @throws IllegalArgumentException if a port is outside 0..65535
     */
    @Override
    public RustSocket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        UnixTarget.checkPort(port);
        UnixTarget.checkPort(localPort);
        return UnixTarget.connect(this.address);
    }

    /** The factory's class and Unix name. */
    @Override
    public String toString() {
        return "RustUnixSocketFactory[" + address + "]";
    }
}
