package io.rustsocket.internal;

import java.io.FileDescriptor;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketImpl;
import java.nio.channels.Channel;
import java.nio.channels.ClosedChannelException;
import java.util.Objects;

/**
 * Descriptor passing ({@code SCM_RIGHTS}) on Unix stream sockets, behind
 * {@code RustSocket.writeWithDescriptors}, {@code setReceivingDescriptors},
 * {@code takeReceivedDescriptors} and {@code io.rustsocket.FileDescriptors}.
 *
 * <p>Every descriptor leaving Java is first duplicated (close-on-exec) through JNI, with a check
 * that its owner was not closed meanwhile, and the duplicate is what travels: a concurrent close
 * of the original can then never send whichever file reused its number. Every descriptor
 * arriving becomes a {@code FileDescriptor} the JDK's streams can use and close; until the
 * application takes it, it sits in the socket's {@link DescriptorInbox}.
 */
public final class DescriptorPassing {
    private DescriptorPassing() {}

    /** Whether this system passes descriptors over Unix sockets (every one but Windows). */
    public static boolean supported() {
        return Platform.descriptorPassing();
    }

    private static void checkSupported() {
        if (!supported()) {
            throw new UnsupportedOperationException(Platform.NAME + " has no descriptor passing over Unix sockets");
        }
    }

    private static void checkUnix(RustSocketImpl socket) {
        checkSupported();
        if (!socket.isUnix()) {
            throw new UnsupportedOperationException("Not a Unix domain socket");
        }
    }

    // ---------------------------------------------------------------- sending

    /**
     * Checks the arguments of a write with descriptors, before any state check or system call.
     *
     * @throws NullPointerException if {@code b}, {@code descriptors} or one of them is null
     * @throws IndexOutOfBoundsException if the range is outside {@code b}
     * @throws IllegalArgumentException for more than {@value Native#MAX_PASSED_DESCRIPTORS}
     *     descriptors, or descriptors with no byte to carry them
     */
    public static void checkWrite(byte[] b, int off, int len, FileDescriptor[] descriptors) {
        Objects.requireNonNull(b, "b");
        Objects.requireNonNull(descriptors, "descriptors");
        Objects.checkFromIndexSize(off, len, b.length);
        for (FileDescriptor d : descriptors) {
            Objects.requireNonNull(d, "a descriptor is null");
        }
        if (descriptors.length > Native.MAX_PASSED_DESCRIPTORS) {
            throw new IllegalArgumentException("at most " + Native.MAX_PASSED_DESCRIPTORS
                    + " descriptors travel with one write, not " + descriptors.length);
        }
        if (descriptors.length > 0 && len == 0) {
            throw new IllegalArgumentException(
                    "descriptors travel with data on a stream socket: write at least one byte with them");
        }
    }

    /**
     * Writes all of {@code b[off..off+len]} as {@code OutputStream.write} does, under the write
     * lock, with duplicates of {@code descriptors} attached to the first byte. The caller has
     * made {@link #checkWrite} and the socket's state checks.
     *
     * @throws IllegalArgumentException if a descriptor is not valid or not open
     * @throws SocketException as {@code write}
     */
    public static void write(RustSocketImpl socket, byte[] b, int off, int len, FileDescriptor[] descriptors)
            throws IOException {
        checkUnix(socket);
        if (descriptors.length == 0) {
            socket.streams.write(b, off, len);
            return;
        }
        int[] fds = duplicates(descriptors);
        try {
            socket.writeLock.lock();
            try {
                int sent = sendFirst(socket, b, off, len, fds);
                if (sent < len) {
                    socket.streams.write(b, off + sent, len - sent);
                }
            } finally {
                socket.writeLock.unlock();
            }
        } finally {
            for (int fd : fds) {
                Native.close(fd);
            }
        }
    }

    /** Close-on-exec duplicates of {@code descriptors}, all or none. */
    private static int[] duplicates(FileDescriptor[] descriptors) throws IOException {
        int[] fds = new int[descriptors.length];
        int made = 0;
        try {
            for (; made < fds.length; made++) {
                fds[made] = Native.duplicateDescriptor(descriptors[made]);
            }
            return fds;
        } finally {
            if (made < fds.length) {
                for (int i = 0; i < made; i++) {
                    Native.close(fds[i]);
                }
            }
        }
    }

