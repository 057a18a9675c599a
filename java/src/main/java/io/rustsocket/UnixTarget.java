package io.rustsocket;

import java.io.Closeable;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Objects;

/**
 * The one Unix name that rustsocket's Unix socket factories ({@link RustUnixSocketFactory},
 * {@link RustUnixServerSocketFactory}, {@link RustUnixRMISocketFactory}) stand for, and the sockets
 * they make, which go to that name whatever IP address and port their caller gives: libraries
 * written for TCP (JDBC drivers, HTTP clients, RMI) pass a host and a port and cannot be told
 * about a socket file.
 */
final class UnixTarget {
    private UnixTarget() {}

    /** A socket file's path as a factory's target. */
    static UnixDomainSocketAddress of(String path) {
        Objects.requireNonNull(path, "path");
        if (path.isEmpty()) {
            throw new IllegalArgumentException("empty Unix socket path");
        }
        return UnixDomainSocketAddress.of(path);
    }

    /** A socket file's path as a factory's target. */
    static UnixDomainSocketAddress of(Path path) {
        Objects.requireNonNull(path, "path");
        return of(path.toString());
    }

    /** A Unix name as a factory's target: a socket file or, on Linux, an abstract name. */
    static SocketAddress of(SocketAddress address) {
        Objects.requireNonNull(address, "address");
        if (address instanceof UnixDomainSocketAddress) {
            return of(((UnixDomainSocketAddress) address).getPath().toString());
        }
        if (address instanceof AbstractUnixSocketAddress) {
            return address;
        }
        throw new IllegalArgumentException("not a Unix domain socket address: " + address);
    }

