package io.rustsocket;

import io.rustsocket.internal.DescriptorPassing;
import io.rustsocket.internal.RustSocketImpl;
import io.rustsocket.internal.UnixNames;
import io.rustsocket.internal.UnixSockets;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A {@link Socket} whose system calls are made by rustsocket's Rust engine.
 *
 * <p>It keeps {@code java.net.Socket}'s contract: the same constructors, streams, timeouts,
 * options and exceptions, so code written for {@code Socket} runs unchanged. Additions:
 * <ul>
 *   <li>Happy Eyeballs (RFC 8305): when a host name resolves to several addresses, the host-name
 *       constructors and {@link #connect(String, int, int)} race them, IPv6 and IPv4 interleaved,
 *       starting a new attempt every {@linkplain #setConnectionAttemptDelay connection attempt
 *       delay} until one connects; {@link #connectAny(List, int)} does the same for addresses
 *       given explicitly.</li>
 *   <li>{@link #sendFile(Path, long, long)} and {@link #sendFile(FileChannel, long, long)} send
 *       a file with {@code sendfile(2)}, without copying it through the Java heap.</li>
 *   <li>Unix domain sockets: {@link #connect(SocketAddress, int)} and {@link #bind(SocketAddress)}
 *       take a {@link UnixDomainSocketAddress} (a socket file) or, on Linux, an
 *       {@link AbstractUnixSocketAddress}; {@link #pair()} makes two connected sockets;
 *       {@link #peerCredentials()} says who is at the other end;
 *       {@link #writeWithDescriptors} and {@link #takeReceivedDescriptors()} pass open files and
 *       sockets to the process at the other end (see {@link FileDescriptors}).</li>
 * </ul>
 *
 * <h2>Unix domain sockets</h2>
 * A socket connected or bound to a Unix name keeps the TCP socket's contract for streams,
 * timeouts, shutdown, close from another thread and virtual threads. What differs:
 * <ul>
 *   <li>{@link #getLocalSocketAddress()} and {@link #getRemoteSocketAddress()} return the Unix
 *       names, as the JDK's Unix {@code SocketChannel} does: a {@code UnixDomainSocketAddress}
 *       (an unnamed end, such as a client that did not bind, as the empty path) or an
 *       {@code AbstractUnixSocketAddress}. {@link #getInetAddress()} and
 *       {@link #getLocalAddress()} return the loopback address, and {@link #getPort()} and
 *       {@link #getLocalPort()} 0, so that code that logs them keeps working.</li>
 *   <li>{@link #supportedOptions()} holds what a Unix socket has (SO_SNDBUF, SO_RCVBUF,
 *       SO_LINGER); the others throw {@code UnsupportedOperationException} through
 *       {@link #setOption}, as the JDK's Unix channels do. The legacy setters of TCP and IP
 *       options ({@link #setTcpNoDelay}, {@link #setKeepAlive}, {@link #setOOBInline},
 *       {@link #setTrafficClass}, {@link #setReuseAddress}) do nothing and their getters return
 *       false (0 for the traffic class), so that clients written for TCP run over a socket file
 *       unchanged.</li>
 *   <li>Errors are the JDK's for Unix channels: {@code SocketException} "No such file or
 *       directory" for a missing socket file, {@code ConnectException} "Connection refused" when
 *       nothing listens on it, {@code BindException} "Address already in use" when the path
 *       exists, and a {@code SocketException} naming the limit, before any system call, for a
 *       path longer than the system allows. The socket file stays after close, as with the
 *       JDK; delete it when done.</li>
 * </ul>
 *
 * <pre>{@code
 * try (Socket s = new RustSocket("localhost", 6379)) {
 *     s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
 * }
 * }</pre>
 */
public class RustSocket extends Socket {
    /**
     * The system property that sets the default {@linkplain #setConnectionAttemptDelay connection
     * attempt delay} in milliseconds, read when a socket is created: {@value}. A value that is
     * not a whole number of at least 10 is ignored.
     */
    public static final String CONNECTION_ATTEMPT_DELAY_PROPERTY = "io.rustsocket.connectionAttemptDelay";

    /** The default connection attempt delay in milliseconds, RFC 8305's recommendation: {@value}. */
    public static final int DEFAULT_CONNECTION_ATTEMPT_DELAY = 250;

    /** RFC 8305's floor for the connection attempt delay, in milliseconds. */
    private static final int MIN_CONNECTION_ATTEMPT_DELAY = 10;

    private final RustSocketImpl impl;
    private volatile int connectionAttemptDelay = defaultConnectionAttemptDelay();

    /**
     * Creates an unconnected socket; connect it with {@link #connect(SocketAddress, int)}.
     *
     * @throws SocketException if the socket cannot be set up
     * @throws UnsatisfiedLinkError if the native library is not available on this platform
     */
    public RustSocket() throws SocketException {
        this(new RustSocketImpl(false));
    }

    /**
     * Creates a socket connected to {@code host} at {@code port}, racing the host's addresses as
     * {@link #connectAny(List, int)} does (Happy Eyeballs, no timeout, the default connection
     * attempt delay).
     *
     * @param host the host name, or {@code null} for the loopback address
     * @param port the remote port
     * @throws UnknownHostException if the host name cannot be resolved
     * @throws IOException if no address of the host accepted the connection
     * @throws IllegalArgumentException if the port is outside 0..65535
     */
    public RustSocket(String host, int port) throws IOException {
        this(new RustSocketImpl(false), checkPort(port), new Resolution(host), null);
    }

    /**
     * Creates a socket connected to {@code address} at {@code port}.
     *
     * @param address the remote address
     * @param port the remote port
     * @throws IOException if the connection cannot be made
     * @throws IllegalArgumentException if the port is outside 0..65535
     * @throws NullPointerException if {@code address} is null
     */
    public RustSocket(InetAddress address, int port) throws IOException {
        this(new RustSocketImpl(false), remote(address, port), null);
    }

    /**
     * Creates a socket bound to {@code localAddr}:{@code localPort} and connected to
     * {@code host} at {@code port}, racing the host's addresses as {@link #connectAny(List, int)}
     * does (no timeout, the default connection attempt delay).
     *
     * @param host the host name, or {@code null} for the loopback address
     * @param port the remote port
     * @param localAddr the local address to bind to, or {@code null} for any
     * @param localPort the local port, or 0 for an ephemeral one
     * @throws IOException if binding or connecting fails
     * @throws IllegalArgumentException if a port is outside 0..65535
     */
    public RustSocket(String host, int port, InetAddress localAddr, int localPort) throws IOException {
        this(new RustSocketImpl(false), checkPort(port), new Resolution(host), new InetSocketAddress(localAddr, localPort));
    }

    /**
     * Creates a socket bound to {@code localAddr}:{@code localPort} and connected to
     * {@code address} at {@code port}.
     *
     * @param address the remote address
     * @param port the remote port
     * @param localAddr the local address to bind to, or {@code null} for any
     * @param localPort the local port, or 0 for an ephemeral one
     * @throws IOException if binding or connecting fails
     * @throws IllegalArgumentException if a port is outside 0..65535
     * @throws NullPointerException if {@code address} is null
     */
    public RustSocket(InetAddress address, int port, InetAddress localAddr, int localPort) throws IOException {
        this(new RustSocketImpl(false), remote(address, port), new InetSocketAddress(localAddr, localPort));
    }

    /**
     * Two connected Unix domain sockets ({@code socketpair(2)}): what one writes, the other
     * reads. Both ends are unnamed.
     *
     * @return the two sockets
     * @throws IOException if the system cannot make them (for instance, out of descriptors)
     */
    public static RustSocket[] pair() throws IOException {
        RustSocketImpl[] ends = UnixSockets.pair();
        RustSocket first;
        try {
            first = adopt(ends[0]);
        } catch (IOException | RuntimeException e) {
            UnixSockets.discardPairEnd(ends[1]);
            throw e;
        }
        try {
            return new RustSocket[] {first, adopt(ends[1])};
        } catch (IOException | RuntimeException e) {
            try {
                first.close();
            } catch (IOException ce) {
                e.addSuppressed(ce);
            }
            throw e;
        }
    }

    /**
     * A connected socket over an implementation that holds a connected Unix descriptor to adopt
     * (a pair end, a received socket: see {@link UnixSockets#pair}). Socket creates the
     * implementation, which adopts the descriptor, and marks it connected; on failure the
     * descriptor is closed.
     */
    static RustSocket adopt(RustSocketImpl end) throws IOException {
        RustSocket socket = null;
        try {
            socket = new RustSocket(end);
            socket.completePair();
            return socket;
        } catch (IOException | RuntimeException e) {
            if (socket != null) {
                try {
                    socket.close();
                } catch (IOException ce) {
                    e.addSuppressed(ce);
                }
            }
            UnixSockets.discardPairEnd(end);
            throw e;
        }
    }

    /** Lets Socket create the implementation (which adopts its pair end) and mark it connected. */
    private void completePair() throws IOException {
        super.connect(UnixNames.PLACEHOLDER, 0);
    }

    /** An unconnected socket over the given implementation; used by accept. */
    RustSocket(RustSocketImpl impl) throws SocketException {
        super(impl);
        this.impl = impl;
    }

    /**
     * Connects to {@code endpoint} within {@code timeout} milliseconds (0: no limit), as
     * {@link Socket#connect(SocketAddress, int)} does; a {@link UnixDomainSocketAddress} or an
     * {@link AbstractUnixSocketAddress} makes this a Unix domain socket (see the class comment).
     * A Unix connect waits only while the listener's queue of pending connections is full.
     *
     * @param endpoint an {@code InetSocketAddress}, or a Unix name
     * @param timeout the time limit in milliseconds, 0 for none
     * @throws IOException as {@code Socket.connect}; for a Unix name, the errors listed in the
     *     class comment
     * @throws IllegalArgumentException if the timeout is negative, or the address type does not
     *     fit the socket (an IP address for a socket bound to a Unix name, or the reverse)
     * @throws UnsupportedOperationException for an abstract name on a system without them
     */
    @Override
    public void connect(SocketAddress endpoint, int timeout) throws IOException {
        if (UnixNames.isUnix(endpoint)) {
            checkTimeout(timeout);
            if (isClosed() || isConnected()) {
                super.connect(UnixNames.PLACEHOLDER, timeout); // throws Socket's own message
            }
            if (isBound() && !impl.isUnix()) {
                throw new IllegalArgumentException("Unsupported address type");
            }
            UnixSockets.prepareConnect(impl, endpoint);
            try {
                super.connect(UnixNames.PLACEHOLDER, timeout);
            } finally {
                UnixSockets.forgetNames(impl);
            }
            return;
        }
        if (endpoint instanceof InetSocketAddress && impl.isUnix()) {
            throw new IllegalArgumentException("Unsupported address type");
        }
        super.connect(endpoint, timeout);
    }

    /**
     * Binds the socket to a local address, as {@link Socket#bind(SocketAddress)} does; a
     * {@link UnixDomainSocketAddress} (which creates the socket file) or an
     * {@link AbstractUnixSocketAddress} makes this a Unix domain socket, to be connected to a
     * Unix name.
     *
     * @param bindpoint an {@code InetSocketAddress}, a Unix name, or null for an ephemeral port
     *     (for a socket that is a Unix one already: an unnamed end, as the empty path gives)
     * @throws java.net.BindException if the address is in use (for a Unix name: the file exists)
     * @throws IOException as {@code Socket.bind}
     * @throws IllegalArgumentException if the address type does not fit the socket
     * @throws UnsupportedOperationException for an abstract name on a system without them
     */
    @Override
    public void bind(SocketAddress bindpoint) throws IOException {
        if (UnixNames.isUnix(bindpoint)) {
            if (isClosed()) {
                throw new SocketException("Socket is closed");
            }
            if (isBound()) {
                throw new SocketException("Already bound");
            }
            UnixSockets.prepareBind(impl, bindpoint);
            try {
                super.bind(UnixNames.PLACEHOLDER);
            } catch (IOException e) {
                UnixSockets.revertAfterFailedBind(impl, e);
                throw e;
            } finally {
                UnixSockets.forgetNames(impl);
            }
            return;
        }
        if (impl.isUnix()) {
            if (bindpoint != null) {
                throw new IllegalArgumentException("Unsupported address type");
            }
            bind(UnixDomainSocketAddress.of("")); // an unnamed end
            return;
        }
        super.bind(bindpoint);
    }

    /**
     * The local address: for a Unix socket its Unix name (see the class comment), otherwise as
     * {@link Socket#getLocalSocketAddress()}.
     *
     * @return the local address, or null if the socket is not bound
     */
    @Override
    public SocketAddress getLocalSocketAddress() {
        if (impl.isUnix()) {
            return isBound() ? UnixSockets.localAddress(impl) : null;
        }
        return super.getLocalSocketAddress();
    }

    /**
     * The remote address: for a Unix socket the peer's Unix name (see the class comment),
     * otherwise as {@link Socket#getRemoteSocketAddress()}.
     *
     * @return the remote address, or null if the socket is not connected
     */
    @Override
    public SocketAddress getRemoteSocketAddress() {
        if (impl.isUnix()) {
            return isConnected() ? UnixSockets.remoteAddress(impl) : null;
        }
        return super.getRemoteSocketAddress();
    }

    /**
     * The options of this socket: those of a Unix socket once it is one; otherwise those of {@link
     * Socket#supportedOptions()} and the {@link RustSocketOptions} this kernel supports on a client
     * socket. (A plain {@code java.net.Socket} on rustsocket, under the agent, lists only the JDK's
     * options, and still accepts these.)
     *
     * @return the supported options, an unmodifiable set
     */
    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return impl.allSupportedOptions(super::supportedOptions);
    }

    /**
     * Who is at the other end of this connected Unix domain socket, as the kernel recorded it
     * when the connection was made.
     *
     * @return the peer's process id (-1 where the system does not report it), user id and
     *     group id
     * @throws SocketException if the socket is closed or not connected
     * @throws UnsupportedOperationException if this is not a Unix domain socket
     * @throws IOException if the system cannot tell
     */
    public PeerCredentials peerCredentials() throws IOException {
        checkUnixConnected();
        long[] c = UnixSockets.peerCredentials(impl);
        return new PeerCredentials(c[0], c[1], c[2]);
    }

    /**
     * Writes {@code b[off..off+len]} as {@code getOutputStream().write} does, with
     * {@code descriptors} attached to the first byte ({@code SCM_RIGHTS}): the process at the
     * other end of this Unix socket receives them with the read that returns that byte, if it
     * {@linkplain #setReceivingDescriptors receives descriptors}. They stay open here; see
     * {@link FileDescriptors} for those of sockets and channels.
     *
     * @param b the data: at least one byte when there are descriptors, which a stream socket
     *     carries only with data
     * @param off the first byte to write
     * @param len how many bytes to write
     * @param descriptors at most 253 (Linux's limit, kept everywhere); none makes a plain write
     * @throws NullPointerException if {@code b}, {@code descriptors} or one of them is null
     * @throws IndexOutOfBoundsException if the range is outside {@code b}
     * @throws IllegalArgumentException for more than 253 descriptors, descriptors with no byte,
     *     or one that is not valid (closed) or not open; nothing is sent
     * @throws SocketException if the socket is closed, not connected or its output is shut down,
     *     or the connection fails, as for {@code write}
     * @throws UnsupportedOperationException if this is not a Unix domain socket, or on Windows
     */
    public void writeWithDescriptors(byte[] b, int off, int len, FileDescriptor... descriptors) throws IOException {
        DescriptorPassing.checkWrite(b, off, len, descriptors);
        checkWritable();
        try {
            DescriptorPassing.write(impl, b, off, len, descriptors);
        } catch (InterruptedIOException e) {
            throw closedByInterrupt(e);
        }
    }

    /**
     * Makes the reads of this Unix socket take the descriptors sent with the bytes they return,
     * for {@link #takeReceivedDescriptors()}, or ({@code false}) stops that. Off by default: the
     * system then closes whatever descriptors arrive, so a peer cannot fill this process with
     * descriptors it does not expect. Turn it on before the read of the first byte they come with.
     *
     * @param on whether reads take descriptors
     * @throws SocketException if the socket is closed or not connected
     * @throws UnsupportedOperationException if this is not a Unix domain socket, or on Windows
     */
    public void setReceivingDescriptors(boolean on) throws SocketException {
        checkUnixConnected();
        DescriptorPassing.setReceiving(impl, on);
    }

    /**
     * Whether reads take descriptors; see {@link #setReceivingDescriptors}.
     *
     * @return whether reads take descriptors
     */
    public boolean isReceivingDescriptors() {
        return DescriptorPassing.isReceiving(impl);
    }

    /**
     * The descriptors that arrived with the bytes read so far and were not taken yet, oldest
     * first, now the caller's (see {@link FileDescriptors} for what to do with them). Those
     * nobody takes are closed with this socket.
     *
     * @return the descriptors, possibly none
     * @throws SocketException if the socket is closed or not connected; and once after the
     *     descriptors of some write did not all arrive (more than 253, or this process was out of
     *     descriptors): those of that write that did were closed, the others stay for the next call
     * @throws UnsupportedOperationException if this is not a Unix domain socket, or on Windows
     */
    public FileDescriptor[] takeReceivedDescriptors() throws SocketException {
        checkUnixConnected();
        return DescriptorPassing.take(impl);
    }

    /** The state checks of the calls only a connected Unix socket has. */
    private void checkUnixConnected() throws SocketException {
        if (isClosed()) {
            throw new SocketException("Socket is closed");
        }
        if (!isConnected()) {
            throw new SocketException("Socket is not connected");
        }
        if (!impl.isUnix()) {
            throw new UnsupportedOperationException("Not a Unix domain socket");
        }
    }

    /** The implementation, for {@link FileDescriptors}. */
    RustSocketImpl impl() {
        return impl;
    }

    /** For a Unix socket, its two names; otherwise as {@link Socket#toString()}. */
    @Override
    public String toString() {
        if (impl.isUnix() && isConnected()) {
            return "RustSocket[local=" + getLocalSocketAddress() + ",remote=" + getRemoteSocketAddress() + "]";
        }
        return super.toString();
    }

    /**
     * A snapshot of the kernel's state of this connection ({@code getsockopt(TCP_INFO)}): round-trip
     * times, congestion window, retransmissions, bytes sent, acknowledged and received, and more.
     *
     * @return the snapshot, immutable
     * @throws SocketException if the socket is closed ({@code "Socket is closed"}) or not yet
     *         connected ({@code "Socket is not connected"})
     * @throws UnsupportedOperationException if this is a Unix domain socket
     * @throws IOException if the kernel refuses
     */
    public TcpInfo tcpInfo() throws IOException {
        if (isClosed()) {
            throw new SocketException("Socket is closed");
        }
        if (!isConnected()) {
            throw new SocketException("Socket is not connected");
        }
        if (impl.isUnix()) {
            throw new UnsupportedOperationException("TCP_INFO: not a TCP socket");
        }
        return TcpInfo.of(impl.tcpInfo(TcpInfo.FIELDS));
    }

    /**
     * Connects to a literal address. Arguments are checked in the JDK's order: the remote port
     * (when there is an address), then the local address and port, then a null remote address.
     */
    private RustSocket(RustSocketImpl impl, InetSocketAddress remote, SocketAddress local) throws IOException {
        this(impl, requireRemote(remote).getPort(), new Resolution(remote.getAddress()), local);
    }

    private RustSocket(RustSocketImpl impl, int port, Resolution target, SocketAddress local)
            throws IOException {
        super(impl);
        this.impl = impl;
        try {
            if (local != null) {
                bind(local);
            }
            // as in the JDK, a name that does not resolve fails at connect, after the bind
            InetAddress[] addresses = target.addresses();
            if (addresses.length == 1) {
                connect(new InetSocketAddress(addresses[0], port)); // nothing to race
            } else {
                connectRacing(endpoints(addresses, port), 0);
            }
        } catch (IOException | RuntimeException e) {
            try {
                close();
            } catch (IOException ce) {
                e.addSuppressed(ce);
            }
            throw e;
        }
    }

    /**
     * Connects to {@code host} at {@code port} within {@code timeout} milliseconds (0: no limit),
     * racing the host's addresses as RFC 8305 (Happy Eyeballs) describes: see
     * {@link #connectAny(List, int)}. With one address this is
     * {@code connect(new InetSocketAddress(host, port), timeout)}. On failure, a name that does
     * not resolve included, the socket is left as after a failed {@code connect} (see
     * {@link #connectAny(List, int)}).
     *
     * @param host the host name, or {@code null} for the loopback address
     * @param port the remote port
     * @param timeout the time limit in milliseconds for the whole connect, 0 for none
     * @throws UnknownHostException if the host name cannot be resolved
     * @throws java.net.SocketTimeoutException if no address answered within the timeout
     * @throws IOException if every address failed (the first address's error, with the others
     *         suppressed), or the socket is closed or already connected
     * @throws IllegalArgumentException if the port is outside 0..65535 or the timeout is negative
     */
    public void connect(String host, int port, int timeout) throws IOException {
        checkPort(port);
        checkTimeout(timeout);
        InetAddress[] addresses;
        try {
            addresses = new Resolution(host).addresses();
        } catch (UnknownHostException e) {
            throw failUnresolved(InetSocketAddress.createUnresolved(host, port), timeout, e);
        }
        connectRacing(endpoints(addresses, port), timeout);
    }

    /**
     * Fails a connect to a name that does not resolve as {@code Socket.connect} fails for an
     * unresolved address, by making that very call: its state checks first ("Socket is closed",
     * "Already connected"), then the implementation's {@code UnknownHostException}, after which
     * {@code Socket} closes the socket.
     *
     * @param failure the resolver's failure to report instead (it has the cause), or null
     */
    private UnknownHostException failUnresolved(InetSocketAddress unresolved, int timeout,
            UnknownHostException failure) throws IOException {
        try {
            connect(unresolved, timeout);
        } catch (UnknownHostException e) {
            return failure != null ? failure : e;
        }
        throw new IllegalStateException("connected to the unresolved " + unresolved);
    }

    /**
     * Connects to the first of {@code endpoints} that accepts within {@code timeout} milliseconds
     * (0: no limit), as RFC 8305 (Happy Eyeballs) describes. The endpoints are reordered so that
     * IPv6 and IPv4 alternate, starting with the family of the first (the order within a family
     * is kept). A connect to the first starts at once; while none has connected, the next starts
     * after the {@linkplain #getConnectionAttemptDelay connection attempt delay}, or at once when
     * every attempt started so far has failed. The first connection made is kept and every other
     * attempt is closed before this method returns. Options set and the local address bound
     * before the call apply to every attempt; a socket bound to a fixed local port tries the
     * endpoints one after another instead, since two sockets cannot hold that port. With
     * {@link RustSocketOptions#TCP_FASTOPEN_CONNECT} set, every connect returns at once without
     * a handshake, so the first endpoint always wins and the timeout has nothing to limit: leave
     * that option off where racing or the timeout matters.
     *
     * <p>After it returns, {@link #getInetAddress()} and {@link #getPort()} name the endpoint that
     * won. On failure the socket is left as a failed {@code Socket.connect} leaves it on the
     * running JDK (closed on JDK 25; JDK 17's {@code Socket} does not close it), for an
     * unresolved endpoint too, which fails through that very call: a socket already connected
     * or closed fails its checks first and is left as it was. Closing the socket
     * from another thread wakes the call with {@code SocketException("Socket closed")}; an
     * interrupted virtual thread closes it with {@code SocketException("Closed by interrupt")}.
     *
     * @param endpoints resolved endpoints, in order of preference; at least one
     * @param timeout the time limit in milliseconds for the whole connect, 0 for none
     * @throws java.net.SocketTimeoutException if no endpoint connected within the timeout
     * @throws IOException if every endpoint failed (the first endpoint's error, with the others
     *         suppressed), or the socket is closed or already connected
     * @throws UnknownHostException if an endpoint is unresolved
     * @throws IllegalArgumentException if the list is empty, has a null element, or the timeout
     *         is negative
     * @throws NullPointerException if {@code endpoints} is null
     */
    public void connectAny(List<InetSocketAddress> endpoints, int timeout) throws IOException {
        List<InetSocketAddress> copy = new ArrayList<>(Objects.requireNonNull(endpoints, "endpoints"));
        checkTimeout(timeout);
        if (copy.isEmpty()) {
            throw new IllegalArgumentException("no endpoint to connect to");
        }
        for (InetSocketAddress e : copy) {
            if (e == null) {
                throw new IllegalArgumentException("null endpoint");
            }
            if (e.isUnresolved()) {
                throw failUnresolved(e, timeout, null);
            }
        }
        connectRacing(copy, timeout);
    }

    /** Hands the endpoints to the implementation, then connects through Socket's own checks. */
    private void connectRacing(List<InetSocketAddress> endpoints, int timeout) throws IOException {
        impl.setConnectCandidates(endpoints, connectionAttemptDelay);
        try {
            connect(endpoints.get(0), timeout);
        } finally {
            impl.setConnectCandidates(null, 0); // Socket refused before reaching the implementation
        }
    }

    /** Socket.connect's own check, made before any name is resolved or endpoint checked. */
    private static void checkTimeout(int timeout) {
        if (timeout < 0) {
            throw new IllegalArgumentException("connect: timeout can't be negative");
        }
    }

    private static List<InetSocketAddress> endpoints(InetAddress[] addresses, int port) {
        List<InetSocketAddress> list = new ArrayList<>(addresses.length);
        for (InetAddress a : addresses) {
            list.add(new InetSocketAddress(a, port));
        }
        return list;
    }

    /**
     * Sets how long a connect that races several addresses ({@link #connectAny(List, int)},
     * {@link #connect(String, int, int)}) waits for an attempt before starting the next one: RFC
     * 8305's "Connection Attempt Delay". The default is
     * {@value #DEFAULT_CONNECTION_ATTEMPT_DELAY} ms, or the value of the system property
     * {@value #CONNECTION_ATTEMPT_DELAY_PROPERTY}. A delay at least as long as the connect's
     * timeout makes the attempts sequential (the next starts only when the previous failed).
     * The host-name constructors connect before a delay can be set, so they use the default.
     *
     * @param millis the delay in milliseconds, at least 10 (RFC 8305's floor)
     * @throws IllegalArgumentException if {@code millis} is less than 10
     */
    public void setConnectionAttemptDelay(int millis) {
        if (millis < MIN_CONNECTION_ATTEMPT_DELAY) {
            throw new IllegalArgumentException("connection attempt delay " + millis + " ms is under "
                    + MIN_CONNECTION_ATTEMPT_DELAY + " ms");
        }
        connectionAttemptDelay = millis;
    }

    /**
     * Returns the connection attempt delay; see {@link #setConnectionAttemptDelay(int)}.
     *
     * @return the delay in milliseconds
     */
    public int getConnectionAttemptDelay() {
        return connectionAttemptDelay;
    }

    private static int defaultConnectionAttemptDelay() {
        String value = System.getProperty(CONNECTION_ATTEMPT_DELAY_PROPERTY);
        if (value != null) {
            try {
                int millis = Integer.parseInt(value.trim());
                if (millis >= MIN_CONNECTION_ATTEMPT_DELAY) {
                    return millis;
                }
            } catch (NumberFormatException ignore) {
                // documented: an unusable value is ignored
            }
        }
        return DEFAULT_CONNECTION_ATTEMPT_DELAY;
    }

    /**
     * Sends up to {@code count} bytes of {@code file}, starting at byte {@code position}, with
     * {@code sendfile(2)}: the kernel moves them from the page cache to the socket, with no copy
     * through the Java heap or user memory. Stops early at the end of the file; sends nothing when
     * {@code position} is at or past it. The file is opened for this call and closed before it
     * returns. See {@link #sendFile(FileChannel, long, long)} for the socket's side.
     *
     * @param file the file to send
     * @param position the first byte to send
     * @param count the most bytes to send
     * @return the bytes sent
     * @throws java.nio.file.NoSuchFileException and the other exceptions of
     *         {@link FileChannel#open(Path, java.nio.file.OpenOption...)} if the file cannot be opened
     * @throws SocketException as for {@link #sendFile(FileChannel, long, long)}
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if {@code position} or {@code count} is negative
     * @throws NullPointerException if {@code file} is null
     */
    public long sendFile(Path file, long position, long count) throws IOException {
        Objects.requireNonNull(file, "file");
        checkSendFile(position, count);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return sendFile(channel, position, count);
        }
    }

    /**
     * Sends up to {@code count} bytes of {@code channel}'s file, starting at byte
     * {@code position}, like {@link FileChannel#transferTo}: the channel's own position is neither
     * used nor changed, the send stops early at the end of the file, and the bytes sent are
     * returned. Unlike {@code transferTo}, it loops until {@code count} bytes are sent or the file
     * ends.
     *
     * <p>Zero-copy needs the channel's descriptor, which {@code FileChannel} does not expose: it is
     * read through JNI from the JDK's own implementation (the channels of
     * {@link FileChannel#open}, {@code FileInputStream.getChannel} and
     * {@code RandomAccessFile.getChannel} on the default file system) and duplicated for the
     * call, so closing the channel meanwhile cannot make the send read another file. Any other
     * {@code FileChannel} (a zip or in-memory file system, a wrapper) and files that
     * {@code sendfile(2)} cannot read (pipes) are sent by reading the channel into a buffer and
     * writing it, as {@code transferTo} does.
     *
     * <p>On the socket's side it is a write: it holds the socket's write lock throughout (no other
     * thread's write lands inside the file's bytes), has no timeout, parks a virtual thread
     * instead of blocking its carrier, and fails as {@code getOutputStream().write} would:
     * {@code SocketException} "Socket is closed", "Socket is not connected" or "Socket output is
     * shutdown" before it starts; "Socket closed" when another thread closes the socket during the
     * send; the connection's error ("Connection reset by peer", "Broken pipe") otherwise, never a
     * SIGPIPE. An interrupted virtual thread closes the socket and gets
     * {@code SocketException("Closed by interrupt")}; a platform thread's interrupt does not
     * stop the send. Bytes sent before a failure are not reported, as with {@code write}.
     *
     * @param channel a file channel open for reading
     * @param position the first byte to send
     * @param count the most bytes to send
     * @return the bytes sent
     * @throws java.nio.channels.ClosedChannelException if the channel is closed
     * @throws java.nio.channels.NonReadableChannelException if it was not opened for reading
     * @throws SocketException if the socket is closed, not connected, its output is shut down, or
     *         the connection fails
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if {@code position} or {@code count} is negative
     * @throws NullPointerException if {@code channel} is null
     */
    public long sendFile(FileChannel channel, long position, long count) throws IOException {
        Objects.requireNonNull(channel, "channel");
        checkSendFile(position, count);
        try {
            return impl.sendFile(channel, position, count);
        } catch (InterruptedIOException e) {
            throw closedByInterrupt(e);
        }
    }

    /**
     * What Socket's own output stream does on JDK 21+ when a virtual thread is interrupted in a
     * write (only virtual threads get here): the socket is closed, "Closed by interrupt".
     */
    private IOException closedByInterrupt(InterruptedIOException e) throws IOException {
        if (!Thread.currentThread().isInterrupted()) {
            return e;
        }
        close();
        SocketException se = new SocketException("Closed by interrupt");
        se.initCause(e);
        return se;
    }

    /** The argument and state checks of sendFile, in the order getOutputStream makes them. */
    private void checkSendFile(long position, long count) throws SocketException {
        if (position < 0 || count < 0) {
            throw new IllegalArgumentException("negative position or count: " + position + ", " + count);
        }
        checkWritable();
    }

    /** The state checks of a write outside the output stream, in the order getOutputStream makes them. */
    private void checkWritable() throws SocketException {
        if (isClosed()) {
            throw new SocketException("Socket is closed");
        }
        if (!isConnected()) {
            throw new SocketException("Socket is not connected");
        }
        if (isOutputShutdown()) {
            throw new SocketException("Socket output is shutdown");
        }
    }

    /** The remote end for the InetAddress constructors; null when the address is null. */
    private static InetSocketAddress remote(InetAddress address, int port) {
        return address != null ? new InetSocketAddress(address, port) : null;
    }

    private static InetSocketAddress requireRemote(InetSocketAddress remote) {
        // the JDK's NullPointerException here has no message
        return Objects.requireNonNull(remote);
    }

    /**
     * A host name resolved to all its addresses through {@link InetAddress} (the JVM's resolver
     * and cache). A name that does not resolve is reported when the addresses are asked for, with
     * the JDK's message (just the host name).
     */
    private static final class Resolution {
        private final InetAddress[] addresses;
        private final UnknownHostException failure;

        Resolution(String host) {
            InetAddress[] found = null;
            UnknownHostException error = null;
            try {
                found = InetAddress.getAllByName(host);
            } catch (UnknownHostException e) {
                error = new UnknownHostException(host);
                error.initCause(e);
            }
            this.addresses = found;
            this.failure = error;
        }

        Resolution(InetAddress address) {
            this.addresses = new InetAddress[] {address};
            this.failure = null;
        }

        InetAddress[] addresses() throws UnknownHostException {
            if (failure != null) {
                throw failure;
            }
            return addresses;
        }
    }

    private static int checkPort(int port) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port out of range:" + port);
        }
        return port;
    }
}