    /**
     * The first chunk with the descriptors, parked while the send buffer is full: the shape of
     * the socket's own write (see {@code FileSender.sendFile} for why it is not shared).
     *
     * @return the bytes sent, at least 1
     */
    private static int sendFirst(RustSocketImpl socket, byte[] b, int off, int len, int[] fds) throws IOException {
        int n = Native.UNAVAILABLE;
        int chunk = Math.min(len, SocketStreams.MAX_BUFFER_SIZE);
        int fd = socket.beginIO(false);
        try {
            socket.descriptor.configureNonBlockingIfNeeded(fd, false);
            n = Native.unixWriteWithDescriptors(fd, b, off, chunk, fds, fds.length);
            while (n == Native.UNAVAILABLE && socket.isOpen()) {
                socket.descriptor.park(fd, Native.POLLOUT, 0);
                n = Native.unixWriteWithDescriptors(fd, b, off, chunk, fds, fds.length);
            }
            if (n > 0) {
                socket.countWritten(n);
            }
            return n;
        } catch (IOException e) {
            throw socket.failed(e);
        } finally {
            socket.endIO(false, n > 0);
        }
    }

    // ---------------------------------------------------------------- receiving

    /**
     * Makes the reads of {@code socket} take the descriptors sent with the bytes they return, or
     * stops that (descriptors already received stay until taken or until the socket closes).
     *
     * @throws SocketException if the socket is closed
     * @throws UnsupportedOperationException if it is not a Unix socket, or on Windows
     */
    public static void setReceiving(RustSocketImpl socket, boolean on) throws SocketException {
        checkUnix(socket);
        synchronized (socket.stateLock) {
            socket.ensureOpen();
            UnixEnd u = socket.unix;
            DescriptorInbox inbox = u.inbox;
            if (inbox == null) {
                if (!on) {
                    return;
                }
                inbox = new DescriptorInbox();
                u.inbox = inbox;
            }
            inbox.receiving = on;
        }
    }

    /** Whether the reads of {@code socket} take descriptors. */
    public static boolean isReceiving(RustSocketImpl socket) {
        UnixEnd u = socket.unix;
        DescriptorInbox inbox = u == null ? null : u.inbox;
        return inbox != null && inbox.receiving;
    }

    /**
     * The descriptors received and not taken yet, oldest first; the caller owns them.
     *
     * @throws SocketException once after some were lost (see {@link DescriptorInbox#take})
     */
    public static FileDescriptor[] take(RustSocketImpl socket) throws SocketException {
        checkUnix(socket);
        DescriptorInbox inbox = socket.unix.inbox;
        return inbox == null ? new FileDescriptor[0] : inbox.take();
    }

    /** Closes the descriptors {@code socket} received that nobody took: part of its close. */
    static void closeInbox(UnixEnd u) {
        DescriptorInbox inbox = u.inbox;
        if (inbox != null) {
            inbox.close();
        }
    }

    // ---------------------------------------------------------------- duplicates and adoption

    /** A new {@code FileDescriptor} owning {@code fd}, which is closed if that fails. */
    private static FileDescriptor own(int fd) {
        try {
            return Native.newFileDescriptor(fd);
        } catch (RuntimeException | Error e) {
            Native.close(fd);
            throw e;
        }
    }

    /**
     * A close-on-exec duplicate of {@code descriptor}, owned by the caller.
     *
     * @throws IllegalArgumentException if it is not valid (closed) or not open
     */
    public static FileDescriptor duplicate(FileDescriptor descriptor) throws IOException {
        Objects.requireNonNull(descriptor, "descriptor");
        checkSupported();
        return own(Native.duplicateDescriptor(descriptor));
    }

