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
import java.nio.channels.ClosedChannelException;
import java.nio.channels.UnsupportedAddressTypeException;
import java.util.HashSet;
import java.util.Objects;
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
 * out) is the {@link SocketDescriptor}'s, shared with the TCP engine.
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

    private final ReentrantLock readLock = new ReentrantLock();
    private final ReentrantLock writeLock = new ReentrantLock();
    private final SocketDescriptor<Object> descriptor = new SocketDescriptor<>(this, CLOSER);
    // guards the descriptor's life and this socket's bound/connected state
    private final Object stateLock = descriptor.stateLock;

    private volatile boolean bound;
    private volatile InetSocketAddress remote;
    // the peer in the wire layout, for checking batch targets without decoding them
    private final byte[] remoteWire = new byte[AddressWire.LEN];
    /**
     * The local address before the last connect (null while not connected): a disconnect
     * binds to it again, as the JDK does, since connected the socket shows the route's source
     * address where it was bound to the wildcard.
     */
    private InetSocketAddress initialLocal;
    private volatile int timeout;
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

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return descriptor.state() >= SocketDescriptor.CLOSING;
    }

    private boolean isOpen() {
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

    /** Waits for {@code event} until the deadline ({@code nanos == 0}: none) or a close. */
    private void park(int fd, int event, long nanos) throws IOException {
        try {
            descriptor.park(fd, event, nanos);
        } catch (InterruptedIOException e) {
            // as the JDK's datagram socket does for an interrupted virtual thread
            close();
            SocketException se = new SocketException("Closed by interrupt");
            se.initCause(e);
            throw se;
        }
    }

    // ---------------------------------------------------------------- bind, connect

    /** {@code DatagramSocket.bind}: {@code null} binds to the wildcard address and any port. */
    public void bind(SocketAddress local) throws SocketException {
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

    private void bindIfNeeded() throws SocketException {
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

    /** The connected peer, or {@code null}. */
    public InetSocketAddress remoteAddress() {
        return remote;
    }

    /** {@code DatagramSocket.getLocalSocketAddress}: {@code null} when closed or unbound. */
    public InetSocketAddress localSocketAddress() {
        synchronized (stateLock) {
            if (!isOpen() || !bound) {
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
        synchronized (p) {
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
        long nanos = lockForReceive();
        try {
            bindIfNeeded();
            return receiveLocked(p, peek, nanos);
        } finally {
            readLock.unlock();
        }
    }

    /**
     * Takes the read lock within SO_TIMEOUT; returns the nanoseconds left for the receive (0:
     * no timeout). The caller unlocks.
     */
    private long lockForReceive() throws SocketTimeoutException {
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
    private void awaitReadable(int fd, long start, long nanos) throws IOException {
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
            long start = System.nanoTime();
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

    // ---------------------------------------------------------------- batches

    /**
     * Sends slots {@code from..from+count} of a batch, one {@code sendmmsg} per
     * {@link NativeDatagram#MAX_BATCH}: slot {@code i} holds {@code lens[i]} bytes at
     * {@code data[i * slot..]} for the address at {@code targets[i * AddressWire.LEN..]}
     * (byte 0 zero: the connected peer). Every target is checked before the first datagram
     * goes, so that a bad one sends nothing. Blocks while the send buffer is full (until at
     * least one is sent). Returns how many were sent, counted from {@code from}; fewer than
     * {@code count} when the next one failed or would block, and sending from there again
     * reports why.
     *
     * @throws IOException if the first datagram fails, or the socket is closed
     */
    public int sendBatch(byte[] data, int slot, int[] lens, byte[] targets, int from, int count)
            throws IOException {
        // the native side copies whole ranges: check them here, where a mistake is an exception
        Objects.checkFromIndexSize(from, count, lens.length);
        Objects.checkFromIndexSize((long) from * slot, (long) count * slot, data.length);
        Objects.checkFromIndexSize((long) from * AddressWire.LEN, (long) count * AddressWire.LEN, targets.length);
        writeLock.lock();
        try {
            if (!isOpen()) {
                throw new SocketException("Socket closed");
            }
            if (count == 0) {
                return 0;
            }
            InetSocketAddress peer = remote;
            for (int i = from; i < from + count; i++) {
                int at = i * AddressWire.LEN;
                if (targets[at] == 0 && peer == null) {
                    throw new IllegalArgumentException("Address not set");
                }
                if (targets[at] != 0 && peer != null && !AddressWire.same(targets, at, remoteWire, 0)) {
                    throw new IllegalArgumentException("Connected and packet address differ");
                }
            }
            bindIfNeeded();
            int sent = 0;
            while (sent < count) {
                int chunk = Math.min(count - sent, NativeDatagram.MAX_BATCH);
                int n;
                try {
                    n = sendChunk(data, slot, lens, targets, from + sent, chunk);
                } catch (IOException e) {
                    if (sent == 0) {
                        throw e;
                    }
                    // what went is reported; sending from the failed one again throws this
                    return sent;
                }
                sent += n;
                if (n < chunk) {
                    break;
                }
            }
            return sent;
        } finally {
            writeLock.unlock();
        }
    }

    /** One {@code sendmmsg} of at most {@link NativeDatagram#MAX_BATCH}, under the write lock. */
    private int sendChunk(byte[] data, int slot, int[] lens, byte[] targets, int from, int count)
            throws IOException {
        int n = Native.UNAVAILABLE;
        int fd = descriptor.begin(false);
        try {
            descriptor.configureNonBlockingIfNeeded(fd, false);
            n = NativeDatagram.sendBatch(fd, data, slot, lens, targets, from, count);
            while (n == Native.UNAVAILABLE && isOpen()) {
                park(fd, Native.POLLOUT, 0);
                n = NativeDatagram.sendBatch(fd, data, slot, lens, targets, from, count);
            }
            return n;
        } finally {
            descriptor.end(false, n >= 0);
        }
    }

    /**
     * Receives up to {@code count} datagrams, one {@code recvmmsg} per
     * {@link NativeDatagram#MAX_BATCH}: waits up to SO_TIMEOUT for the first, then takes only
     * what is already queued. Datagram {@code i} lands at {@code data[i * slot..]}, its length
     * in {@code lens[i]} ({@code -length - 1} when cut to the slot), its sender at
     * {@code senders[i * AddressWire.LEN..]}.
     *
     * @return how many datagrams were received, at least 1
     * @throws SocketTimeoutException if SO_TIMEOUT passed with nothing received
     */
    public int receiveBatch(byte[] data, int slot, int[] lens, byte[] senders, int count) throws IOException {
        Objects.checkFromIndexSize(0, count, lens.length);
        Objects.checkFromIndexSize(0L, (long) count * slot, data.length);
        Objects.checkFromIndexSize(0L, (long) count * AddressWire.LEN, senders.length);
        long nanos = lockForReceive();
        try {
            bindIfNeeded();
            int n = Native.UNAVAILABLE;
            int fd = descriptor.begin(true);
            try {
                descriptor.configureNonBlockingIfNeeded(fd, nanos > 0);
                boolean connected = remote != null;
                int first = Math.min(count, NativeDatagram.MAX_BATCH);
                long start = System.nanoTime();
                n = NativeDatagram.receiveBatch(fd, data, slot, lens, senders, 0, first, connected, true);
                while (n == Native.UNAVAILABLE && isOpen()) {
                    awaitReadable(fd, start, nanos);
                    n = NativeDatagram.receiveBatch(fd, data, slot, lens, senders, 0, first, connected, true);
                }
                // a full call may have left more queued: take it without waiting, up to count
                int chunk = first;
                while (n > 0 && n < count && chunk == NativeDatagram.MAX_BATCH && isOpen()) {
                    chunk = Math.min(count - n, NativeDatagram.MAX_BATCH);
                    int more;
                    try {
                        more = NativeDatagram.receiveBatch(fd, data, slot, lens, senders, n, chunk, connected, false);
                    } catch (IOException e) {
                        break; // what arrived is returned; the error belongs to a later receive
                    }
                    if (more <= 0) {
                        break;
                    }
                    n += more;
                    if (more < chunk) {
                        break;
                    }
                }
                return n;
            } finally {
                descriptor.end(true, n >= 0);
            }
        } finally {
            readLock.unlock();
        }
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

    /** The options a datagram socket supports: the native option table's datagram rows. */
    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return Options.ALL;
    }

    // read from the native option table when first needed (the library is loaded by then)
    private static final class Options {
        static final Set<SocketOption<?>> ALL = OptionTable.supported(OptionTable.DATAGRAM);
    }

    // IPv4-only sockets cannot read the interface back as an index; the one set is kept
    private NetworkInterface multicastInterface;

    /** {@code DatagramSocket.setOption}; a closed socket gives {@link ClosedChannelException}, as the JDK's. */
    @Override
    public <T> void setOption(SocketOption<T> name, T value) throws IOException {
        OptionTable.Row row = supportedRow(name);
        OptionTable.checkType(name, value);
        synchronized (stateLock) {
            if (!isOpen()) {
                throw new ClosedChannelException();
            }
            OptionTable.set(descriptor.fd(), row, value);
            if (name == StandardSocketOptions.IP_MULTICAST_IF) {
                multicastInterface = (NetworkInterface) value;
            }
        }
    }

    /** {@code DatagramSocket.getOption}; a closed socket gives {@link ClosedChannelException}, as the JDK's. */
    @Override
    @SuppressWarnings("unchecked")
    public <T> T getOption(SocketOption<T> name) throws IOException {
        OptionTable.Row row = supportedRow(name);
        synchronized (stateLock) {
            if (!isOpen()) {
                throw new ClosedChannelException();
            }
            Object v = OptionTable.get(descriptor.fd(), row);
            if (name == StandardSocketOptions.IP_MULTICAST_IF) {
                int index = (Integer) v;
                if (index < 0) {
                    return (T) multicastInterface;
                }
                return index == 0 ? null : (T) NetworkInterface.getByIndex(index);
            }
            return (T) v;
        }
    }

    private static OptionTable.Row supportedRow(SocketOption<?> name) {
        Objects.requireNonNull(name);
        if (!Options.ALL.contains(name)) {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
        return OptionTable.row(name);
    }

    /** An option call whose failures {@link #legacy} translates. */
    private interface OptionCall<R> {
        R call() throws IOException;
    }

    /**
     * Runs an option call the way {@code DatagramSocket}'s legacy setters and getters do: a
     * closed socket gives {@code SocketException("Socket is closed")}, other I/O failures a
     * {@code SocketException}.
     */
    private static <R> R legacy(OptionCall<R> call) throws SocketException {
        try {
            return call.call();
        } catch (ClosedChannelException e) {
            throw new SocketException("Socket is closed");
        } catch (SocketException e) {
            throw e;
        } catch (IOException e) {
            throw new SocketException(e.getMessage());
        }
    }

    /** {@link #setOption(SocketOption, Object)} with the exceptions of the legacy setters. */
    public <T> void setLegacy(SocketOption<T> name, T value) throws SocketException {
        legacy(() -> {
            setOption(name, value);
            return null;
        });
    }

    /** {@link #getOption(SocketOption)} with the exceptions of the legacy getters. */
    public <T> T getLegacy(SocketOption<T> name) throws SocketException {
        return legacy(() -> getOption(name));
    }

    /** The standard option behind a legacy {@link SocketOptions} id, or null. */
    private static SocketOption<?> legacyOption(int optID) {
        switch (optID) {
            case SO_SNDBUF:
                return StandardSocketOptions.SO_SNDBUF;
            case SO_RCVBUF:
                return StandardSocketOptions.SO_RCVBUF;
            case SO_REUSEADDR:
                return StandardSocketOptions.SO_REUSEADDR;
            case SO_REUSEPORT:
                return StandardSocketOptions.SO_REUSEPORT;
            case SO_BROADCAST:
                return StandardSocketOptions.SO_BROADCAST;
            case IP_TOS:
                return StandardSocketOptions.IP_TOS;
            case IP_MULTICAST_IF2:
                return StandardSocketOptions.IP_MULTICAST_IF;
            case IP_MULTICAST_LOOP:
                return StandardSocketOptions.IP_MULTICAST_LOOP;
            default:
                return null;
        }
    }

    /** The legacy {@link SocketOptions} interface, for code that drives the impl directly. */
    @Override
    @SuppressWarnings("unchecked")
    public void setOption(int optID, Object value) throws SocketException {
        if (optID == SO_TIMEOUT) {
            setSoTimeout(value instanceof Integer ? (Integer) value : -1);
            return;
        }
        SocketOption<Object> opt = (SocketOption<Object>) legacyOption(optID);
        if (opt == null) {
            throw new SocketException("Unknown option " + optID);
        }
        if (optID == IP_MULTICAST_LOOP && value instanceof Boolean) {
            value = !(Boolean) value; // the legacy option means "loopback disabled"
        }
        setLegacy(opt, value);
    }

    @Override
    public Object getOption(int optID) throws SocketException {
        if (optID == SO_TIMEOUT) {
            return getSoTimeout();
        }
        if (optID == SO_BINDADDR) {
            InetSocketAddress local = localSocketAddress();
            return local != null ? local.getAddress() : anyLocal();
        }
        SocketOption<?> opt = legacyOption(optID);
        if (opt == null) {
            throw new SocketException("Unknown option " + optID);
        }
        Object v = getLegacy(opt);
        return optID == IP_MULTICAST_LOOP ? (Object) !(Boolean) v : v;
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
