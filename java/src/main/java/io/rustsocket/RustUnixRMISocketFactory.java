package io.rustsocket;

import java.io.IOException;
import java.io.InvalidObjectException;
import java.io.ObjectInputStream;
import java.io.Serializable;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.rmi.server.RMIClientSocketFactory;
import java.rmi.server.RMIServerSocketFactory;
import java.util.Arrays;
import java.util.Objects;

/**
 * Java RMI over one Unix domain socket: both the {@link RMIServerSocketFactory} the server
 * exports with and the {@link RMIClientSocketFactory} that travels inside its stubs to the
 * clients, so that every RMI connection, registry included, goes through a socket file (on the
 * same machine) instead of TCP. Pass the same instance, or an equal one, as both factories:
 *
 * <pre>{@code
 * RustUnixRMISocketFactory unix = new RustUnixRMISocketFactory("/run/myapp/rmi.sock");
 * Registry registry = LocateRegistry.createRegistry(1099, unix, unix);
 * Remote stub = UnicastRemoteObject.exportObject(service, 1099, unix, unix);
 * registry.bind("service", stub);
 *
 * // a client, in this JVM or another one on the machine
 * Registry remote = LocateRegistry.getRegistry("localhost", 1099, unix);
 * Service s = (Service) remote.lookup("service");
 * }</pre>
 *
 * <p>The port only names the endpoint to RMI: connections go to the socket file whatever host
 * and port a stub holds. RMI keeps one listener per port and pair of equal factories, so export
 * the registry and the objects that share a socket file on one port (0 works too, but RMI never
 * closes a port-0 listener, so its socket file stays until the JVM exits); a second port with the same
 * factory would need a second listener on the same file and fails with
 * {@code java.rmi.server.ExportException} ("Port already in use"). Use a factory with another
 * path for that. The listener creates the socket file and removes it when RMI closes it (after
 * the last object on it is unexported), and replaces a stale one left by a server that was
 * killed, as {@link RustUnixServerSocketFactory} describes.
 *
 * <p>RMI compares endpoints' factories with {@link #equals}: two factories are equal when they
 * name the same Unix name. The factory is {@link Serializable} and holds only a path
 * ({@code String}) or an abstract name ({@code byte[]}), so the registry's default
 * deserialization filter accepts stubs that carry it.
 */
public final class RustUnixRMISocketFactory implements RMIClientSocketFactory, RMIServerSocketFactory, Serializable {
    private static final long serialVersionUID = 1L;

    /** The socket file's path, or null for an abstract name. */
    private final String path;
    /** The abstract name's bytes, or null for a socket file. */
    private final byte[] abstractName;
    /** The Unix name, made from the two fields above (again after deserialization). */
    private transient SocketAddress address;

    /**
     * A factory for RMI over the socket file at {@code path}.
     *
     * @param path the socket file's path
     * @throws NullPointerException if {@code path} is null
     * @throws IllegalArgumentException if {@code path} is empty
     * @throws java.nio.file.InvalidPathException if {@code path} is not a valid path
     */
    public RustUnixRMISocketFactory(String path) {
        this(UnixTarget.of(path));
    }

    /**
     * A factory for RMI over the socket file at {@code path}.
     *
     * @param path the socket file's path, on the default file system
     * @throws NullPointerException if {@code path} is null
     * @throws IllegalArgumentException if {@code path} is empty or on another file system
     */
    public RustUnixRMISocketFactory(Path path) {
        this(UnixTarget.of(path));
    }

    /**
     * A factory for RMI over {@code address}: a {@link UnixDomainSocketAddress}, or (on Linux)
     * an {@link AbstractUnixSocketAddress}.
     *
     * @param address the Unix name
     * @throws NullPointerException if {@code address} is null
     * @throws IllegalArgumentException if it is not a Unix name, or an empty path
     */
    public RustUnixRMISocketFactory(SocketAddress address) {
        SocketAddress a = UnixTarget.of(address);
        if (a instanceof UnixDomainSocketAddress) {
            this.path = ((UnixDomainSocketAddress) a).getPath().toString();
            this.abstractName = null;
        } else {
            this.path = null;
            this.abstractName = ((AbstractUnixSocketAddress) a).getBytes();
        }
        this.address = a;
    }

    /**
     * The Unix name of this factory's sockets.
     *
     * @return a {@code UnixDomainSocketAddress} or an {@code AbstractUnixSocketAddress}
     */
    public SocketAddress getAddress() {
        return address;
    }

    /**
     * Creates a socket connected to this factory's Unix name; what RMI's client side calls.
     *
     * @param host ignored
     * @param port ignored, but checked to be in 0..65535
     * @return the connected socket
     * @throws IOException if the connection cannot be made
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    @Override
    public Socket createSocket(String host, int port) throws IOException {
        UnixTarget.checkPort(port);
        return UnixTarget.connect(address);
    }

    /**
     * Creates a server socket listening on this factory's Unix name (backlog 50); what RMI's
     * server side calls when it exports the first object on a port.
     *
     * @param port ignored, but checked to be in 0..65535
     * @return the listening socket, which removes its socket file when closed
     * @throws java.net.BindException if the path exists and is not a stale socket file
     * @throws IOException if binding fails
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    @Override
    public ServerSocket createServerSocket(int port) throws IOException {
        UnixTarget.checkListenPort(port);
        return UnixTarget.listen(address, 50);
    }

    /**
     * Checks what arrived and remakes the Unix name.
     *
     * @param in the stream
     * @throws IOException if the stream fails
     * @throws ClassNotFoundException never: the fields are a String and a byte[]
     * @throws InvalidObjectException if neither or both of a path and an abstract name arrived,
     *     or the path is not a valid one
     */
    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        if ((path == null) == (abstractName == null)) {
            throw new InvalidObjectException("a RustUnixRMISocketFactory holds either a path or an abstract name");
        }
        try {
            address = path != null ? UnixTarget.of(path) : AbstractUnixSocketAddress.of(abstractName);
        } catch (RuntimeException e) {
            InvalidObjectException ioe = new InvalidObjectException("bad Unix socket path: " + e.getMessage());
            ioe.initCause(e);
            throw ioe;
        }
    }

    /**
     * Whether {@code o} is a factory for the same Unix name.
     *
     * @param o the object to compare with
     * @return true for a {@code RustUnixRMISocketFactory} with the same path or abstract name
     */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof RustUnixRMISocketFactory)) {
            return false;
        }
        RustUnixRMISocketFactory other = (RustUnixRMISocketFactory) o;
        return Objects.equals(path, other.path) && Arrays.equals(abstractName, other.abstractName);
    }

    /** A hash of the Unix name, consistent with {@link #equals}. */
    @Override
    public int hashCode() {
        return Objects.hashCode(path) * 31 + Arrays.hashCode(abstractName);
    }

    /** The factory's class and Unix name. */
    @Override
    public String toString() {
        return "RustUnixRMISocketFactory[" + address + "]";
    }
}
