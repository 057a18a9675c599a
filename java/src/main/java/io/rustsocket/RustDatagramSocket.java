package io.rustsocket;

import io.rustsocket.internal.DatagramBatches;
import io.rustsocket.internal.RustDatagramSocketImpl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Set;

/**
 * A {@link DatagramSocket} whose system calls are made by rustsocket's Rust engine: UDP send
 * and receive with {@link DatagramPacket} semantics, connect/disconnect peer filtering, the
 * standard options, multicast membership, and, beyond the JDK, batched I/O
 * ({@link #send(DatagramBatch)} and {@link #receive(DatagramBatch)}, one {@code sendmmsg} or
 * {@code recvmmsg} for many datagrams).
 *
 * <pre>{@code
 * try (RustDatagramSocket server = new RustDatagramSocket(5353)) {
 *     DatagramPacket p = new DatagramPacket(new byte[512], 512);
 *     server.receive(p);                    // address, port and length set
 *     server.send(p);                       // echo it back to its sender
 * }
 * }</pre>
 *
 * <p><b>How it plugs into {@code DatagramSocket}.</b> Since JDK 15, {@code DatagramSocket} is a
 * shell over a private delegate: its public constructors make a {@code DatagramChannel}-based
 * one, and its protected {@code DatagramSocket(DatagramSocketImpl)} constructor wraps the given
 * impl in a package-private {@code NetMulticastSocket}, which creates nothing until first used.
 * This class passes its {@link RustDatagramSocketImpl} to that protected constructor (so no
 * JDK socket is ever opened and every JDK from 17 to 25 accepts it) and overrides every public
 * method of {@code DatagramSocket} to call the impl directly, with the checks and messages of
 * the JDK's default (channel-based) datagram socket rather than the legacy
 * {@code NetMulticastSocket} ones. A method a future JDK adds would reach the impl through
 * {@code NetMulticastSocket}, which still works, because the impl is a complete
 * {@code DatagramSocketImpl}. {@code getChannel()} returns {@code null}, as for any
 * {@code DatagramSocket} made from an impl.
 *
 * <p>{@code java.net.MulticastSocket} has no constructor that takes an impl, so there is no
 * {@code RustMulticastSocket}: use {@link #joinGroup} and {@link #leaveGroup} here, and the
 * {@code IP_MULTICAST_IF}, {@code IP_MULTICAST_TTL} and {@code IP_MULTICAST_LOOP} options.
 *
 * <h2>Unix domain datagram sockets</h2>
 * The JDK has no Unix datagram socket; this class is one when it is bound, connected or sent to
 * a {@link UnixDomainSocketAddress} (a socket file) or, on Linux, an
 * {@link AbstractUnixSocketAddress}, and {@link #pair()} makes two connected ones. A socket that
 * is already bound or connected to an IP address stays a UDP one (a Unix name then gives
 * {@code IllegalArgumentException("Unsupported address type")}), and the reverse. Not on
 * Windows, whose Unix sockets are stream sockets only ({@code UnsupportedOperationException}).
 *
 * <pre>{@code
 * try (RustDatagramSocket server = new RustDatagramSocket(UnixDomainSocketAddress.of("/run/app.sock"));
 *      RustDatagramSocket client = new RustDatagramSocket(UnixDomainSocketAddress.of("/run/client.sock"))) {
 *     client.send(ByteBuffer.wrap(request), server.getLocalSocketAddress());
 *     ByteBuffer in = ByteBuffer.allocate(65536);
 *     SocketAddress from = server.receive(in);   // the client's name
 *     server.send(in.flip(), from);              // the reply
 * }
 * }</pre>
 *
 * What works, and what differs from UDP:
 * <ul>
 *   <li>Names: {@link DatagramPacket} holds only an IP address and port, and rejects any other
 *       address, so sending to a Unix name and learning a sender's name go through
 *       {@link #send(ByteBuffer, SocketAddress)} and {@link #receive(ByteBuffer)}, which work for
 *       UDP too, in the manner of {@code DatagramChannel}. The packet calls still work:
 *       {@link #send(DatagramPacket)} sends a packet without an address to the connected peer
 *       (one with an address gives {@code IllegalArgumentException}), and
 *       {@link #receive(DatagramPacket)} fills the packet's data and length and clears its
 *       address (null, port 0), so {@code receive(p); send(p)} answers the peer of a connected
 *       socket.</li>
 *   <li>A sender that never bound is unnamed: {@link #receive(ByteBuffer)} returns the empty
 *       path for it, as the JDK's Unix {@code SocketChannel} shows an unnamed peer, and it
 *       cannot be answered (sending or connecting to the empty path gives
 *       {@code IllegalArgumentException}). A socket that must get replies binds first. The first
 *       send, receive or connect of an unbound socket leaves it unnamed for good (as it binds a
 *       UDP socket to an ephemeral port); {@code bind(null)} does the same at once.</li>
 *   <li>{@link #connect(SocketAddress)} makes sends without a target go to the peer and, on
 *       Linux, lets only the peer send here; datagrams queued before are discarded, as for UDP.
 *       {@link #getLocalSocketAddress()} and {@link #getRemoteSocketAddress()} return the Unix
 *       names (an unnamed socket's as the empty path); {@link #getLocalAddress()} and
 *       {@link #getInetAddress()} the loopback address, {@link #getLocalPort()} and
 *       {@link #getPort()} 0 (-1 when not connected), as {@code RustSocket}'s over a socket
 *       file.</li>
 *   <li>A datagram longer than the buffer is cut to it and the rest discarded, as for UDP.
 *       Datagrams may be longer than UDP's 65,507 bytes, up to what the send buffer holds (about
 *       212 KB with Linux's defaults; {@link #setSendBufferSize} moves it), beyond which a send
 *       fails with "Message too long".</li>
 *   <li>On Linux, a send to a receiver whose queue is full waits, with no timeout, as a UDP
 *       send waits for buffer space, and {@link #close()} ends the wait: a connected socket
 *       waits until the kernel says its peer has room; a send to any other name tries again
 *       after pauses that grow to 10 ms. (macOS makes no sender wait: the send fails with
 *       "No buffer space available".)</li>
 *   <li>Errors: {@code SocketException("No such file or directory")} for a socket file that
 *       does not exist, {@link java.net.PortUnreachableException} "Connection refused" for a
 *       send to a name nobody holds any more (or to a peer that closed), and for a connect to
 *       it {@link java.net.ConnectException}, as {@code RustSocket}'s connect gives;
 *       {@link java.net.BindException} "Address already in use" when binding to a path that
 *       exists; a {@code SocketException} naming the limit, before any system call, for a path
 *       longer than the system allows. The socket file stays after close; delete it when done.</li>
 *   <li>Options: {@link #supportedOptions()} holds SO_SNDBUF and SO_RCVBUF; the other options
 *       throw {@code UnsupportedOperationException} through {@link #setOption}. The setters of
 *       IP options ({@link #setBroadcast}, {@link #setTrafficClass}, {@link #setReuseAddress})
 *       do nothing and their getters return false or 0, so that code written for UDP runs
 *       unchanged. Buffer sizes set before the socket became a Unix one are kept.</li>
 *   <li>Timeouts ({@link #setSoTimeout}), close from another thread and virtual threads (which
 *       park; an interrupt closes the socket) behave as for UDP. Batches
 *       ({@link #send(DatagramBatch)}) and multicast are UDP's only.</li>
 * </ul>
 */
