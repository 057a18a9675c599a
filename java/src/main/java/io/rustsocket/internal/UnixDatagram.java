package io.rustsocket.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.DatagramPacket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The Unix side of a {@link RustDatagramSocketImpl} that is a Unix domain datagram socket (an IP
 * one has none): its names, and the bind, connect, send and receive that take or give Unix
 * names. The impl's locks, descriptor life, timeouts, close and virtual-thread parking are used
 * as they are, on a Unix descriptor.
 *
 * <p>A socket becomes a Unix one when it is first bound, connected or sent to a Unix name (its
 * unused UDP descriptor is swapped for a Unix one, keeping the buffer sizes set so far), or is
 * made as one end of a pair. Its first send, receive or connect without a name leaves it
 * unnamed for good, as an unbound UDP socket's first use binds it to an ephemeral port.
 *
 * <p>What {@code DatagramPacket} cannot carry (its address is an IP address and port), the
 * packet calls leave out: a received packet's address is cleared (null, port 0), and a packet
 * is sent only to the connected peer. The {@code ByteBuffer} calls of
 * {@code RustDatagramSocket} take and give Unix names.
 */
final class UnixDatagram {
    /** First and longest pause of a send to a full receiver that is not the peer (see {@link #sendLocked}). */
    private static final long FIRST_PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    private static final long LONGEST_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    /** What the JDK's Unix channels report for an unnamed socket. */
    static final UnixDomainSocketAddress UNNAMED = UnixDomainSocketAddress.of("");

    private final RustDatagramSocketImpl socket;

    /** The socket's own name once read (under the state lock). */
    private SocketAddress local;
    /** The peer as connect was given it (an unnamed one for a pair end); null when not connected. */
    volatile SocketAddress remote;

    // under the read lock: the last sender, decoded only when it changes
    private final byte[] senderWire = new byte[NativeDatagram.UNIX_SENDER_LEN];
    private final byte[] lastSenderWire = new byte[NativeDatagram.UNIX_SENDER_LEN];
    private SocketAddress lastSender;

    // under the write lock: the last target, encoded only when it changes
    private SocketAddress lastTarget;
    private byte[] lastTargetName;

    private UnixDatagram(RustDatagramSocketImpl socket) {
        this.socket = socket;
    }

    // ---------------------------------------------------------------- becoming one

    /**
     * The Unix side of {@code s}, which becomes a Unix socket now if it is not one: an IP socket
     * that is neither bound nor connected swaps its descriptor for a Unix datagram one, and one
     * not yet created opens a Unix descriptor. The caller holds the state lock and has checked
     * that the socket is not closed.
     *
     * @throws IllegalArgumentException "Unsupported address type" for an IP socket already in use
     * @throws UnsupportedOperationException where the system has no Unix datagram sockets
     */
    static UnixDatagram of(RustDatagramSocketImpl s) throws SocketException {
        assert Thread.holdsLock(s.stateLock);
        UnixDatagram u = s.unix;
        if (u != null) {
            return u;
        }
        if (s.bound || s.remote != null) {
            throw new IllegalArgumentException("Unsupported address type");
        }
        int fd;
        try {
            fd = Native.unixSocket(true, false);
        } catch (SocketException e) {
            throw e;
        } catch (IOException e) {
            throw new SocketException(e.getMessage());
        }
        // the UDP descriptor, if any, never used, is closed here
        s.descriptor.open(fd, null, false, true);
        u = new UnixDatagram(s);
        s.unix = u;
        DatagramOptions.applyPresetBuffers(s, fd);
        return u;
    }

    /**
     * Two connected, unnamed Unix datagram sockets ({@code socketpair(2)}), each adopted by a new
     * implementation.
     */
    static RustDatagramSocketImpl[] pair() throws IOException {
        RustDatagramSocketImpl[] ends = {new RustDatagramSocketImpl(), new RustDatagramSocketImpl()};
        int[] fds = new int[2];
        Native.unixPair(true, fds);
        for (int i = 0; i < 2; i++) {
            RustDatagramSocketImpl s = ends[i];
            synchronized (s.stateLock) {
                s.descriptor.open(fds[i], null, false, true);
                UnixDatagram u = new UnixDatagram(s);
                u.remote = UNNAMED;
                s.unix = u;
                s.bound = true;
            }
        }
        return ends;
    }

    // ---------------------------------------------------------------- bind, connect, names

    /**
     * {@code DatagramSocket.bind} to a Unix name; {@code null} or the empty path leaves the
     * socket unnamed (bound to nothing), as the JDK's Unix channels do.
     */
    static void bind(RustDatagramSocketImpl s, SocketAddress name) throws SocketException {
        byte[] bytes = isUnnamed(name) ? null : UnixNames.toNative(name);
        synchronized (s.stateLock) {
            if (!s.isOpen()) {
                throw new SocketException("Socket is closed");
            }
            if (s.bound) {
                throw new SocketException("Already bound");
            }
            of(s);
            if (bytes != null) {
                try {
                    Native.unixBind(s.descriptor.fd(), bytes);
                } catch (SocketException e) {
                    throw e;
                } catch (IOException e) {
                    throw new SocketException(e.getMessage());
                }
            }
            s.bound = true;
        }
    }

