package io.rustsocket.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.Objects;

/**
 * Batched datagram I/O on a {@link RustDatagramSocketImpl} (behind
 * {@code RustDatagramSocket.send(DatagramBatch)} and {@code receive(DatagramBatch)}): one
 * {@code sendmmsg} or {@code recvmmsg} per {@link NativeDatagram#MAX_BATCH} datagrams, under the
 * socket's write or read lock, with its waits, timeout and close. Addresses stay in the
 * {@link AddressWire} layout, so the steady state allocates nothing.
 */
public final class DatagramBatches {
    private DatagramBatches() {}

    /**
     * Refuses a Unix socket: a batch holds IP addresses, and Linux's batched sends would merge
     * the datagrams a UDP socket has segmented for it.
     */
    private static void checkUdp(RustDatagramSocketImpl s) {
        if (s.unix != null) {
            throw new UnsupportedOperationException("Datagram batches are for UDP sockets, not Unix domain ones");
        }
    }

    /**
     * Sends slots {@code from..from+count} of a batch, one {@code sendmmsg} per
     * {@link NativeDatagram#MAX_BATCH}: slot {@code i} holds {@code lens[i]} bytes at
     * {@code data[i * slot..]} for the address at {@code targets[i * AddressWire.LEN..]}
     * (byte 0 zero: the connected peer). Every target is checked before the first datagram
     * goes, so that a bad one sends nothing. Blocks while the send buffer is full (until at
     * least one is sent). Returns how many were sent, counted from {@code from}; fewer than
     * {@code count} when the next one failed or would block, and sending from there again
     * reports why.
     *
     * @throws IOException if the first datagram fails, or the socket is closed
     */
    public static int send(RustDatagramSocketImpl s, byte[] data, int slot, int[] lens, byte[] targets, int from,
                           int count) throws IOException {
        try {
            // the native side copies whole ranges: check them here, where a mistake is an exception
            Objects.checkFromIndexSize(from, count, lens.length);
            Objects.checkFromIndexSize((long) from * slot, (long) count * slot, data.length);
            Objects.checkFromIndexSize((long) from * AddressWire.LEN, (long) count * AddressWire.LEN, targets.length);
            checkUdp(s);
            s.writeLock.lock();
            try {
                if (!s.isOpen()) {
                    throw new SocketException("Socket closed");
                }
                if (count == 0) {
                    return 0;
                }
                InetSocketAddress peer = s.remote;
                for (int i = from; i < from + count; i++) {
                    int at = i * AddressWire.LEN;
                    if (targets[at] == 0 && peer == null) {
                        throw new IllegalArgumentException("Address not set");
                    }
                    if (targets[at] != 0 && peer != null && !AddressWire.same(targets, at, s.remoteWire, 0)) {
                        throw new IllegalArgumentException("Connected and packet address differ");
                    }
                }
                s.bindIfNeeded();
                int sent = 0;
                while (sent < count) {
                    int chunk = Math.min(count - sent, NativeDatagram.MAX_BATCH);
                    int n;
                    try {
                        n = sendChunk(s, data, slot, lens, targets, from + sent, chunk);
                    } catch (IOException e) {
                        if (sent == 0) {
                            throw e;
                        }
                        // what went is reported; sending from the failed one again throws this
                        return sent;
                    }
                    sent += n;
                    if (n < chunk) {
                        break;
                    }
                }
                return sent;
            } finally {
                s.writeLock.unlock();
            }
        } catch (InterruptedIOException e) {
            throw s.interrupted(e);
        }
    }

    /** One {@code sendmmsg} of at most {@link NativeDatagram#MAX_BATCH}, under the write lock. */
    private static int sendChunk(RustDatagramSocketImpl s, byte[] data, int slot, int[] lens, byte[] targets,
                                 int from, int count) throws IOException {
        int n = Native.UNAVAILABLE;
        int fd = s.descriptor.begin(false);
        try {
            s.descriptor.configureNonBlockingIfNeeded(fd, false);
            n = NativeDatagram.sendBatch(fd, data, slot, lens, targets, from, count);
            while (n == Native.UNAVAILABLE && s.isOpen()) {
                s.park(fd, Native.POLLOUT, 0);
                n = NativeDatagram.sendBatch(fd, data, slot, lens, targets, from, count);
            }
            return n;
        } finally {
            s.descriptor.end(false, n >= 0);
        }
    }

    /**
     * Receives up to {@code count} datagrams, one {@code recvmmsg} per
     * {@link NativeDatagram#MAX_BATCH}: waits up to SO_TIMEOUT for the first, then takes only
     * what is already queued. Datagram {@code i} lands at {@code data[i * slot..]}, its length
     * in {@code lens[i]} ({@code -length - 1} when cut to the slot), its sender at
     * {@code senders[i * AddressWire.LEN..]}.
     *
     * @return how many datagrams were received, at least 1
     * @throws SocketTimeoutException if SO_TIMEOUT passed with nothing received
     */
    public static int receive(RustDatagramSocketImpl s, byte[] data, int slot, int[] lens, byte[] senders, int count)
            throws IOException {
        try {
            Objects.checkFromIndexSize(0, count, lens.length);
            Objects.checkFromIndexSize(0L, (long) count * slot, data.length);
            Objects.checkFromIndexSize(0L, (long) count * AddressWire.LEN, senders.length);
            checkUdp(s);
            long nanos = s.lockForReceive();
            try {
                s.bindIfNeeded();
                int n = Native.UNAVAILABLE;
                int fd = s.descriptor.begin(true);
                try {
                    s.descriptor.configureNonBlockingIfNeeded(fd, nanos > 0);
                    boolean connected = s.remote != null;
                    int first = Math.min(count, NativeDatagram.MAX_BATCH);
                    long start = SocketDescriptor.timeoutStart(nanos);
                    n = NativeDatagram.receiveBatch(fd, data, slot, lens, senders, 0, first, connected, true);
                    while (n == Native.UNAVAILABLE && s.isOpen()) {
                        s.awaitReadable(fd, start, nanos);
                        n = NativeDatagram.receiveBatch(fd, data, slot, lens, senders, 0, first, connected, true);
                    }
                    // a full call may have left more queued: take it without waiting, up to count
                    int chunk = first;
                    while (n > 0 && n < count && chunk == NativeDatagram.MAX_BATCH && s.isOpen()) {
                        chunk = Math.min(count - n, NativeDatagram.MAX_BATCH);
                        int more;
                        try {
                            more = NativeDatagram.receiveBatch(fd, data, slot, lens, senders, n, chunk, connected, false);
                        } catch (IOException e) {
                            break; // what arrived is returned; the error belongs to a later receive
                        }
                        if (more <= 0) {
                            break;
                        }
                        n += more;
                        if (more < chunk) {
                            break;
                        }
                    }
                    return n;
                } finally {
                    s.descriptor.end(true, n >= 0);
                }
            } finally {
                s.readLock.unlock();
            }
        } catch (InterruptedIOException e) {
            throw s.interrupted(e);
        }
    }
}
