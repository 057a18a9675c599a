package io.rustsocket.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Parks virtual threads while their socket is not ready, so that no virtual thread ever blocks
 * its carrier inside native code (JDK 21+), and, on systems where a shutdown does not wake a
 * blocked call ({@link Platform#shutdownWakesBlockedCalls()} false), platform threads as well,
 * so that close() can wake them.
 *
 * <p>The shape is the JDK's own {@code sun.nio.ch.Poller}: read pollers and a write poller,
 * each a native poller instance serviced by one Java thread that waits for events and unparks
 * the waiting virtual thread (a Java thread rather than a Rust one attached to the JVM, because
 * unparking is a Java call anyway). A descriptor always goes to the same poller, chosen by its
 * number. Where the loops are virtual threads there is one read poller per core, as in the JDK:
 * every carrier then has a poller loop to run when its own threads all wait for input, instead
 * of idling in the kernel until another carrier's poller wakes one of them.
 *
 * <p>Which thread runs a poller's loop. Where pollers are edge-triggered (Linux) on JDK 24 and
 * newer, as the JDK's own pollers do there, each poller's loop is a virtual thread: it takes the
 * events that are ready without waiting ({@code epoll_wait} with timeout 0), unparks their
 * threads, yields to them, and polls again, so a busy server's wake-ups cost no context switch
 * and no core is taken from the 2 carriers of a small machine. Only when nothing is ready does it
 * park, with its epoll descriptor armed one-shot in a master poller, whose platform thread waits
 * in the kernel and unparks it. Elsewhere, and on JDK 21 to 23 (where a virtual thread parked
 * inside {@code synchronized} pins its carrier: with every carrier pinned, a poller that needs
 * one would never run), each poller's loop is a platform thread. The system property
 * {@code io.rustsocket.pollerThreads} ({@code virtual} or {@code platform}) overrides the choice,
 * for measurement and as a way out.
 *
 * <p>Each descriptor that has parked a thread has a {@link Watch} here until it is released.
 * Where the system allows ({@link Platform#edgeTriggeredPollers()}: epoll), the descriptor is
 * added to the native poller once, edge-triggered, and stays: a park costs no system call, which
 * matters as every blocking read of a virtual-thread server parks. Elsewhere registrations are
 * one-shot: the event disarms the descriptor, and every park re-arms it. Either way an event
 * sets the watch's {@code ready} flag before it unparks the waiter, and a parking thread checks
 * that flag after it has made itself the waiter: an event that came between the caller's last
 * try and the park is never lost (with edge triggering nothing would report it again).
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
    // null until the first park; a descriptor's poller is chosen by its number (pollerFor)
    private static volatile Poller[] readPollers;
    private static volatile Poller[] writePollers;

    /** {@link Watch#addedIn} of a descriptor in no native poller. */
    private static final long NOT_ADDED = -1;

    /** Consecutive failures after which a poller replaces its native instance. */
    private static final int FAILURES_BEFORE_RENEW = 3;

    /** Whether the read and write pollers' loops run as virtual threads (see the class comment). */
    private static final boolean VIRTUAL_LOOPS = virtualLoops();
    /** How many read pollers share the descriptors (a power of two; see the class comment). */
    private static final int READ_POLLERS = readPollerCount();
    /** Parks the virtual-thread loops while nothing is ready; null while none is needed. */
    private static volatile Poller master;

    /** One descriptor's registration in one poller. */
    static final class Watch {
        private static final AtomicReferenceFieldUpdater<Watch, Thread> WAITER =
                AtomicReferenceFieldUpdater.newUpdater(Watch.class, Thread.class, "waiter");
        final Poller poller;
        final int fd;
        // how many events the poller has reported for the descriptor (written only by the
        // poller's own thread, before it unparks the waiter): a reader that saw the count
        // before a read that emptied the socket knows that nothing has arrived while it is
        // unchanged (see RustSocketImpl's reads)
        volatile int events;
        // set for good once an event reported more than "readable": urgent data, the peer's
        // FIN, a hang-up or an error, each of which can end a read early with bytes or an end
        // of stream left behind, so that a short read no longer proves the socket empty
        volatile boolean readsMayStopShort;
        // the thread parked on the descriptor (read/write locks allow one per direction), or
        // the one thread parked on several (the attempts of a racing connect)
        volatile Thread waiter;
        // set by the poller thread on every event, cleared by the waiter before it re-tries
        volatile boolean ready;
        // the generation of the native poller the descriptor was added to (edge-triggered
        // mode), NOT_ADDED if none: a renewed native poller starts empty, so a registration
        // counts only for the one it was made in (a generation, as a new handle may reuse the
        // number of one closed before)
        volatile long addedIn = NOT_ADDED;
        // the socket that made the registration (written by the parking thread)
        volatile Object owner;

        Watch(Poller poller, int fd) {
            this.poller = poller;
            this.fd = fd;
        }

        /**
         * Whether nothing has happened on the descriptor since the poller's event count was
         * {@code mark}, so that a read which emptied the socket then would find nothing now.
         */
        boolean quietSince(int mark) {
            return events == mark && !readsMayStopShort;
        }
    }

    private final int event;
    private final String name;
    // edge-triggered registrations kept for a descriptor's life, or one-shot arming per park
    // (always so for the master: it must wake only when a loop has parked, not on every event)
    private final boolean edge;
    // the native poller; replaced after repeated failures, so read it fresh for every call
    private volatile long handle;
    // counts the native pollers this one has had; the poller's thread sets handle, then this
    private volatile long generation;
    // descriptor -> its watch: while a thread is parked on it (one-shot), or until it is
    // released (edge-triggered)
    private final Map<Integer, Watch> watches = new ConcurrentHashMap<>();
    private final Function<Integer, Watch> newWatch = fd -> new Watch(this, fd);
    // tests only: how many of this poller's next waits fail on purpose (0 in production)
    private final AtomicInteger injectedFailures = new AtomicInteger();

    private Poller(int event, String name, boolean edge, boolean virtualLoop) throws IOException {
        this.event = event;
        this.name = name;
        this.edge = edge;
        this.handle = Native.pollerCreate();
        Thread t;
        if (virtualLoop) {
            t = VirtualThreads.unstarted(name, this::virtualPollLoop);
        } else {
            t = new Thread(this::pollLoop, name);
            t.setDaemon(true);
        }
        t.start();
    }

    /**
     * One read poller per core (up to 32) where the loops are virtual threads, as the JDK has
     * since 21: with a single loop, a carrier whose threads all wait for input has no poller to
     * run and goes idle in the kernel while the other carrier polls; one poller where loops are
     * platform threads. {@code io.rustsocket.readPollers} overrides the count (rounded down to a
     * power of two), for measurement.
     */
    private static int readPollerCount() {
        int fallback = VIRTUAL_LOOPS ? Math.min(Runtime.getRuntime().availableProcessors(), 32) : 1;
        int chosen = Integer.getInteger("io.rustsocket.readPollers", fallback);
        return Integer.highestOneBit(Math.max(1, Math.min(chosen, 64)));
    }

    private static boolean virtualLoops() {
        String chosen = System.getProperty("io.rustsocket.pollerThreads", "");
        if (!VirtualThreads.AVAILABLE || !Platform.edgeTriggeredPollers() || chosen.equals("platform")) {
            return false;
        }
        return chosen.equals("virtual") || Runtime.version().feature() >= 24;
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
        park(fd, event, nanos, isOpen, null);
    }

    /**
     * {@link #park(int, int, long, BooleanSupplier)} for the socket {@code owner}, which owns
     * {@code fd} until it is released: a registration kept for {@code fd} counts only for the same
     * owner (null: for no one, so the descriptor is registered again at every park).
     *
     * @return the registration the poller keeps for {@code fd} and {@code owner} (edge-triggered
     *     pollers), for {@link #parkAfter}; null where registrations are one-shot
     */
    static Watch park(int fd, int event, long nanos, BooleanSupplier isOpen, Object owner) throws IOException {
        return parkAs(null, 0, fd, event, nanos, isOpen, owner);
    }

    /**
     * Parks the current thread, as {@link #park(int, int, long, BooleanSupplier, Object)} does,
     * until the poller reports an event for {@code kept}'s descriptor after its event count was
     * {@code mark} (at once if it has already). {@code kept} comes from an earlier park of the
     * same owner: no lookup, and no system call unless the registration has to be made again.
     */
    static void parkAfter(Watch kept, int mark, long nanos, BooleanSupplier isOpen, Object owner) throws IOException {
        parkAs(kept, mark, kept.fd, kept.poller.event, nanos, isOpen, owner);
    }

    private static Watch parkAs(Watch kept, int mark, int fd, int event, long nanos, BooleanSupplier isOpen,
            Object owner) throws IOException {
        boolean virtual = currentIsVirtual();
        // a platform thread ignores interrupts in socket calls, as the JDK's blocking calls do:
        // a pending interrupt would make every park return at once, so it is set aside for the
        // wait and restored after
        boolean interrupted = !virtual && Thread.interrupted();
        Watch w;
        try {
            w = kept != null
                    ? kept.poller.parkOn(kept, true, mark, nanos, isOpen, owner)
                    : pollerFor(fd, event).parkOn(fd, nanos, isOpen, owner);
        } finally {
            if (!virtual && (interrupted || Thread.interrupted())) {
                Thread.currentThread().interrupt();
            }
        }
        if (virtual && Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException();
        }
        return w;
    }

    /**
     * Parks the current virtual thread until any of the first {@code count} descriptors of
     * {@code fds} is ready for {@code event}, {@code nanos} pass (0: no limit), the socket is
     * closed, or the thread is interrupted: the wait of a connect racing several addresses.
     *
     * @throws InterruptedIOException if the thread is interrupted
     */
    static void parkAny(int[] fds, int count, int event, long nanos, BooleanSupplier isOpen, Object owner)
            throws IOException {
        if (currentIsVirtual()) {
            parkOnAny(fds, count, event, nanos, isOpen, owner);
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedIOException();
            }
        } else {
            boolean interrupted = Thread.interrupted();
            try {
                parkOnAny(fds, count, event, nanos, isOpen, owner);
            } finally {
                if (interrupted || Thread.interrupted()) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** Unparks the virtual threads parked on {@code fd} in the pollers it was armed in. */
    static void wake(int fd, boolean read, boolean write) {
        inPollersOf(fd, read, write, p -> p.unpark(fd));
    }

    /**
     * Removes {@code fd} from the pollers it was armed in; called while no thread uses it, just
     * before it is closed. A failure is logged: the kernel drops the registration at close anyway.
     */
    static void deregister(int fd, boolean read, boolean write) {
        inPollersOf(fd, read, write, p -> p.delete(fd));
    }

    /**
     * Drops whatever the pollers keep for {@code fd}, just before it is closed (every close of a
     * socket's descriptor comes here, including one by the cleaner): a watch kept for a closed
     * descriptor would say "registered" to the next socket given the same number, which the
     * kernel dropped from the epoll instance at close.
     */
    static void forget(int fd) {
        inPollersOf(fd, true, true, p -> p.watches.remove(fd));
    }

    /**
     * Tests only: makes the next {@code count} waits of the poller that watches {@code fd} for
     * {@code event} fail, as a failure inside its thread would (the first is seen once the
     * poller's current wait returns).
     */
    static void injectFailures(int fd, int event, int count) throws IOException {
        pollerFor(fd, event).injectedFailures.set(count);
    }

    /**
     * Tests only: the native handle of the poller that watches {@code fd} for {@code event},
     * starting the pollers if needed.
     */
    static long handleForTest(int fd, int event) throws IOException {
        return pollerFor(fd, event).handle;
    }

    /** The poller that watches {@code fd} for {@code event}, starting the pollers if needed. */
    private static Poller pollerFor(int fd, int event) throws IOException {
        Poller[] all = event == Native.POLLIN ? readPollers : writePollers;
        if (all == null) {
            all = start(event);
        }
        return pick(all, fd);
    }

    /** The poller among {@code all} that watches {@code fd}: always the same one for a number. */
    private static Poller pick(Poller[] all, int fd) {
        return all[fd & (all.length - 1)];
    }

    /**
     * Runs {@code action} on the read poller (if {@code read}) and the write poller (if
     * {@code write}) of {@code fd}, each only if the pollers of its kind have started.
     */
    private static void inPollersOf(int fd, boolean read, boolean write, Consumer<Poller> action) {
        Poller[] r = readPollers;
        if (read && r != null) {
            action.accept(pick(r, fd));
        }
        Poller[] w = writePollers;
        if (write && w != null) {
            action.accept(pick(w, fd));
        }
    }

    private static Poller[] start(int event) throws IOException {
        synchronized (START_LOCK) {
            boolean edge = Platform.edgeTriggeredPollers();
            if (VIRTUAL_LOOPS && master == null) {
                master = new Poller(Native.POLLIN, "rustsocket-master-poller", false, false);
            }
            if (event == Native.POLLIN) {
                if (readPollers == null) {
                    readPollers = startPollers(Native.POLLIN, "rustsocket-read-poller", READ_POLLERS, edge);
                }
                return readPollers;
            }
            if (writePollers == null) {
                // one is enough: writers park only when the peer reads more slowly than they write
                writePollers = startPollers(Native.POLLOUT, "rustsocket-write-poller", 1, edge);
            }
            return writePollers;
        }
    }

    private static Poller[] startPollers(int event, String name, int count, boolean edge) throws IOException {
        Poller[] pollers = new Poller[count];
        for (int i = 0; i < count; i++) {
            pollers[i] = new Poller(event, count == 1 ? name : name + "-" + i, edge, VIRTUAL_LOOPS);
        }
        return pollers;
    }

    private void unpark(int fd) {
        Watch w = watches.get(fd);
        if (w != null) {
            Thread t = w.waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    /**
     * An event, as {@link Native#pollerWait} reports it: the descriptor, or its complement when
     * the event said more than "ready" (see {@link Watch#readsMayStopShort}). Counts it and marks
     * the watch ready, then wakes its waiter (in that order: see parkOn).
     */
    private void ready(int reported) {
        int fd = reported < 0 ? ~reported : reported;
        Watch w = watches.get(fd);
        if (w != null) {
            if (reported < 0) {
                w.readsMayStopShort = true;
            }
            w.events++; // only this poller's thread writes it
            w.ready = true;
            Thread t = w.waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    private void delete(int fd) {
        watches.remove(fd);
        try {
            Native.pollerDelete(handle, fd);
        } catch (IOException | RuntimeException e) {
            log(System.Logger.Level.DEBUG, name + ": could not remove descriptor " + fd, e);
        }
    }

    /**
     * Makes the current thread the waiter of {@code fd}'s watch and registers or arms the
     * descriptor; the watch's ready flag, read after this, says whether an event came first.
     */
    private Watch enlist(int fd, Thread me, Object owner) throws IOException {
        return enlist(watches.computeIfAbsent(fd, newWatch), me, owner);
    }

    private Watch enlist(Watch w, Thread me, Object owner) throws IOException {
        int fd = w.fd;
        if (!Watch.WAITER.compareAndSet(w, null, me)) {
            throw twoParked(fd, w.waiter, me);
        }
        try {
            if (w.owner != owner || owner == null) {
                // a watch left by another user of the number (one closed outside the
                // library's close path) says nothing about this one's registration
                w.owner = owner;
                w.addedIn = NOT_ADDED;
            }
            register(w);
        } catch (IOException | RuntimeException e) {
            dismiss(fd, w);
            throw e;
        }
        return w;
    }

    /**
     * Arms (one-shot) or adds (edge-triggered, once per native poller) {@code w}'s descriptor in
     * the current native poller. A renewal by the poller's thread may replace the handle
     * meanwhile: the registration is then made again in the new one (the renewal's wake-up
     * reaches the caller, already the waiter, either way).
     */
    private void register(Watch w) throws IOException {
        while (true) {
            long g = generation;
            long h = handle;
            try {
                if (!edge) {
                    Native.pollerArm(h, w.fd, event);
                } else if (w.addedIn != g) {
                    Native.pollerWatch(h, w.fd, event);
                    w.addedIn = g;
                }
            } catch (IOException | RuntimeException e) {
                if (generation == g) {
                    throw e;
                }
                continue; // the handle was closed under us by a renewal
            }
            if (generation == g) {
                return;
            }
        }
    }

    /**
     * Ends a park on {@code fd}: clears the ready flag before the caller re-tries, so that only
     * an event after that try can set it again. One-shot: the watch goes (an armed registration
     * that fires later finds no watch and is ignored; a stray unpark only makes a caller
     * re-check, which every caller does).
     */
    private void dismiss(int fd, Watch w) {
        w.ready = false;
        w.waiter = null;
        if (!edge) {
            watches.remove(fd, w);
        }
    }

    /** Parks on {@code fd} unless an event came since the last park; returns the kept watch. */
    private Watch parkOn(int fd, long nanos, BooleanSupplier isOpen, Object owner) throws IOException {
        return parkOn(watches.computeIfAbsent(fd, newWatch), false, 0, nanos, isOpen, owner);
    }

    /**
     * Parks on {@code w}'s descriptor unless an event came since the last park, or with
     * {@code afterMark}, unless the event count has moved from {@code mark}. Returns the watch
     * if the poller keeps it (edge-triggered, for an owner), else null.
     */
    private Watch parkOn(Watch w, boolean afterMark, int mark, long nanos, BooleanSupplier isOpen, Object owner)
            throws IOException {
        enlist(w, Thread.currentThread(), owner);
        try {
            if (afterMark ? w.events == mark : !w.ready) {
                parkIfOpen(nanos, isOpen);
            }
        } finally {
            dismiss(w.fd, w);
        }
        return edge && owner != null ? w : null;
    }

    /** Enlists the current thread on each descriptor, in the poller of each, and parks once. */
    private static void parkOnAny(int[] fds, int count, int event, long nanos, BooleanSupplier isOpen,
            Object owner) throws IOException {
        Thread me = Thread.currentThread();
        Poller[] pollers = new Poller[count];
        Watch[] enlisted = new Watch[count];
        int registered = 0;
        try {
            boolean anyReady = false;
            for (int i = 0; i < count; i++) {
                pollers[i] = pollerFor(fds[i], event);
                enlisted[i] = pollers[i].enlist(fds[i], me, owner);
                registered++;
                anyReady |= enlisted[i].ready;
            }
            if (!anyReady) {
                parkIfOpen(nanos, isOpen);
            }
        } finally {
            for (int i = 0; i < registered; i++) {
                pollers[i].dismiss(fds[i], enlisted[i]);
            }
        }
    }

    /** The error for a second thread parking on a descriptor, with where the first one waits. */
    private static IllegalStateException twoParked(int fd, Thread other, Thread me) {
        StringBuilder sb = new StringBuilder("two threads parked on descriptor ").append(fd).append(": ")
                .append(other).append(" and ").append(me);
        if (other != null) { // null: the first left meanwhile
            sb.append("; the first waits at");
            for (StackTraceElement e : other.getStackTrace()) {
                sb.append("\n\tat ").append(e);
            }
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
                    ready(ready[i]);
                }
                failures = 0;
            } catch (Throwable e) {
                failures++;
                recover(e, failures);
            }
        }
    }

    /**
     * The loop of a poller run by a virtual thread: takes what is ready without waiting, and
     * while something was, yields to the threads it unparked and polls again; when nothing was,
     * parks until the master poller sees this poller's epoll descriptor readable.
     */
    private void virtualPollLoop() {
        int[] ready = new int[256];
        int failures = 0;
        int polled = 0;
        while (true) {
            try {
                if (injectedFailures.get() > 0 && injectedFailures.getAndDecrement() > 0) {
                    throw new IllegalStateException("failure injected by a test");
                }
                if (polled == 0) {
                    long h = handle;
                    master.parkOn((int) h, 0, () -> handle == h, this);
                } else {
                    Thread.yield();
                }
                polled = Native.pollerWait(handle, ready, 0);
                for (int i = 0; i < polled; i++) {
                    ready(ready[i]);
                }
                failures = 0;
            } catch (Throwable e) {
                polled = 0;
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
        wakeAll();
        if (failures >= FAILURES_BEFORE_RENEW) {
            try {
                long old = handle;
                handle = Native.pollerCreate();
                generation++; // only this poller's thread writes it
                Native.pollerClose(old);
                // the new native poller has no registrations: each is made again at the next
                // park (a watch's addedIn names an older generation)
                wakeAll();
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

    /** Marks every watch ready and unparks its waiter: each re-checks its socket. */
    private void wakeAll() {
        for (Watch w : watches.values()) {
            w.events++; // a reader's mark is stale: it reads before it waits again
            w.ready = true;
            Thread t = w.waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    private static void log(System.Logger.Level level, String message, Throwable e) {
        try {
            System.getLogger("io.rustsocket").log(level, "rustsocket: " + message, e);
        } catch (Throwable ignore) {
            // logging must never take the poller down
        }
    }

    /** Virtual threads for the pollers' loops, reached by reflection (the jar targets JDK 17). */
    private static final class VirtualThreads {
        private static final MethodHandle OF_VIRTUAL = ofVirtual();
        static final boolean AVAILABLE = OF_VIRTUAL != null;

        private static MethodHandle ofVirtual() {
            try {
                Class<?> builder = Class.forName("java.lang.Thread$Builder");
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                MethodHandle of = lookup.findStatic(Thread.class, "ofVirtual",
                        MethodType.methodType(Class.forName("java.lang.Thread$Builder$OfVirtual")));
                MethodHandle unstarted = lookup.findVirtual(builder, "unstarted",
                        MethodType.methodType(Thread.class, Runnable.class));
                // () -> Thread.ofVirtual(), then builder.unstarted(runnable)
                return MethodHandles.collectArguments(unstarted, 0,
                        of.asType(MethodType.methodType(builder)));
            } catch (ReflectiveOperationException e) {
                return null; // JDK 17-20
            }
        }

        static Thread unstarted(String name, Runnable body) {
            try {
                Thread t = (Thread) OF_VIRTUAL.invoke(body);
                t.setName(name);
                return t;
            } catch (Throwable e) {
                throw new IllegalStateException("cannot make a virtual thread", e);
            }
        }
    }
}