    /**
     * The native form of a name to connect or send to. The unnamed address (the empty path, what
     * an unbound sender shows as) names no socket: the system would say only "Invalid
     * argument", so it is refused here with a message that says why.
     */
    private static byte[] namedTarget(SocketAddress name, String what) throws SocketException {
        if (name instanceof UnixDomainSocketAddress && isUnnamed(name)) {
            throw new IllegalArgumentException("Cannot " + what + " an unnamed socket: it did not bind to a name");
        }
        return UnixNames.toNative(name);
    }

    private static boolean isUnnamed(SocketAddress name) {
        return name == null
                || (name instanceof UnixDomainSocketAddress && ((UnixDomainSocketAddress) name).getPath().toString().isEmpty());
    }

    /**
     * {@code DatagramSocket.connect} to a Unix name: sends without a target go there, only that
     * socket may send here (Linux refuses others' sends), and what was queued before is
     * discarded. A no-op once closed, as for UDP. An unbound socket stays unnamed.
     */
    static void connect(RustDatagramSocketImpl s, SocketAddress peer) throws SocketException {
        byte[] name = namedTarget(peer, "connect to");
        s.readLock.lock();
        try {
            s.writeLock.lock();
            try {
                synchronized (s.stateLock) {
                    if (!s.isOpen()) {
                        return;
                    }
                    UnixDatagram u = of(s);
                    try {
                        NativeDatagram.unixConnect(s.descriptor.fd(), name);
                    } catch (SocketException e) {
                        throw e;
                    } catch (IOException e) {
                        throw new SocketException(e.getMessage());
                    }
                    s.bound = true;
                    u.remote = peer;
                }
            } finally {
                s.writeLock.unlock();
            }
        } finally {
            s.readLock.unlock();
        }
    }

