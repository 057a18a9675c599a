package io.rustsocket.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * What a Unix domain socket does differently from a TCP one in {@link RustSocketImpl}: the
 * connect to a name, and socket pairs. Everything else (reads, writes, accept, close, timeouts,
 * virtual threads, statistics) is the TCP engine's, on a Unix descriptor.
 */
public final class UnixSockets {
    /** First and longest pause while a listener's backlog is full. */
    private static final long FIRST_PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(100);
    private static final long LONGEST_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private UnixSockets() {}

    /**
     * Connects {@code socket} (already a Unix socket, see {@link RustSocketImpl#prepareUnixConnect})
     * to {@code name} within {@code nanos} (0: no limit). A Unix connect completes at once when
     * the listener has room in its backlog; when it has none, the connect is tried again after a
     * pause that grows to 10 ms, as long as the socket is open and the time lasts. The caller
     * handles failures as for a TCP connect (the socket is closed).
     */
    static void connect(RustSocketImpl socket, byte[] name, long nanos) throws IOException {
        socket.readLock.lock();
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
                        Native.connectResult(fd);
                        connected = true;
                    }
                }
                connected = connected && socket.isOpen();
                if (connected) {
                    socket.connectedBlocking(fd);
                }
            } finally {
                socket.endConnect(fd, connected);
            }
        } finally {
            socket.readLock.unlock();
        }
    }

    /**
     * Two connected Unix stream sockets (socketpair(2)), each given to a new implementation that
     * adopts it when {@code java.net.Socket} creates it; the caller connects each socket once
     * (which completes the hand-over) or calls {@link RustSocketImpl#discardPairEnd} on failure.
     */
    public static RustSocketImpl[] pair() throws IOException {
        RustSocketImpl[] ends = {new RustSocketImpl(false), new RustSocketImpl(false)};
        int[] fds = new int[2];
        Native.unixPair(false, fds);
        ends[0].givePairEnd(fds[0]);
        ends[1].givePairEnd(fds[1]);
        return ends;
    }
}
