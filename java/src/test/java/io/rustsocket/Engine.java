package io.rustsocket;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * The two socket engines under test. Tests that pin down a JDK behaviour run against both: the
 * JDK row proves the expectation is the JDK's, the RUST row proves we match it.
 */
public enum Engine {
    /** java.net.Socket / ServerSocket. */
    JDK {
        @Override
        public Socket socket() {
            return new Socket();
        }

        @Override
        public ServerSocket serverSocket() throws IOException {
            return new ServerSocket();
        }

        @Override
        public Socket connect(InetAddress address, int port) throws IOException {
            return new Socket(address, port);
        }

        @Override
        public ServerSocket listen(InetAddress address) throws IOException {
            return new ServerSocket(0, 50, address);
        }
    },
    /** io.rustsocket.RustSocket / RustServerSocket. */
    RUST {
        @Override
        public Socket socket() throws IOException {
            return new RustSocket();
        }

        @Override
        public ServerSocket serverSocket() throws IOException {
            return new RustServerSocket();
        }

        @Override
        public Socket connect(InetAddress address, int port) throws IOException {
            return new RustSocket(address, port);
        }

        @Override
        public ServerSocket listen(InetAddress address) throws IOException {
            return new RustServerSocket(0, 50, address);
        }
    };

    /** An unconnected socket. */
    public abstract Socket socket() throws IOException;

    /** An unbound server socket. */
    public abstract ServerSocket serverSocket() throws IOException;

    /** A socket connected to address:port. */
    public abstract Socket connect(InetAddress address, int port) throws IOException;

    /** A server socket on an ephemeral port of address. */
    public abstract ServerSocket listen(InetAddress address) throws IOException;

    /** A server socket on an ephemeral loopback (127.0.0.1) port. */
    public ServerSocket listen() throws IOException {
        return listen(InetAddress.getLoopbackAddress());
    }
}
