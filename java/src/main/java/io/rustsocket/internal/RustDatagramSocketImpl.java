package io.rustsocket.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocketImpl;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.SocketOptions;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.UnsupportedAddressTypeException;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The engine behind {@code io.rustsocket.RustDatagramSocket}: one object owns one UDP socket's
 * life, and every system call goes through {@link NativeDatagram} and {@link Native}.
 *
 * <p>It is a real {@link DatagramSocketImpl}, so {@code DatagramSocket}'s protected constructor
 * accepts it, and it also carries the whole {@code DatagramSocket} contract in public methods
 * (checks, messages and state as the JDK's default datagram socket has them), which
 * {@code RustDatagramSocket} calls directly. The shape follows the JDK's
 * {@code DatagramChannelImpl}:
 * {@code readLock} serializes receives, {@code writeLock} sends; the descriptor's life (open,
 * operations in flight, close waking blocked threads with a shutdown, release by the last thread
 * out) is the {@link SocketDescriptor}'s, shared with the TCP engine. A Unix domain datagram
 * socket is this engine with a {@link UnixDatagram} side, which handles what takes or gives a
 * Unix name; batches are {@link DatagramBatches}'.
 */
public final class RustDatagramSocketImpl extends DatagramSocketImpl {
    /** Wakes a thread inside recvfrom/recvmmsg/sendto/poll; nothing more to do at release. */
    private static final SocketDescriptor.Closer<Object> CLOSER = new SocketDescriptor.Closer<>() {
        @Override
        public void wake(Object owner, int fd) {
            try {
                Native.shutdown(fd, Native.SHUT_RDWR);
            } catch (IOException ignore) {
                // the state is set and waiters woken all the same
            }
        }

        @Override
        public void beforeRelease(Object owner, int fd, boolean lastOut) {
            // a datagram socket has nothing to send or reset
        }
    };

    final ReentrantLock readLock = new ReentrantLock();
    final ReentrantLock writeLock = new ReentrantLock();
    final SocketDescriptor<Object> descriptor = new SocketDescriptor<>(this, CLOSER);
    // guards the descriptor's life and this socket's bound/connected state
    final Object stateLock = descriptor.stateLock;

    volatile boolean bound;
    volatile InetSocketAddress remote;
    // the peer in the wire layout, for checking batch targets without decoding them
    final byte[] remoteWire = new byte[AddressWire.LEN];
    /**
     * The local address before the last connect (null while not connected): a disconnect
     * binds to it again, as the JDK does, since connected the socket shows the route's source
     * address where it was bound to the wildcard.
     */
    private InetSocketAddress initialLocal;
    private volatile int timeout;
    // the Unix side of a Unix domain datagram socket, null for a UDP one (see UnixDatagram)
    volatile UnixDatagram unix;
    // under the state lock: the buffer sizes set while the socket may still become a Unix one
    // (null: not set), which the Unix descriptor then gets
    Integer presetSendBuffer;
    Integer presetReceiveBuffer;
    // under the state lock: the IP_MULTICAST_IF set, which IPv4-only sockets cannot read back
    NetworkInterface multicastInterface;
    // multicast groups joined, as "group%ifindex", so that joining twice and leaving a group
    // not joined give the JDK's exceptions
    private final Set<String> memberships = new HashSet<>();

    // under readLock: the last sender, decoded once and reused while it does not change
    private final byte[] senderWire = new byte[AddressWire.LEN];
    private final byte[] lastSenderWire = new byte[AddressWire.LEN];
    private InetSocketAddress lastSender;

    // under writeLock: the last target, encoded once and reused while it does not change
    private final byte[] targetWire = new byte[AddressWire.LEN];
    private InetAddress lastTarget;
    private int lastTargetPort = -1;

    /**
     * Creates an engine in state NEW; {@link #create()} opens the descriptor.
     *
     * @throws UnsatisfiedLinkError if the native library cannot be loaded on this platform
     */
    public RustDatagramSocketImpl() {
        NativeLibrary.ensureLoaded();
    }

