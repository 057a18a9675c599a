package io.rustsocket.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Parks virtual threads while their socket is not ready, so that no virtual thread ever blocks
 * its carrier inside native code (JDK 21+), and, on systems where a shutdown does not wake a
 * blocked call ({@link Platform#shutdownWakesBlockedCalls()} false), platform threads as well,
 * so that close() can wake them.
 *
 * <p>The shape is the JDK's own {@code sun.nio.ch.Poller}: two pollers, one for readability and
 * one for writability, each a native poller instance serviced by one daemon platform thread
 * that waits for events and unparks the waiting virtual thread. A platform thread rather than a
 * Rust thread attached to the JVM, because unparking is a Java call anyway and a Java thread
 * needs no attach/detach bookkeeping. Registrations are one-shot: the event disarms the
 * descriptor, and the woken thread re-arms it if it must wait again.
 *
 * <p>Closing a socket wakes its parked threads twice over: its shutdown makes the armed
 * descriptor ready, and {@link #wake} unparks them directly. When the descriptor is released,
 * {@link #deregister} removes it from the pollers before it is closed, as the JDK's
 * {@code stopPoll} does.
 *
 * <p>A poller thread survives any failure: the failure is logged, every thread parked on that
 * poller is unparked (each re-checks its socket and either retries or fails with an
 * {@code IOException}), and polling goes on, on a fresh native poller if the failure repeats.
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

    /** Consecutive failures after which a poller replaces its native instance. */
    private static final int FAILURES_BEFORE_RENEW = 3;



    private final int event;
    private final String name;
    // the native poller; replaced after repeated failures, so read it fresh for every call
    private volatile long handle;
    // descriptor -> the virtual thread parked on it (read/write locks allow one per direction)
    private final Map<Integer, Thread> waiters = new ConcurrentHashMap<>();
    // tests only: how many of this poller's next waits fail on purpose (0 in production)
    private final AtomicInteger injectedFailures = new AtomicInteger();

    private Poller(int event, String name) throws IOException {
        this.event = event;
        this.name = name;
        this.handle = Native.pollerCreate();
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
     * Parks the current thread until {@code fd} is ready for {@code event}
     * ({@link Native#POLLIN} or {@link Native#POLLOUT}), {@code nanos} pass (0: no limit), the
     * socket is closed, or (a virtual thread) the thread is interrupted. Callers loop and
     * re-check.
     *
     * @throws InterruptedIOException if a virtual thread is interrupted
     */
    static void park(int fd, int event, long nanos, BooleanSupplier isOpen) throws IOException {
        if (currentIsVirtual()) {
            poller(event).parkOn(fd, nanos, isOpen);
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedIOException();
            }
        } else {
            // a platform thread ignores interrupts in socket calls, as the JDK's blocking calls
            // do: a pending interrupt would make every park return at once, so it is set aside
            // for the wait and restored after
            boolean interrupted = Thread.interrupted();
            try {
                poller(event).parkOn(fd, nanos, isOpen);
            } finally {
                if (interrupted || Thread.interrupted()) {
                    Thread.currentThread().interrupt();
                }
            }
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
        if (currentIsVirtual()) {
            poller(event).parkOnAny(fds, count, nanos, isOpen);
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedIOException();
            }
        } else {
            boolean interrupted = Thread.interrupted();
            try {
                poller(event).parkOnAny(fds, count, nanos, isOpen);
            } finally {
                if (interrupted || Thread.interrupted()) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** Unparks the virtual threads parked on {@code fd} in the pollers it was armed in. */
    static void wake(int fd, boolean read, boolean write) {
        Poller r = readPoller;
        if (read && r != null) {
            r.unpark(fd);
        }
        Poller w = writePoller;
        if (write && w != null) {
            w.unpark(fd);
        }
    }

    /**
     * Removes {@code fd} from the pollers it was armed in; called while no thread uses it, just
     * before it is closed. A failure is logged: the kernel drops the registration at close anyway.
     */
    static void deregister(int fd, boolean read, boolean write) {
        if (read && readPoller != null) {
            readPoller.delete(fd);
        }
        if (write && writePoller != null) {
            writePoller.delete(fd);
        }
    }

    /**
     * Tests only: makes the next {@code count} waits of the poller for {@code event} fail, as a
     * failure inside its thread would (the first is seen once the poller's current wait returns).
     */
    static void injectFailures(int event, int count) throws IOException {
        poller(event).injectedFailures.set(count);
    }

    /** Tests only: the native handle of the poller for {@code event}, starting it if needed. */
    static long handleForTest(int event) throws IOException {
        return poller(event).handle;
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

    private void unpark(int fd) {
        Thread t = waiters.get(fd);
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    private void delete(int fd) {
        try {
            Native.pollerDelete(handle, fd);
        } catch (IOException | RuntimeException e) {
            log(System.Logger.Level.DEBUG, name + ": could not remove descriptor " + fd, e);
        }
    }

    private void parkOn(int fd, long nanos, BooleanSupplier isOpen) throws IOException {
        Thread me = Thread.currentThread();
        Integer key = fd;
        Thread other = waiters.putIfAbsent(key, me);
        if (other != null) {
            throw twoParked(fd, other, me);
        }
        try {
            Native.pollerArm(handle, fd, event);
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
                Thread other = waiters.putIfAbsent(fds[i], me);
                if (other != null) {
                    throw twoParked(fds[i], other, me);
                }
                registered++;
                Native.pollerArm(handle, fds[i], event);
            }
            parkIfOpen(nanos, isOpen);
        } finally {
            for (int i = 0; i < registered; i++) {
                waiters.remove(fds[i], me);
            }
        }
    }

    /** The error for a second thread parking on a descriptor, with where the first one waits. */
    private static IllegalStateException twoParked(int fd, Thread other, Thread me) {
        StringBuilder sb = new StringBuilder("two threads parked on descriptor ").append(fd).append(": ")
                .append(other).append(" and ").append(me).append("; the first waits at");
        for (StackTraceElement e : other.getStackTrace()) {
            sb.append("\n\tat ").append(e);
        }
        return new IllegalStateException(sb.toString());
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
        int failures = 0;
        while (true) {
            try {
                if (injectedFailures.get() > 0 && injectedFailures.getAndDecrement() > 0) {
                    throw new IllegalStateException("failure injected by a test");
                }
                int n = Native.pollerWait(handle, ready, -1);
                for (int i = 0; i < n; i++) {
                    unpark(ready[i]);
                }
                failures = 0;
            } catch (Throwable e) {
                failures++;
                recover(e, failures);
            }
        }
    }

    /**
     * After a failed wait: logs it, unparks every waiter of this poller (each re-checks its
     * socket, then re-arms or fails), and after repeated failures replaces the native poller,
     * whose waiters re-arm in the new one. A short pause keeps a persistent failure from
     * spinning a core.
     */
    private void recover(Throwable e, int failures) {
        log(System.Logger.Level.WARNING, name + " failed; its parked threads are woken and polling goes on", e);
        waiters.values().forEach(LockSupport::unpark);
        if (failures >= FAILURES_BEFORE_RENEW) {
            try {
                long old = handle;
                handle = Native.pollerCreate();
                Native.pollerClose(old);
                waiters.values().forEach(LockSupport::unpark);
            } catch (Throwable again) {
                log(System.Logger.Level.WARNING, name + ": could not make a new native poller", again);
            }
        }
        try {
            Thread.sleep(Math.min(100, 1L << Math.min(failures, 7)));
        } catch (InterruptedException ignore) {
            // daemon thread: nobody interrupts it but the JVM's end
        }
    }

    private static void log(System.Logger.Level level, String message, Throwable e) {
        try {
            System.getLogger("io.rustsocket").log(level, "rustsocket: " + message, e);
        } catch (Throwable ignore) {
            // logging must never take the poller down
        }
    }
}
