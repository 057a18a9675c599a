package io.rustsocket.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The {@link SocketImpl} behind {@code RustSocket} and {@code RustServerSocket}: one object owns
 * one socket's life, and every system call goes through {@link Native}.
 *
 * <p>The shape is the JDK's {@code NioSocketImpl}:
 * <ul>
 *   <li>The descriptor's life (NEW, OPEN, CLOSING, CLOSED; operations in flight; release by the
 *       last thread out) is a {@link SocketDescriptor}, shared with the UDP engine; the
 *       connection state (UNCONNECTED, CONNECTING, CONNECTED) is this class's, under the same
 *       state lock.</li>
 *   <li>{@code readLock} serializes reads, accepts and connects; {@code writeLock} serializes
 *       writes, so one {@code write} call's bytes are never interleaved with another's.</li>
 *   <li>{@code close()} sends FIN unless SO_LINGER is 0, then, if a thread is inside a system
 *       call, shuts the socket down (or resets it), which wakes it; the descriptor is released
 *       by the last thread to leave.</li>
 * </ul>
 * The streams and the read and write paths behind them are {@link SocketStreams}; a connect
 * that races several addresses is {@link HappyEyeballs}; {@code sendFile} is
 * {@link FileSender}; the two option APIs of {@code SocketImpl} are {@link StreamOptions}.
 */
public final class RustSocketImpl extends SocketImpl {
    // connection states, under the state lock
    private static final int UNCONNECTED = 0;
    private static final int CONNECTING = 1;
    private static final int CONNECTED = 2;

    final boolean server;

    // serializes reads, accept and connect
    final ReentrantLock readLock = new ReentrantLock();
    // serializes writes, urgent data and sendFile
    final ReentrantLock writeLock = new ReentrantLock();
    final SocketDescriptor<RustSocketImpl> descriptor = new SocketDescriptor<>(this, CLOSER);
    // guards the descriptor's life and the connection state; never held across a blocking call
    final Object stateLock = descriptor.stateLock;

    private int connState;
    // the last thread out resets the connection: close() found unread bytes, or a reader in
    // flight consumed bytes after close() (close(2) at close() time would have sent RST)
    private volatile boolean resetOnRelease;
    // how close() wakes threads in flight: a reset, or a shutdown of one or both directions
    private boolean closeWithReset;
    private boolean closeReadOnly;

    // this socket's byte counts (null for a listener); replaced with each new descriptor
    private volatile Statistics.Counters counters;

    // its InputStream and OutputStream, and the read and write paths behind them
    final SocketStreams streams = new SocketStreams(this);

    // SO_LINGER may be on: it was set on this socket, or on the listener that accepted it
    volatile boolean lingerMaybeOn;

    private volatile int timeout;
    private volatile boolean inputClosed;
    private volatile boolean outputClosed;

    // the local address and port the user asked for, applied again to the descriptors of a
    // connect that tries several addresses
    private InetAddress requestedLocalAddress;
    private int requestedLocalPort;
    // the endpoints the next connect races (Happy Eyeballs), set by RustSocket; null for one
    private List<InetSocketAddress> connectCandidates;
    private int connectionAttemptDelayMillis;
    // the race in progress, under the state lock: close() wakes its extra descriptors
    private HappyEyeballs race;

    // the Unix side of a Unix domain socket, null for an IP one: set when it is about to be
    // bound or connected to a Unix name, or made by a Unix listener or a pair (see UnixSockets)
    volatile UnixEnd unix;

    // options set on a client socket before it connected (row -> value, in the order set),
    // applied again to the extra descriptors of a racing connect (see StreamOptions); made on
    // first use, under the state lock, since most sockets never need it
    Map<OptionTable.Row, Object> presetOptions;

    /**
     * Creates an implementation in state NEW; {@link #create(boolean)} opens the descriptor.
     *
     * @param server {@code true} for a listening socket
     * @throws UnsatisfiedLinkError if the native library cannot be loaded on this platform
     */
    public RustSocketImpl(boolean server) {
        NativeLibrary.ensureLoaded();
        this.server = server;
    }