public class RustDatagramSocket extends DatagramSocket {
    private final RustDatagramSocketImpl impl;

    /**
     * Creates a socket bound to the wildcard address and an ephemeral port.
     *
     * @throws SocketException if the socket cannot be opened or bound
     */
    public RustDatagramSocket() throws SocketException {
        this(new InetSocketAddress(0));
    }

    /**
     * Creates a socket bound to the wildcard address and {@code port} (0: any free port).
     *
     * @param port the local port
     * @throws SocketException if the socket cannot be opened or bound
     * @throws IllegalArgumentException if the port is out of range
     */
    public RustDatagramSocket(int port) throws SocketException {
        this(port, null);
    }

    /**
     * Creates a socket bound to {@code laddr} ({@code null}: the wildcard address) and {@code port}.
     *
     * @param port the local port (0: any free port)
     * @param laddr the local address, or {@code null}
     * @throws SocketException if the socket cannot be opened or bound
     * @throws IllegalArgumentException if the port is out of range
     */
    public RustDatagramSocket(int port, InetAddress laddr) throws SocketException {
        this(new InetSocketAddress(laddr, port));
    }

    /**
     * Creates a socket bound to {@code bindaddr}, or an unbound one when it is {@code null}
     * (bind it later with {@link #bind}). A {@link UnixDomainSocketAddress} (which creates the
     * socket file) or an {@link AbstractUnixSocketAddress} makes a Unix domain datagram socket
     * (see the class comment).
     *
     * @param bindaddr the local address or Unix name, or {@code null} for an unbound socket
     * @throws SocketException if the socket cannot be opened or bound ({@link java.net.BindException}
     *     when the address or socket file is taken)
     * @throws IllegalArgumentException if the address type is not supported
     * @throws UnsupportedOperationException for a Unix name where the system has no Unix
     *     datagram sockets (Windows), or an abstract name where it has none
     */
    public RustDatagramSocket(SocketAddress bindaddr) throws SocketException {
        this(new RustDatagramSocketImpl(), bindaddr);
    }

