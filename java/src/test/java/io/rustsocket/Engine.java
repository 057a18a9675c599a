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
    JDK(Socket::new, ServerSocket::new, Socket::new, address -> new ServerSocket(0, 50, address)),
    /** io.rustsocket.RustSocket / RustServerSocket. */
    RUST(RustSocket::new, RustServerSocket::new, RustSocket::new, address -> new RustServerSocket(0, 50, address));

    /** Makes a new object of the engine's; may fail as the constructor does. */
    private interface Factory<T> {
        T create() throws IOException;
    }

    /** The engine's connecting constructor. */
    private interface Connector {
        Socket connect(InetAddress address, int port) throws IOException;
    }

    /** The engine's listening constructor (port 0, backlog 50). */
    private interface Listener {
        ServerSocket listen(InetAddress address) throws IOException;
    }

    private final Factory<Socket> socket;
    private final Factory<ServerSocket> serverSocket;
    private final Connector connector;
    private final Listener listener;

    Engine(Factory<Socket> socket, Factory<ServerSocket> serverSocket, Connector connector, Listener listener) {
        this.socket = socket;
        this.serverSocket = serverSocket;
        this.connector = connector;
        this.listener = listener;
    }

    /** An unconnected socket. */
    public Socket socket() throws IOException {
        return socket.create();
    }

    /** An unbound server socket. */
    public ServerSocket serverSocket() throws IOException {
        return serverSocket.create();
    }

    /** A socket connected to address:port. */
    public Socket connect(InetAddress address, int port) throws IOException {
        return connector.connect(address, port);
    }

    /** A server socket on an ephemeral port of address. */
    public ServerSocket listen(InetAddress address) throws IOException {
        return listener.listen(address);
    }

    /** A server socket on an ephemeral loopback (127.0.0.1) port. */
    public ServerSocket listen() throws IOException {
        return listen(InetAddress.getLoopbackAddress());
    }
}