    /**
     * Two connected Unix domain datagram sockets ({@code socketpair(2)}), each in an
     * implementation of its own, open and unnamed.
     *
     * @throws UnsupportedOperationException where the system has no Unix datagram sockets
     */
    public static RustDatagramSocketImpl[] pair() throws IOException {
        return UnixDatagram.pair();
    }

    // ---------------------------------------------------------------- life cycle

    /** Opens the descriptor; does nothing if it is open already. */
    @Override
    public void create() throws SocketException {
        synchronized (stateLock) {
            if (descriptor.state() != SocketDescriptor.NEW) {
                return;
            }
            try {
                descriptor.open(NativeDatagram.open(), null, false, true);
            } catch (SocketException e) {
                throw e;
            } catch (IOException e) {
                throw new SocketException(e.getMessage());
            }
        }
    }

    /**
     * Opens the descriptor {@code bindaddr} calls for: a Unix datagram one for a Unix name, a UDP
     * one otherwise; does nothing if it is open already.
     */
    public void create(SocketAddress bindaddr) throws SocketException {
        if (!UnixNames.isUnix(bindaddr)) {
            create();
            return;
        }
        synchronized (stateLock) {
            if (descriptor.state() == SocketDescriptor.NEW) {
                UnixDatagram.of(this);
            }
        }
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return descriptor.state() >= SocketDescriptor.CLOSING;
    }

    boolean isOpen() {
        return descriptor.isOpen();
    }

    /** Closes the socket, waking threads blocked in it; idempotent. */
    @Override
    public void close() {
        synchronized (stateLock) {
            if (descriptor.startClose()) {
                descriptor.finishClose();
            }
        }
    }

    /**
     * Waits for {@code event} until the deadline ({@code nanos == 0}: none) or a close. An
     * interrupted virtual thread gets an {@link InterruptedIOException} with the socket still
     * open, so that it leaves the descriptor as any failure does; the public call then closes
     * the socket ({@link #interrupted}).
     */
    void park(int fd, int event, long nanos) throws IOException {
        descriptor.park(fd, event, nanos);
    }

    /**
     * What a call that caught {@code e} throws: a timeout as it is; for a virtual thread
     * interrupted while it waited, the JDK datagram socket's answer: the socket is closed and the
     * call fails with {@code SocketException("Closed by interrupt")}. Closed only here, once the
     * thread is out of the descriptor, since a close while it is inside makes its exit report
     * "Socket closed".
     */
    IOException interrupted(InterruptedIOException e) {
        if (e instanceof SocketTimeoutException) {
            return e;
        }
        close();
        SocketException se = new SocketException("Closed by interrupt");
        se.initCause(e);
        return se;
    }

    // ---------------------------------------------------------------- bind, connect

    /**
     * {@code DatagramSocket.bind}: {@code null} binds to the wildcard address and any port (a
     * Unix socket: to no name); a Unix name makes this a Unix socket.
     */
    public void bind(SocketAddress local) throws SocketException {
        if (UnixNames.isUnix(local) || (unix != null && local == null)) {
            UnixDatagram.bind(this, local);
            return;
        }
        if (unix != null) {
            throw new IllegalArgumentException("Unsupported address type");
        }
        InetSocketAddress isa = local == null ? new InetSocketAddress(0) : checkAddress(local);
        synchronized (stateLock) {
            if (!isOpen()) {
                throw new SocketException("Socket is closed");
            }
            if (bound) {
                throw new SocketException("Already bound");
            }
            if (isa.isUnresolved()) {
                throw new SocketException("Unresolved address");
            }
            InetAddress ia = isa.getAddress();
            checkFamily(ia);
            try {
                Native.bind(descriptor.fd(), ia.getAddress(), AddressWire.scopeId(ia), isa.getPort());
                localPort = AddressWire.localOf(descriptor.fd()).getPort();
            } catch (SocketException e) {
                throw e;
            } catch (IOException e) {
                throw new SocketException(e.getMessage());
            }
            bound = true;
        }
    }