    /**
     * Two connected Unix domain datagram sockets ({@code socketpair(2)}): what one sends, the
     * other receives. Both are unnamed and connected to each other, so they send and receive
     * {@link DatagramPacket}s without addresses.
     *
     * @return the two sockets
     * @throws IOException if the system cannot make them (for instance, out of descriptors)
     * @throws UnsupportedOperationException where the system has no Unix datagram sockets (Windows)
     */
    public static RustDatagramSocket[] pair() throws IOException {
        RustDatagramSocketImpl[] ends = RustDatagramSocketImpl.pair();
        return new RustDatagramSocket[] {new RustDatagramSocket(ends[0]), new RustDatagramSocket(ends[1])};
    }

    /** A socket over an implementation that already holds its descriptor (a pair end). */
    private RustDatagramSocket(RustDatagramSocketImpl impl) {
        super(impl);
        this.impl = impl;
    }

    private RustDatagramSocket(RustDatagramSocketImpl impl, SocketAddress bindaddr) throws SocketException {
        super(impl);
        this.impl = impl;
        boolean done = false;
        try {
            impl.create(bindaddr);
            if (bindaddr != null) {
                impl.bind(bindaddr);
            }
            try {
                // the JDK's DatagramSocket constructors enable broadcast, best effort
                impl.setLegacy(StandardSocketOptions.SO_BROADCAST, Boolean.TRUE);
            } catch (SocketException ignore) {
                // not fatal
            }
            done = true;
        } finally {
            if (!done) {
                impl.close();
            }
        }
    }

    // ---------------------------------------------------------------- ByteBuffer send and receive

