package io.rustsocket;

import io.rustsocket.internal.DescriptorPassing;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.channels.Channel;
import java.util.Objects;

/**
 * Open files and sockets as {@link FileDescriptor}s, for passing them to another process over a
 * Unix domain socket ({@link RustSocket#writeWithDescriptors}), and what a process does with the
 * descriptors it received ({@link RustSocket#takeReceivedDescriptors()}).
 *
 * <h2>Sending</h2>
 * {@code FileInputStream.getFD()}, {@code FileOutputStream.getFD()} and
 * {@code RandomAccessFile.getFD()} give a file's descriptor. The JDK keeps the descriptors of
 * channels and sockets to itself; the {@code duplicate} methods reach them and return a
 * duplicate that the caller owns. Sending never consumes a descriptor: the sender still closes
 * its own. To hand a connection over, {@link #detach(RustSocket)} it rather than closing it: a
 * socket's {@code close()} shuts the connection down for every process that holds it.
 *
 * <h2>Receiving</h2>
 * A received descriptor belongs to the application, and is close-on-exec, so child processes do
 * not inherit it. {@code new FileInputStream(fd)} and {@code new FileOutputStream(fd)} read and
 * write it (their {@code getChannel()} gives a read-only or a write-only {@code FileChannel}), and
 * their {@code close()} closes it, as it does every stream built on the same descriptor;
 * {@link #socket} makes a {@link RustSocket} of a Unix socket; {@link #close} closes one that is
 * not wanted. A descriptor dropped without being closed is closed when it becomes unreachable,
 * by the JDK's own cleaner, as a file the JDK opened is. Descriptors that arrived and that
 * nobody took are closed with the socket they arrived on.
 *
 * <pre>{@code
 * // sender
 * try (FileInputStream file = new FileInputStream(path)) {
 *     socket.writeWithDescriptors(header, 0, header.length, file.getFD());
 * }
 * // receiver
 * socket.setReceivingDescriptors(true);
 * in.readNBytes(header.length);
 * try (FileInputStream file = new FileInputStream(socket.takeReceivedDescriptors()[0])) {
 *     ...
 * }
 * }</pre>
 *
 * <p>Windows' Unix sockets cannot pass descriptors: every method here, and those of
 * {@code RustSocket}, throw {@code UnsupportedOperationException} there.
 */
public final class FileDescriptors {
    private FileDescriptors() {}

    /**
     * A duplicate of the descriptor of one of the JDK's channels: {@code FileChannel} (from
     * {@code FileChannel.open}, {@code FileInputStream.getChannel}, ...), {@code SocketChannel},
     * {@code ServerSocketChannel}, {@code DatagramChannel} and the ends of a {@code Pipe}.
     *
     * @param channel an open channel
     * @return a close-on-exec duplicate, owned by the caller
     * @throws java.nio.channels.ClosedChannelException if the channel is closed
     * @throws IllegalArgumentException if the channel is of another class, one whose descriptor
     *     is out of reach (an in-memory or zip file system's, a wrapper)
     * @throws IOException if the system cannot duplicate it (out of descriptors)
     * @throws UnsupportedOperationException on Windows
     */
    public static FileDescriptor duplicate(Channel channel) throws IOException {
        return DescriptorPassing.duplicate(channel);
    }

    /**
     * A duplicate of a connected or bound socket's descriptor: a {@code RustSocket}, a socket
     * made while rustsocket is the default implementation, a JDK {@code Socket}, or a
     * {@code SocketChannel}'s adaptor.
     *
     * @param socket the socket
     * @return a close-on-exec duplicate, owned by the caller
     * @throws SocketException if the socket is closed or has no descriptor yet
     * @throws IOException if the system cannot duplicate it (out of descriptors)
     * @throws UnsupportedOperationException on Windows
     */
    public static FileDescriptor duplicate(Socket socket) throws IOException {
        Objects.requireNonNull(socket, "socket");
        if (socket.getChannel() != null) {
            return DescriptorPassing.duplicate(socket.getChannel());
        }
        return DescriptorPassing.duplicate(socket, socket instanceof RustSocket ? ((RustSocket) socket).impl() : null);
    }