    @Override
    protected void bind(int lport, InetAddress laddr) throws SocketException {
        bind(new InetSocketAddress(laddr, lport));
    }

    void bindIfNeeded() throws SocketException {
        if (!bound) {
            synchronized (stateLock) {
                if (!bound && isOpen()) {
                    bind(null);
                }
            }
        }
    }

    /**
     * Refuses an IPv6 address when the JVM runs with {@code java.net.preferIPv4Stack=true}, with
     * the exception the JDK's datagram socket gives there.
     */
    private static void checkFamily(InetAddress address) throws SocketException {
        if (NetProperties.refusedByIpv4Stack(address)) {
            throw new SocketException("Unsupported address type");
        }
    }

    private static InetSocketAddress checkAddress(SocketAddress sa) {
        if (!(sa instanceof InetSocketAddress)) {
            throw new IllegalArgumentException("Unsupported address type");
        }
        return (InetSocketAddress) sa;
    }

    /** {@code DatagramSocket.connect(SocketAddress)}: a peer filter; a no-op once closed. */
    public void connect(SocketAddress peer) throws SocketException {
        if (peer == null) {
            throw new IllegalArgumentException("Address can't be null");
        }
        if (UnixNames.isUnix(peer)) {
            UnixDatagram.connect(this, peer);
            return;
        }
        if (unix != null) {
            throw new IllegalArgumentException("Unsupported address type");
        }
        InetSocketAddress isa = checkAddress(peer);
        readLock.lock();
        try {
            writeLock.lock();
            try {
                synchronized (stateLock) {
                    if (!isOpen()) {
                        return; // as the JDK: connecting a closed socket does nothing
                    }
                    if (isa.isUnresolved()) {
                        throw new SocketException("Unresolved address");
                    }
                    if (isa.getPort() == 0) {
                        throw new SocketException("Can't connect to port 0");
                    }
                    checkFamily(isa.getAddress());
                    bindIfNeeded();
                    InetAddress ia = isa.getAddress();
                    try {
                        // as the JDK, taken at every connect: a reconnect keeps the first peer's source address
                        InetSocketAddress before = AddressWire.localOf(descriptor.fd());
                        NativeDatagram.connect(descriptor.fd(), ia.getAddress(), AddressWire.scopeId(ia), isa.getPort());
                        initialLocal = before;
                    } catch (SocketException e) {
                        throw e;
                    } catch (IOException e) {
                        throw new SocketException(e.getMessage());
                    }
                    AddressWire.encode(ia, isa.getPort(), remoteWire, 0);
                    remote = isa;
                }
            } finally {
                writeLock.unlock();
            }
        } finally {
            readLock.unlock();
        }
    }

    /** The legacy {@code DatagramSocketImpl} form of {@link #connect(SocketAddress)}. */
    @Override
    public void connect(InetAddress address, int port) throws SocketException {
        connect(new InetSocketAddress(address, port));
    }

