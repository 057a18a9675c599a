package io.rustsocket.internal;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.net.SocketException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One socket descriptor's life, shared by the TCP engine ({@link RustSocketImpl}) and the UDP
 * engine ({@link RustDatagramSocketImpl}), in the shape of the JDK's {@code NioSocketImpl}:
 * <ul>
 *   <li>States NEW, OPEN, CLOSING, CLOSED. {@link #stateLock} guards the state, the descriptor
 *       number and which directions have a thread inside a system call; the owning engine
 *       guards its own state (connected, bound) with the same lock. It is never held across a
 *       blocking call.</li>
 *   <li>An operation that may block brackets its system calls with {@link #enter} and
 *       {@link #leave}. Untimed operations on platform threads block in the kernel, and so do
 *       timed TCP reads, under a kernel read timeout (see SocketStreams); other timed ones, and
 *       every operation on a virtual thread, make the descriptor non-blocking
 *       ({@link #configureNonBlockingIfNeeded}) and wait in {@link #park}.</li>
 *   <li>{@link #close} marks CLOSING; if a thread is inside a system call, the owner's wake-up
 *       (a shutdown, which Linux turns into an immediate return of every blocked call, or a
 *       reset) runs and virtual threads parked on the descriptor are unparked. The descriptor
 *       is released by the last thread to leave, so its number is never reused under a thread
 *       still using it. Release deregisters it from the virtual-thread pollers first, as the
 *       JDK's poller does, then closes it through the {@link Descriptors} cleaner, which also
 *       closes it if the socket becomes unreachable without {@code close()}.</li>
 * </ul>
 */
final class SocketDescriptor<O> {
    static final int NEW = 0;
    static final int OPEN = 1;
    static final int CLOSING = 2;
    static final int CLOSED = 3;

    // the descriptor's blocking mode (see mode)
    private static final int BLOCKING = 0;
    private static final int NON_BLOCKING = 1;
    private static final int BLOCKING_ON_FIRST_USE = 2;

    /** What {@link #park} returns when it does not know which events occurred. */
    static final int READINESS_UNKNOWN = -1;

    /**
     * The owner's part of closing: how to wake threads in flight, and what to do at release. One
     * shared instance per kind of socket: it is handed the owner, so a socket costs no closer
     * object of its own.
     */
    interface Closer<O> {
        /** Wakes the threads inside system calls on {@code fd}; called under the state lock. */
        void wake(O owner, int fd);

        /**
         * Runs just before the descriptor is released, under the state lock.
         *
         * @param lastOut whether the last thread out of a system call releases it (rather than
         *     {@code close()} itself)
         */
        void beforeRelease(O owner, int fd, boolean lastOut);
    }

    // guards state, fd, cleanable, the in-flight flags and the owner's own state: the descriptor
    // itself, so that a socket costs no separate lock object
    final Object stateLock = this;

    private final O owner;
    private final Closer<? super O> closer;
    private volatile int state;
    private int fd = -1;
    private Cleaner.Cleanable cleanable;
    private boolean readerInFlight;
    private boolean writerInFlight;
    // BLOCKING, NON_BLOCKING, or BLOCKING_ON_FIRST_USE (non-blocking for a connect; the first
    // read or write decides). NON_BLOCKING is set when a timed or virtual-thread operation first
    // needs it, and stays so (as in the JDK); changes other than to NON_BLOCKING are made under
    // the state lock
    private volatile int mode;
    // whether the descriptor was armed in the read or write poller (by a virtual thread), so
    // that release deregisters it; each written only by the thread in flight in that direction,
    // read at close and at release
    private volatile boolean polledRead;
    private volatile boolean polledWrite;
    // the read registration the poller keeps for the descriptor (edge-triggered pollers) once
    // a read has parked; null before, and where registrations are one-shot
    private volatile Poller.Watch readWatch;
    private final BooleanSupplier openCheck = this::isOpen;

    /** {@link #readMark()} where reads cannot wait for an event after a mark. */
    static final long NO_MARK = -1;

    /**
     * @param owner the socket engine, whose unreachability closes the descriptor (through the
     *     cleaner) and which the closer is handed
     * @param closer the owner's part of closing
     */
    SocketDescriptor(O owner, Closer<? super O> closer) {
        this.owner = owner;
        this.closer = closer;
    }

    /** The state: {@link #NEW}, {@link #OPEN}, {@link #CLOSING} or {@link #CLOSED}. */
    int state() {
        return state;
    }

    /** Whether the descriptor is open and {@code close()} has not been called. */
    boolean isOpen() {
        return state == OPEN;
    }

    /** The descriptor number; only meaningful while open, and read under the state lock. */
    int fd() {
        assert Thread.holdsLock(stateLock);
        return fd;
    }

    /**
     * Takes ownership of a freshly opened descriptor (state NEW or OPEN): it is closed at
     * release, or by the cleaner if the owner becomes unreachable; a descriptor held before
     * (the own attempt of a racing connect) is closed now.
     *
     * @param counters the socket's byte counters, retired at release (null for a listener)
     * @param listener whether it is a listening socket, for the statistics
     * @param blocking whether the descriptor is in blocking mode
     */
    void open(int newFd, Statistics.Counters counters, boolean listener, boolean blocking) {
        assert Thread.holdsLock(stateLock);
        if (cleanable != null) {
            cleanable.clean();
        }
        fd = newFd;
        cleanable = listener || counters != null
                ? Descriptors.register(owner, newFd, counters)
                : Descriptors.register(owner, newFd);
        // where a shutdown does not wake blocked calls, the native side made it non-blocking
        mode = blocking && Platform.shutdownWakesBlockedCalls() ? BLOCKING : NON_BLOCKING;
        polledRead = false;
        polledWrite = false;
        readWatch = null;
        if (state == NEW) {
            state = OPEN;
        }
    }

    /** Closes the descriptor at once, during set-up, when the owner cannot finish opening it. */
    void discard() {
        assert Thread.holdsLock(stateLock);
        if (cleanable != null) {
            cleanable.clean();
            cleanable = null;
        }
        fd = -1;
        state = CLOSED;
    }

    /**
     * Marks a thread inside a system call in one direction (readers include accept and
     * connect); the caller holds the state lock and has checked its own preconditions.
     *
     * @return the descriptor to use
     * @throws SocketException "Socket closed" if the descriptor is not open
     */
    int enter(boolean reader) throws SocketException {
        assert Thread.holdsLock(stateLock);
        if (state != OPEN) {
            throw new SocketException("Socket closed");
        }
        if (reader) {
            readerInFlight = true;
        } else {
            writerInFlight = true;
        }
        return fd;
    }

    /** {@link #enter} for owners with no preconditions of their own. */
    int begin(boolean reader) throws SocketException {
        synchronized (stateLock) {
            return enter(reader);
        }
    }

    /**
     * Marks the end of a system call that may have blocked: the last thread out of a closing
     * socket releases the descriptor, and an operation cut short by close reports it.
     *
     * @param completed whether the operation did what it was asked
     * @throws SocketException "Socket closed" when it did not complete because of close
     */
    void end(boolean reader, boolean completed) throws SocketException {
        synchronized (stateLock) {
            leave(reader);
            if (!completed && state >= CLOSING) {
                throw new SocketException("Socket closed");
            }
        }
    }

    /** The part of {@link #end} that never throws; the caller holds the state lock. */
    void leave(boolean reader) {
        assert Thread.holdsLock(stateLock);
        if (reader) {
            readerInFlight = false;
        } else {
            writerInFlight = false;
        }
        if (state == CLOSING) {
            tryRelease(true);
        }
    }

    /** Whether a thread is inside a system call; the caller holds the state lock. */
    boolean inFlight() {
        assert Thread.holdsLock(stateLock);
        return readerInFlight || writerInFlight;
    }

    /** Whether a writer is inside a system call; the caller holds the state lock. */
    boolean writerInFlight() {
        assert Thread.holdsLock(stateLock);
        return writerInFlight;
    }

    /**
     * Starts closing: NEW goes straight to CLOSED, OPEN to CLOSING.
     *
     * @return whether the caller must finish the close ({@link #finishClose}); false when it
     *     was closing or closed already, or had never been opened
     */
    boolean startClose() {
        assert Thread.holdsLock(stateLock);
        int s = state;
        if (s >= CLOSING) {
            return false;
        }
        if (s == NEW) {
            state = CLOSED;
            return false;
        }
        state = CLOSING;
        return true;
    }

    /**
     * Releases the descriptor now if no thread is inside a system call; otherwise wakes them
     * (the owner's wake-up, and an unpark of virtual threads parked on it) and leaves the
     * release to the last one out.
     */
    void finishClose() {
        assert Thread.holdsLock(stateLock) && state == CLOSING;
        if (!tryRelease(false)) {
            closer.wake(owner, fd);
            Poller.wake(fd, polledRead, polledWrite);
        }
    }

    /** Releases the descriptor if no thread is inside a system call. */
    private boolean tryRelease(boolean lastOut) {
        assert Thread.holdsLock(stateLock) && state == CLOSING;
        if (readerInFlight || writerInFlight) {
            return false;
        }
        closer.beforeRelease(owner, fd, lastOut);
        Poller.deregister(fd, polledRead, polledWrite);
        cleanable.clean();
        state = CLOSED;
        return true;
    }

    /**
     * Switches to non-blocking mode the first time a timed operation, or any operation on a
     * virtual thread, needs it; it stays so (as in the JDK). After a connect, the first untimed
     * operation of a platform thread makes it blocking instead (see {@link #blockOnFirstUse}).
     *
     * @return whether calls on the descriptor now wait in the kernel (blocking mode)
     */
    boolean configureNonBlockingIfNeeded(int fd, boolean timed) throws IOException {
        int m = mode;
        if (m == NON_BLOCKING) {
            return false;
        }
        boolean nonBlockingNeeded = timed || Poller.currentIsVirtual();
        if (m == BLOCKING && !nonBlockingNeeded) {
            return true;
        }
        synchronized (stateLock) {
            m = mode;
            if (nonBlockingNeeded) {
                if (m == BLOCKING) {
                    Native.configureBlocking(fd, false);
                }
                mode = NON_BLOCKING;
            } else if (m == BLOCKING_ON_FIRST_USE) {
                Native.configureBlocking(fd, true);
                mode = BLOCKING;
            }
            return mode == BLOCKING;
        }
    }

    /**
     * After a connect (made non-blocking, so that close() can wake it): where a shutdown wakes
     * blocked calls, the descriptor turns blocking for the one-system-call path of platform
     * threads, but only when the first read or write needs that. A socket that is closed
     * unused, or whose first use is timed or on a virtual thread, so never switches twice.
     */
    void blockOnFirstUse() {
        if (Platform.shutdownWakesBlockedCalls()) {
            synchronized (stateLock) {
                if (mode == NON_BLOCKING) {
                    mode = BLOCKING_ON_FIRST_USE;
                }
            }
        }
    }

    /**
     * Whether the current thread waits in the {@link Poller} rather than in the kernel: every
     * virtual thread, and every thread where a shutdown does not wake blocked calls.
     */
    static boolean waitsInPoller() {
        return !Platform.shutdownWakesBlockedCalls() || Poller.currentIsVirtual();
    }

    /**
     * Waits until the descriptor is ready for {@code event}, the deadline passes, or the socket
     * is closed; {@code nanos == 0} means no deadline. Returns the events seen (0 when the wait
     * timed out or was cut short, {@link #READINESS_UNKNOWN} after a thread parked in the
     * poller was unparked); the caller re-checks everything. On a virtual thread, throws
     * {@link java.io.InterruptedIOException} if the thread is interrupted.
     */
    int park(int fd, int event, long nanos) throws IOException {
        if (waitsInPoller()) {
            // a virtual thread parks, never its carrier; readiness is re-checked by the caller
            if (event == Native.POLLIN) {
                polledRead = true;
            } else {
                polledWrite = true;
            }
            Poller.Watch kept = Poller.park(fd, event, nanos, openCheck, this);
            if (event == Native.POLLIN && kept != null) {
                readWatch = kept;
            }
            return READINESS_UNKNOWN;
        }
        return Native.poll(fd, event, pollMillis(nanos));
    }

    /**
     * The poller's count of read events for the descriptor, taken before a read, for
     * {@link #parkAfter} and {@link #quietSince}; {@link #NO_MARK} unless the current thread
     * waits in the poller and the poller keeps the descriptor registered (after its first
     * parked read).
     */
    long readMark() {
        Poller.Watch w = readWatch;
        return w != null && waitsInPoller() ? w.events & 0xFFFF_FFFFL : NO_MARK;
    }

    /**
     * Whether no read event, and nothing that can end a read early (urgent data, an end of
     * stream, an error), has come since {@code mark}: a read that emptied the socket after the
     * mark was taken would find nothing now.
     */
    boolean quietSince(long mark) {
        Poller.Watch w = readWatch;
        return mark != NO_MARK && w != null && w.quietSince((int) mark);
    }

    /**
     * {@link #park} for input, which with a {@code mark} from {@link #readMark} returns at once
     * if an event has come since it was taken.
     */
    void parkForRead(int fd, long nanos, long mark) throws IOException {
        Poller.Watch w = readWatch;
        if (mark == NO_MARK || w == null) {
            park(fd, Native.POLLIN, nanos);
        } else {
            Poller.parkAfter(w, (int) mark, nanos, openCheck, this);
        }
    }

    /**
     * Records that the write poller has had the descriptor armed outside {@link #park} (the
     * race of a connect to several addresses arms its attempts together), so release removes it.
     */
    void armedForWrite() {
        polledWrite = true;
    }

    /**
     * Where a wait's timeout of {@code nanos} (0: none) starts, for the caller's deadline
     * {@code start + nanos}: the clock is read only when there is a timeout, since a read or
     * receive without one would pay for it on every call.
     */
    static long timeoutStart(long nanos) {
        return nanos > 0 ? System.nanoTime() : 0;
    }

    /** A poll(2) timeout for {@code nanos} (0 or less: -1, forever), rounded up so the wait never ends early. */
    static int pollMillis(long nanos) {
        if (nanos <= 0) {
            return -1;
        }
        long m = TimeUnit.NANOSECONDS.toMillis(nanos);
        if (TimeUnit.MILLISECONDS.toNanos(m) < nanos) {
            m++;
        }
        return (int) Math.min(m, Integer.MAX_VALUE);
    }
}
