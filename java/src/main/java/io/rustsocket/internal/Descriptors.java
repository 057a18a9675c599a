package io.rustsocket.internal;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Descriptor bookkeeping: every descriptor the library opens is registered here with a
 * {@link Cleaner}, so one whose socket becomes unreachable without {@code close()} is still
 * closed, and the count of descriptors open right now is known (tests check it returns to
 * its baseline).
 */
public final class Descriptors {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicInteger OPEN = new AtomicInteger();

    private Descriptors() {}

    /** Descriptors opened by this library and not yet closed. */
    public static int openCount() {
        return OPEN.get();
    }

    /**
     * Takes ownership of {@code fd} on behalf of {@code owner}: it is closed by
     * {@link Cleaner.Cleanable#clean()} or, failing that, when {@code owner} is unreachable.
     */
    static Cleaner.Cleanable register(Object owner, int fd) {
        OPEN.incrementAndGet();
        return CLEANER.register(owner, new Closer(fd));
    }

    /** Must not refer to the owner, or the owner would never become unreachable. */
    private static final class Closer implements Runnable {
        private final int fd;

        Closer(int fd) {
            this.fd = fd;
        }

        @Override
        public void run() {
            Native.close(fd);
            OPEN.decrementAndGet();
        }
    }
}