    /** What close() asks of the descriptor: how to wake threads in flight, and the last words. */
    private static final SocketDescriptor.Closer<RustSocketImpl> CLOSER = new SocketDescriptor.Closer<>() {
        @Override
        public void wake(RustSocketImpl socket, int fd) {
            try {
                if (socket.closeWithReset) {
                    // reset now (for linger 0 a shutdown would queue a FIN behind unsent data)
                    Native.abort(fd);
                } else {
                    // a reader alone needs only SHUT_RD, which sends nothing to the peer
                    Native.shutdown(fd, socket.closeReadOnly ? Native.SHUT_RD : Native.SHUT_RDWR);
                }
            } catch (IOException ignore) {
                // not connected (yet): the state is set and waiters woken all the same
            }
            if (socket.race != null) {
                socket.race.wakeAttempts();
            }
        }

        /**
         * The last thread out of a system call must not wait out SO_LINGER in close(2) (it would
         * report "Socket closed" seconds late), so the linger is dropped and the kernel finishes
         * the graceful close in the background.
         */
        @Override
        public void beforeRelease(RustSocketImpl socket, int fd, boolean lastOut) {
            try {
                if (socket.resetOnRelease) {
                    Native.abort(fd);
                } else if (lastOut && StreamOptions.linger(socket, fd) > 0) {
                    StreamOptions.lingerOff(fd);
                }
            } catch (IOException ignore) {
                // already reset or gone, or not a connected TCP socket: close(2) follows
            }
        }
    };

    /**
     * Makes the next connect to {@code endpoints.get(0)} race all of {@code endpoints} as RFC 8305
     * (Happy Eyeballs) describes: families interleaved, a new attempt every
     * {@code delayMillis} until one connects, the others closed, all within the connect's
     * timeout. Used by {@code RustSocket}'s host-name constructors and {@code connect} methods.
     *
     * @param endpoints the resolved endpoints, in the caller's order of preference
     * @param delayMillis the connection attempt delay
     */
    public void setConnectCandidates(List<InetSocketAddress> endpoints, int delayMillis) {
        this.connectCandidates = endpoints == null ? null : new ArrayList<>(endpoints);
        this.connectionAttemptDelayMillis = delayMillis;
    }

    /** Whether close() has not been called (also true before the descriptor is created). */
    boolean isOpen() {
        return descriptor.state() < SocketDescriptor.CLOSING;
    }

    void ensureOpen() throws SocketException {
        int s = descriptor.state();
        if (s == SocketDescriptor.NEW) {
            throw new SocketException("Socket not created");
        }
        if (s >= SocketDescriptor.CLOSING) {
            throw new SocketException("Socket closed");
        }
    }

    void ensureOpenAndConnected() throws SocketException {
        if (descriptor.state() >= SocketDescriptor.CLOSING) {
            throw new SocketException("Socket closed");
        }
        if (descriptor.state() == SocketDescriptor.NEW || connState != CONNECTED) {
            throw new SocketException("Not connected");
        }
    }

    /** Whether the connection is still being made (the state of an unfinished race). */
    boolean isConnecting() {
        assert Thread.holdsLock(stateLock);
        return isOpen() && connState == CONNECTING;
    }

    // ---------------------------------------------------------------- reads and writes

    /** Marks the start of a read or write that may block; returns the descriptor to use. */
    int beginIO(boolean reader) throws SocketException {
        synchronized (stateLock) {
            ensureOpenAndConnected();
            return descriptor.enter(reader);
        }
    }

    /** Marks its end; an operation cut short by close reports "Socket closed". */
    void endIO(boolean reader, boolean completed) throws SocketException {
        descriptor.end(reader, completed);
    }

    /**
     * How many reads, since the JVM started, waited for the poller's next event without a system
     * call, because the read before had emptied the socket (virtual threads on Linux). For tests
     * and diagnostics.
     *
     * @return the count so far
     */
    public static long readsSkipped() {
        return SocketStreams.readsSkipped();
    }

    /**
     * How many writes, and large reads of Unix sockets, on blocking descriptors waited in poll(2)
     * before their system call because the call before had stopped short (a full send buffer, an
     * emptied socket), since the JVM started. For tests and diagnostics.
     *
     * @return the count so far
     */
    public static long polledFirst() {
        return SocketStreams.polledFirst();
    }

