package io.rustsocket.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Parks virtual threads while their socket is not ready, so that no virtual thread ever blocks
 * its carrier inside native code (JDK 21+; on JDK 17 there are no virtual threads and nothing
 * here starts).
 *
 * <p>The shape is the JDK's own {@code sun.nio.ch.Poller}: two pollers, one for readability and
 * one for writability, each an epoll instance (made in Rust) serviced by one daemon platform
 * thread that calls {@code epoll_wait} and unparks the waiting virtual thread. A platform thread
 * rather than a Rust thread attached to the JVM, because unparking is a Java call anyway and a
 * Java thread needs no attach/detach bookkeeping. Registrations are one-shot: the event disarms
 * the descriptor, and the woken thread re-arms it if it must wait again. Close needs no extra
 * path: it shuts the socket down, which makes the armed descriptor ready (and one armed after
 * the shutdown ready at once), so the parked thread wakes and sees the socket closing.
 *
 * <p>The pollers start on the first park of a virtual thread; programs that never use virtual
 * threads pay one {@code static final} check per blocking call. Their threads are daemons and
 * end with the JVM.
 */
final class Poller {
    private static final MethodHandle IS_VIRTUAL = isVirtualHandle();
    private static final Object START_LOCK = new Object();
    private static volatile Poller readPoller;
    private static volatile Poller writePoller;

    private final int epfd;
    private final int event;
    // descriptor -> the virtual thread parked on it (read/write locks allow one per direction)
    private final Map<Integer, Thread> waiters = new ConcurrentHashMap<>();

    private Poller(int event, String name) throws IOException {
        this.event = event;
        this.epfd = Native.epollCreate();
        Thread t = new Thread(this::pollLoop, name);
        t.setDaemon(true);
        t.start();
    }

    private static MethodHandle isVirtualHandle() {
        try {
            return MethodHandles.publicLookup().findVirtual(Thread.class, "isVirtual", MethodType.methodType(boolean.class));
        } catch (NoSuchMethodException | IllegalAccessException e) {
            return null; // JDK 17-20: no virtual threads
        }
    }

    /** Whether the current thread is a virtual thread. */
    static boolean currentIsVirtual() {
        MethodHandle h = IS_VIRTUAL;
        if (h == null) {
            return false;
        }
        try {
            return (boolean) h.invokeExact(Thread.currentThread());
        } catch (Throwable e) {
            throw new IllegalStateException("Thread.isVirtual failed", e);
        }
    }

    /**
     * Parks the current virtual thread until {@code fd} is ready for {@code event}
     * ({@link Native#POLLIN} or {@link Native#POLLOUT}), {@code nanos} pass (0: no limit), the
     * socket is closed, or the thread is interrupted. Callers loop and re-check.
     *
     * @throws InterruptedIOException if the thread is interrupted
     */
    static void park(int fd, int event, long nanos, BooleanSupplier isOpen) throws IOException {
        poller(event).parkOn(fd, nanos, isOpen);
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException();
        }
    }

    /**
     * Parks the current virtual thread until any of the first {@code count} descriptors of
     * {@code fds} is ready for {@code event}, {@code nanos} pass (0: no limit), the socket is
     * closed, or the thread is interrupted: the wait of a connect racing several addresses.
     *
     * @throws InterruptedIOException if the thread is interrupted
     */
    static void parkAny(int[] fds, int count, int event, long nanos, BooleanSupplier isOpen) throws IOException {
        poller(event).parkOnAny(fds, count, nanos, isOpen);
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException();
        }
    }

    private static Poller poller(int event) throws IOException {
        Poller p = event == Native.POLLIN ? readPoller : writePoller;
        if (p != null) {
            return p;
        }
        synchronized (START_LOCK) {
            if (event == Native.POLLIN) {
                if (readPoller == null) {
                    readPoller = new Poller(Native.POLLIN, "rustsocket-read-poller");
                }
                return readPoller;
            }
            if (writePoller == null) {
                writePoller = new Poller(Native.POLLOUT, "rustsocket-write-poller");
            }
            return writePoller;
        }
    }

    private void parkOn(int fd, long nanos, BooleanSupplier isOpen) throws IOException {
        Thread me = Thread.currentThread();
        Integer key = fd;
        if (waiters.putIfAbsent(key, me) != null) {
            throw new IllegalStateException("two threads parked on descriptor " + fd);
        }
        try {
            Native.epollArm(epfd, fd, event);
            parkIfOpen(nanos, isOpen);
        } finally {
            // An armed registration may still fire later; with no waiter it is ignored, and a
            // stray unpark only makes a caller re-check, which every caller does.
            waiters.remove(key, me);
        }
    }

    private void parkOnAny(int[] fds, int count, long nanos, BooleanSupplier isOpen) throws IOException {
        Thread me = Thread.currentThread();
        int registered = 0;
        try {
            for (int i = 0; i < count; i++) {
                if (waiters.putIfAbsent(fds[i], me) != null) {
                    throw new IllegalStateException("two threads parked on descriptor " + fds[i]);
                }
                registered++;
                Native.epollArm(epfd, fds[i], event);
            }
            parkIfOpen(nanos, isOpen);
        } finally {
            for (int i = 0; i < registered; i++) {
                waiters.remove(fds[i], me);
            }
        }
    }

    /** Parks once, for {@code nanos} (0: no limit), unless the socket is already closing. */
    private static void parkIfOpen(long nanos, BooleanSupplier isOpen) {
        if (isOpen.getAsBoolean()) {
            if (nanos > 0) {
                LockSupport.parkNanos(nanos);
            } else {
                LockSupport.park();
            }
        }
    }

    private void pollLoop() {
        int[] ready = new int[256];
        while (true) {
            int n;
            try {
                n = Native.epollWait(epfd, ready, -1);
            } catch (IOException e) {
                throw new UncheckedIOException("rustsocket poller failed", e);
            }
            for (int i = 0; i < n; i++) {
                Thread t = waiters.get(ready[i]);
                if (t != null) {
                    LockSupport.unpark(t);
                }
            }
        }
    }
}
