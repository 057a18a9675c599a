package io.rustsocket;

import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import javax.net.ServerSocketFactory;

/**
 * A {@link ServerSocketFactory} whose server sockets all listen on one Unix domain socket,
 * whatever port and address the caller asks for: the server-side twin of
 * {@link RustUnixSocketFactory}, for servers written against {@code ServerSocketFactory}. The
 * server sockets are {@link RustServerSocket}s and accept Unix {@link RustSocket}s.
 *
 * <pre>{@code
 * ServerSocketFactory factory = new RustUnixServerSocketFactory("/run/myapp.sock");
 * try (ServerSocket server = factory.createServerSocket(0)) {
 *     Socket client = server.accept();
 *     ...
 * }
 * }</pre>
 *
 * <p>A server socket of this factory creates the socket file when it binds, and, unlike a
 * {@code RustServerSocket} bound by hand (or the JDK's Unix channels), removes it again when it
 * closes, so that the factory can make the next one on the same path; a file that another
 * process has meanwhile removed and bound again is left alone. A stale socket file at the path,
 * one left by a server that was killed and that refuses connections, is removed before the
 * bind (a connection is tried to tell, so a live server there sees one connection open and
 * close); any other file there, or a live server, makes the bind fail with
 * {@link java.net.BindException}. The path is checked when a server socket binds, not when the
 * factory is made.
 */
public class RustUnixServerSocketFactory extends ServerSocketFactory {
    private final SocketAddress address;

    /**
     * A factory of server sockets listening on the socket file at {@code path}.
     *
     * @param path the socket file's path
     * @throws NullPointerException if {@code path} is null
     * @throws IllegalArgumentException if {@code path} is empty
     * @throws java.nio.file.InvalidPathException if {@code path} is not a valid path
     */
    public RustUnixServerSocketFactory(String path) {
        this.address = UnixTarget.of(path);
    }

    /**
     * A factory of server sockets listening on the socket file at {@code path}.
     *
     * @param path the socket file's path, on the default file system
     * @throws NullPointerException if {@code path} is null
     * @throws IllegalArgumentException if {@code path} is empty or on another file system
     */
    public RustUnixServerSocketFactory(Path path) {
        this.address = UnixTarget.of(path);
    }

    /**
     * A factory of server sockets listening on {@code address}: a
     * {@link java.net.UnixDomainSocketAddress}, or (on Linux) an {@link AbstractUnixSocketAddress}.
     *
     * @param address the Unix name to listen on
     * @throws NullPointerException if {@code address} is null
     * @throws IllegalArgumentException if it is not a Unix name, or an empty path
     */
    public RustUnixServerSocketFactory(SocketAddress address) {
        this.address = UnixTarget.of(address);
    }

    /**
     * The Unix name every server socket of this factory listens on.
     *
     * @return a {@code UnixDomainSocketAddress} or an {@code AbstractUnixSocketAddress}
     */
    public SocketAddress getAddress() {
        return address;
    }

    /**
     * Creates an unbound server socket whose bind, to whatever address (null included), goes to
     * this factory's Unix name, with the backlog given.
     *
     * @return an unbound server socket
     * @throws IOException if the socket cannot be set up
     */
    @Override
    public RustServerSocket createServerSocket() throws IOException {
        return new UnixTarget.Server(address);
    }

    /**
     * Creates a server socket listening on this factory's Unix name, backlog 50.
     *
     * @param port ignored, but checked to be in 0..65535
     * @return the listening socket
     * @throws java.net.BindException if the path exists and is not a stale socket file
     * @throws IOException if binding fails
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    @Override
    public RustServerSocket createServerSocket(int port) throws IOException {
        return createServerSocket(port, 50);
    }

    /**
     * Creates a server socket listening on this factory's Unix name.
     *
     * @param port ignored, but checked to be in 0..65535
     * @param backlog the requested length of the queue of pending connections; below 1 means 50
     * @return the listening socket
     * @throws java.net.BindException if the path exists and is not a stale socket file
     * @throws IOException if binding fails
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    @Override
    public RustServerSocket createServerSocket(int port, int backlog) throws IOException {
        UnixTarget.checkListenPort(port);
        return UnixTarget.listen(address, backlog);
    }

    /**
     * Creates a server socket listening on this factory's Unix name; {@code ifAddress} is
     * ignored.
     *
     * @param port ignored, but checked to be in 0..65535
     * @param backlog the requested length of the queue of pending connections; below 1 means 50
     * @param ifAddress ignored
     * @return the listening socket
     * @throws java.net.BindException if the path exists and is not a stale socket file
     * @throws IOException if binding fails
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    @Override
    public RustServerSocket createServerSocket(int port, int backlog, InetAddress ifAddress) throws IOException {
        return createServerSocket(port, backlog);
    }

    /** The factory's class and Unix name. */
    @Override
    public String toString() {
        return "RustUnixServerSocketFactory[" + address + "]";
    }
}