    /**
     * How many TCP reads on blocking descriptors waited in the kernel and came back without bytes
     * (their read timeout passed, or a signal came), since the JVM started. For tests and
     * diagnostics.
     *
     * @return the count so far
     */
    public static long kernelWaitsEndedEmpty() {
        return SocketStreams.kernelWaitsEndedEmpty();
    }

    /** Adds bytes a read took to this socket's statistics. */
    void countRead(int n) {
        counters.addRead(n);
    }

    /** Adds bytes a write-like call (sendfile) sent to this socket's statistics. */
    void countWritten(long n) {
        counters.addWritten(n);
    }

    /**
     * A read took bytes that arrived after close(): the last thread out then resets the
     * connection, as close(2) at close() time would have (the JDK's close discards them).
     */
    void resetOnRelease() {
        resetOnRelease = true;
    }

    /** Whether shutdownInput() was called. */
    boolean inputClosed() {
        return inputClosed;
    }

    /**
     * Sends {@code count} bytes of {@code channel} from {@code position}; see
     * {@link FileSender#send}.
     */
    public long sendFile(FileChannel channel, long position, long count) throws IOException {
        return FileSender.send(this, channel, position, count);
    }

    // ---------------------------------------------------------------- life cycle

    @Override
    protected void create(boolean stream) throws IOException {
        if (!stream) {
            throw new IOException("Datagram socket creation not supported");
        }
        synchronized (stateLock) {
            if (descriptor.state() != SocketDescriptor.NEW) {
                throw new IOException("Already created");
            }
            if (unix != null && unix.pairEnd >= 0) {
                connected(unix.pairEnd);
                unix.pairEnd = -1;
                unix.pairConnectPending = true; // java.net.Socket's connect completes the hand-over
                return;
            }
            openDescriptor();
            connState = UNCONNECTED;
        }
    }

    /**
     * Opens this socket's descriptor (again, for a connect that tries one address after another,
     * or for a socket that turns out to be a Unix one).
     */
    private void openDescriptor() throws IOException {
        assert Thread.holdsLock(stateLock);
        int newFd = unix != null ? Native.unixSocket(false, server) : Native.socket(server);
        Statistics.used();
        Statistics.Counters c = server ? null : Statistics.register();
        // client descriptors start non-blocking so that connect can be woken by close
        descriptor.open(newFd, c, server, server);
        counters = c;
        if (unix != null) {
            return; // the defaults are TCP options
        }
        // on a listener too: Linux copies its options to every accepted socket, so the
        // defaults arrive there unless the application set its own on the listener
        try {
            SocketDefaults.apply(newFd);
        } catch (IOException e) {
            descriptor.discard();
            throw e;
        }
    }

    // ---------------------------------------------------------------- Unix domain sockets

    /** Whether this is a Unix domain socket. */
    public boolean isUnix() {
        return unix != null;
    }

    /**
     * Makes this socket a Unix one (see {@link UnixSockets#prepareConnect}): a socket not yet
     * created opens a Unix descriptor when it is; an unused IP descriptor is swapped for a Unix
     * one, which gets the options set so far that a Unix socket has.
     *
     * @return its Unix side
     */
    UnixEnd becomeUnix() throws IOException {
        assert Thread.holdsLock(stateLock);
        if (unix != null) {
            ensureOpen();
            return unix;
        }
        int s = descriptor.state();
        if (s >= SocketDescriptor.CLOSING) {
            throw new SocketException("Socket closed");
        }
        if (s == SocketDescriptor.OPEN && connState == CONNECTING) {
            throw new SocketException("Connection in progress");
        }
        if (s == SocketDescriptor.OPEN && connState != UNCONNECTED) {
            throw new SocketException("Already connected");
        }
        if (localport != 0) {
            throw new SocketException("Already bound");
        }
        UnixEnd u = new UnixEnd();
        unix = u;
        if (s == SocketDescriptor.OPEN) {
            try {
                openDescriptor(); // the IP descriptor stays until the Unix one is open
            } catch (IOException e) {
                unix = null;
                throw e;
            }
            StreamOptions.applyPresets(this, descriptor.fd());
        }
        return u;
    }