    /**
     * A duplicate of a JDK channel's descriptor (file, socket, server-socket, datagram and pipe
     * channels), owned by the caller.
     *
     * @throws ClosedChannelException if the channel is closed
     * @throws IllegalArgumentException if it is another class of channel
     */
    public static FileDescriptor duplicate(Channel channel) throws IOException {
        Objects.requireNonNull(channel, "channel");
        checkSupported();
        if (!channel.isOpen()) {
            throw new ClosedChannelException();
        }
        int fd = Native.channelDescriptor(channel);
        // checked after the duplicate was made, as FileSender does: a channel still open now
        // was open when its descriptor was read
        if (!channel.isOpen()) {
            if (fd >= 0) {
                Native.close(fd);
            }
            throw new ClosedChannelException();
        }
        if (fd < 0) {
            throw new IllegalArgumentException("no descriptor to reach in a " + channel.getClass().getName());
        }
        return own(fd);
    }

    /**
     * A duplicate of the descriptor of a socket (a RustSocket, a socket with rustsocket installed
     * as the default, or a JDK one) or a server socket, owned by the caller.
     *
     * @throws SocketException if it is closed or has no descriptor yet (not connected or bound)
     * @throws IllegalArgumentException if its implementation keeps the descriptor out of reach
     */
    public static FileDescriptor duplicate(Object socket, SocketImpl known) throws IOException {
        Objects.requireNonNull(socket, "socket");
        checkSupported();
        boolean closed = socket instanceof Socket ? ((Socket) socket).isClosed() : ((ServerSocket) socket).isClosed();
        if (closed) {
            throw new SocketException("Socket is closed");
        }
        SocketImpl impl = known != null ? known : Native.socketImpl(socket);
        int fd;
        if (impl instanceof RustSocketImpl) {
            RustSocketImpl r = (RustSocketImpl) impl;
            synchronized (r.stateLock) {
                if (r.descriptor.state() != SocketDescriptor.OPEN) {
                    throw new SocketException(r.isOpen() ? "Socket has no descriptor yet" : "Socket is closed");
                }
                r.streams.descriptorShared(r.descriptor.fd());
                fd = Native.duplicate(r.descriptor.fd());
            }
        } else if (impl == null) {
            throw new SocketException("Socket has no descriptor yet");
        } else {
            fd = Native.socketImplDescriptor(impl);
            if (fd < 0) {
                throw new SocketException("Socket has no descriptor yet, or it was closed");
            }
        }
        return own(fd);
    }

    /**
     * Closes {@code socket} (a client or a server socket of this library) without ending its
     * connection or its listening, and returns a duplicate of its descriptor: the way to hand a
     * socket over to another process, since {@code close()} sends the peer a FIN (or stops a
     * listener's accept), which would reach every process holding a duplicate.
     *
     * @return the duplicate, owned by the caller
     * @throws SocketException if the socket is closed, has no descriptor yet, or a thread is
     *     inside a call on it (a read, a write, an accept), which only a shutdown could wake
     */
    public static FileDescriptor detach(RustSocketImpl socket) throws IOException {
        checkSupported();
        int fd;
        synchronized (socket.stateLock) {
            int state = socket.descriptor.state();
            if (state != SocketDescriptor.OPEN) {
                throw new SocketException(state == SocketDescriptor.NEW ? "Socket has no descriptor yet"
                        : "Socket is closed");
            }
            if (socket.descriptor.inFlight()) {
                throw new SocketException("Socket is in use by another thread");
            }
            socket.streams.descriptorShared(socket.descriptor.fd());
            fd = Native.duplicate(socket.descriptor.fd());
            socket.closeSilently();
        }
        return own(fd);
    }

    /**
     * Makes a connected Unix stream socket of a received descriptor: a duplicate of it goes to a
     * new implementation, which java.net.Socket then adopts; {@code descriptor} stays open.
     *
     * @return the implementation, for the caller to complete as a socket pair end is
     * @throws IllegalArgumentException if it is not a connected stream socket (or not open)
     * @throws UnsupportedOperationException if it is a socket of another family
     */
    public static RustSocketImpl adopt(FileDescriptor descriptor) throws IOException {
        Objects.requireNonNull(descriptor, "descriptor");
        checkSupported();
        int fd = Native.duplicateDescriptor(descriptor);
        RustSocketImpl impl;
        try {
            Native.adoptSocket(fd);
            impl = UnixSockets.adoptable(fd);
            // whoever made the socket may have set SO_LINGER: close() must ask the kernel
            impl.lingerMaybeOn = true;
        } catch (IOException | RuntimeException | Error e) {
            Native.close(fd);
            throw e;
        }
        return impl;
    }
}
