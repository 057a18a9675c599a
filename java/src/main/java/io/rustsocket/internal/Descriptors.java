package io.rustsocket.internal;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Descriptor bookkeeping: every descriptor the library opens is registered here with a
 * {@link Cleaner}, so one whose socket becomes unreachable without {@code close()} is still
 * closed, and the count of descriptors open right now is known (tests check it returns to
 * its baseline). A client or accepted socket's {@link Statistics.Counters} are retired by the
 * same action, so their byte counts reach the totals however the socket goes away.
 */
public final class Descriptors {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicInteger OPEN = new AtomicInteger();
    private static final AtomicInteger OPEN_LISTENERS = new AtomicInteger();

    private Descriptors() {}

    /** Descriptors opened by this library and not yet closed. */
    public static int openCount() {
        return OPEN.get();
    }

    /** Descriptors of listening sockets opened by this library and not yet closed. */
    static int openListenerCount() {
        return OPEN_LISTENERS.get();
    }

    /**
     * Takes ownership of {@code fd} on behalf of {@code owner}: it is closed by
     * {@link Cleaner.Cleanable#clean()} or, failing that, when {@code owner} is unreachable.
     *
     * @param counters the socket's byte counters, retired when the descriptor is closed; or
     *     {@code null} for a listening socket
     */
    static Cleaner.Cleanable register(Object owner, int fd, Statistics.Counters counters) {
        return register(owner, fd, counters, counters == null);
    }

    /**
     * The same for a descriptor outside the TCP statistics (a datagram socket's): counted in
     * {@link #openCount()} only.
     */
    static Cleaner.Cleanable register(Object owner, int fd) {
        return register(owner, fd, null, false);
    }

    private static Cleaner.Cleanable register(Object owner, int fd, Statistics.Counters counters, boolean listener) {
        OPEN.incrementAndGet();
        if (listener) {
            OPEN_LISTENERS.incrementAndGet();
        }
        return CLEANER.register(owner, new Closer(fd, counters, listener));
    }

    /** Must not refer to the owner, or the owner would never become unreachable. */
    private static final class Closer implements Runnable {
        private final int fd;
        private final Statistics.Counters counters;
        private final boolean listener;

        Closer(int fd, Statistics.Counters counters, boolean listener) {
            this.fd = fd;
            this.counters = counters;
            this.listener = listener;
        }

        @Override
        public void run() {
            // before the number can be reused: a watch left behind would belong to the next socket
            Poller.forget(fd);
            Native.close(fd);
            OPEN.decrementAndGet();
            if (listener) {
                OPEN_LISTENERS.decrementAndGet();
            }
            if (counters != null) {
                Statistics.retire(counters);
            }
        }
    }
}