    /**
     * Sends the remaining bytes of {@code src} as one datagram to {@code target}, as
     * {@code DatagramChannel.send} does: all of them or none, and the position advances past
     * them. The target is an {@code InetSocketAddress} for a UDP socket, a Unix name
     * ({@link UnixDomainSocketAddress}, {@link AbstractUnixSocketAddress}) for a Unix one, or
     * {@code null} for the connected peer; a Unix name makes a socket that is neither bound nor
     * connected a Unix one. Checks and exceptions are {@link #send(DatagramPacket)}'s.
     *
     * @param src the bytes
     * @param target where to send them, or {@code null} for the connected peer
     * @return the number of bytes sent: {@code src}'s remaining bytes
     * @throws IOException if the datagram cannot be sent (see the class comment for Unix names)
     * @throws IllegalArgumentException if the target is null and the socket is not connected,
     *     differs from the peer of a connected socket, or does not fit the socket's kind
     */
    public int send(ByteBuffer src, SocketAddress target) throws IOException {
        return impl.send(src, target);
    }

    /**
     * Receives one datagram into the remaining bytes of {@code dst}, as
     * {@code DatagramChannel.receive} does in blocking mode: the bytes that do not fit are
     * discarded, and the position advances past those stored. Waits up to
     * {@link #getSoTimeout()}.
     *
     * @param dst where the datagram goes
     * @return the sender: an {@code InetSocketAddress} for UDP; for a Unix socket, its name (a
     *     {@link UnixDomainSocketAddress} or an {@link AbstractUnixSocketAddress}), or the
     *     empty path for an unnamed sender
     * @throws java.net.SocketTimeoutException if the timeout passed with nothing received
     * @throws IOException if the socket is closed or the receive fails
     * @throws IllegalArgumentException if {@code dst} is read-only
     */
    public SocketAddress receive(ByteBuffer dst) throws IOException {
        return impl.receive(dst);
    }

    // ---------------------------------------------------------------- batches

    /**
     * Sends the datagrams of {@code batch} from its first, with one {@code sendmmsg} per 1024.
     * Runs of datagrams with one target and one length (the last may be shorter) go as single
     * UDP segmentation offload messages ({@code UDP_SEGMENT}), which the kernel cuts into the
     * same datagrams, so receivers see no difference; where the kernel or route refuses that,
     * one message per datagram. Equivalent to {@code send(batch, 0)}.
     *
     * @param batch the datagrams and their targets
     * @return how many datagrams were sent, counted from the first: all of them
     *         ({@code batch.size()}) unless one could not be sent, in which case the ones before
     *         it were sent and {@code send(batch, returned)} retries from it (and throws its
     *         error if it fails again)
     * @throws IOException if the first datagram cannot be sent, or the socket is closed
     * @throws IllegalArgumentException if a datagram has no target and the socket is not
     *         connected, or another target than the peer while it is connected (checked for
     *         the whole batch before any datagram is sent)
     * @throws UnsupportedOperationException for a Unix domain socket (batches are UDP's)
     */
    public int send(DatagramBatch batch) throws IOException {
        return send(batch, 0);
    }

    /**
     * Sends the datagrams of {@code batch} from index {@code from} on; see {@link #send(DatagramBatch)}.
     *
     * @param batch the datagrams and their targets
     * @param from the index of the first datagram to send
     * @return how many were sent, counted from {@code from}
     * @throws IOException if the datagram at {@code from} cannot be sent, or the socket is closed
     * @throws IndexOutOfBoundsException if {@code from} is not within {@code 0..batch.size()}
     */
    public int send(DatagramBatch batch, int from) throws IOException {
        Objects.checkIndex(from, batch.size() + 1);
        // checks the socket is open even when there is nothing to send
        return DatagramBatches.send(impl, batch.data, batch.slot, batch.lens, batch.addrs, from, batch.size() - from);
    }