    /**
     * Makes a socket that became Unix for a bind the system refused an IP socket again, as it
     * was: a failed bind leaves a socket usable, as {@code ServerSocket}'s and {@code Socket}'s
     * do. Nothing to do for a socket that is bound, connected or closed.
     */
    void revertToIp() throws IOException {
        synchronized (stateLock) {
            UnixEnd u = unix;
            if (u == null || u.bound || u.pairEnd >= 0 || connState != UNCONNECTED
                    || descriptor.state() != SocketDescriptor.OPEN) {
                return;
            }
            unix = null;
            openDescriptor();
            StreamOptions.applyPresets(this, descriptor.fd());
        }
    }

    /** Makes a NEW implementation the connected Unix descriptor {@code fd} (accepted or a pair end). */
    private void connected(int fd) {
        assert Thread.holdsLock(stateLock);
        if (unix == null) {
            unix = new UnixEnd();
        }
        Statistics.Counters c = Statistics.register();
        descriptor.open(fd, c, false, true);
        counters = c;
        address = InetAddress.getLoopbackAddress();
        connState = CONNECTED;
        unix.local = UnixSockets.name(fd, false);
        unix.remote = UnixSockets.name(fd, true);
    }

    /** Whether the socket is connected (the state lock held). */
    boolean isConnected() {
        assert Thread.holdsLock(stateLock);
        return connState == CONNECTED;
    }

    @Override
    protected void connect(String host, int port) throws IOException {
        connect(new InetSocketAddress(host, port), 0);
    }

    @Override
    protected void connect(InetAddress address, int port) throws IOException {
        connect(new InetSocketAddress(address, port), 0);
    }

    /**
     * Connects to {@code remote}, or, when {@link #setConnectCandidates} named it first, races
     * all the candidates (Happy Eyeballs), all within {@code millis}. On failure the socket is
     * closed, as the JDK's is.
     */
    @Override
    protected void connect(SocketAddress remote, int millis) throws IOException {
        byte[] unixName = null;
        SocketAddress unixTarget = null;
        synchronized (stateLock) {
            if (unix != null) {
                unixName = unix.connectName;
                unixTarget = unix.connectTarget;
                unix.connectName = null;
                unix.connectTarget = null;
                if (unix.pairConnectPending) {
                    unix.pairConnectPending = false;
                    return; // a pair end, connected since create()
                }
            }
        }
        if (unixName == null && unix != null) {
            throw new SocketException("Unsupported address type: a Unix domain socket connects to a Unix name");
        }
        InetSocketAddress isa = unixName != null ? null : checkedRemote(remote);
        List<InetSocketAddress> candidates = connectCandidates;
        connectCandidates = null;
        try {
            if (unixName != null) {
                UnixSockets.connect(this, unixName, unixTarget, TimeUnit.MILLISECONDS.toNanos(millis));
            } else if (candidates != null && candidates.size() > 1 && candidates.get(0).equals(isa)) {
                new HappyEyeballs(this, candidates, millis, connectionAttemptDelayMillis).run();
            } else {
                checkFamily(isa.getAddress());
                connectOnce(connectableAddress(isa.getAddress()), isa.getPort(),
                        TimeUnit.MILLISECONDS.toNanos(millis));
            }
            Statistics.connected();
        } catch (SocketTimeoutException e) {
            failed(e);
            close();
            throw e;
        } catch (InterruptedIOException e) {
            // a virtual thread interrupted while parked (not counted as a failure: our own doing)
            close();
            throw NetProperties.interruptedConnect(e);
        } catch (IOException e) {
            failed(e);
            close();
            throw isa == null ? e : NetProperties.withHostInfo(e, isa);
        }
    }

    private static InetSocketAddress checkedRemote(SocketAddress remote) throws IOException {
        if (!(remote instanceof InetSocketAddress)) {
            throw new IOException("Unsupported address type");
        }
        InetSocketAddress isa = (InetSocketAddress) remote;
        if (isa.isUnresolved()) {
            throw new UnknownHostException(isa.getHostName());
        }
        return isa;
    }

    /** Refuses an IPv6 address when the JVM runs with {@code java.net.preferIPv4Stack=true}. */
    static void checkFamily(InetAddress address) throws SocketException {
        if (NetProperties.refusedByIpv4Stack(address)) {
            throw NetProperties.ipv6Unavailable();
        }
    }

    /** As in the JDK, connecting to the wildcard address means connecting to this host. */
    static InetAddress connectableAddress(InetAddress address) throws UnknownHostException {
        return address.isAnyLocalAddress() ? InetAddress.getLocalHost() : address;
    }

