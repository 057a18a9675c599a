package io.rustsocket.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.nio.file.FileSystems;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * What a Unix domain socket does differently from a TCP one in {@link RustSocketImpl} (whose
 * {@link UnixEnd} holds the state): names, the connect to a name, socket pairs, credentials.
 * Everything else (reads, writes, accept, close, timeouts, virtual threads, statistics) is the
 * TCP engine's, on a Unix descriptor.
 */
public final class UnixSockets {
    /**
     * First and longest pause while a listener's backlog is full: nothing tells a waiting client
     * when room appears (the kernel wakes only a client blocked in connect, which close() could
     * not wake), so it tries again after a pause that doubles up to 50 ms; a thousand waiters
     * cost some 20,000 wake-ups a second at most.
     */
    private static final long FIRST_PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(100);
    private static final long LONGEST_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private UnixSockets() {}

    /**
     * Makes the next connect of {@code socket} go to the Unix socket {@code name} (a
     * {@code UnixDomainSocketAddress} or an {@code AbstractUnixSocketAddress}), whatever address
     * {@code java.net.Socket} then passes (see {@link UnixNames#PLACEHOLDER}): the socket
     * becomes a Unix one now, keeping the buffer and linger options set so far.
     *
     * @throws SocketException if the socket is closed, connected, or bound to an IP address
     * @throws UnsupportedOperationException for an abstract name on a system without them
     */
    public static void prepareConnect(RustSocketImpl socket, SocketAddress name) throws IOException {
        byte[] bytes = UnixNames.toNative(name);
        synchronized (socket.stateLock) {
            UnixEnd pending = socket.unix;
            if (pending != null && pending.connectName != null) {
                // another thread's connect has not taken its name yet: never swap it
                throw new SocketException("Connection in progress");
            }
            UnixEnd u = socket.becomeUnix();
            u.connectName = bytes;
            u.connectTarget = name;
        }
    }

    /** The same as {@link #prepareConnect} for the next bind. */
    public static void prepareBind(RustSocketImpl socket, SocketAddress name) throws IOException {
        byte[] bytes = UnixNames.toNative(name);
        synchronized (socket.stateLock) {
            socket.becomeUnix().bindName = bytes;
        }
    }

    /**
     * Forgets a name given to {@link #prepareConnect} or {@link #prepareBind} that
     * {@code java.net.Socket} did not pass on (it refused the call first).
     */
    public static void forgetNames(RustSocketImpl socket) {
        synchronized (socket.stateLock) {
            UnixEnd u = socket.unix;
            if (u != null) {
                u.connectName = null;
                u.connectTarget = null;
                u.bindName = null;
            }
        }
    }

    /**
     * The Unix name of {@code socket} (an unnamed one as the empty path, as the JDK's Unix
     * channels show it), recorded when it was bound or connected; null before.
     */
    public static SocketAddress localAddress(RustSocketImpl socket) {
        synchronized (socket.stateLock) {
            return socket.unix.local;
        }
    }

    /** The Unix name of the peer (unnamed: the empty path), or null if never connected. */
    public static SocketAddress remoteAddress(RustSocketImpl socket) {
        synchronized (socket.stateLock) {
            return socket.unix.remote;
        }
    }

    /** A name of {@code fd} from the kernel, or null if it cannot be had (getters do not throw). */
    static SocketAddress name(int fd, boolean peer) {
        try {
            return UnixNames.fromNative(peer ? Native.unixPeerName(fd) : Native.unixLocalName(fd));
        } catch (IOException | RuntimeException e) {
            // the peer has gone, or its name is not a path in the JVM's encoding (InvalidPathException)
            return null;
        }
    }

    /**
     * The peer's pid (-1 where the system does not tell it), uid and gid.
     *
     * @throws SocketException if the socket is closed, not connected, or not a Unix socket
     */
    public static long[] peerCredentials(RustSocketImpl socket) throws IOException {
        long[] out = new long[3];
        synchronized (socket.stateLock) {
            socket.ensureOpenAndConnected();
            if (socket.unix == null) {
                throw new SocketException("Not a Unix domain socket");
            }
            Native.peerCredentials(socket.descriptor.fd(), out);
        }
        return out;
    }

    /** The JDK's SO_PEERCRED, where the JDK has it (jdk.net on Linux and macOS). */
    private static final SocketOption<?> SO_PEERCRED = peerCredentialsOption();

    private static SocketOption<?> peerCredentialsOption() {
        try {
            return jdk.net.ExtendedSocketOptions.SO_PEERCRED;
        } catch (LinkageError e) {
            return null; // a runtime image without the jdk.net module
        }
    }

    /** {@code options} with the JDK's SO_PEERCRED added, where the system reports credentials. */
    static Set<SocketOption<?>> withPeerCredentials(Set<SocketOption<?>> options) {
        if (SO_PEERCRED == null || !Platform.peerCredentials()) {
            return options;
        }
        Set<SocketOption<?>> all = new HashSet<>(options);
        all.add(SO_PEERCRED);
        return Collections.unmodifiableSet(all);
    }

    static boolean isPeerCredentials(SocketOption<?> option) {
        return option != null && option == SO_PEERCRED;
    }

