package io.rustsocket.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.lang.ref.Cleaner;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.NonReadableChannelException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import jdk.net.ExtendedSocketOptions;

/**
 * The {@link SocketImpl} behind {@code RustSocket} and {@code RustServerSocket}: one object owns
 * one socket's life, and every system call goes through {@link Native}.
 *
 * <p>The shape is the JDK's {@code NioSocketImpl}:
 * <ul>
 *   <li>States NEW, UNCONNECTED, CONNECTING, CONNECTED, CLOSING, CLOSED.</li>
 *   <li>{@code readLock} serializes reads, accepts and connects; {@code writeLock} serializes
 *       writes, so one {@code write} call's bytes are never interleaved with another's;
 *       {@code stateLock} guards the state, the descriptor's life and which directions have a
 *       thread inside a system call.</li>
 *   <li>Untimed operations on platform threads block in the kernel (one system call per read);
 *       timed ones switch the descriptor to non-blocking once and wait with {@code poll}
 *       against a monotonic deadline.</li>
 *   <li>{@code close()} marks CLOSING and, if a thread is inside a system call, shuts the socket
 *       down, which wakes it (Linux wakes blocked recv/send/accept/connect/poll on shutdown, and
 *       a shutdown made just before the call makes the call return at once). The descriptor is
 *       released by the last thread to leave, so its number can never be reused under a thread
 *       still using it.</li>
 * </ul>
 */
public final class RustSocketImpl extends SocketImpl {
    private static final int ST_NEW = 0;
    private static final int ST_UNCONNECTED = 1;
    private static final int ST_CONNECTING = 2;
    private static final int ST_CONNECTED = 3;
    private static final int ST_CLOSING = 4;
    private static final int ST_CLOSED = 5;

    /** What {@link #park} returns when it does not know which events occurred. */
    private static final int READINESS_UNKNOWN = -1;

    /** Largest chunk handed to one native read or write, as in the JDK. */
    private static final int MAX_BUFFER_SIZE = 128 * 1024;

    /** Most connect attempts one Happy Eyeballs race keeps running at once. */
    private static final int MAX_RACING = 64;

    private static final Set<SocketOption<?>> CLIENT_OPTIONS = options(false);
    private static final Set<SocketOption<?>> SERVER_OPTIONS = options(true);

    private final boolean server;

    // serializes reads, accept and connect
    private final ReentrantLock readLock = new ReentrantLock();
    // serializes writes and urgent data
    private final ReentrantLock writeLock = new ReentrantLock();
    // guards state, fd, cleanable and the in-flight flags; never held across a blocking call
    private final Object stateLock = new Object();

    private volatile int state;
    private int fd = -1;
    private Cleaner.Cleanable cleanable;
    private boolean readerInFlight;
    private boolean writerInFlight;
    // the last thread out resets the connection: close() found unread bytes, or a reader in
    // flight consumed bytes after close() (close(2) at close() time would have sent RST)
    private volatile boolean resetOnRelease;

    // set once, under readLock or writeLock, when a timed operation first needs it
    private volatile boolean nonBlocking;

    // this socket's byte counts (null for a listener); replaced with each new descriptor
    private volatile Statistics.Counters counters;

    private volatile int timeout;
    private volatile boolean inputClosed;
    private volatile boolean outputClosed;
    private volatile boolean connectionReset;
    // a read saw EOF: later reads return -1 even after close, as the JDK does
    private boolean readEOF;

    // the local address and port the user asked for, applied again to the descriptors of a
    // connect that tries several addresses
    private InetAddress requestedLocalAddress;
    private int requestedLocalPort;
    // options set on a client socket before it connected (native id -> value, in the order set),
    // applied again to the extra descriptors of a connect that races several addresses
    // (all three made on first use: most sockets never need them, and each costs heap per socket)
    private Map<Integer, Integer> presetOptions;
    // the same for string options (native id -> ASCII value)
    private Map<Integer, byte[]> presetStringOptions;
    // the endpoints the next connect races (Happy Eyeballs), set by RustSocket; null for one
    private List<InetSocketAddress> connectCandidates;
    private int connectionAttemptDelayMillis;
    // descriptors of racing connect attempts other than fd, under stateLock; close() wakes them
    private List<Integer> racingFds;

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

    private static Set<SocketOption<?>> options(boolean server) {
        Set<SocketOption<?>> set = new HashSet<>();
        set.add(StandardSocketOptions.SO_RCVBUF);
        set.add(StandardSocketOptions.SO_REUSEADDR);
        set.add(StandardSocketOptions.SO_REUSEPORT);
        set.add(StandardSocketOptions.IP_TOS);
        // the jdk.net options the JDK's own sockets support on Linux
        set.add(ExtendedSocketOptions.TCP_KEEPIDLE);
        set.add(ExtendedSocketOptions.TCP_KEEPINTERVAL);
        set.add(ExtendedSocketOptions.TCP_KEEPCOUNT);
        set.add(ExtendedSocketOptions.TCP_QUICKACK);
        set.add(ExtendedSocketOptions.SO_INCOMING_NAPI_ID);
        if (!server) {
            set.add(StandardSocketOptions.SO_KEEPALIVE);
            set.add(StandardSocketOptions.SO_SNDBUF);
            set.add(StandardSocketOptions.SO_LINGER);
            set.add(StandardSocketOptions.TCP_NODELAY);
        }
        return Collections.unmodifiableSet(set);
    }

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

    /** Sets an int option on the descriptor, remembering it for racing connect attempts. */
    private void setNativeOption(int id, int value) throws IOException {
        assert Thread.holdsLock(stateLock);
        Native.setOption(fd, id, value);
        if (!server && state == ST_UNCONNECTED) {
            if (presetOptions == null) {
                presetOptions = new LinkedHashMap<>();
            }
            presetOptions.remove(id); // keep the order in which the values were last set
            presetOptions.put(id, value);
        }
    }

    /** Sets a string option on the descriptor, remembering it for racing connect attempts. */
    private void setNativeStringOption(int id, byte[] value) throws IOException {
        assert Thread.holdsLock(stateLock);
        Native.setStringOption(fd, id, value);
        if (!server && state == ST_UNCONNECTED) {
            if (presetStringOptions == null) {
                presetStringOptions = new LinkedHashMap<>();
            }
            presetStringOptions.remove(id);
            presetStringOptions.put(id, value);
        }
    }