    /**
     * A duplicate of a bound server socket's descriptor ({@code RustServerSocket}, a JDK
     * {@code ServerSocket}, or a {@code ServerSocketChannel}'s adaptor): a listening socket that
     * another process can accept on.
     *
     * @param socket the server socket
     * @return a close-on-exec duplicate, owned by the caller
     * @throws SocketException if the socket is closed or not bound yet
     * @throws IOException if the system cannot duplicate it (out of descriptors)
     * @throws UnsupportedOperationException on Windows
     */
    public static FileDescriptor duplicate(ServerSocket socket) throws IOException {
        Objects.requireNonNull(socket, "socket");
        if (socket.getChannel() != null) {
            return DescriptorPassing.duplicate(socket.getChannel());
        }
        return DescriptorPassing.duplicate(socket,
                socket instanceof RustServerSocket ? ((RustServerSocket) socket).impl() : null);
    }

    /**
     * Closes {@code socket} without ending its connection, and returns its descriptor: how a
     * connection is handed over to another process. Its {@code close()} would not do, since,
     * as the JDK's does, it sends the peer a FIN, which reaches every process holding a
     * duplicate: the receiver's copy would be shut down for writing.
     *
     * <pre>{@code
     * FileDescriptor d = FileDescriptors.detach(connection);   // closed here, still connected
     * carrier.writeWithDescriptors(message, 0, message.length, d);
     * FileDescriptors.close(d);                              // the receiver's copy carries on
     * }</pre>
     *
     * @param socket an open socket
     * @return its descriptor (a duplicate taken as it closed), owned by the caller
     * @throws SocketException if the socket is closed, not connected yet, or another thread is
     *     inside a read or a write on it (only a shutdown, which ends the connection, could
     *     wake it)
     * @throws IOException if the system cannot duplicate it (out of descriptors); the socket is
     *     left open
     * @throws UnsupportedOperationException on Windows
     */
    public static FileDescriptor detach(RustSocket socket) throws IOException {
        FileDescriptor d = DescriptorPassing.detach(socket.impl());
        socket.close(); // java.net.Socket's own state: the implementation is closed already
        return d;
    }

    /**
     * The same for a listening socket: it closes here and listens on in whichever process
     * receives its descriptor (a restart that keeps the port). Closing it instead would wake a
     * thread waiting in {@code accept} with a shutdown, which stops the listening everywhere.
     *
     * @param socket an open server socket
     * @return its descriptor, owned by the caller
     * @throws SocketException if it is closed, not bound yet, or a thread waits in accept
     * @throws IOException if the system cannot duplicate it (out of descriptors); the socket is
     *     left open
     * @throws UnsupportedOperationException on Windows
     */
    public static FileDescriptor detach(RustServerSocket socket) throws IOException {
        FileDescriptor d = DescriptorPassing.detach(socket.impl());
        socket.close();
        return d;
    }

    /**
     * A connected {@link RustSocket} made of a received descriptor of a connected Unix domain
     * stream socket, with the same contract as one {@link RustSocket#pair()} makes. The socket
     * takes over: {@code descriptor} is closed once the socket is made. The descriptor's blocking
     * mode is set to what the library needs, and since that mode belongs to the socket rather
     * than to one process's descriptor, a sender that keeps its own copy sees it change.
     *
     * @param descriptor a descriptor of a connected Unix stream socket
     * @return the socket
     * @throws IllegalArgumentException if the descriptor is not valid (closed), not open, not a
     *     stream socket, listening, or not connected
     * @throws UnsupportedOperationException if it is a socket of another family (TCP: use
     *     {@code new FileInputStream(descriptor)} and {@code new FileOutputStream(descriptor)}),
     *     or on Windows
     * @throws IOException if the system cannot take it (out of descriptors)
     */
    public static RustSocket socket(FileDescriptor descriptor) throws IOException {
        RustSocket socket = RustSocket.adopt(DescriptorPassing.adopt(descriptor));
        try {
            close(descriptor);
        } catch (IOException ignore) {
            // close(2) released the number whatever it reported, and the socket has its own
        }
        return socket;
    }

    /**
     * Closes a descriptor (a received one that is not wanted, a duplicate no longer needed), as
     * the {@code close()} of a stream built on it would, closing those streams too. Nothing
     * happens if it is closed already.
     *
     * @param descriptor the descriptor
     * @throws IOException if the system reports an error closing it (it is closed all the same)
     */
    public static void close(FileDescriptor descriptor) throws IOException {
        Objects.requireNonNull(descriptor, "descriptor");
        if (descriptor.valid()) {
            new FileInputStream(descriptor).close();
        }
    }
}