    /**
     * SO_PEERCRED as the JDK's Unix channels report it: the peer's user and group as the
     * principals of the default file system, named after the system's databases (by number
     * where the databases have no name, as the JDK does).
     */
    static jdk.net.UnixDomainPrincipal peerPrincipal(RustSocketImpl socket) throws IOException {
        long[] ids = new long[3];
        synchronized (socket.stateLock) {
            socket.ensureOpen();
            if (!socket.isConnected()) {
                // the JDK's text when the kernel has no peer to report (its errno-based variant
                // shows whatever errno an earlier call left)
                throw new SocketException("get SO_PEERCRED failed");
            }
            Native.peerCredentials(socket.descriptor.fd(), ids);
        }
        UserPrincipalLookupService lookup = FileSystems.getDefault().getUserPrincipalLookupService();
        String user = Native.accountName(ids[1], false);
        String group = Native.accountName(ids[2], true);
        return new jdk.net.UnixDomainPrincipal(
                lookup.lookupPrincipalByName(user != null ? user : Long.toString(ids[1])),
                lookup.lookupPrincipalByGroupName(group != null ? group : Long.toString(ids[2])));
    }

    /**
     * Connects {@code socket} (already a Unix socket, see {@link RustSocketImpl#prepareUnixConnect})
     * to {@code name} within {@code nanos} (0: no limit). A Unix connect completes at once when
     * the listener has room in its backlog; when it has none, the connect is tried again after a
     * pause that grows to 10 ms, as long as the socket is open and the time lasts. The caller
     * handles failures as for a TCP connect (the socket is closed).
     */
    static void connect(RustSocketImpl socket, byte[] name, SocketAddress target, long nanos) throws IOException {
        if (name.length == 0) {
            throw new ConnectException("Connection refused"); // the JDK's answer for the unnamed address
        }
        socket.readLock.lock();
        // a platform thread's interrupt does not stop a connect (as with the JDK); set aside, it
        // would make every pause below return at once
        boolean setAside = !Poller.currentIsVirtual() && Thread.interrupted();
        try {
            boolean connected = false;
            int fd = socket.beginConnect(InetAddress.getLoopbackAddress(), 0);
            try {
                long start = System.nanoTime();
                long pause = FIRST_PAUSE_NANOS;
                while (!connected && socket.isOpen()) {
                    int n = Native.unixConnect(fd, name);
                    if (n == Native.CONNECTED) {
                        connected = true;
                        break;
                    }
                    long remaining = 0;
                    if (nanos > 0) {
                        remaining = nanos - (System.nanoTime() - start);
                        if (remaining <= 0) {
                            throw new SocketTimeoutException("Connect timed out");
                        }
                    }
                    if (n == Native.CONNECT_BUSY) {
                        if (!Poller.currentIsVirtual() && Thread.interrupted()) {
                            setAside = true;
                        }
                        LockSupport.parkNanos(remaining > 0 ? Math.min(pause, remaining) : pause);
                        pause = Math.min(pause * 2, LONGEST_PAUSE_NANOS);
                        if (Thread.currentThread().isInterrupted() && Poller.currentIsVirtual()) {
                            throw new InterruptedIOException();
                        }
                        continue;
                    }
                    // in progress (not on Linux, where a Unix connect never is): wait as TCP does
                    int events = socket.descriptor.park(fd, Native.POLLOUT, remaining);
                    if (events == SocketDescriptor.READINESS_UNKNOWN) {
                        events = Native.poll(fd, Native.POLLOUT, 0);
                    }
                    if (events != 0) {
                        Native.connectResult(fd, nanos == 0 && !Poller.currentIsVirtual());
                        connected = true;
                    }
                }
                connected = connected && socket.isOpen();
                if (connected) {
                    socket.connectedBlocking();
                    synchronized (socket.stateLock) {
                        socket.unix.remote = target; // as the JDK's channels, the address connected to
                        socket.unix.local = name(fd, false);
                    }
                }
            } finally {
                socket.endConnect(fd, connected);
            }
        } finally {
            socket.readLock.unlock();
            if (setAside) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Two connected Unix stream sockets (socketpair(2)), each given to a new implementation that
     * adopts it when {@code java.net.Socket} creates it; the caller connects each socket once
     * (which completes the hand-over) or calls {@link #discardPairEnd} on failure.
     */
    public static RustSocketImpl[] pair() throws IOException {
        NativeLibrary.ensureLoaded();
        int[] fds = new int[2];
        Native.unixPair(false, fds);
        return new RustSocketImpl[] {adoptable(fds[0]), adoptable(fds[1])};
    }

    /**
     * A new implementation that adopts the connected Unix descriptor {@code fd} when
     * {@code java.net.Socket} creates it (as a {@link #pair} end does): a pair end, or a
     * descriptor received from another process.
     */
    static RustSocketImpl adoptable(int fd) {
        RustSocketImpl end = new RustSocketImpl(false);
        UnixEnd u = new UnixEnd();
        u.pairEnd = fd;
        synchronized (end.stateLock) {
            end.unix = u;
        }
        return end;
    }

    /**
     * Makes {@code socket} an IP socket again after a Unix bind failed (see
     * {@link RustSocketImpl#revertToIp}), keeping {@code failure} as the exception to report.
     */
    public static void revertAfterFailedBind(RustSocketImpl socket, IOException failure) {
        try {
            socket.revertToIp();
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    /** Closes the pair end that {@code socket} was given if its create() never adopted it. */
    public static void discardPairEnd(RustSocketImpl socket) {
        int fd;
        synchronized (socket.stateLock) {
            UnixEnd u = socket.unix;
            fd = u.pairEnd;
            u.pairEnd = -1;
        }
        if (fd >= 0) {
            Native.close(fd);
        }
    }
}