    /**
     * Moves to CONNECTING with {@code address:port} as the peer, marking the connecting thread
     * in flight (as a reader) so that close() wakes it.
     *
     * @return the descriptor to connect
     */
    int beginConnect(InetAddress address, int port) throws SocketException {
        synchronized (stateLock) {
            int s = descriptor.state();
            if (s == SocketDescriptor.NEW) {
                throw new SocketException("Not created");
            }
            if (s == SocketDescriptor.OPEN && connState == CONNECTING) {
                throw new SocketException("Connection in progress");
            }
            if (s == SocketDescriptor.OPEN && connState == CONNECTED) {
                throw new SocketException("Already connected");
            }
            int fd = descriptor.enter(true);
            connState = CONNECTING;
            this.address = address;
            this.port = port;
            return fd;
        }
    }

    /** Leaves CONNECTING: CONNECTED with {@code fd}'s local port, or UNCONNECTED again. */
    void endConnect(int fd, boolean completed) throws IOException {
        synchronized (stateLock) {
            descriptor.leave(true);
            boolean open = descriptor.isOpen();
            if (completed && open && connState == CONNECTING) {
                connState = CONNECTED;
                if (unix == null) {
                    localport = AddressWire.localOf(fd).getPort();
                }
            } else if (!completed && !open) {
                throw new SocketException("Socket closed");
            } else if (!completed) {
                connState = UNCONNECTED;
            }
        }
    }

    /** Lets a connected descriptor turn blocking for the one-system-call path of platform threads. */
    void connectedBlocking() {
        descriptor.blockOnFirstUse();
    }

    private void connectOnce(InetAddress address, int port, long nanos) throws IOException {
        readLock.lock();
        try {
            boolean connected = false;
            int fd = beginConnect(address, port);
            try {
                // The descriptor is non-blocking here (see openDescriptor): the connect is started,
                // then waited for in poll, which close() can always wake.
                if (Native.connect(fd, address.getAddress(), AddressWire.scopeId(address), port) > 0) {
                    connected = isOpen();
                } else {
                    long start = System.nanoTime();
                    while (!connected && isOpen()) {
                        long remaining = 0;
                        if (nanos > 0) {
                            remaining = nanos - (System.nanoTime() - start);
                            if (remaining <= 0) {
                                throw new SocketTimeoutException("Connect timed out");
                            }
                        }
                        int events = descriptor.park(fd, Native.POLLOUT, remaining);
                        if (events == SocketDescriptor.READINESS_UNKNOWN) {
                            events = Native.poll(fd, Native.POLLOUT, 0);
                        }
                        if (events != 0) {
                            // throws the connect's error
                            Native.connectResult(fd, nanos == 0 && !Poller.currentIsVirtual());
                            connected = true;
                        }
                    }
                    connected = connected && isOpen();
                }
                if (connected) {
                    connectedBlocking();
                }
            } finally {
                endConnect(fd, connected);
            }
        } finally {
            readLock.unlock();
        }
    }

    /** The local address and port asked for by bind(), or null/0. */
    InetAddress requestedLocalAddress() {
        return requestedLocalAddress;
    }

    int requestedLocalPort() {
        return requestedLocalPort;
    }

    /** Records the race in progress (or its end, with null), for close() to wake. */
    void setRace(HappyEyeballs r) {
        assert Thread.holdsLock(stateLock);
        race = r;
    }

    /**
     * Makes a racing attempt's descriptor this socket's connection (the own one is closed), with
     * {@code peer:port} as the peer. The caller holds the state lock and has checked that the
     * socket is still connecting.
     */
    void adopt(int fd, InetAddress peer, int port) {
        assert Thread.holdsLock(stateLock);
        Statistics.Counters c = Statistics.register();
        descriptor.open(fd, c, false, false);
        counters = c;
        this.address = peer;
        this.port = port;
    }

    /** Sets the peer a connect is trying, so that getInetAddress()/getPort() name it. */
    void setPeer(InetAddress peer, int port) {
        assert Thread.holdsLock(stateLock);
        this.address = peer;
        this.port = port;
    }

