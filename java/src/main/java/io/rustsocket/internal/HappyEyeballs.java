package io.rustsocket.internal;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A connect that races several addresses, as RFC 8305 (Happy Eyeballs) describes: a connect to
 * the first endpoint on the socket's own descriptor, then one more every connection attempt
 * delay (at once when the attempts so far have all failed) on extra descriptors carrying the
 * same options and local address; the first that connects wins. The winner's descriptor
 * becomes the socket's and every other one is closed before {@link #run} returns. It fails with
 * {@code SocketTimeoutException} when the timeout passes first, or with the first endpoint's
 * error (the others suppressed) when all fail. A socket bound to a fixed local port tries one
 * endpoint at a time, since two sockets cannot hold that port.
 *
 * <p>The race holds the socket's read lock and counts as the socket's one connecting thread, so
 * {@code close()} from another thread wakes it, its extra descriptors included ({@link
 * #wakeAttempts}).
 */
public final class HappyEyeballs {
    /** Most connect attempts one race keeps running at once. */
    private static final int MAX_RACING = 64;

    private final RustSocketImpl socket;
    private final List<InetSocketAddress> order;
    private final long timeoutNanos;
    private final long delayNanos;
    private final boolean oneAtATime;
    // descriptors of attempts other than the socket's own, under the socket's state lock
    private final List<Integer> extras = new ArrayList<>();

    /** One connect attempt: its endpoint and descriptor. */
    private static final class Attempt {
        final InetSocketAddress target;
        final int fd;
        // the attempt runs on the socket's own descriptor, not an extra one
        final boolean own;
        // it failed (and, unless own, its descriptor is closed)
        boolean done;

        Attempt(InetSocketAddress target, int fd, boolean own) {
            this.target = target;
            this.fd = fd;
            this.own = own;
        }
    }

    HappyEyeballs(RustSocketImpl socket, List<InetSocketAddress> endpoints, int millis, int delayMillis) {
        this.socket = socket;
        this.order = interleaveFamilies(endpoints);
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(millis);
        this.delayNanos = TimeUnit.MILLISECONDS.toNanos(delayMillis);
        this.oneAtATime = socket.requestedLocalPort() != 0;
    }

    /**
     * RFC 8305 section 4: alternate the address families, starting with the family of the first
     * endpoint, keeping the caller's order within each family.
     *
     * @param endpoints resolved endpoints, at least one
     * @return the order in which a race tries them
     */
    public static List<InetSocketAddress> interleaveFamilies(List<InetSocketAddress> endpoints) {
        List<InetSocketAddress> first = new ArrayList<>();
        List<InetSocketAddress> other = new ArrayList<>();
        boolean firstIsV6 = endpoints.get(0).getAddress() instanceof Inet6Address;
        for (InetSocketAddress e : endpoints) {
            ((e.getAddress() instanceof Inet6Address) == firstIsV6 ? first : other).add(e);
        }
        List<InetSocketAddress> order = new ArrayList<>(endpoints.size());
        for (int i = 0; i < Math.max(first.size(), other.size()); i++) {
            if (i < first.size()) {
                order.add(first.get(i));
            }
            if (i < other.size()) {
                order.add(other.get(i));
            }
        }
        return order;
    }

    /** Runs the race; on return the socket is connected to the winner. */
    void run() throws IOException {
        long start = System.nanoTime();
        List<Attempt> running = new ArrayList<>();
        List<IOException> failures = new ArrayList<>();
        Attempt winner = null;
        socket.readLock.lock();
        try {
            InetSocketAddress first = order.get(0);
            int ownFd = socket.beginConnect(RustSocketImpl.connectableAddress(first.getAddress()), first.getPort());
            synchronized (socket.stateLock) {
                socket.setRace(this);
            }
            boolean ownUsed = false;
            try {
                int next = 0;
                long nextStart = start;
                int[] fds = new int[order.size()];
                int[] revents = new int[order.size()];
                while (winner == null && socket.isOpen()) {
                    long now = System.nanoTime();
                    boolean room = running.size() < MAX_RACING;
                    if (next < order.size() && (running.isEmpty() || (room && !oneAtATime && now - nextStart >= 0))) {
                        InetSocketAddress target = order.get(next++);
                        nextStart = now + delayNanos;
                        Attempt a = null;
                        try {
                            if (!ownUsed) {
                                ownUsed = true;
                                a = new Attempt(target, ownFd, true);
                            } else if (oneAtATime) {
                                ownFd = socket.reopenForNextAttempt();
                                a = new Attempt(target, ownFd, true);
                            } else {
                                a = new Attempt(target, openExtra(), false);
                            }
                            RustSocketImpl.checkFamily(target.getAddress());
                            InetAddress ip = RustSocketImpl.connectableAddress(target.getAddress());
                            if (Native.connect(a.fd, ip.getAddress(), AddressWire.scopeId(ip), target.getPort()) > 0) {
                                winner = a;
                            } else {
                                running.add(a);
                            }
                        } catch (IOException e) {
                            failures.add(e);
                            if (a != null) {
                                closeAttempt(a);
                            }
                            nextStart = now;
                        }
                        continue;
                    }
                    if (running.isEmpty()) {
                        break; // every endpoint failed
                    }
                    long waitNanos = 0;
                    if (timeoutNanos > 0) {
                        waitNanos = timeoutNanos - (now - start);
                        if (waitNanos <= 0) {
                            SocketTimeoutException e = new SocketTimeoutException("Connect timed out");
                            failures.forEach(e::addSuppressed);
                            throw e;
                        }
                    }
                    if (next < order.size() && !oneAtATime && room) {
                        long untilNext = Math.max(1, nextStart - now);
                        waitNanos = waitNanos == 0 ? untilNext : Math.min(waitNanos, untilNext);
                    }
                    int count = running.size();
                    for (int i = 0; i < count; i++) {
                        fds[i] = running.get(i).fd;
                    }
                    if (SocketDescriptor.waitsInPoller()) {
                        socket.descriptor.armedForWrite(); // the own descriptor, deregistered at release
                        Poller.parkAny(fds, count, Native.POLLOUT, waitNanos, socket::isOpen, socket.descriptor);
                        Native.pollAny(fds, count, Native.POLLOUT, 0, revents);
                    } else {
                        Native.pollAny(fds, count, Native.POLLOUT, SocketDescriptor.pollMillis(waitNanos), revents);
                    }
                    if (!socket.isOpen()) {
                        break;
                    }
                    for (int i = 0; i < count && winner == null; i++) {
                        if (revents[i] == 0) {
                            continue;
                        }
                        Attempt a = running.get(i);
                        try {
                            Native.connectResult(a.fd, timeoutNanos == 0 && !Poller.currentIsVirtual());
                            winner = a;
                        } catch (IOException e) {
                            failures.add(e);
                            closeAttempt(a);
                            nextStart = System.nanoTime(); // the next endpoint starts now
                        }
                    }
                    running.removeIf(a -> a.done);
                }
            } finally {
                boolean connected = false;
                try {
                    for (Attempt a : running) {
                        if (a != winner) {
                            closeAttempt(a);
                        }
                    }
                    connected = winner != null && adopt(winner);
                    if (connected) {
                        synchronized (socket.stateLock) {
                            ownFd = socket.descriptor.fd();
                        }
                        socket.connectedBlocking();
                    }
                } finally {
                    synchronized (socket.stateLock) {
                        socket.setRace(null);
                    }
                    socket.endConnect(ownFd, connected);
                }
            }
        } finally {
            socket.readLock.unlock();
        }
        if (winner == null) {
            if (failures.isEmpty()) {
                throw new SocketException("Socket closed");
            }
            IOException first = failures.get(0);
            for (IOException e : failures.subList(1, failures.size())) {
                first.addSuppressed(e);
            }
            throw first;
        }
    }

    /** Shuts the extra descriptors down, waking the race; called by close() under the state lock. */
    void wakeAttempts() {
        for (int fd : extras) {
            try {
                Native.shutdown(fd, Native.SHUT_RDWR);
            } catch (IOException ignore) {
                // not connected yet: the wait for it returns all the same
            }
        }
    }

    /**
     * A fresh non-blocking descriptor for an attempt, with the options set on the socket before
     * connect and its local address (any port); close() will wake it.
     */
    private int openExtra() throws IOException {
        int fd = Native.socket(false);
        try {
            Map<OptionTable.Row, Object> presets = StreamOptions.presets(socket);
            SocketDefaults.apply(fd);
            StreamOptions.apply(fd, presets);
            InetAddress local = socket.requestedLocalAddress();
            if (local != null) {
                Native.bind(fd, local.getAddress(), AddressWire.scopeId(local), 0);
            }
            synchronized (socket.stateLock) {
                if (!socket.isConnecting()) {
                    throw new SocketException("Socket closed");
                }
                extras.add(fd);
            }
            return fd;
        } catch (IOException | RuntimeException e) {
            Native.close(fd);
            throw e;
        }
    }

    /** Marks an attempt failed and closes its descriptor unless it is the socket's own. */
    private void closeAttempt(Attempt a) {
        a.done = true;
        if (a.own) {
            return;
        }
        synchronized (socket.stateLock) {
            extras.remove(Integer.valueOf(a.fd));
        }
        Poller.deregister(a.fd, false, true);
        Native.close(a.fd);
    }

    /**
     * Makes the winning attempt the socket's connection: its descriptor replaces the own one
     * (which is closed) unless it is the own one. False, with the winner closed, if close()
     * came first.
     */
    private boolean adopt(Attempt winner) throws IOException {
        InetAddress peer = RustSocketImpl.connectableAddress(winner.target.getAddress());
        synchronized (socket.stateLock) {
            if (!winner.own) {
                extras.remove(Integer.valueOf(winner.fd));
            }
            if (!socket.isConnecting()) {
                if (!winner.own) {
                    Poller.deregister(winner.fd, false, true);
                    Native.close(winner.fd);
                }
                return false;
            }
            if (winner.own) {
                socket.setPeer(peer, winner.target.getPort());
            } else {
                socket.adopt(winner.fd, peer, winner.target.getPort());
                if (SocketDescriptor.waitsInPoller()) {
                    socket.descriptor.armedForWrite(); // it was armed while racing
                }
            }
            return true;
        }
    }
}
