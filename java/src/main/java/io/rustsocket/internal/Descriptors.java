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
        OPEN.incrementAndGet();
        if (counters == null) {
            OPEN_LISTENERS.incrementAndGet();
        }
        return CLEANER.register(owner, new Closer(fd, counters));
    }

    /** Must not refer to the owner, or the owner would never become unreachable. */
    private static final class Closer implements Runnable {
        private final int fd;
        private final Statistics.Counters counters;

        Closer(int fd, Statistics.Counters counters) {
            this.fd = fd;
            this.counters = counters;
        }

        @Override
        public void run() {
            Native.close(fd);
            OPEN.decrementAndGet();
            if (counters == null) {
                OPEN_LISTENERS.decrementAndGet();
            } else {
                Statistics.retire(counters);
            }
        }
    }
}