    /**
     * One endpoint at a time on a fixed local port: after a failed attempt, a fresh own
     * descriptor with the same options, bound to the same local address and port.
     */
    int reopenForNextAttempt() throws IOException {
        synchronized (stateLock) {
            if (!isConnecting()) {
                throw new SocketException("Socket closed");
            }
            openDescriptor();
            int fd = descriptor.fd();
            StreamOptions.applyPresets(this, fd);
            localport = 0;
            if (requestedLocalAddress != null) {
                bindLocked(requestedLocalAddress, requestedLocalPort);
            }
            return fd;
        }
    }

    @Override
    protected void bind(InetAddress host, int port) throws IOException {
        synchronized (stateLock) {
            ensureOpen();
            if (localport != 0 || (unix != null && unix.bound)) {
                throw new SocketException("Already bound");
            }
            if (unix != null && unix.bindName != null) {
                byte[] name = unix.bindName;
                unix.bindName = null;
                if (name.length > 0) {
                    Native.unixBind(descriptor.fd(), name);
                } else if (server) {
                    throw new BindException("Server socket cannot bind to unnamed address"); // the JDK's
                }
                // the empty name leaves a client unnamed, bound as far as java.net.Socket knows
                address = host;
                unix.bound = true;
                unix.local = UnixSockets.name(descriptor.fd(), false);
                return;
            }
            checkFamily(host);
            bindLocked(host, port);
            requestedLocalAddress = host;
            requestedLocalPort = port;
        }
    }

    private void bindLocked(InetAddress host, int port) throws IOException {
        int fd = descriptor.fd();
        Native.bind(fd, host.getAddress(), AddressWire.scopeId(host), port);
        // as in the JDK, the address field keeps the address asked for
        address = host;
        localport = AddressWire.localOf(fd).getPort();
    }

    @Override
    protected void listen(int backlog) throws IOException {
        synchronized (stateLock) {
            ensureOpen();
            if (localport == 0 && (unix == null || !unix.bound)) {
                throw new SocketException("Not bound");
            }
            Native.listen(descriptor.fd(), backlog < 1 ? 50 : backlog);
        }
    }

    private int beginAccept() throws SocketException {
        synchronized (stateLock) {
            ensureOpen();
            if (localport == 0 && (unix == null || !unix.bound)) {
                throw new SocketException("Not bound");
            }
            return descriptor.enter(true);
        }
    }

    @Override
    protected void accept(SocketImpl si) throws IOException {
        try {
            acceptCounted(si);
        } catch (IOException e) {
            throw failed(e);
        }
        Statistics.accepted();
    }

    private void acceptCounted(SocketImpl si) throws IOException {
        if (!(si instanceof RustSocketImpl)) {
            throw new SocketException("Cannot accept into " + si.getClass().getName());
        }
        RustSocketImpl target = (RustSocketImpl) si;
        if (!target.canTakeAccepted()) {
            throw new SocketException("Not a newly created SocketImpl");
        }
        byte[] peer = new byte[AddressWire.LEN];
        int millis = timeout;
        long remainingNanos = 0;
        if (millis > 0) {
            remainingNanos = tryLock(readLock, millis);
            if (remainingNanos <= 0) {
                throw new SocketTimeoutException("Accept timed out");
            }
        } else {
            readLock.lock();
        }
        int newFd = Native.UNAVAILABLE;
        try {
            int fd = beginAccept();
            try {
                descriptor.configureNonBlockingIfNeeded(fd, remainingNanos > 0);
                long start = System.nanoTime();
                newFd = Native.accept(fd, peer);
                while (newFd == Native.UNAVAILABLE && isOpen()) {
                    long remaining = 0;
                    if (remainingNanos > 0) {
                        remaining = remainingNanos - (System.nanoTime() - start);
                        if (remaining <= 0) {
                            throw new SocketTimeoutException("Accept timed out");
                        }
                    }
                    descriptor.park(fd, Native.POLLIN, remaining);
                    newFd = Native.accept(fd, peer);
                }
            } finally {
                try {
                    endIO(true, newFd >= 0);
                } catch (SocketException closed) {
                    if (newFd >= 0) {
                        Native.close(newFd); // accepted just as the listener closed
                    }
                    throw closed;
                }
            }
        } finally {
            readLock.unlock();
        }
        synchronized (target.stateLock) {
            // checked again: the accept may have waited, and the target be closed or used meanwhile
            if (!target.canTakeAccepted()) {
                Native.close(newFd);
                throw new SocketException(
                        target.descriptor.isOpen() ? "Not a newly created SocketImpl" : "Socket closed");
            }
            target.lingerMaybeOn = lingerMaybeOn;
            if (peer[0] == Native.UNIX_PEER) {
                target.connected(newFd);
            } else {
                target.accepted(newFd, AddressWire.decode(peer));
            }
        }
    }