    /** {@code DatagramSocket.disconnect}: removes the peer; the pre-connect local address and port stay. */
    @Override
    public void disconnect() {
        UnixDatagram u = unix;
        if (u != null) {
            u.disconnect();
            return;
        }
        readLock.lock();
        try {
            writeLock.lock();
            try {
                synchronized (stateLock) {
                    if (!isOpen() || remote == null) {
                        return;
                    }
                    InetAddress initial = initialLocal.getAddress();
                    NativeDatagram.disconnect(descriptor.fd(), initial.getAddress(), AddressWire.scopeId(initial),
                            initialLocal.getPort());
                    remote = null;
                    initialLocal = null;
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } finally {
                writeLock.unlock();
            }
        } finally {
            readLock.unlock();
        }
    }

    /** Whether bound (stays true after close, as in the JDK). */
    public boolean isBound() {
        return bound;
    }

    /** Whether this is a Unix domain datagram socket. */
    public boolean isUnix() {
        return unix != null;
    }

    /** Whether connected (to an IP peer or a Unix name); stays true after close, as in the JDK. */
    public boolean isConnected() {
        UnixDatagram u = unix;
        return u != null ? u.remote != null : remote != null;
    }

    /** The connected UDP peer, or {@code null} (always for a Unix socket). */
    public InetSocketAddress remoteAddress() {
        return remote;
    }

    /** {@code DatagramSocket.getRemoteSocketAddress}: the peer's address or Unix name, or null. */
    public SocketAddress remoteSocketAddress() {
        UnixDatagram u = unix;
        return u != null ? u.remote : remote;
    }

    /** {@code DatagramSocket.getLocalSocketAddress}: the address or Unix name; null when closed or unbound. */
    public SocketAddress localName() {
        UnixDatagram u = unix;
        return u != null ? u.localAddress() : localSocketAddress();
    }

    /** The local UDP address: {@code null} when closed or unbound, and for a Unix socket. */
    public InetSocketAddress localSocketAddress() {
        synchronized (stateLock) {
            if (!isOpen() || !bound || unix != null) {
                return null;
            }
            try {
                return AddressWire.localOf(descriptor.fd());
            } catch (IOException e) {
                return null;
            }
        }
    }

    /** {@code DatagramSocket.getLocalPort}: -1 when closed, 0 when unbound. */
    @Override
    public int getLocalPort() {
        if (isClosed()) {
            return -1;
        }
        return bound ? localPort : 0;
    }

    // ---------------------------------------------------------------- send

    /** {@code DatagramSocket.send} with the JDK's checks and exceptions. */
    @Override
    public void send(DatagramPacket p) throws IOException {
        try {
            sendPacket(p);
        } catch (InterruptedIOException e) {
            throw interrupted(e);
        }
    }

    private void sendPacket(DatagramPacket p) throws IOException {
        synchronized (p) {
            UnixDatagram u = unix;
            if (u != null) {
                u.send(p);
                return;
            }
            writeLock.lock();
            try {
                if (!isOpen()) {
                    throw new SocketException("Socket closed");
                }
                InetSocketAddress peer = remote;
                InetAddress address = p.getAddress();
                int port = p.getPort();
                byte[] target;
                if (address == null) {
                    if (peer == null) {
                        throw new IllegalArgumentException("Address not set");
                    }
                    p.setAddress(peer.getAddress());
                    p.setPort(peer.getPort());
                    target = null;
                } else if (peer != null) {
                    if (!address.equals(peer.getAddress()) || port != peer.getPort()) {
                        throw new IllegalArgumentException("Connected and packet address differ");
                    }
                    target = null;
                } else {
                    if (NetProperties.refusedByIpv4Stack(address)) {
                        throw new UnsupportedAddressTypeException();
                    }
                    if (port == 0) {
                        throw new SocketException("Can't send to port 0");
                    }
                    target = targetWire(address, port);
                }
                bindIfNeeded();
                sendLocked(p.getData(), p.getOffset(), p.getLength(), target);
            } finally {
                writeLock.unlock();
            }
        }
    }

    private byte[] targetWire(InetAddress address, int port) {
        if (port != lastTargetPort || !AddressWire.sameAddress(address, lastTarget)) {
            AddressWire.encode(address, port, targetWire, 0);
            lastTarget = address;
            lastTargetPort = port;
        }
        return targetWire;
    }

    private void sendLocked(byte[] b, int off, int len, byte[] target) throws IOException {
        int n = Native.UNAVAILABLE;
        int fd = descriptor.begin(false);
        try {
            descriptor.configureNonBlockingIfNeeded(fd, false);
            n = NativeDatagram.send(fd, b, off, len, target);
            while (n == Native.UNAVAILABLE && isOpen()) {
                park(fd, Native.POLLOUT, 0);
                n = NativeDatagram.send(fd, b, off, len, target);
            }
        } finally {
            descriptor.end(false, n >= 0);
        }
    }

    // ---------------------------------------------------------------- receive

    /** {@code DatagramSocket.receive}: waits up to SO_TIMEOUT; truncates to the packet's buffer. */
    @Override
    public void receive(DatagramPacket p) throws IOException {
        receive(p, false);
    }

    /**
     * As the JDK's datagram sockets receive: the read lock for the whole receive, the packet's
     * monitor only around the call that fills it, never while the thread waits (a virtual thread
     * parked inside {@code synchronized} pins its carrier on JDK 21 to 23).
     */
    private int receive(DatagramPacket p, boolean peek) throws IOException {
        try {
            UnixDatagram u = unix;
            if (u != null) {
                u.receive(p, peek);
                return 0;
            }
            long nanos = lockForReceive();
            try {
                bindIfNeeded();
                return receiveLocked(p, peek, nanos);
            } finally {
                readLock.unlock();
            }
        } catch (InterruptedIOException e) {
            throw interrupted(e);
        }
    }

    /**
     * Takes the read lock within SO_TIMEOUT; returns the nanoseconds left for the receive (0:
     * no timeout). The caller unlocks.
     */
    long lockForReceive() throws SocketTimeoutException {
        int millis = timeout;
        if (millis <= 0) {
            readLock.lock();
            return 0;
        }
        long nanos = RustSocketImpl.tryLock(readLock, millis);
        if (nanos <= 0) {
            throw new SocketTimeoutException("Receive timed out");
        }
        return nanos;
    }

    /** Waits until readable, a close, or the deadline {@code start + nanos} (0: none), which throws. */
    void awaitReadable(int fd, long start, long nanos) throws IOException {
        long remaining = 0;
        if (nanos > 0) {
            remaining = nanos - (System.nanoTime() - start);
            if (remaining <= 0) {
                throw new SocketTimeoutException("Receive timed out");
            }
        }
        park(fd, Native.POLLIN, remaining);
    }

    private int receiveLocked(DatagramPacket p, boolean peek, long nanos) throws IOException {
        int n = Native.UNAVAILABLE;
        int fd = descriptor.begin(true);
        try {
            descriptor.configureNonBlockingIfNeeded(fd, nanos > 0);
            boolean connected = remote != null;
            long start = SocketDescriptor.timeoutStart(nanos);
            while (true) {
                synchronized (p) {
                    int cap = NativeDatagram.PACKET_FIELDS ? -1 : p.getLength();
                    n = NativeDatagram.receive(fd, p, p.getData(), p.getOffset(), cap, senderWire, peek, connected);
                    if (n != Native.UNAVAILABLE) {
                        if (!NativeDatagram.PACKET_FIELDS) {
                            p.setLength(n);
                        }
                        InetSocketAddress from = sender();
                        p.setAddress(from.getAddress());
                        p.setPort(from.getPort());
                        return from.getPort();
                    }
                }
                if (!isOpen()) {
                    throw new SocketException("Socket closed");
                }
                awaitReadable(fd, start, nanos);
            }
        } finally {
            descriptor.end(true, n >= 0);
        }
    }

    /** The sender of the last receive, decoded only when it differs from the one before. */
    private InetSocketAddress sender() {
        if (lastSender == null || !AddressWire.same(senderWire, 0, lastSenderWire, 0)) {
            System.arraycopy(senderWire, 0, lastSenderWire, 0, AddressWire.LEN);
            lastSender = AddressWire.decode(senderWire, 0);
        }
        return lastSender;
    }

    @Override
    protected int peek(InetAddress i) throws IOException {
        return receive(new DatagramPacket(new byte[1], 1), true);
    }

    @Override
    protected int peekData(DatagramPacket p) throws IOException {
        return receive(p, true);
    }

    // ---------------------------------------------------------------- ByteBuffer send and receive

    /**
     * Sends {@code src}'s remaining bytes as one datagram to {@code target} (null: the connected
     * peer), with the checks of {@link #send(DatagramPacket)}; a Unix name makes a socket that is
     * neither bound nor connected a Unix one. Advances the position; returns the bytes sent.
     */
    public int send(ByteBuffer src, SocketAddress target) throws IOException {
        int len = src.remaining();
        boolean heap = src.hasArray();
        byte[] b = heap ? src.array() : new byte[len];
        int off = heap ? src.arrayOffset() + src.position() : 0;
        if (!heap) {
            src.duplicate().get(b);
        }
        UnixDatagram u = unix;
        if (u == null && UnixNames.isUnix(target)) {
            synchronized (stateLock) {
                if (!isOpen()) {
                    throw new SocketException("Socket closed");
                }
                u = UnixDatagram.of(this);
            }
        }
        if (u != null) {
            try {
                u.sendTo(b, off, len, target);
            } catch (InterruptedIOException e) {
                throw interrupted(e);
            }
        } else {
            // the packet's constructor checks the address as DatagramPacket users know it
            send(target == null ? new DatagramPacket(b, off, len) : new DatagramPacket(b, off, len, target));
        }
        src.position(src.position() + len);
        return len;
    }

    /**
     * Receives one datagram into {@code dst}'s remaining bytes (the rest of a longer one is
     * discarded) within SO_TIMEOUT, advancing the position; returns the sender.
     */
    public SocketAddress receive(ByteBuffer dst) throws IOException {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("Read-only buffer");
        }
        UnixDatagram u = unix;
        if (u != null) {
            try {
                return u.receive(dst);
            } catch (InterruptedIOException e) {
                throw interrupted(e);
            }
        }
        boolean heap = dst.hasArray();
        int len = dst.remaining();
        DatagramPacket p = heap ? new DatagramPacket(dst.array(), dst.arrayOffset() + dst.position(), len)
                : new DatagramPacket(new byte[len], len);
        receive(p);
        if (heap) {
            dst.position(dst.position() + p.getLength());
        } else {
            dst.put(p.getData(), 0, p.getLength());
        }
        return p.getSocketAddress();
    }