    /** {@code DatagramSocket.disconnect}: removes the peer; the socket keeps its name. */
    void disconnect() {
        socket.readLock.lock();
        try {
            socket.writeLock.lock();
            try {
                synchronized (socket.stateLock) {
                    if (!socket.isOpen() || remote == null) {
                        return;
                    }
                    NativeDatagram.unixDisconnect(socket.descriptor.fd());
                    remote = null;
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } finally {
                socket.writeLock.unlock();
            }
        } finally {
            socket.readLock.unlock();
        }
    }

    /** The socket's name (unnamed: the empty path); null when closed or not bound. */
    SocketAddress localAddress() {
        synchronized (socket.stateLock) {
            if (!socket.isOpen() || !socket.bound) {
                return null;
            }
            if (local == null) {
                try {
                    local = UnixNames.fromNative(Native.unixLocalName(socket.descriptor.fd()));
                } catch (IOException e) {
                    return null;
                }
            }
            return local;
        }
    }

    // ---------------------------------------------------------------- send

    /**
     * {@code DatagramSocket.send} of a packet, which can only go to the connected peer: a packet
     * has no room for a Unix name. The caller holds the packet's monitor.
     */
    void send(DatagramPacket p) throws IOException {
        socket.writeLock.lock();
        try {
            if (!socket.isOpen()) {
                throw new SocketException("Socket closed");
            }
            SocketAddress peer = remote;
            if (p.getAddress() != null) {
                throw new IllegalArgumentException(
                        peer != null ? "Connected and packet address differ" : "Unsupported address type");
            }
            if (peer == null) {
                throw new IllegalArgumentException("Address not set");
            }
            sendLocked(p.getData(), p.getOffset(), p.getLength(), null);
        } finally {
            socket.writeLock.unlock();
        }
    }

    /**
     * Sends {@code b[off..off+len]} to {@code target}, a Unix name, or to the connected peer when
     * null, with the checks of {@code DatagramSocket.send}.
     */
    void sendTo(byte[] b, int off, int len, SocketAddress target) throws IOException {
        socket.writeLock.lock();
        try {
            if (!socket.isOpen()) {
                throw new SocketException("Socket closed");
            }
            SocketAddress peer = remote;
            byte[] name = null;
            if (target == null) {
                if (peer == null) {
                    throw new IllegalArgumentException("Address not set");
                }
            } else if (peer != null) {
                if (!target.equals(peer)) {
                    throw new IllegalArgumentException("Connected and packet address differ");
                }
            } else if (!UnixNames.isUnix(target)) {
                throw new IllegalArgumentException("Unsupported address type");
            } else {
                name = targetName(target);
            }
            sendLocked(b, off, len, name);
        } finally {
            socket.writeLock.unlock();
        }
    }

    private byte[] targetName(SocketAddress target) throws SocketException {
        if (!target.equals(lastTarget)) {
            lastTargetName = namedTarget(target, "send to");
            lastTarget = target;
        }
        return lastTargetName;
    }

    /**
     * One datagram, under the write lock. A full receiver makes the native send return at once:
     * a connected socket then waits until it may send (the kernel reports the peer's room), any
     * other pauses and tries again, the pause growing to 10 ms, since a socket cannot wait for
     * room at a receiver it is not connected to; close ends either wait.
     */
    private void sendLocked(byte[] b, int off, int len, byte[] name) throws IOException {
        socket.bindIfNeeded();
        int n = Native.UNAVAILABLE;
        int fd = socket.descriptor.begin(false);
        try {
            n = NativeDatagram.unixSend(fd, b, off, len, name);
            long pause = FIRST_PAUSE_NANOS;
            while (n == Native.UNAVAILABLE && socket.isOpen()) {
                if (name == null) {
                    socket.park(fd, Native.POLLOUT, 0);
                } else {
                    LockSupport.parkNanos(pause);
                    pause = Math.min(pause * 2, LONGEST_PAUSE_NANOS);
                    if (Thread.currentThread().isInterrupted() && Poller.currentIsVirtual()) {
                        throw new InterruptedIOException(); // the caller closes, as for a parked one
                    }
                }
                n = NativeDatagram.unixSend(fd, b, off, len, name);
            }
        } finally {
            socket.descriptor.end(false, n >= 0);
        }
    }

    // ---------------------------------------------------------------- receive

    /**
     * {@code DatagramSocket.receive}: waits up to SO_TIMEOUT, cuts the datagram to the packet's
     * buffer, and clears the packet's address (null, port 0), which cannot hold a Unix name.
     * The caller holds the packet's monitor.
     */
    void receive(DatagramPacket p, boolean peek) throws IOException {
        long nanos = socket.lockForReceive();
        try {
            receiveLocked(p, null, 0, 0, peek, nanos);
        } finally {
            socket.readLock.unlock();
        }
    }

    /**
     * Receives one datagram into {@code dst}'s remaining bytes (cut to them) within SO_TIMEOUT,
     * advancing its position; returns the sender.
     */
    SocketAddress receive(ByteBuffer dst) throws IOException {
        long nanos = socket.lockForReceive();
        try {
            boolean heap = dst.hasArray();
            int len = dst.remaining();
            byte[] b = heap ? dst.array() : new byte[len];
            int off = heap ? dst.arrayOffset() + dst.position() : 0;
            int n = receiveLocked(null, b, off, len, false, nanos);
            if (heap) {
                dst.position(dst.position() + n);
            } else {
                dst.put(b, 0, n);
            }
            return sender();
        } finally {
            socket.readLock.unlock();
        }
    }

    private int receiveLocked(DatagramPacket p, byte[] b, int off, int cap, boolean peek, long nanos)
            throws IOException {
        socket.bindIfNeeded();
        int n = Native.UNAVAILABLE;
        int fd = socket.descriptor.begin(true);
        try {
            socket.descriptor.configureNonBlockingIfNeeded(fd, nanos > 0);
            long start = SocketDescriptor.timeoutStart(nanos);
            n = receiveOnce(fd, p, b, off, cap, peek);
            while (n == Native.UNAVAILABLE && socket.isOpen()) {
                socket.awaitReadable(fd, start, nanos);
                n = receiveOnce(fd, p, b, off, cap, peek);
            }
            if (!socket.isOpen()) {
                // close's shutdown woke the receive with what reads as an empty datagram
                n = Native.UNAVAILABLE;
            }
            return n;
        } finally {
            socket.descriptor.end(true, n >= 0);
        }
    }

    /**
     * One non-blocking receive into {@code p} (then {@code b} is ignored) or into {@code b}. The
     * packet's monitor is held only around the call that fills it, never while the thread waits
     * (a virtual thread parked inside {@code synchronized} pins its carrier on JDK 21 to 23).
     */
    private int receiveOnce(int fd, DatagramPacket p, byte[] b, int off, int cap, boolean peek)
            throws IOException {
        if (p == null) {
            return NativeDatagram.unixReceive(fd, null, b, off, cap, senderWire, peek);
        }
        synchronized (p) {
            int packetCap = NativeDatagram.PACKET_FIELDS ? -1 : p.getLength();
            int n = NativeDatagram.unixReceive(fd, p, p.getData(), p.getOffset(), packetCap, senderWire, peek);
            if (n >= 0) {
                if (!NativeDatagram.PACKET_FIELDS) {
                    p.setLength(n);
                }
                p.setAddress(null);
                p.setPort(0);
            }
            return n;
        }
    }

    /**
     * The sender of the last receive (under the read lock): a name, or the empty path for an
     * unnamed sender. Decoded only when it differs from the one before.
     */
    private SocketAddress sender() {
        int len = (senderWire[0] & 0xff) + 1;
        if (lastSender == null || !Arrays.equals(senderWire, 0, len, lastSenderWire, 0, len)) {
            System.arraycopy(senderWire, 0, lastSenderWire, 0, len);
            lastSender = UnixNames.fromNative(Arrays.copyOfRange(senderWire, 1, len));
        }
        return lastSender;
    }
}
