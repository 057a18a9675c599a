package io.rustsocket;

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
     * (bind it later with {@link #bind}).
     *
     * @param bindaddr the local address, or {@code null} for an unbound socket
     * @throws SocketException if the socket cannot be opened or bound
     */
    public RustDatagramSocket(SocketAddress bindaddr) throws SocketException {
        this(new RustDatagramSocketImpl(), bindaddr);
    }

    private RustDatagramSocket(RustDatagramSocketImpl impl, SocketAddress bindaddr) throws SocketException {
        super(impl);
        this.impl = impl;
        boolean done = false;
        try {
            impl.create();
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
        return impl.sendBatch(batch.data, batch.slot, batch.lens, batch.addrs, from, batch.size() - from);
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
     */
    public int receive(DatagramBatch batch) throws IOException {
        batch.clear();
        int n = impl.receiveBatch(batch.data, batch.slot, batch.lens, batch.addrs, batch.capacity());
        batch.received(n);
        return n;
    }

    // ---------------------------------------------------------------- DatagramSocket

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
        return impl.remoteAddress() != null;
    }

    @Override
    public InetAddress getInetAddress() {
        InetSocketAddress r = impl.remoteAddress();
        return r != null ? r.getAddress() : null;
    }

    @Override
    public int getPort() {
        InetSocketAddress r = impl.remoteAddress();
        return r != null ? r.getPort() : -1;
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
        return impl.remoteAddress();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return impl.localSocketAddress();
    }

    @Override
    public void send(DatagramPacket p) throws IOException {
        impl.send(p);
    }

    @Override
    public void receive(DatagramPacket p) throws IOException {
        impl.receive(p);
    }

    @Override
    public InetAddress getLocalAddress() {
        if (impl.isClosed()) {
            return null;
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