    /**
     * Whether an accept may make this the accepted connection: a NEW implementation, or a client
     * socket that has a descriptor but was neither bound nor connected, and nobody is using it (a
     * {@code Socket} handed to {@code ServerSocket.implAccept} after a setter, setSoTimeout say,
     * made its descriptor). The accepted connection then replaces that descriptor, and the socket
     * keeps its timeout, as the JDK's sockets do.
     */
    private boolean canTakeAccepted() {
        synchronized (stateLock) {
            return descriptor.state() == SocketDescriptor.NEW
                    || (!server && unix == null && descriptor.isOpen() && connState == UNCONNECTED
                            && requestedLocalAddress == null && !descriptor.inFlight());
        }
    }

    /**
     * Makes an implementation that {@link #canTakeAccepted} the accepted connection {@code fd}
     * from {@code remote}.
     */
    private void accepted(int fd, InetSocketAddress remote) throws IOException {
        synchronized (stateLock) {
            Statistics.Counters c = Statistics.register();
            descriptor.open(fd, c, false, true);
            counters = c;
            try {
                localport = AddressWire.localOf(fd).getPort();
            } catch (IOException e) {
                descriptor.discard();
                throw e;
            }
            address = remote.getAddress();
            port = remote.getPort();
            connState = CONNECTED;
        }
    }

    // ---------------------------------------------------------------- streams

    @Override
    protected InputStream getInputStream() {
        return streams.input();
    }

    @Override
    protected OutputStream getOutputStream() {
        return streams.output();
    }

    @Override
    protected int available() throws IOException {
        synchronized (stateLock) {
            ensureOpenAndConnected();
            return inputClosed ? 0 : Native.available(descriptor.fd());
        }
    }

    // ---------------------------------------------------------------- close

    @Override
    protected void close() throws IOException {
        synchronized (stateLock) {
            if (!descriptor.startClose()) {
                return;
            }
            int fd = descriptor.fd();
            boolean connected = connState == CONNECTED;
            boolean inFlight = descriptor.inFlight();
            // send FIN now unless linger is 0 (which must reset instead), as the JDK does; with a
            // thread in flight, unread bytes then also mean a reset, since the JDK's close releases
            // the socket at once and close(2) resets a connection with unread data. The FIN goes
            // first in that case too, as with the JDK: the peer then reads EOF and, on sending,
            // gets "Broken pipe" rather than "Connection reset by peer".
            boolean reset = false;
            if (connected) {
                try {
                    reset = StreamOptions.linger(this, fd) == 0;
                    if (!reset) {
                        Native.shutdown(fd, Native.SHUT_WR);
                        reset = inFlight && !inputClosed && Native.available(fd) > 0;
                    }
                } catch (IOException ignore) {
                    // the peer may be gone already; close goes on
                }
            }
            closeWithReset = reset;
            closeReadOnly = connected && !descriptor.writerInFlight();
            descriptor.finishClose();
            if (unix != null) {
                DescriptorPassing.closeInbox(unix);
            }
        }
    }

    /**
     * Closes this socket without a word to the peer (no FIN, no reset): its connection lives on
     * in a duplicate of the descriptor handed elsewhere (see {@link DescriptorPassing#detach}).
     * The caller holds the state lock and has checked that no thread is inside a call on it.
     */
    void closeSilently() {
        assert Thread.holdsLock(stateLock) && !descriptor.inFlight();
        if (descriptor.startClose()) {
            descriptor.finishClose();
        }
        if (unix != null) {
            DescriptorPassing.closeInbox(unix);
        }
    }

    @Override
    protected void shutdownInput() throws IOException {
        synchronized (stateLock) {
            ensureOpenAndConnected();
            if (!inputClosed) {
                Native.shutdown(descriptor.fd(), Native.SHUT_RD);
                inputClosed = true;
            }
        }
    }