    /** Applies copies of the options set before connect to another descriptor. */
    private static void applyPresetOptions(int target, Map<Integer, Integer> ints, Map<Integer, byte[]> strings)
            throws IOException {
        if (ints != null) {
            for (Map.Entry<Integer, Integer> o : ints.entrySet()) {
                Native.setOption(target, o.getKey(), o.getValue());
            }
        }
        if (strings != null) {
            for (Map.Entry<Integer, byte[]> o : strings.entrySet()) {
                Native.setStringOption(target, o.getKey(), o.getValue());
            }
        }
    }

    private void removeRacing(int racing) {
        assert Thread.holdsLock(stateLock);
        if (racingFds != null) {
            racingFds.remove(Integer.valueOf(racing));
        }
    }

    private boolean isOpen() {
        return state < ST_CLOSING;
    }

    private void ensureOpen() throws SocketException {
        int s = state;
        if (s == ST_NEW) {
            throw new SocketException("Socket not created");
        }
        if (s >= ST_CLOSING) {
            throw new SocketException("Socket closed");
        }
    }

    private void ensureOpenAndConnected() throws SocketException {
        int s = state;
        if (s < ST_CONNECTED) {
            throw new SocketException("Not connected");
        }
        if (s > ST_CONNECTED) {
            throw new SocketException("Socket closed");
        }
    }

    /**
     * Switches to non-blocking mode the first time a timed operation, or any operation on a
     * virtual thread, needs it; it stays so (as in the JDK).
     */
    private void configureNonBlockingIfNeeded(int fd, boolean timed) throws IOException {
        if (!nonBlocking && (timed || Poller.currentIsVirtual())) {
            Native.configureBlocking(fd, false);
            nonBlocking = true;
        }
    }

    /**
     * Waits until the descriptor is ready for {@code event}, the deadline passes, or the socket
     * is shut down; {@code nanos == 0} means no deadline. Returns the events seen (0 when the
     * wait timed out or was cut short, {@link #READINESS_UNKNOWN} after a virtual thread was
     * unparked); the caller re-checks everything. On a virtual thread, throws
     * {@link java.io.InterruptedIOException} if the thread is interrupted.
     */
    private int park(int fd, int event, long nanos) throws IOException {
        if (Poller.currentIsVirtual()) {
            // park the virtual thread, never its carrier; readiness is re-checked by the caller
            Poller.park(fd, event, nanos, this::isOpen);
            return READINESS_UNKNOWN;
        }
        return Native.poll(fd, event, pollMillis(nanos));
    }

    /** A poll(2) timeout for {@code nanos} (0 or less: -1, forever), rounded up so the wait never ends early. */
    private static int pollMillis(long nanos) {
        if (nanos <= 0) {
            return -1;
        }
        long m = TimeUnit.NANOSECONDS.toMillis(nanos);
        if (TimeUnit.MILLISECONDS.toNanos(m) < nanos) {
            m++;
        }
        return (int) Math.min(m, Integer.MAX_VALUE);
    }

    // ---------------------------------------------------------------- reads

    /** Marks the start of a read or write that may block; returns the descriptor to use. */
    private int beginIO(boolean reader) throws SocketException {
        synchronized (stateLock) {
            ensureOpenAndConnected();
            if (reader) {
                readerInFlight = true;
            } else {
                writerInFlight = true;
            }
            return fd;
        }
    }

    /**
     * Marks the end of a read, accept or write that may have blocked: the last thread out of a
     * closing socket releases the descriptor, and an operation cut short by close reports it.
     */
    private void endIO(boolean reader, boolean completed) throws SocketException {
        synchronized (stateLock) {
            if (reader) {
                readerInFlight = false;
            } else {
                writerInFlight = false;
            }
            int s = state;
            if (s == ST_CLOSING) {
                tryCloseAsLastOut();
            }
            if (!completed && s >= ST_CLOSING) {
                throw new SocketException("Socket closed");
            }
        }
    }

    private int timedRead(int fd, byte[] b, int off, int len, long nanos) throws IOException {
        long start = System.nanoTime();
        int n = Native.read(fd, b, off, len);
        while (n == Native.UNAVAILABLE && isOpen()) {
            long remaining = nanos - (System.nanoTime() - start);
            if (remaining <= 0) {
                throw new SocketTimeoutException("Read timed out");
            }
            park(fd, Native.POLLIN, remaining);
            n = Native.read(fd, b, off, len);
        }
        return n;
    }

    private int implRead(byte[] b, int off, int len, long remainingNanos) throws IOException {
        int n = 0;
        int fd = beginIO(true);
        try {
            if (connectionReset) {
                throw new SocketException("Connection reset");
            }
            if (inputClosed) {
                return Native.EOF;
            }
            configureNonBlockingIfNeeded(fd, remainingNanos > 0);
            if (remainingNanos > 0) {
                n = timedRead(fd, b, off, len, remainingNanos);
            } else {
                n = Native.read(fd, b, off, len);
                while (n == Native.UNAVAILABLE && isOpen()) {
                    park(fd, Native.POLLIN, 0);
                    n = Native.read(fd, b, off, len);
                }
            }
            if (n > 0 && !isOpen()) {
                // close() came first: as with the JDK, bytes still unread at close are discarded,
                // and the socket must then be released with a reset, not a FIN (see tryClose)
                resetOnRelease = true;
                n = 0;
            }
            if (n > 0) {
                // before endIO: once the descriptor is released the counters are retired
                counters.addRead(n);
            }
            return n;
        } catch (ConnectionResetException e) {
            connectionReset = true;
            throw new SocketException("Connection reset");
        } finally {
            endIO(true, n > 0);
        }
    }

    private int read(byte[] b, int off, int len) throws IOException {
        try {
            return readCounted(b, off, len);
        } catch (IOException e) {
            throw failed(e);
        }
    }

    private int readCounted(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        long remainingNanos = 0;
        int millis = timeout;
        if (millis > 0) {
            remainingNanos = tryLock(readLock, millis);
            if (remainingNanos <= 0) {
                throw new SocketTimeoutException("Read timed out");
            }
        } else {
            readLock.lock();
        }
        try {
            if (readEOF) {
                return Native.EOF;
            }
            int n = implRead(b, off, Math.min(len, MAX_BUFFER_SIZE), remainingNanos);
            if (n == Native.EOF) {
                readEOF = true;
            }
            return n;
        } finally {
            readLock.unlock();
        }
    }

