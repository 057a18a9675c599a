package io.rustsocket.internal;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketTimeoutException;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Library-wide socket statistics, kept off the hot path: each connected socket counts its bytes
 * in a {@link Counters} object of its own, written only by the thread holding that socket's read
 * or write lock (a plain store, no atomic instruction); a snapshot adds up the live counters and
 * the totals that closed sockets left behind. Connections, timeouts, resets and errors happen
 * once per connection or failure and use {@link LongAdder}s.
 *
 * <p>The live counters are registered with the descriptor ({@link Descriptors}) and retired by
 * the same {@code Cleaner} action that closes it, so a socket dropped without {@code close()}
 * cannot leak its counters.
 */
public final class Statistics {
    private static final Set<Counters> LIVE = ConcurrentHashMap.newKeySet();
    // retiring takes the shared side (many sockets close at once); a snapshot takes the exclusive
    // side, so it never sees a socket's bytes both in the totals and in the live set, nor in neither
    private static final ReentrantReadWriteLock RETIRE_LOCK = new ReentrantReadWriteLock();
    private static final LongAdder RETIRED_READ = new LongAdder();
    private static final LongAdder RETIRED_WRITTEN = new LongAdder();
    private static final LongAdder CONNECTED = new LongAdder();
    private static final LongAdder ACCEPTED = new LongAdder();
    private static final LongAdder TIMEOUTS = new LongAdder();
    private static final LongAdder RESETS = new LongAdder();
    private static final ConcurrentHashMap<String, LongAdder> ERRORS = new ConcurrentHashMap<>();

    // work to run once when the library is first used (see runOnFirstUse); null when none waits
    private static final AtomicReference<Runnable> ON_FIRST_USE = new AtomicReference<>();

    private Statistics() {}

    /**
     * Runs {@code task} on a new daemon thread when the first socket is made or
     * {@link #snapshot()} is first called from now on; the agent's MXBean registration, which
     * must not start the platform MBean server (and {@code java.util.logging}) before
     * {@code main} has had its chance to configure logging.
     */
    public static void runOnFirstUse(Runnable task) {
        ON_FIRST_USE.set(task);
    }

    /** Starts the task waiting for the first use, if any; one volatile read otherwise. */
    static void used() {
        if (ON_FIRST_USE.get() == null) {
            return;
        }
        Runnable task = ON_FIRST_USE.getAndSet(null);
        if (task != null) {
            // not on the caller's thread: the socket being made may belong to a logging handler
            // whose LogManager is still initialising, which the task would wait for
            Thread t = new Thread(task, "rustsocket-first-use");
            t.setDaemon(true);
            t.start();
        }
    }

    /**
     * One socket's byte counts. Each field has a single writer at a time (the holder of the
     * socket's read or write lock); readers from other threads use opaque loads, which cannot
     * see a torn value.
     */
    static final class Counters {
        private static final VarHandle READ;
        private static final VarHandle WRITTEN;

        static {
            try {
                MethodHandles.Lookup l = MethodHandles.lookup();
                READ = l.findVarHandle(Counters.class, "read", long.class);
                WRITTEN = l.findVarHandle(Counters.class, "written", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private long read;
        private long written;
        // a reset is counted once per connection, though every later read reports it again
        private volatile boolean resetCounted;

        /** Called with the socket's read lock held. */
        void addRead(int n) {
            READ.setOpaque(this, read + n);
        }

        /** Called with the socket's write lock held. */
        void addWritten(long n) {
            WRITTEN.setOpaque(this, written + n);
        }

        long read() {
            return (long) READ.getOpaque(this);
        }

        long written() {
            return (long) WRITTEN.getOpaque(this);
        }
    }

    /** Makes and registers the counters of a socket that just got its descriptor. */
    static Counters register() {
        Counters c = new Counters();
        LIVE.add(c);
        return c;
    }

    /** Moves a closed socket's counts into the totals; runs once, when its descriptor is closed. */
    static void retire(Counters c) {
        RETIRE_LOCK.readLock().lock();
        try {
            RETIRED_READ.add(c.read());
            RETIRED_WRITTEN.add(c.written());
            LIVE.remove(c);
        } finally {
            RETIRE_LOCK.readLock().unlock();
        }
    }

    static void connected() {
        CONNECTED.increment();
    }

    static void accepted() {
        ACCEPTED.increment();
    }

    /**
     * Counts a failed read, write, accept or connect and returns {@code e} for rethrowing.
     * Timeouts and resets have counters of their own; anything else is counted by its class.
     *
     * @param counters the socket's counters, or {@code null} for a listener or a socket that has
     *     none yet
     */
    static IOException failed(IOException e, Counters counters) {
        if (e instanceof SocketTimeoutException) {
            TIMEOUTS.increment();
        } else if (isReset(e)) {
            if (counters == null || !counters.resetCounted) {
                if (counters != null) {
                    counters.resetCounted = true;
                }
                RESETS.increment();
            }
        } else {
            ERRORS.computeIfAbsent(e.getClass().getName(), k -> new LongAdder()).increment();
        }
        return e;
    }

    private static boolean isReset(IOException e) {
        String m = e.getMessage();
        return m != null && m.startsWith("Connection reset");
    }

    /** A consistent view of every counter at one moment. */
    public static final class Totals {
        /** Client and accepted sockets holding a descriptor now. */
        public final long openSockets;
        /** Listening (server) sockets holding a descriptor now. */
        public final long openServerSockets;
        /** Outgoing connections established since the library was loaded. */
        public final long connected;
        /** Incoming connections accepted since the library was loaded. */
        public final long accepted;
        /** Bytes read from all sockets, open and closed. */
        public final long bytesRead;
        /** Bytes written to all sockets, open and closed. */
        public final long bytesWritten;
        /** Read, accept and connect timeouts. */
        public final long timeouts;
        /** Connections reset by the peer. */
        public final long resets;
        /** Other failures, by exception class name, sorted by name. */
        public final Map<String, Long> errors;

        private Totals(long openSockets, long openServerSockets, long connected, long accepted,
                long bytesRead, long bytesWritten, long timeouts, long resets, Map<String, Long> errors) {
            this.openSockets = openSockets;
            this.openServerSockets = openServerSockets;
            this.connected = connected;
            this.accepted = accepted;
            this.bytesRead = bytesRead;
            this.bytesWritten = bytesWritten;
            this.timeouts = timeouts;
            this.resets = resets;
            this.errors = errors;
        }
    }

    /**
     * Adds up the live and retired counters. Bytes of a socket in the middle of a read or write
     * may be counted a moment late; nothing is counted twice or lost.
     *
     * @return the totals now
     */
    public static Totals snapshot() {
        used();
        long read;
        long written;
        long open;
        RETIRE_LOCK.writeLock().lock();
        try {
            read = RETIRED_READ.sum();
            written = RETIRED_WRITTEN.sum();
            open = 0;
            for (Counters c : LIVE) {
                read += c.read();
                written += c.written();
                open++;
            }
        } finally {
            RETIRE_LOCK.writeLock().unlock();
        }
        Map<String, Long> errors = new TreeMap<>();
        ERRORS.forEach((k, v) -> errors.put(k, v.sum()));
        return new Totals(open, Descriptors.openListenerCount(), CONNECTED.sum(), ACCEPTED.sum(),
                read, written, TIMEOUTS.sum(), RESETS.sum(), Collections.unmodifiableMap(errors));
    }
}