    // ---------------------------------------------------------------- multicast

    private static InetAddress checkGroup(SocketAddress group) throws SocketException {
        if (!(group instanceof InetSocketAddress)) {
            throw new IllegalArgumentException("Unsupported address type");
        }
        InetAddress address = ((InetSocketAddress) group).getAddress();
        if (address == null) {
            throw new IllegalArgumentException("Unresolved address");
        }
        if (!address.isMulticastAddress()) {
            throw new SocketException("Not a multicast address");
        }
        return address;
    }

    private void membership(SocketAddress group, NetworkInterface ni, boolean join) throws IOException {
        InetAddress address = checkGroup(group);
        if (unix != null) {
            throw new SocketException("Unix domain datagram sockets have no multicast");
        }
        if (join && NetProperties.refusedByIpv4Stack(address)) {
            throw new IllegalArgumentException("Only IPv6 sockets can join IPv6 multicast group");
        }
        synchronized (stateLock) {
            if (!isOpen()) {
                throw new SocketException("Socket is closed");
            }
            int ifindex = ni != null ? ni.getIndex()
                    : (Integer) OptionTable.get(descriptor.fd(), OptionTable.row(StandardSocketOptions.IP_MULTICAST_IF));
            ifindex = Math.max(ifindex, 0);
            String key = address.getHostAddress() + "%" + ifindex;
            if (join && memberships.contains(key)) {
                throw new SocketException("Already a member of group");
            }
            if (!join && !memberships.contains(key)) {
                throw new SocketException("Not a member of group");
            }
            NativeDatagram.membership(descriptor.fd(), address.getAddress(), ifindex, join);
            if (join) {
                memberships.add(key);
            } else {
                memberships.remove(key);
            }
        }
    }