    @Override
    protected void shutdownOutput() throws IOException {
        synchronized (stateLock) {
            ensureOpenAndConnected();
            if (!outputClosed) {
                Native.shutdown(descriptor.fd(), Native.SHUT_WR);
                outputClosed = true;
            }
        }
    }

    @Override
    protected boolean supportsUrgentData() {
        return true;
    }

    @Override
    protected void sendUrgentData(int data) throws IOException {
        streams.sendUrgent(data);
    }

    // ---------------------------------------------------------------- options

    @Override
    protected Set<SocketOption<?>> supportedOptions() {
        return StreamOptions.jdkVisible(this);
    }

    /**
     * Every option this socket takes, {@link io.rustsocket.RustSocketOptions} included, for
     * {@code RustSocket.supportedOptions()} and {@code RustServerSocket.supportedOptions()};
     * {@link #supportedOptions()}, which a plain {@code java.net.Socket} reports, lists only
     * the JDK's.
     *
     * <p>An IP socket asks {@code javaNets} ({@code java.net}'s own answer) first: it creates
     * the descriptor, and is empty for a socket closed before it had one (JDK 21+).
     *
     * @param javaNets the socket's {@code super.supportedOptions()}
     * @return an unmodifiable set
     */
    public Set<SocketOption<?>> allSupportedOptions(Supplier<Set<SocketOption<?>>> javaNets) {
        if (!isUnix() && javaNets.get().isEmpty()) {
            return Collections.emptySet();
        }
        return StreamOptions.supported(this);
    }

    @Override
    protected <T> void setOption(SocketOption<T> opt, T value) throws IOException {
        StreamOptions.set(this, opt, value);
    }

    @Override
    protected <T> T getOption(SocketOption<T> opt) throws IOException {
        return StreamOptions.get(this, opt);
    }

    @Override
    public void setOption(int opt, Object value) throws SocketException {
        StreamOptions.setLegacy(this, opt, value);
    }

    @Override
    public Object getOption(int opt) throws SocketException {
        return StreamOptions.getLegacy(this, opt);
    }

    /** SO_TIMEOUT in milliseconds (0: none). */
    int timeout() {
        return timeout;
    }

    void setTimeout(int millis) {
        timeout = millis;
    }

    /** Whether the connection is made (so that options set now are not replayed on racing descriptors). */
    boolean isUnconnected() {
        assert Thread.holdsLock(stateLock);
        return connState == UNCONNECTED;
    }

    /** Whether a Unix bind could still replace this listener's descriptor (IP, not yet bound). */
    boolean mayBecomeUnix() {
        assert Thread.holdsLock(stateLock);
        return unix == null && localport == 0;
    }

    /**
     * Reads {@code getsockopt(TCP_INFO)}: the values of {@code io.rustsocket.TcpInfo}'s
     * components, in order.
     *
     * @param fields how many values the caller expects
     * @return the values
     * @throws SocketException if the socket is closed
     * @throws IOException if the kernel refuses
     */
    public long[] tcpInfo(int fields) throws IOException {
        long[] values = new long[fields];
        synchronized (stateLock) {
            ensureOpen();
            int n = Native.tcpInfo(descriptor.fd(), values);
            if (n != fields) {
                throw new IllegalStateException("native library reports " + n + " TCP_INFO values, not " + fields);
            }
        }
        return values;
    }

    // ---------------------------------------------------------------- helpers

    /**
     * Takes {@code lock} within {@code millis}, retrying through interrupts as the JDK does.
     *
     * @return the nanoseconds left when the lock was taken; zero or less if it was not
     */
    static long tryLock(ReentrantLock lock, int millis) {
        boolean interrupted = false;
        long nanos = TimeUnit.MILLISECONDS.toNanos(millis);
        long remaining = nanos;
        long start = System.nanoTime();
        boolean acquired = false;
        while (!acquired && remaining > 0) {
            try {
                acquired = lock.tryLock(remaining, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
            remaining = nanos - (System.nanoTime() - start);
        }
        if (acquired && remaining <= 0) {
            lock.unlock();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return remaining;
    }

    /**
     * Counts a failed operation in the statistics and returns {@code e}. Failures on a socket
     * this process has closed meanwhile are not counted: they are its own doing, not the
     * network's.
     */
    IOException failed(IOException e) {
        return isOpen() ? Statistics.failed(e, counters) : e;
    }
}