    /**
     * Receives up to {@code batch.capacity()} datagrams into {@code batch}, replacing what it
     * held: waits (up to {@link #getSoTimeout()}) for the first, then takes only those already
     * queued, with one {@code recvmmsg} per 1024. Datagrams longer than the batch's slot are cut to it
     * ({@link DatagramBatch#truncated(int)} says so). Allocates nothing once the batch has seen
     * its senders.
     *
     * @param batch where the datagrams go
     * @return how many were received, at least 1 (also {@code batch.size()})
     * @throws java.net.SocketTimeoutException if the timeout passed with nothing received
     * @throws java.net.PortUnreachableException if the socket is connected and its peer's port is closed
     * @throws IOException if the socket is closed or the receive fails
     * @throws UnsupportedOperationException for a Unix domain socket (batches are UDP's)
     */
    public int receive(DatagramBatch batch) throws IOException {
        batch.clear();
        int n = DatagramBatches.receive(impl, batch.data, batch.slot, batch.lens, batch.addrs, batch.capacity());
        batch.received(n);
        return n;
    }

    // ---------------------------------------------------------------- DatagramSocket

    /**
     * Binds the socket, as {@link DatagramSocket#bind} does; a Unix name makes this a Unix
     * domain datagram socket, and {@code null} leaves a Unix socket unnamed.
     *
     * @param addr an {@code InetSocketAddress}, a Unix name, or {@code null}
     * @throws SocketException if the socket is closed or bound, or the bind fails
     *     ({@link java.net.BindException} when the address or socket file is taken)
     * @throws IllegalArgumentException if the address type does not fit the socket
     * @throws UnsupportedOperationException for a Unix name where the system has no Unix
     *     datagram sockets, or an abstract name where it has none
     */
    @Override
    public void bind(SocketAddress addr) throws SocketException {
        impl.bind(addr);
    }