    /** Joins {@code group} on {@code ni} (null: the IP_MULTICAST_IF interface or the kernel's choice). */
    @Override
    public void joinGroup(SocketAddress group, NetworkInterface ni) throws IOException {
        membership(group, ni, true);
    }

    /** Leaves {@code group} on {@code ni}. */
    @Override
    public void leaveGroup(SocketAddress group, NetworkInterface ni) throws IOException {
        membership(group, ni, false);
    }

    @Override
    protected void join(InetAddress group) throws IOException {
        joinGroup(new InetSocketAddress(group, 0), null);
    }

    @Override
    protected void leave(InetAddress group) throws IOException {
        leaveGroup(new InetSocketAddress(group, 0), null);
    }

    @Override
    protected void setTimeToLive(int ttl) throws IOException {
        setOption(StandardSocketOptions.IP_MULTICAST_TTL, ttl);
    }

    @Override
    protected int getTimeToLive() throws IOException {
        return getOption(StandardSocketOptions.IP_MULTICAST_TTL);
    }

    @Override
    @Deprecated
    @SuppressWarnings({"deprecation", "removal"})
    protected void setTTL(byte ttl) throws IOException {
        setTimeToLive(ttl & 0xff);
    }

    @Override
    @Deprecated
    @SuppressWarnings({"deprecation", "removal"})
    protected byte getTTL() throws IOException {
        return (byte) getTimeToLive();
    }

