package io.rustsocket.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The virtual-thread poller under faults: a failure inside its thread wakes the threads parked
 * on it, which re-arm and are woken again later, and polling goes on; a released descriptor is
 * removed from the poller. Needs virtual threads (JDK 21+: CI's JDK 25 pass runs it).
 */
class PollerTest {
    private static final int READERS = 8;

    /** Starts {@code body} on a new virtual thread, or skips the test where there are none. */
    private static Thread startVirtual(Runnable body) throws Exception {
        Method ofVirtual;
        try {
            ofVirtual = Thread.class.getMethod("ofVirtual");
        } catch (NoSuchMethodException e) {
            Assumptions.abort("no virtual threads on " + Runtime.version());
            throw e;
        }
        Object builder = ofVirtual.invoke(null);
        Method start = Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class);
        return (Thread) start.invoke(builder, body);
    }

    /** Skips the test (before it starts any thread) where no epoll instance can be read from /proc. */
    private static void assumeEpoll() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.name", "").startsWith("Linux"),
                "needs Linux: reads the epoll instance's registrations from /proc/self/fdinfo");
    }

    /** Whether {@code fd} is registered in its poller for {@code event}, read from /proc. */
    private static boolean registered(int fd, int event) throws IOException {
        Set<Integer> fds = new HashSet<>();
        long handle = Poller.handleForTest(fd, event);
        for (String line : Files.readAllLines(Paths.get("/proc/self/fdinfo/" + handle))) {
            if (line.startsWith("tfd:")) {
                fds.add(Integer.parseInt(line.trim().split("\\s+")[1]));
            }
        }
        return fds.contains(fd);
    }

    private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            Thread.sleep(5);
        }
    }

    /** Reads one byte from non-blocking {@code fd}, parking in the poller until it comes. */
    private static int readParked(int fd) throws IOException {
        byte[] b = new byte[1];
        int n;
        while ((n = Native.read(fd, b, 0, 1)) == Native.UNAVAILABLE) {
            Poller.park(fd, Native.POLLIN, 0, () -> true);
        }
        return n;
    }

    @Test
    void aFailureInThePollerWakesItsThreadsAndPollingGoesOn() throws Exception {
        assumeEpoll();
        int[][] pairs = new int[READERS][];
        AtomicIntegerArray got = new AtomicIntegerArray(READERS);
        CountDownLatch done = new CountDownLatch(READERS);
        Thread[] readers = new Thread[READERS];
        try {
            for (int i = 0; i < READERS; i++) {
                pairs[i] = RawSockets.pair();
                Native.configureBlocking(pairs[i][1], false);
            }
            for (int i = 0; i < READERS; i++) {
                int index = i;
                readers[i] = startVirtual(() -> {
                    try {
                        got.set(index, readParked(pairs[index][1]));
                    } catch (IOException e) {
                        got.set(index, -100);
                    } finally {
                        done.countDown();
                    }
                });
            }
            eventually("every reader is parked", () -> {
                try {
                    for (int[] p : pairs) {
                        if (!registered(p[1], Native.POLLIN)) {
                            return false;
                        }
                    }
                    for (Thread t : readers) {
                        if (t.getState() != Thread.State.WAITING) {
                            return false;
                        }
                    }
                    return true;
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            // the poller of the first reader's descriptor (the others may share it or not)
            int first = pairs[0][1];
            long before = Poller.handleForTest(first, Native.POLLIN);
            // three failures in a row: the poller wakes everyone each time, then renews itself
            Poller.injectFailures(first, Native.POLLIN, 3);
            assertEquals(1, Native.write(pairs[0][0], new byte[] {42}, 0, 1));
            eventually("the first reader got its byte", () -> got.get(0) == 1);
            eventually("the poller renewed itself", () -> {
                try {
                    return Poller.handleForTest(first, Native.POLLIN) != before;
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            // the others of that poller were woken, found nothing and parked again in the new one
            eventually("every other reader re-armed in its poller", () -> {
                try {
                    for (int i = 1; i < READERS; i++) {
                        if (!registered(pairs[i][1], Native.POLLIN) || readers[i].getState() != Thread.State.WAITING) {
                            return false;
                        }
                    }
                    return true;
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            for (int i = 1; i < READERS; i++) {
                assertEquals(1, Native.write(pairs[i][0], new byte[] {(byte) i}, 0, 1));
            }
            assertTrue(done.await(10, TimeUnit.SECONDS), "a reader stayed parked: " + got);
            for (int i = 0; i < READERS; i++) {
                assertEquals(1, got.get(i), "reader " + i);
            }
            assertNotEquals(before, Poller.handleForTest(first, Native.POLLIN));
        } finally {
            for (int[] p : pairs) {
                if (p != null) {
                    RawSockets.closeAll(p);
                }
            }
        }
    }

    @Test
    void deregisterRemovesAnOpenDescriptorFromThePoller() throws Exception {
        assumeEpoll();
        int[] p = RawSockets.pair();
        try {
            Native.configureBlocking(p[1], false);
            CountDownLatch read = new CountDownLatch(1);
            startVirtual(() -> {
                try {
                    readParked(p[1]);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                } finally {
                    read.countDown();
                }
            });
            eventually("the reader is armed", () -> {
                try {
                    return registered(p[1], Native.POLLIN);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            Native.write(p[0], new byte[] {1}, 0, 1);
            assertTrue(read.await(10, TimeUnit.SECONDS));
            // one-shot: disarmed, but still registered until deregistered
            assertTrue(registered(p[1], Native.POLLIN));
            Poller.deregister(p[1], true, false);
            assertFalse(registered(p[1], Native.POLLIN), "still registered after deregister");
        } finally {
            RawSockets.closeAll(p);
        }
    }

    /** Parks a virtual thread as {@code owner} until {@code fd} is readable, after {@code trigger} ran. */
    private static void parkedUntilReadable(int fd, Object owner, Runnable trigger) throws Exception {
        Thread t = startVirtual(() -> {
            try {
                while (Native.poll(fd, Native.POLLIN, 0) == 0) {
                    Poller.park(fd, Native.POLLIN, 0, () -> true, owner);
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        eventually("the thread parks", () -> t.getState() == Thread.State.WAITING);
        trigger.run();
        t.join(10_000);
        assertFalse(t.isAlive(), "the parked thread was not woken");
    }

    /**
     * A descriptor closed outside the library's close path leaves its watch behind (with
     * edge-triggered pollers: "registered"); the socket that gets the number next must be
     * registered again, or its first park would never be woken.
     */
    @Test
    void aDescriptorNumberReusedAfterACloseOutsideTheLibraryStillWakes() throws Exception {
        int[] first = RawSockets.pair();
        int[] second = null;
        int extra = -1;
        boolean firstReaderOpen = true;
        try {
            Native.configureBlocking(first[1], false);
            parkedUntilReadable(first[1], new Object(), () -> assertEquals(1, write(first[0])));
            int number = first[1];
            Native.close(first[1]); // no Poller.forget: the watch stays
            firstReaderOpen = false;
            second = RawSockets.pair(); // its listener, opened first, takes the lowest free number
            Assumptions.assumeTrue(second[2] == number, "the descriptor number was not reused");
            int listener = second[2];
            int[] client = {-1};
            parkedUntilReadable(listener, new Object(), () -> {
                try {
                    client[0] = Native.socket(false);
                    Native.connect(client[0], RawSockets.LOOPBACK, 0, AddressWire.localOf(listener).getPort());
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            extra = client[0];
        } finally {
            Native.close(first[0]);
            Native.close(first[2]);
            if (firstReaderOpen) {
                Native.close(first[1]);
            }
            if (second != null) {
                RawSockets.closeAll(second);
            }
            if (extra >= 0) {
                Native.close(extra);
            }
        }
    }

    private static int write(int fd) {
        try {
            return Native.write(fd, new byte[] {1}, 0, 1);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