    @Override
    public void connect(InetAddress address, int port) {
        if (address == null) {
            throw new IllegalArgumentException("Address can't be null");
        }
        try {
            impl.connect(new InetSocketAddress(address, port));
        } catch (SocketException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Connects the socket to a peer, as {@link DatagramSocket#connect(SocketAddress)} does; a Unix
     * name makes this a Unix domain datagram socket (see the class comment).
     *
     * @param addr an {@code InetSocketAddress} or a Unix name
     * @throws SocketException if the connect fails: for a Unix name,
     *     {@code SocketException("No such file or directory")} or
     *     {@link java.net.ConnectException} "Connection refused" when nobody holds the name
     * @throws IllegalArgumentException if {@code addr} is null or its type does not fit the socket
     * @throws UnsupportedOperationException for a Unix name where the system has no Unix
     *     datagram sockets, or an abstract name where it has none
     */
    @Override
    public void connect(SocketAddress addr) throws SocketException {
        impl.connect(addr);
    }

    @Override
    public void disconnect() {
        impl.disconnect();
    }

    @Override
    public boolean isBound() {
        return impl.isBound();
    }

    @Override
    public boolean isConnected() {
        return impl.isConnected();
    }

    /** The peer's address; for a connected Unix socket, the loopback address. */
    @Override
    public InetAddress getInetAddress() {
        if (impl.isUnix()) {
            return impl.isConnected() ? InetAddress.getLoopbackAddress() : null;
        }
        InetSocketAddress r = impl.remoteAddress();
        return r != null ? r.getAddress() : null;
    }

    /** The peer's port, -1 when not connected; for a connected Unix socket, 0. */
    @Override
    public int getPort() {
        if (impl.isUnix()) {
            return impl.isConnected() ? 0 : -1;
        }
        InetSocketAddress r = impl.remoteAddress();
        return r != null ? r.getPort() : -1;
    }

    /** The peer's address, or its Unix name (a pair end's: the empty path); null when not connected. */
    @Override
    public SocketAddress getRemoteSocketAddress() {
        return impl.remoteSocketAddress();
    }

    /** The local address, or the Unix name (unnamed: the empty path); null when closed or unbound. */
    @Override
    public SocketAddress getLocalSocketAddress() {
        return impl.localName();
    }

    /**
     * Sends a packet, as {@link DatagramSocket#send} does. On a Unix socket, a packet (which
     * cannot hold a Unix name) goes to the connected peer only, and must have no address: use
     * {@link #send(ByteBuffer, SocketAddress)} to send to a name.
     */
    @Override
    public void send(DatagramPacket p) throws IOException {
        impl.send(p);
    }

    /**
     * Receives a packet, as {@link DatagramSocket#receive} does. On a Unix socket, the packet's
     * address is cleared (null, port 0), since it cannot hold the sender's name: use
     * {@link #receive(ByteBuffer)} to learn it.
     */
    @Override
    public void receive(DatagramPacket p) throws IOException {
        impl.receive(p);
    }

    /** The local address; for a Unix socket, the loopback address. */
    @Override
    public InetAddress getLocalAddress() {
        if (impl.isClosed()) {
            return null;
        }
        if (impl.isUnix()) {
            return InetAddress.getLoopbackAddress();
        }
        InetSocketAddress local = impl.localSocketAddress();
        return local != null ? local.getAddress() : RustDatagramSocketImpl.anyLocal();
    }

    @Override
    public int getLocalPort() {
        return impl.getLocalPort();
    }

    @Override
    public void setSoTimeout(int timeout) throws SocketException {
        impl.setSoTimeout(timeout);
    }

    @Override
    public int getSoTimeout() throws SocketException {
        return impl.getSoTimeout();
    }

    @Override
    public void setSendBufferSize(int size) throws SocketException {
        if (size <= 0) {
            throw new IllegalArgumentException("Invalid send size");
        }
        impl.setLegacy(StandardSocketOptions.SO_SNDBUF, size);
    }

    @Override
    public int getSendBufferSize() throws SocketException {
        return impl.getLegacy(StandardSocketOptions.SO_SNDBUF);
    }

    @Override
    public void setReceiveBufferSize(int size) throws SocketException {
        if (size <= 0) {
            throw new IllegalArgumentException("Invalid receive size");
        }
        impl.setLegacy(StandardSocketOptions.SO_RCVBUF, size);
    }

    @Override
    public int getReceiveBufferSize() throws SocketException {
        return impl.getLegacy(StandardSocketOptions.SO_RCVBUF);
    }

    @Override
    public void setReuseAddress(boolean on) throws SocketException {
        impl.setLegacy(StandardSocketOptions.SO_REUSEADDR, on);
    }

    @Override
    public boolean getReuseAddress() throws SocketException {
        return impl.getLegacy(StandardSocketOptions.SO_REUSEADDR);
    }

    @Override
    public void setBroadcast(boolean on) throws SocketException {
        impl.setLegacy(StandardSocketOptions.SO_BROADCAST, on);
    }

    @Override
    public boolean getBroadcast() throws SocketException {
        return impl.getLegacy(StandardSocketOptions.SO_BROADCAST);
    }

    @Override
    public void setTrafficClass(int tc) throws SocketException {
        impl.setLegacy(StandardSocketOptions.IP_TOS, tc);
    }

    @Override
    public int getTrafficClass() throws SocketException {
        return impl.getLegacy(StandardSocketOptions.IP_TOS);
    }

    @Override
    public void close() {
        impl.close();
    }

    @Override
    public boolean isClosed() {
        return impl.isClosed();
    }

    @Override
    public <T> DatagramSocket setOption(SocketOption<T> name, T value) throws IOException {
        impl.setOption(name, value);
        return this;
    }

    @Override
    public <T> T getOption(SocketOption<T> name) throws IOException {
        return impl.getOption(name);
    }

    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return impl.supportedOptions();
    }

    @Override
    public void joinGroup(SocketAddress mcastaddr, NetworkInterface netIf) throws IOException {
        impl.joinGroup(mcastaddr, netIf);
    }

    @Override
    public void leaveGroup(SocketAddress mcastaddr, NetworkInterface netIf) throws IOException {
        impl.leaveGroup(mcastaddr, netIf);
    }

    @Override
    public String toString() {
        return "RustDatagramSocket[local=" + getLocalSocketAddress() + ", remote=" + getRemoteSocketAddress() + "]";
    }
}