    // ---------------------------------------------------------------- options

    /** {@code DatagramSocket.setSoTimeout}. */
    public void setSoTimeout(int millis) throws SocketException {
        if (isClosed()) {
            throw new SocketException("Socket is closed");
        }
        if (millis < 0) {
            throw new IllegalArgumentException("timeout < 0");
        }
        timeout = millis;
    }

    /** {@code DatagramSocket.getSoTimeout}. */
    public int getSoTimeout() throws SocketException {
        if (isClosed()) {
            throw new SocketException("Socket is closed");
        }
        return timeout;
    }

    /** The options this socket supports (see {@link DatagramOptions}). */
    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return DatagramOptions.supported(this);
    }

    /** {@code DatagramSocket.setOption}; a closed socket gives {@link java.nio.channels.ClosedChannelException}, as the JDK's. */
    @Override
    public <T> void setOption(SocketOption<T> name, T value) throws IOException {
        DatagramOptions.set(this, name, value);
    }

    /** {@code DatagramSocket.getOption}; a closed socket gives {@link java.nio.channels.ClosedChannelException}, as the JDK's. */
    @Override
    public <T> T getOption(SocketOption<T> name) throws IOException {
        return DatagramOptions.get(this, name);
    }

    /** {@link #setOption(SocketOption, Object)} with the exceptions of {@code DatagramSocket}'s legacy setters. */
    public <T> void setLegacy(SocketOption<T> name, T value) throws SocketException {
        DatagramOptions.setLegacy(this, name, value);
    }

    /** {@link #getOption(SocketOption)} with the exceptions of {@code DatagramSocket}'s legacy getters. */
    public <T> T getLegacy(SocketOption<T> name) throws SocketException {
        return DatagramOptions.getLegacy(this, name);
    }

    /** The legacy {@link SocketOptions} interface, for code that drives the impl directly. */
    @Override
    public void setOption(int optID, Object value) throws SocketException {
        DatagramOptions.setLegacy(this, optID, value);
    }

    @Override
    public Object getOption(int optID) throws SocketException {
        return DatagramOptions.getLegacy(this, optID);
    }

    /** {@code 0.0.0.0}, what the JDK reports as the address of an unbound socket. */
    public static InetAddress anyLocal() {
        try {
            return Inet4Address.getByAddress(new byte[4]);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

}