    // ---------------------------------------------------------------- writes

    private int implWrite(byte[] b, int off, int len) throws IOException {
        int n = 0;
        int fd = beginIO(false);
        try {
            configureNonBlockingIfNeeded(fd, false);
            n = Native.write(fd, b, off, len);
            while (n == Native.UNAVAILABLE && isOpen()) {
                park(fd, Native.POLLOUT, 0);
                n = Native.write(fd, b, off, len);
            }
            if (n > 0) {
                counters.addWritten(n);
            }
            return n;
        } finally {
            endIO(false, n > 0);
        }
    }

    private void write(byte[] b, int off, int len) throws IOException {
        try {
            writeCounted(b, off, len);
        } catch (IOException e) {
            throw failed(e);
        }
    }

    private void writeCounted(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return;
        }
        writeLock.lock();
        try {
            int pos = off;
            int end = off + len;
            while (pos < end) {
                pos += implWrite(b, pos, Math.min(end - pos, MAX_BUFFER_SIZE));
            }
        } finally {
            writeLock.unlock();
        }
    }

    // ---------------------------------------------------------------- sendfile

    /**
     * Sends {@code count} bytes of {@code channel} from {@code position} (the channel's own
     * position is neither used nor moved), stopping early at the end of the file; returns the
     * bytes sent. The bytes go from the page cache to the socket with sendfile(2) when the channel
     * is the JDK's own file channel; other channels, and files sendfile cannot read, are copied.
     * Holds the write lock throughout, so no other write interleaves with the file, and waits,
     * wakes on close and fails exactly as {@code write} does.
     *
     * @param channel a readable file channel
     * @param position the first byte to send, 0 or more
     * @param count how many bytes to send at most, 0 or more
     * @return the bytes sent
     * @throws java.nio.channels.ClosedChannelException if the channel is closed
     * @throws java.nio.channels.NonReadableChannelException if it was not opened for reading
     * @throws SocketException if the socket is closed (by another thread too), not connected or
     *         its output is shut down, or the connection fails, with the messages of {@code write}
     * @throws IOException if the file cannot be read
     */
    public long sendFile(FileChannel channel, long position, long count) throws IOException {
        int fileFd = Native.fileChannelDescriptor(channel);
        if (fileFd == Native.NOT_READABLE) {
            throw new NonReadableChannelException();
        }
        try {
            // checked after the descriptor was duplicated: a channel still open then was open when
            // its descriptor was read, so the duplicate is its file, not a reused number's
            if (!channel.isOpen()) {
                throw new ClosedChannelException();
            }
            writeLock.lock();
            try {
                if (fileFd == Native.NO_DESCRIPTOR) {
                    // another FileChannel class (an in-memory or zip file system): nothing to splice
                    return copyFromChannel(channel, position, count);
                }
                long sent = 0;
                while (sent < count) {
                    long n;
                    try {
                        n = implSendFile(fileFd, position + sent, count - sent);
                    } catch (IOException e) {
                        // counted like write()'s failures (copyFromChannel counts through write)
                        throw failed(e);
                    }
                    if (n == Native.SENDFILE_UNSUPPORTED) {
                        return sent + copyFromChannel(channel, position + sent, count - sent);
                    }
                    if (n == 0) {
                        break; // end of file
                    }
                    sent += n;
                }
                return sent;
            } finally {
                writeLock.unlock();
            }
        } finally {
            if (fileFd >= 0) {
                Native.close(fileFd);
            }
        }
    }

    /**
     * One sendfile(2) call, parked while the send buffer is full: implWrite's shape, kept apart
     * from it because a shared body would cost the write path a lambda per call.
     */
    private long implSendFile(int fileFd, long position, long count) throws IOException {
        long n = Native.UNAVAILABLE;
        int fd = beginIO(false);
        try {
            configureNonBlockingIfNeeded(fd, false);
            n = Native.sendFile(fd, fileFd, position, count);
            while (n == Native.UNAVAILABLE && isOpen()) {
                park(fd, Native.POLLOUT, 0);
                n = Native.sendFile(fd, fileFd, position, count);
            }
            if (n > 0) {
                counters.addWritten(n);
            }
            return n;
        } finally {
            endIO(false, n >= 0 || n == Native.SENDFILE_UNSUPPORTED);
        }
    }

    /** The fallback: positional reads from the channel, written as {@code write} writes. */
    private long copyFromChannel(FileChannel channel, long position, long count) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(count, MAX_BUFFER_SIZE));
        long sent = 0;
        while (sent < count) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), count - sent));
            int n = channel.read(buf, position + sent);
            if (n <= 0) {
                break;
            }
            write(buf.array(), 0, n);
            sent += n;
        }
        return sent;
    }

    // ---------------------------------------------------------------- life cycle

    @Override
    protected void create(boolean stream) throws IOException {
        if (!stream) {
            throw new IOException("Datagram socket creation not supported");
        }
        synchronized (stateLock) {
            if (state != ST_NEW) {
                throw new IOException("Already created");
            }
            openDescriptor();
            state = ST_UNCONNECTED;
        }
    }

    private void openDescriptor() throws IOException {
        assert Thread.holdsLock(stateLock);
        int newFd = Native.socket(server);
        fd = newFd;
        Statistics.used();
        Statistics.Counters c = server ? null : Statistics.register();
        cleanable = Descriptors.register(this, newFd, c);
        counters = c;
        // on a listener too: Linux copies its options to every accepted socket, so the
        // defaults arrive there unless the application set its own on the listener
        try {
            SocketDefaults.apply(newFd);
        } catch (IOException e) {
            cleanable.clean();
            fd = -1;
            throw e;
        }
        // client descriptors start non-blocking so that connect can be woken by close
        nonBlocking = !server;
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
        if (!(remote instanceof InetSocketAddress)) {
            throw new IOException("Unsupported address type");
        }
        InetSocketAddress isa = (InetSocketAddress) remote;
        if (isa.isUnresolved()) {
            throw new UnknownHostException(isa.getHostName());
        }
        List<InetSocketAddress> candidates = connectCandidates;
        connectCandidates = null;
        try {
            try {
                if (candidates != null && candidates.size() > 1 && candidates.get(0).equals(isa)) {
                    connectRacing(candidates, millis, connectionAttemptDelayMillis);
                } else {
                    connectOnce(connectableAddress(isa.getAddress()), isa.getPort(),
                            TimeUnit.MILLISECONDS.toNanos(millis));
                }
                Statistics.connected();
            } catch (SocketTimeoutException e) {
                throw e;
            } catch (InterruptedIOException e) {
                throw closedByInterrupt(e);
            }
        } catch (IOException e) {
            failed(e);
            close();
            throw e;
        }
    }

    /** As in the JDK, connecting to the wildcard address means connecting to this host. */
    private static InetAddress connectableAddress(InetAddress address) throws UnknownHostException {
        return address.isAnyLocalAddress() ? InetAddress.getLocalHost() : address;
    }

    /**
     * RFC 8305 section 4: alternate the address families, starting with the family of the first
     * endpoint, keeping the caller's order within each family.
     *
     * @param endpoints resolved endpoints, at least one
     * @return the order in which a race tries them
     */
    public static List<InetSocketAddress> interleaveFamilies(List<InetSocketAddress> endpoints) {
        List<InetSocketAddress> first = new ArrayList<>();
        List<InetSocketAddress> other = new ArrayList<>();
        boolean firstIsV6 = endpoints.get(0).getAddress() instanceof Inet6Address;
        for (InetSocketAddress e : endpoints) {
            ((e.getAddress() instanceof Inet6Address) == firstIsV6 ? first : other).add(e);
        }
        List<InetSocketAddress> order = new ArrayList<>(endpoints.size());
        for (int i = 0; i < Math.max(first.size(), other.size()); i++) {
            if (i < first.size()) {
                order.add(first.get(i));
            }
            if (i < other.size()) {
                order.add(other.get(i));
            }
        }
        return order;
    }

    /** One connect attempt of a race: its endpoint and descriptor. */
    private static final class Attempt {
        final InetSocketAddress target;
        final int fd;
        // the attempt runs on this socket's own descriptor, not an extra one
        final boolean own;
        // it failed (and, unless own, its descriptor is closed)
        boolean done;

        Attempt(InetSocketAddress target, int fd, boolean own) {
            this.target = target;
            this.fd = fd;
            this.own = own;
        }
    }

    /**
     * Happy Eyeballs (RFC 8305): starts a connect to the first endpoint on this socket's own
     * descriptor, then one more every {@code delayMillis} (at once when the previous ones have
     * all failed) on extra descriptors carrying the same options and local address, and keeps
     * the first that connects. The winner's descriptor becomes this socket's; every other one is
     * closed before returning. Fails with {@code SocketTimeoutException} when {@code millis}
     * passes first, or with the first endpoint's error (the others suppressed) when all fail.
     * A socket bound to a fixed local port tries one endpoint at a time, since two sockets
     * cannot hold that port.
     */
    private void connectRacing(List<InetSocketAddress> endpoints, int millis, int delayMillis) throws IOException {
        List<InetSocketAddress> order = interleaveFamilies(endpoints);
        boolean oneAtATime = requestedLocalPort != 0;
        long delayNanos = TimeUnit.MILLISECONDS.toNanos(delayMillis);
        long start = System.nanoTime();
        long timeoutNanos = TimeUnit.MILLISECONDS.toNanos(millis);
        List<Attempt> running = new ArrayList<>();
        List<IOException> failures = new ArrayList<>();
        Attempt winner = null;
        readLock.lock();
        try {
            InetSocketAddress first = order.get(0);
            int ownFd = beginConnect(connectableAddress(first.getAddress()), first.getPort());
            boolean ownUsed = false;
            try {
                int next = 0;
                long nextStart = start;
                int[] fds = new int[order.size()];
                int[] revents = new int[order.size()];
                while (winner == null && isOpen()) {
                    long now = System.nanoTime();
                    boolean room = running.size() < MAX_RACING;
                    if (next < order.size() && (running.isEmpty() || (room && !oneAtATime && now - nextStart >= 0))) {
                        InetSocketAddress target = order.get(next++);
                        nextStart = now + delayNanos;
                        Attempt a = null;
                        try {
                            if (!ownUsed) {
                                ownUsed = true;
                                a = new Attempt(target, ownFd, true);
                            } else if (oneAtATime) {
                                ownFd = reopenForNextAttempt();
                                a = new Attempt(target, ownFd, true);
                            } else {
                                a = new Attempt(target, openRacingDescriptor(), false);
                            }
                            InetAddress ip = connectableAddress(target.getAddress());
                            if (Native.connect(a.fd, ip.getAddress(), SocketAddresses.scopeId(ip), target.getPort()) > 0) {
                                winner = a;
                            } else {
                                running.add(a);
                            }
                        } catch (IOException e) {
                            failures.add(e);
                            if (a != null) {
                                closeRacing(a);
                            }
                            nextStart = now;
                        }
                        continue;
                    }
                    if (running.isEmpty()) {
                        break; // every endpoint failed
                    }
                    long waitNanos = 0;
                    if (millis > 0) {
                        waitNanos = timeoutNanos - (now - start);
                        if (waitNanos <= 0) {
                            SocketTimeoutException e = new SocketTimeoutException("Connect timed out");
                            failures.forEach(e::addSuppressed);
                            throw e;
                        }
                    }
                    if (next < order.size() && !oneAtATime && room) {
                        long untilNext = Math.max(1, nextStart - now);
                        waitNanos = waitNanos == 0 ? untilNext : Math.min(waitNanos, untilNext);
                    }
                    int count = running.size();
                    for (int i = 0; i < count; i++) {
                        fds[i] = running.get(i).fd;
                    }
                    if (Poller.currentIsVirtual()) {
                        Poller.parkAny(fds, count, Native.POLLOUT, waitNanos, this::isOpen);
                        Native.pollAny(fds, count, Native.POLLOUT, 0, revents);
                    } else {
                        Native.pollAny(fds, count, Native.POLLOUT, pollMillis(waitNanos), revents);
                    }
                    if (!isOpen()) {
                        break;
                    }
                    for (int i = 0; i < count && winner == null; i++) {
                        if (revents[i] == 0) {
                            continue;
                        }
                        Attempt a = running.get(i);
                        try {
                            Native.connectResult(a.fd);
                            winner = a;
                        } catch (IOException e) {
                            failures.add(e);
                            closeRacing(a);
                            nextStart = System.nanoTime(); // the next endpoint starts now
                        }
                    }
                    running.removeIf(a -> a.done);
                }
            } finally {
                boolean connected = false;
                try {
                    for (Attempt a : running) {
                        if (a != winner) {
                            closeRacing(a);
                        }
                    }
                    connected = winner != null && adopt(winner);
                    if (connected && !Poller.currentIsVirtual()) {
                        // untimed reads and writes on platform threads then cost one system call each
                        Native.configureBlocking(fd, true);
                        nonBlocking = false;
                    }
                } finally {
                    endConnect(connected ? fd : ownFd, connected);
                }
            }
        } finally {
            readLock.unlock();
        }
        if (winner == null) {
            if (failures.isEmpty()) {
                throw new SocketException("Socket closed");
            }
            IOException first = failures.get(0);
            for (IOException e : failures.subList(1, failures.size())) {
                first.addSuppressed(e);
            }
            throw first;
        }
    }

    /**
     * A fresh non-blocking descriptor for a racing attempt, with the options set on this socket
     * before connect and its local address (any port); close() will wake it.
     */
    private int openRacingDescriptor() throws IOException {
        int racing = Native.socket(false);
        try {
            Map<Integer, Integer> options;
            Map<Integer, byte[]> stringOptions;
            synchronized (stateLock) {
                options = presetOptions == null ? Collections.emptyMap() : new LinkedHashMap<>(presetOptions);
                stringOptions = presetStringOptions == null ? Collections.emptyMap() : new LinkedHashMap<>(presetStringOptions);
            }
            SocketDefaults.apply(racing);
            applyPresetOptions(racing, options, stringOptions);
            InetAddress local = requestedLocalAddress;
            if (local != null) {
                Native.bind(racing, local.getAddress(), SocketAddresses.scopeId(local), 0);
            }
            synchronized (stateLock) {
                if (state != ST_CONNECTING) {
                    throw new SocketException("Socket closed");
                }
                if (racingFds == null) {
                    racingFds = new ArrayList<>();
                }
                racingFds.add(racing);
            }
            return racing;
        } catch (IOException | RuntimeException e) {
            Native.close(racing);
            throw e;
        }
    }

    /** Marks an attempt failed and closes its descriptor unless it is this socket's own. */
    private void closeRacing(Attempt a) {
        a.done = true;
        if (a.own) {
            return;
        }
        synchronized (stateLock) {
            removeRacing(a.fd);
        }
        Native.close(a.fd);
    }

    /**
     * Makes the winning attempt this socket's connection: its descriptor replaces the own one
     * (which is closed) unless it is the own one. False, with the winner closed, if close()
     * came first.
     */
    private boolean adopt(Attempt winner) throws UnknownHostException {
        InetAddress peer = connectableAddress(winner.target.getAddress());
        synchronized (stateLock) {
            if (state != ST_CONNECTING) {
                if (!winner.own) {
                    removeRacing(winner.fd);
                    Native.close(winner.fd);
                }
                return false;
            }
            if (!winner.own) {
                removeRacing(winner.fd);
                cleanable.clean();
                fd = winner.fd;
                Statistics.Counters c = Statistics.register();
                cleanable = Descriptors.register(this, fd, c);
                counters = c;
                nonBlocking = true;
            }
            address = peer;
            port = winner.target.getPort();
            return true;
        }
    }

    /**
     * One endpoint at a time on a fixed local port: after a failed attempt, a fresh own
     * descriptor with the same options, bound to the same local address and port.
     */
    private int reopenForNextAttempt() throws IOException {
        synchronized (stateLock) {
            if (state != ST_CONNECTING) {
                throw new SocketException("Socket closed");
            }
            cleanable.clean();
            fd = -1; // closed: never shut down or close this number again
            openDescriptor();
            applyPresetOptions(fd, presetOptions, presetStringOptions);
            localport = 0;
            if (requestedLocalAddress != null) {
                bindLocked(requestedLocalAddress, requestedLocalPort);
            }
            return fd;
        }
    }

    private int beginConnect(InetAddress address, int port) throws SocketException {
        synchronized (stateLock) {
            int s = state;
            if (s != ST_UNCONNECTED) {
                if (s == ST_NEW) {
                    throw new SocketException("Not created");
                }
                if (s == ST_CONNECTING) {
                    throw new SocketException("Connection in progress");
                }
                if (s == ST_CONNECTED) {
                    throw new SocketException("Already connected");
                }
                throw new SocketException("Socket closed");
            }
            state = ST_CONNECTING;
            this.address = address;
            this.port = port;
            readerInFlight = true;
            return fd;
        }
    }

    private void endConnect(int fd, boolean completed) throws IOException {
        synchronized (stateLock) {
            readerInFlight = false;
            int s = state;
            if (s == ST_CLOSING) {
                tryCloseAsLastOut();
            }
            if (completed && s == ST_CONNECTING) {
                state = ST_CONNECTED;
                localport = localAddressOf(fd).getPort();
            } else if (!completed && s >= ST_CLOSING) {
                throw new SocketException("Socket closed");
            } else if (!completed) {
                state = ST_UNCONNECTED;
            }
        }
    }

    private void connectOnce(InetAddress address, int port, long nanos) throws IOException {
        readLock.lock();
        try {
            boolean connected = false;
            int fd = beginConnect(address, port);
            try {
                // The descriptor is non-blocking here (see openDescriptor): the connect is started,
                // then waited for in poll, which close() can always wake.
                byte[] ip = address.getAddress();
                int scope = SocketAddresses.scopeId(address);
                if (Native.connect(fd, ip, scope, port) > 0) {
                    connected = true;
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
                        int events = park(fd, Native.POLLOUT, remaining);
                        if (events == READINESS_UNKNOWN) {
                            events = Native.poll(fd, Native.POLLOUT, 0);
                        }
                        if (events != 0) {
                            Native.connectResult(fd); // throws the connect's error
                            connected = true;
                        }
                    }
                    connected = connected && isOpen();
                }
                if (connected && !Poller.currentIsVirtual()) {
                    // untimed reads and writes on platform threads then cost one system call each
                    Native.configureBlocking(fd, true);
                    nonBlocking = false;
                }
            } finally {
                endConnect(fd, connected);
            }
        } finally {
            readLock.unlock();
        }
    }

    @Override
    protected void bind(InetAddress host, int port) throws IOException {
        synchronized (stateLock) {
            ensureOpen();
            if (localport != 0) {
                throw new SocketException("Already bound");
            }
            bindLocked(host, port);
            requestedLocalAddress = host;
            requestedLocalPort = port;
        }
    }

    private void bindLocked(InetAddress host, int port) throws IOException {
        Native.bind(fd, host.getAddress(), SocketAddresses.scopeId(host), port);
        // as in the JDK, the address field keeps the address asked for
        address = host;
        localport = localAddressOf(fd).getPort();
    }

    @Override
    protected void listen(int backlog) throws IOException {
        synchronized (stateLock) {
            ensureOpen();
            if (localport == 0) {
                throw new SocketException("Not bound");
            }
            Native.listen(fd, backlog < 1 ? 50 : backlog);
        }
    }

    private int beginAccept() throws SocketException {
        synchronized (stateLock) {
            ensureOpen();
            if (localport == 0) {
                throw new SocketException("Not bound");
            }
            readerInFlight = true;
            return fd;
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
        if (target.state != ST_NEW) {
            throw new SocketException("Not a newly created SocketImpl");
        }
        byte[] peer = new byte[SocketAddresses.WIRE_LEN];
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
                configureNonBlockingIfNeeded(fd, remainingNanos > 0);
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
                    park(fd, Native.POLLIN, remaining);
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
        InetSocketAddress remote = SocketAddresses.decode(peer);
        synchronized (target.stateLock) {
            target.fd = newFd;
            Statistics.Counters c = Statistics.register();
            target.cleanable = Descriptors.register(target, newFd, c);
            target.counters = c;
            try {
                target.localport = localAddressOf(newFd).getPort();
            } catch (IOException e) {
                target.cleanable.clean();
                target.state = ST_CLOSED;
                throw e;
            }
            target.address = remote.getAddress();
            target.port = remote.getPort();
            target.state = ST_CONNECTED;
        }
    }

    private static InetSocketAddress localAddressOf(int fd) throws IOException {
        byte[] out = new byte[SocketAddresses.WIRE_LEN];
        Native.localAddress(fd, out);
        return SocketAddresses.decode(out);
    }

    // ---------------------------------------------------------------- streams

    @Override
    protected InputStream getInputStream() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] a = new byte[1];
                int n = RustSocketImpl.this.read(a, 0, 1);
                return (n > 0) ? (a[0] & 0xff) : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return RustSocketImpl.this.read(b, off, len);
            }

            @Override
            public int available() throws IOException {
                return RustSocketImpl.this.available();
            }

            @Override
            public void close() throws IOException {
                RustSocketImpl.this.close();
            }
        };
    }

    @Override
    protected OutputStream getOutputStream() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                RustSocketImpl.this.write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                RustSocketImpl.this.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                RustSocketImpl.this.close();
            }
        };
    }

    @Override
    protected int available() throws IOException {
        synchronized (stateLock) {
            ensureOpenAndConnected();
            return inputClosed ? 0 : Native.available(fd);
        }
    }

    // ---------------------------------------------------------------- close

    /**
     * Releases the descriptor if no thread is inside a system call on it. Called by close(), or
     * by the last thread to leave a system call after close() began; that thread must not wait
     * out SO_LINGER in close(2) (it would report "Socket closed" seconds late), so the linger
     * is dropped and the kernel finishes the graceful close in the background.
     */
    private boolean tryClose() {
        return tryClose(false);
    }

    private boolean tryCloseAsLastOut() {
        return tryClose(true);
    }

    private boolean tryClose(boolean lastOut) {
        assert Thread.holdsLock(stateLock) && state == ST_CLOSING;
        if (readerInFlight || writerInFlight) {
            return false;
        }
        if (resetOnRelease) {
            try {
                Native.abort(fd);
            } catch (IOException ignore) {
                // already reset or gone; close(2) follows
            }
        } else if (lastOut) {
            try {
                if (Native.getOption(fd, Native.OPT_SO_LINGER) > 0) {
                    Native.setOption(fd, Native.OPT_SO_LINGER, -1);
                }
            } catch (IOException ignore) {
                // not a connected TCP socket any more; close(2) follows
            }
        }
        cleanable.clean();
        state = ST_CLOSED;
        return true;
    }

    @Override
    protected void close() throws IOException {
        synchronized (stateLock) {
            int s = state;
            if (s >= ST_CLOSING) {
                return;
            }
            if (s == ST_NEW) {
                state = ST_CLOSED;
                return;
            }
            boolean connected = s == ST_CONNECTED;
            state = ST_CLOSING;
            boolean inFlight = readerInFlight || writerInFlight;
            // send FIN now unless linger is 0 (which must reset instead), as the JDK does; with a
            // thread in flight, unread bytes then also mean a reset, since the JDK's close releases
            // the socket at once and close(2) resets a connection with unread data. The FIN goes
            // first in that case too, as with the JDK: the peer then reads EOF and, on sending,
            // gets "Broken pipe" rather than "Connection reset by peer".
            boolean reset = false;
            if (connected) {
                try {
                    reset = Native.getOption(fd, Native.OPT_SO_LINGER) == 0;
                    if (!reset) {
                        Native.shutdown(fd, Native.SHUT_WR);
                        reset = inFlight && !inputClosed && Native.available(fd) > 0;
                    }
                } catch (IOException ignore) {
                    // the peer may be gone already; close goes on
                }
            }
            if (!tryClose()) {
                // Wake the threads inside system calls; the last one out releases the descriptor.
                try {
                    if (reset) {
                        // reset now (for linger 0 a shutdown would queue a FIN behind unsent data)
                        Native.abort(fd);
                    } else {
                        // a reader alone needs only SHUT_RD, which sends nothing to the peer
                        Native.shutdown(fd, connected && !writerInFlight ? Native.SHUT_RD : Native.SHUT_RDWR);
                    }
                } catch (IOException ignore) {
                    // not connected (yet): the flags are set and waiters woken all the same
                }
                // the extra descriptors of a connect racing several addresses
                for (int racing : racingFds == null ? Collections.<Integer>emptyList() : racingFds) {
                    try {
                        Native.shutdown(racing, Native.SHUT_RDWR);
                    } catch (IOException ignore) {
                        // not connected yet: the wait for it returns all the same
                    }
                }
            }
        }
    }

    @Override
    protected void shutdownInput() throws IOException {
        synchronized (stateLock) {
            ensureOpenAndConnected();
            if (!inputClosed) {
                Native.shutdown(fd, Native.SHUT_RD);
                inputClosed = true;
            }
        }
    }

    @Override
    protected void shutdownOutput() throws IOException {
        synchronized (stateLock) {
            ensureOpenAndConnected();
            if (!outputClosed) {
                Native.shutdown(fd, Native.SHUT_WR);
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
        writeLock.lock();
        try {
            int n = 0;
            int fd = beginIO(false);
            try {
                n = Native.sendUrgent(fd, data);
                if (n == Native.UNAVAILABLE) {
                    throw new SocketException("No buffer space available");
                }
            } finally {
                endIO(false, n > 0);
            }
        } finally {
            writeLock.unlock();
        }
    }

    // ---------------------------------------------------------------- options

    @Override
    protected Set<SocketOption<?>> supportedOptions() {
        return server ? ServerOptions.ALL : ClientOptions.ALL;
    }

    // The io.rustsocket.RustSocketOptions this kernel supports are found by asking it, once per
    // kind, when first needed (the native library is loaded by then).
    private static final class ClientOptions {
        static final Set<SocketOption<?>> ALL = ExtendedOptions.withSupported(CLIENT_OPTIONS, false);
    }

    private static final class ServerOptions {
        static final Set<SocketOption<?>> ALL = ExtendedOptions.withSupported(SERVER_OPTIONS, true);
    }

    private static int nativeId(SocketOption<?> opt) {
        if (opt == StandardSocketOptions.TCP_NODELAY) {
            return Native.OPT_TCP_NODELAY;
        } else if (opt == StandardSocketOptions.SO_KEEPALIVE) {
            return Native.OPT_SO_KEEPALIVE;
        } else if (opt == StandardSocketOptions.SO_RCVBUF) {
            return Native.OPT_SO_RCVBUF;
        } else if (opt == StandardSocketOptions.SO_SNDBUF) {
            return Native.OPT_SO_SNDBUF;
        } else if (opt == StandardSocketOptions.SO_LINGER) {
            return Native.OPT_SO_LINGER;
        } else if (opt == StandardSocketOptions.SO_REUSEADDR) {
            return Native.OPT_SO_REUSEADDR;
        } else if (opt == StandardSocketOptions.SO_REUSEPORT) {
            return Native.OPT_SO_REUSEPORT;
        } else if (opt == StandardSocketOptions.IP_TOS) {
            return Native.OPT_IP_TOS;
        } else if (opt == ExtendedSocketOptions.TCP_KEEPIDLE) {
            return Native.OPT_TCP_KEEPIDLE;
        } else if (opt == ExtendedSocketOptions.TCP_KEEPINTERVAL) {
            return Native.OPT_TCP_KEEPINTERVAL;
        } else if (opt == ExtendedSocketOptions.TCP_KEEPCOUNT) {
            return Native.OPT_TCP_KEEPCOUNT;
        } else if (opt == ExtendedSocketOptions.TCP_QUICKACK) {
            return Native.OPT_TCP_QUICKACK;
        } else if (opt == ExtendedSocketOptions.SO_INCOMING_NAPI_ID) {
            return Native.OPT_SO_INCOMING_NAPI_ID;
        }
        int extended = ExtendedOptions.id(opt);
        if (extended >= 0) {
            return extended;
        }
        throw new UnsupportedOperationException("'" + opt + "' not supported");
    }

    @Override
    protected <T> void setOption(SocketOption<T> opt, T value) throws IOException {
        if (!supportedOptions().contains(opt)) {
            throw new UnsupportedOperationException("'" + opt + "' not supported");
        }
        if (!opt.type().isInstance(value)) {
            throw new IllegalArgumentException("Invalid value '" + value + "'");
        }
        if (value instanceof String) {
            synchronized (stateLock) {
                ensureOpen();
                setNativeStringOption(nativeId(opt), ExtendedOptions.ascii(opt, (String) value));
            }
            return;
        }
        int v;
        if (value instanceof Boolean) {
            v = ((Boolean) value) ? 1 : 0;
        } else {
            v = (Integer) value;
        }
        synchronized (stateLock) {
            // as in the JDK, a closed socket is reported before a bad value
            ensureOpen();
            ExtendedOptions.checkValue(opt, v);
            if (opt == StandardSocketOptions.SO_RCVBUF || opt == StandardSocketOptions.SO_SNDBUF) {
                if (v < 0) {
                    throw new IllegalArgumentException("Invalid send/receive buffer size");
                }
            } else if (opt == StandardSocketOptions.SO_LINGER) {
                v = v < 0 ? -1 : Math.min(v, 65535);
            } else if (opt == StandardSocketOptions.IP_TOS) {
                if (v < 0 || v > 255) {
                    throw new IllegalArgumentException("Invalid IP_TOS value");
                }
            } else if (opt == ExtendedSocketOptions.SO_INCOMING_NAPI_ID) {
                throw new SocketException("Attempt to set read only option " + opt);
            }
            setNativeOption(nativeId(opt), v);
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    protected <T> T getOption(SocketOption<T> opt) throws IOException {
        if (!supportedOptions().contains(opt)) {
            throw new UnsupportedOperationException("'" + opt + "' not supported");
        }
        int v;
        synchronized (stateLock) {
            ensureOpen();
            if (opt.type() == String.class) {
                return (T) ExtendedOptions.getString(fd, nativeId(opt));
            }
            v = Native.getOption(fd, nativeId(opt));
        }
        if (opt.type() == Boolean.class) {
            return (T) Boolean.valueOf(v != 0);
        }
        return (T) Integer.valueOf(v);
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
            int n = Native.tcpInfo(fd, values);
            if (n != fields) {
                throw new IllegalStateException("native library reports " + n + " TCP_INFO values, not " + fields);
            }
        }
        return values;
    }

    private static boolean booleanValue(Object value, String desc) throws SocketException {
        if (!(value instanceof Boolean)) {
            throw new SocketException("Bad value for " + desc);
        }
        return (Boolean) value;
    }

    private static int intValue(Object value, String desc) throws SocketException {
        if (!(value instanceof Integer)) {
            throw new SocketException("Bad value for " + desc);
        }
        return (Integer) value;
    }

    @Override
    public void setOption(int opt, Object value) throws SocketException {
        synchronized (stateLock) {
            ensureOpen();
            try {
                switch (opt) {
                    case SO_LINGER: {
                        int i;
                        if (value instanceof Boolean && !((Boolean) value)) {
                            i = -1;
                        } else {
                            i = intValue(value, "SO_LINGER");
                            i = i < 0 ? -1 : Math.min(i, 65535);
                        }
                        setNativeOption(Native.OPT_SO_LINGER, i);
                        break;
                    }
                    case SO_TIMEOUT: {
                        int i = intValue(value, "SO_TIMEOUT");
                        if (i < 0) {
                            throw new IllegalArgumentException("timeout < 0");
                        }
                        timeout = i;
                        break;
                    }
                    case IP_TOS: {
                        int i = intValue(value, "IP_TOS");
                        if (i < 0 || i > 255) {
                            throw new IllegalArgumentException("Invalid IP_TOS value");
                        }
                        setNativeOption(Native.OPT_IP_TOS, i);
                        break;
                    }
                    case TCP_NODELAY:
                        setNativeOption(Native.OPT_TCP_NODELAY, booleanValue(value, "TCP_NODELAY") ? 1 : 0);
                        break;
                    case SO_SNDBUF: {
                        int i = intValue(value, "SO_SNDBUF");
                        if (i <= 0) {
                            throw new SocketException("SO_SNDBUF <= 0");
                        }
                        setNativeOption(Native.OPT_SO_SNDBUF, i);
                        break;
                    }
                    case SO_RCVBUF: {
                        int i = intValue(value, "SO_RCVBUF");
                        if (i <= 0) {
                            throw new SocketException("SO_RCVBUF <= 0");
                        }
                        setNativeOption(Native.OPT_SO_RCVBUF, i);
                        break;
                    }
                    case SO_KEEPALIVE:
                        setNativeOption(Native.OPT_SO_KEEPALIVE, booleanValue(value, "SO_KEEPALIVE") ? 1 : 0);
                        break;
                    case SO_OOBINLINE:
                        setNativeOption(Native.OPT_SO_OOBINLINE, booleanValue(value, "SO_OOBINLINE") ? 1 : 0);
                        break;
                    case SO_REUSEADDR:
                        setNativeOption(Native.OPT_SO_REUSEADDR, booleanValue(value, "SO_REUSEADDR") ? 1 : 0);
                        break;
                    case SO_REUSEPORT:
                        setNativeOption(Native.OPT_SO_REUSEPORT, booleanValue(value, "SO_REUSEPORT") ? 1 : 0);
                        break;
                    default:
                        throw new SocketException("Unknown option " + opt);
                }
            } catch (SocketException e) {
                throw e;
            } catch (IllegalArgumentException | IOException e) {
                throw asSocketException(e);
            }
        }
    }

    @Override
    public Object getOption(int opt) throws SocketException {
        synchronized (stateLock) {
            ensureOpen();
            try {
                switch (opt) {
                    case SO_TIMEOUT:
                        return timeout;
                    case TCP_NODELAY:
                        return Native.getOption(fd, Native.OPT_TCP_NODELAY) != 0;
                    case SO_OOBINLINE:
                        return Native.getOption(fd, Native.OPT_SO_OOBINLINE) != 0;
                    case SO_LINGER: {
                        int i = Native.getOption(fd, Native.OPT_SO_LINGER);
                        return i == -1 ? (Object) Boolean.FALSE : (Object) i;
                    }
                    case SO_REUSEADDR:
                        return Native.getOption(fd, Native.OPT_SO_REUSEADDR) != 0;
                    case SO_BINDADDR:
                        return localAddressOf(fd).getAddress();
                    case SO_SNDBUF:
                        return Native.getOption(fd, Native.OPT_SO_SNDBUF);
                    case SO_RCVBUF:
                        return Native.getOption(fd, Native.OPT_SO_RCVBUF);
                    case IP_TOS:
                        return Native.getOption(fd, Native.OPT_IP_TOS);
                    case SO_KEEPALIVE:
                        return Native.getOption(fd, Native.OPT_SO_KEEPALIVE) != 0;
                    case SO_REUSEPORT:
                        return Native.getOption(fd, Native.OPT_SO_REUSEPORT) != 0;
                    default:
                        throw new SocketException("Unknown option " + opt);
                }
            } catch (SocketException e) {
                throw e;
            } catch (IllegalArgumentException | IOException e) {
                throw asSocketException(e);
            }
        }
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
     * A virtual thread interrupted while parked in connect closes the socket and gets
     * {@code SocketException("Closed by interrupt")}, as with the JDK's sockets; timeouts pass
     * through. Reads, writes and accepts instead let the {@link java.io.InterruptedIOException}
     * from {@link #park} reach {@code java.net.Socket}'s streams and {@code ServerSocket.accept}
     * (JDK 21+), which close the {@code Socket} itself, so that its {@code isClosed()} is true.
     */
    private InterruptedIOException closedByInterrupt(InterruptedIOException e) throws IOException {
        if (e instanceof SocketTimeoutException) {
            return e;
        }
        close();
        SocketException se = new SocketException("Closed by interrupt");
        se.initCause(e);
        throw se;
    }

    /**
     * Counts a failed operation in the statistics and returns {@code e}. Failures on a socket
     * this process has closed meanwhile are not counted: they are its own doing, not the
     * network's.
     */
    private IOException failed(IOException e) {
        return isOpen() ? Statistics.failed(e, counters) : e;
    }

    private static SocketException asSocketException(Exception e) {
        if (e instanceof SocketException) {
            return (SocketException) e;
        }
        SocketException se = new SocketException(e.getMessage());
        se.setStackTrace(e.getStackTrace());
        return se;
    }

    private static void log(String message) {
        System.getLogger("io.rustsocket").log(System.Logger.Level.DEBUG, message);
    }
}