    /** Socket's own check of a port, made although the port goes unused. */
    static void checkPort(int port) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port out of range:" + port);
        }
    }

    /** ServerSocket's own check of a port, made although the port goes unused. */
    static void checkListenPort(int port) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("Port value out of range: " + port);
        }
    }

    /** A connected client socket: {@link Client} connected to {@code target}, closed on failure. */
    static RustSocket connect(SocketAddress target) throws IOException {
        Client s = new Client(target);
        try {
            s.connect(target);
            return s;
        } catch (IOException e) {
            throw closing(s, e);
        } catch (RuntimeException e) {
            throw closing(s, e);
        }
    }

    /** A listening server socket: {@link Server} bound to {@code target}, closed on failure. */
    static RustServerSocket listen(SocketAddress target, int backlog) throws IOException {
        Server s = new Server(target);
        try {
            s.bind(target, backlog);
            return s;
        } catch (IOException e) {
            throw closing(s, e);
        } catch (RuntimeException e) {
            throw closing(s, e);
        }
    }

    /** Closes a socket that failed to set up; returns {@code e}, with a failure to close suppressed in it. */
    private static <E extends Exception> E closing(Closeable socket, E e) {
        try {
            socket.close();
        } catch (IOException ce) {
            e.addSuppressed(ce);
        }
        return e;
    }

    /**
     * A {@link RustSocket} whose every connect goes to the target, whatever endpoint it is given:
     * {@code createSocket()} hands it out unconnected to clients (OkHttp) that connect it later
     * to an {@code InetSocketAddress} of their own choosing. The argument checks stay those of
     * {@code Socket.connect}, in its order (a null endpoint, then a negative timeout, then the
     * socket's state).
     */
    static final class Client extends RustSocket {
        private final SocketAddress target;

        Client(SocketAddress target) throws SocketException {
            this.target = target;
        }

        /**
         * Connects to the factory's Unix name, whatever {@code endpoint} names.
         *
         * @throws IllegalArgumentException if {@code endpoint} is null or the timeout negative
         */
        @Override
        public void connect(SocketAddress endpoint, int timeout) throws IOException {
            if (endpoint == null) {
                throw new IllegalArgumentException("connect: The address can't be null");
            }
            super.connect(target, timeout);
        }

        /** Connects to the factory's Unix name; the host is not even resolved. */
        @Override
        public void connect(String host, int port, int timeout) throws IOException {
            checkPort(port);
            connect(target, timeout);
        }

        /** Connects to the factory's Unix name; the endpoints are checked, not used. */
        @Override
        public void connectAny(List<InetSocketAddress> endpoints, int timeout) throws IOException {
            Objects.requireNonNull(endpoints, "endpoints");
            if (endpoints.isEmpty()) {
                throw new IllegalArgumentException("no endpoint to connect to");
            }
            for (InetSocketAddress e : endpoints) { // not contains(null), which List.of refuses
                if (e == null) {
                    throw new IllegalArgumentException("null endpoint");
                }
            }
            connect(target, timeout);
        }

        /**
         * Binds to a Unix name as {@link RustSocket#bind} does; an IP address (or null) is
         * ignored, as the factories' {@code createSocket} overloads ignore the local address and
         * port they are given: a Unix client has no use for one, and needs no name of its own.
         */
        @Override
        public void bind(SocketAddress bindpoint) throws IOException {
            if (bindpoint instanceof UnixDomainSocketAddress || bindpoint instanceof AbstractUnixSocketAddress) {
                super.bind(bindpoint);
                return;
            }
            if (bindpoint != null && !(bindpoint instanceof InetSocketAddress)) {
                throw new IllegalArgumentException("Unsupported address type");
            }
            if (isClosed()) {
                throw new SocketException("Socket is closed");
            }
        }
    }

    /**
     * A {@link RustServerSocket} whose every bind goes to the target, and which removes the
     * socket file it created when it closes, so that the factory that made it can make the next
     * one on the same path (RMI closes its listener when the last object is unexported and
     * makes a new one at the next export). A file that is no longer the one it created (another
     * process removed it and bound the path again) is left alone. A stale socket file found at
     * bind time is removed (see {@link #bind(SocketAddress, int)}), so that a server that was
     * killed can start again.
     */
    static final class Server extends RustServerSocket {
        /** The file type bits of a mode, and the type of a socket file (stat(2)). */
        private static final int S_IFMT = 0170000;
        private static final int S_IFSOCK = 0140000;
        /** How long a listener may take to accept the probe of a socket file thought stale. */
        private static final int STALE_PROBE_MILLIS = 1000;

        private final SocketAddress target;
        /** The socket file's identity (device and inode) once bound; null when there is none to remove. */
        private Object createdFile;

        Server(SocketAddress target) throws IOException {
            this.target = target;
        }

        /**
         * Binds to the factory's Unix name, whatever {@code endpoint} names, and listens. A
         * stale socket file, one that nobody listens on any more (its server was killed before
         * it could remove it), is removed first.
         *
         * @throws java.net.BindException if the path exists and is not a stale socket file
         */
        @Override
        public void bind(SocketAddress endpoint, int backlog) throws IOException {
            if (target instanceof UnixDomainSocketAddress && !isClosed() && !isBound()) {
                removeIfStale(((UnixDomainSocketAddress) target).getPath());
            }
            super.bind(target, backlog);
            if (target instanceof UnixDomainSocketAddress) {
                Object key = fileKey(((UnixDomainSocketAddress) target).getPath());
                synchronized (this) {
                    createdFile = key;
                }
            }
        }

        /**
         * Removes {@code path} if it is a socket file that refuses connections: what a killed
         * server leaves. Anything else (no file, another kind of file, a listener that accepts or
         * is too busy to, a system that cannot tell a socket file) is left for bind to report.
         */
        private static void removeIfStale(Path path) throws IOException {
            Object mode;
            try {
                mode = Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
                return;
            }
            if (!(mode instanceof Integer) || ((Integer) mode & S_IFMT) != S_IFSOCK) {
                return;
            }
            try (RustSocket probe = new RustSocket()) {
                probe.connect(UnixDomainSocketAddress.of(path), STALE_PROBE_MILLIS);
            } catch (ConnectException refused) {
                Files.deleteIfExists(path);
            } catch (IOException alive) {
                // connected, or busy, or not ours to judge: leave it to bind
            }
        }

        /** Closes the socket, then removes its socket file. */
        @Override
        public void close() throws IOException {
            try {
                super.close();
            } finally {
                removeFile();
            }
        }

        private void removeFile() throws IOException {
            Object key;
            synchronized (this) {
                key = createdFile;
                createdFile = null;
            }
            if (key == null) {
                return;
            }
            Path path = ((UnixDomainSocketAddress) target).getPath();
            if (key.equals(fileKey(path))) {
                Files.deleteIfExists(path);
            }
        }

        /** The file's identity, or null if it is gone or the file system has none to give. */
        private static Object fileKey(Path path) {
            try {
                return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            } catch (IOException e) {
                return null;
            }
        }
    }
}
