package io.rustsocket.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * The byte paths of one {@link RustSocketImpl}: the {@code InputStream} and {@code OutputStream}
 * it hands out, the reads and writes behind them (chunking, locks, timeouts, waiting in the
 * poller, the choice between the staging buffer and a pinned array, end of stream and reset),
 * and urgent data. The socket's life (entering and leaving a system call, close) stays in
 * {@link RustSocketImpl}; descriptor passing and sendfile build on {@link #write}.
 */
final class SocketStreams {

    /**
     * Largest chunk handed to one native read or write, as in the JDK. The native side's own
     * limit ({@code MAX_CHUNK} in exports/socket.rs) must not be smaller: {@link #readWaiting}
     * takes a read shorter than asked as proof that the socket was empty.
     */
    static final int MAX_BUFFER_SIZE = 128 * 1024;

    /**
     * From this many bytes on, a read or write lets the kernel copy straight between the socket
     * and the caller's array ({@link Native#readNow}, {@link Native#writeNow}: the array is pinned
     * for one call that never waits); below it, the copy through the native staging buffer costs
     * less than pinning. Measured in docs/performance.md.
     */
    static final int PIN_AT_LEAST = 16 * 1024;

    // reads that waited for the poller's next event instead of making a system call that would
    // have found nothing (see readWaiting); for tests and diagnostics
    private static final LongAdder READS_SKIPPED = new LongAdder();
    // calls on a blocking descriptor that polled first because the last one stopped short (see
    // implWrite and largeReadStoppedShort); for tests and diagnostics
    private static final LongAdder POLLED_FIRST = new LongAdder();
    // reads that waited in the kernel and came back without bytes: a read timeout (SO_RCVTIMEO)
    // passed, or a signal; for tests and diagnostics
    private static final LongAdder KERNEL_WAITS_ENDED_EMPTY = new LongAdder();

    private final RustSocketImpl socket;

    private volatile boolean connectionReset;
    // a read saw EOF: later reads return -1 even after close, as the JDK does
    private boolean readEOF;
    // the last read brought PIN_AT_LEAST bytes or more: the peer is streaming, so the next large
    // read on a blocking descriptor is tried without waiting (and without the staging copy);
    // under the read lock
    private boolean readsAreLarge;
    // the last read on a Unix socket was large (readsAreLarge) but took fewer bytes than asked:
    // it emptied the socket (or stopped at a message with descriptors). On a blocking descriptor
    // the next large read, which would be tried without waiting, polls first: a reader that keeps
    // up with its writer otherwise pays a failed read, a poll and a read where the JDK's
    // blocking read makes one call. Not for TCP, whose next try more often finds bytes (measured
    // in docs/performance.md). Under the read lock
    private boolean largeReadStoppedShort;
    // the poller's read-event mark taken before the last read, if that read emptied the socket
    // (see readWaiting); SocketDescriptor.NO_MARK otherwise; under the read lock
    private long emptiedAt = SocketDescriptor.NO_MARK;
    // whether reads can tell when they empty the socket (Native.noticeEmptyReads): 0 not asked
    // yet, 1 yes, -1 no; under the read lock
    private byte emptyReads;
    // the read timeout (SO_RCVTIMEO, ms, 0: none) this object last gave the descriptor, for
    // timed reads that wait in the kernel (see kernelReadTimeout); written under the read lock,
    // read by descriptorShared too
    private volatile int kernelReadTimeout;
    // the descriptor has a duplicate outside this object (see descriptorShared): the kernel read
    // timeout belongs to the socket, which the duplicate shares, so timed reads stop using it
    private volatile boolean descriptorShared;

    SocketStreams(RustSocketImpl socket) {
        this.socket = socket;
    }

    /** A new {@code InputStream} over the socket (java.net.Socket keeps one). */
    InputStream input() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] a = new byte[1];
                int n = SocketStreams.this.read(a, 0, 1);
                return (n > 0) ? (a[0] & 0xff) : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return SocketStreams.this.read(b, off, len);
            }

            @Override
            public int available() throws IOException {
                return socket.available();
            }

            @Override
            public void close() throws IOException {
                socket.close();
            }
        };
    }

    /** A new {@code OutputStream} over the socket. */
    OutputStream output() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                SocketStreams.this.write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                SocketStreams.this.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                socket.close();
            }
        };
    }

    // ---------------------------------------------------------------- reads

    /**
     * Reads, waiting as long as nothing is there ({@code nanos > 0}: at most that long).
     *
     * <p>A TCP read on a thread that waits in the poller does not make the system call when the
     * last read emptied the socket and the poller has reported nothing since: it would find
     * nothing, and that is every other read of a virtual-thread server answering requests. It
     * waits for the next event instead. A read emptied the socket when it took fewer bytes than
     * asked, or, where the kernel can say so ({@link Native#readNoticingEmpty}), when it left
     * nothing behind. Only where the poller's registration is kept (edge-triggered): every
     * arrival then reports an event. Not for Unix sockets, whose reads also stop short between
     * messages that carry descriptors or credentials, with bytes left.
     */
    private int readWaiting(int fd, byte[] b, int off, int len, long nanos, boolean blocking) throws IOException {
        long start = SocketDescriptor.timeoutStart(nanos);
        long mark = socket.descriptor.readMark();
        boolean emptied = mark == emptiedAt && socket.descriptor.quietSince(mark); // false for NO_MARK
        int r;
        if (emptied) {
            READS_SKIPPED.increment();
            r = Native.UNAVAILABLE;
        } else if (largeReadStoppedShort && blocking && len >= PIN_AT_LEAST && !SocketDescriptor.waitsInPoller()) {
            // it would be tried without waiting, and the socket was empty just now: poll(2) first
            POLLED_FIRST.increment();
            r = Native.UNAVAILABLE;
        } else {
            r = readOnce(fd, b, off, len, blocking, true, noticing(fd, mark));
        }
        while (r == Native.UNAVAILABLE && socket.isOpen()) {
            long remaining = 0;
            if (nanos > 0) {
                remaining = nanos - (System.nanoTime() - start);
                if (remaining <= 0) {
                    throw new SocketTimeoutException("Read timed out");
                }
            }
            socket.descriptor.parkForRead(fd, remaining, mark);
            mark = socket.descriptor.readMark();
            // a timed read on a blocking descriptor waited in the kernel already: after the poll
            // it must not wait there again, up to the whole read timeout
            r = readOnce(fd, b, off, len, blocking, nanos == 0, noticing(fd, mark));
        }
        int n = r > 0 ? r & ~Native.EMPTIED : r;
        boolean nowEmpty = n > 0 && socket.unix == null && (n < len || (r & Native.EMPTIED) != 0);
        emptiedAt = nowEmpty ? mark : SocketDescriptor.NO_MARK;
        largeReadStoppedShort = n > 0 && n < len && readsAreLarge && socket.unix != null;
        return n;
    }

    /** See {@link RustSocketImpl#readsSkipped()}. */
    static long readsSkipped() {
        return READS_SKIPPED.sum();
    }

    /** See {@link RustSocketImpl#polledFirst()}. */
    static long polledFirst() {
        return POLLED_FIRST.sum();
    }

    /** See {@link RustSocketImpl#kernelWaitsEndedEmpty()}. */
    static long kernelWaitsEndedEmpty() {
        return KERNEL_WAITS_ENDED_EMPTY.sum();
    }

    /**
     * The descriptor {@code fd} is about to get a duplicate that another owner holds (descriptor
     * passing): its socket's read timeout, shared with that owner, goes back to none, and timed
     * reads wait in poll(2) from now on, as they do elsewhere, since the other owner may change it.
     * Under the socket's state lock.
     */
    void descriptorShared(int fd) throws IOException {
        descriptorShared = true;
        // a read that checked the flag just before it was set may still give one after this
        // (a narrow race, left as is: the other owner's timed reads would then wait longer)
        if (kernelReadTimeout != 0) {
            Native.setReadTimeout(fd, 0);
            kernelReadTimeout = 0;
        }
    }

    /**
     * Whether reads should say when they empty the socket: a TCP socket whose reads wait for
     * the poller's events ({@code mark} is one), where the kernel can tell (asked once).
     */
    private boolean noticing(int fd, long mark) throws IOException {
        if (mark == SocketDescriptor.NO_MARK || socket.unix != null) {
            return false;
        }
        if (emptyReads == 0) {
            emptyReads = Native.noticeEmptyReads(fd) ? (byte) 1 : (byte) -1;
        }
        return emptyReads > 0;
    }

    /**
     * Gives a blocking TCP descriptor the read timeout of this read ({@code nanos}, 0: none), in
     * whole milliseconds rounded up, so that the read waits in the kernel no longer than it may;
     * a system call only when that differs from the last read's (a socket's SO_TIMEOUT seldom
     * changes). The read stops early only on a signal or at the kernel's tick, and
     * {@link #readWaiting} then waits out the rest in poll(2).
     */
    private void kernelReadTimeout(int fd, long nanos) throws IOException {
        int millis = (int) Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
        if (millis != kernelReadTimeout) {
            Native.setReadTimeout(fd, millis);
            kernelReadTimeout = millis;
        }
    }

    /**
     * One read system call. A large one goes straight into {@code b} when it cannot wait anyway
     * (a non-blocking descriptor), or when the last read was large too: the peer is streaming
     * and bytes are probably there; if none are, the caller waits for them and tries again.
     * Otherwise a read that may have to wait (a request, say) waits in the kernel, in one system
     * call, and its bytes come through the staging buffer; on a blocking descriptor, that wait
     * is bounded by the read timeout, and without {@code mayWait} there is none. With
     * {@code noticing}, it never waits and adds {@link Native#EMPTIED} when it left the socket
     * empty. A Unix socket receiving descriptors reads with a recvmsg that keeps them instead
     * (see {@link DescriptorPassing}).
     */
    private int readOnce(int fd, byte[] b, int off, int len, boolean blocking, boolean mayWait, boolean noticing)
            throws IOException {
        UnixEnd u = socket.unix;
        DescriptorInbox inbox = u == null ? null : u.inbox;
        if (inbox != null && inbox.receiving) {
            return inbox.read(fd, b, off, len);
        }
        int n;
        if (len >= PIN_AT_LEAST && (readsAreLarge || !blocking)) {
            n = Native.readNow(fd, b, off, len);
        } else if (noticing) {
            n = Native.readNoticingEmpty(fd, b, off, len);
        } else if (blocking && !mayWait) {
            n = Native.readNow(fd, b, off, len);
        } else {
            n = Native.read(fd, b, off, len);
            if (n == Native.UNAVAILABLE && blocking) {
                KERNEL_WAITS_ENDED_EMPTY.increment();
            }
        }
        if (n != Native.UNAVAILABLE) {
            readsAreLarge = (n & ~Native.EMPTIED) >= PIN_AT_LEAST;
        }
        return n;
    }

    private int implRead(byte[] b, int off, int len, long remainingNanos) throws IOException {
        int n = 0;
        int fd = socket.beginIO(true);
        try {
            if (connectionReset) {
                throw new SocketException("Connection reset");
            }
            if (socket.inputClosed()) {
                return Native.EOF;
            }
            // a timed TCP read on a platform thread keeps a blocking descriptor blocking and waits
            // in the kernel, as an untimed one does, where the JDK's turns it non-blocking for good
            // and makes three calls (read, poll, read) whenever the bytes are not there yet
            boolean timed = remainingNanos > 0;
            boolean kernelTimeouts = socket.unix == null && !descriptorShared;
            boolean blocking = socket.descriptor.configureNonBlockingIfNeeded(fd, timed && !kernelTimeouts);
            if (blocking && kernelTimeouts) {
                kernelReadTimeout(fd, remainingNanos);
            }
            n = readWaiting(fd, b, off, len, remainingNanos, blocking);
            if (n > 0 && !socket.isOpen()) {
                // close() came first: as with the JDK, bytes still unread at close are discarded,
                // and the socket must then be released with a reset, not a FIN
                socket.resetOnRelease();
                n = 0;
            }
            if (n > 0) {
                // before endIO: once the descriptor is released the counters are retired
                socket.countRead(n);
            }
            return n;
        } catch (ConnectionResetException e) {
            connectionReset = true;
            throw new SocketException("Connection reset");
        } finally {
            socket.endIO(true, n > 0);
        }
    }

    /** {@code InputStream.read}: up to {@code len} bytes, under the read lock. */
    int read(byte[] b, int off, int len) throws IOException {
        try {
            return readCounted(b, off, len);
        } catch (IOException e) {
            throw socket.failed(e);
        }
    }

    private int readCounted(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        long remainingNanos = 0;
        int millis = socket.timeout();
        if (millis > 0) {
            remainingNanos = RustSocketImpl.tryLock(socket.readLock, millis);
            if (remainingNanos <= 0) {
                throw new SocketTimeoutException("Read timed out");
            }
        } else {
            socket.readLock.lock();
        }
        try {
            if (readEOF) {
                return Native.EOF;
            }
            int n = implRead(b, off, Math.min(len, MAX_BUFFER_SIZE), remainingNanos);
            if (n == Native.EOF) {
                readEOF = true;
            }
            return n;
        } finally {
            socket.readLock.unlock();
        }
    }

    // ---------------------------------------------------------------- writes

    /**
     * Writes part of {@code b[off..off+len]}, waiting while the send buffer is full. With
     * {@code full} (the last write stopped short: the buffer was full then) on a blocking
     * descriptor, it waits for room before the first system call instead of making one that
     * would almost surely find none, or room for only a few bytes; as the JDK's blocking write
     * waits in the kernel. Only where the wait is a poll(2), which reports a state: a wait in
     * the poller may be for an edge that came before it.
     */
    private int implWrite(byte[] b, int off, int len, boolean full) throws IOException {
        int n = 0;
        int fd = socket.beginIO(false);
        try {
            boolean blocking = socket.descriptor.configureNonBlockingIfNeeded(fd, false);
            if (full && blocking && !SocketDescriptor.waitsInPoller()) {
                POLLED_FIRST.increment();
                n = Native.UNAVAILABLE;
            } else {
                n = writeOnce(fd, b, off, len);
            }
            while (n == Native.UNAVAILABLE && socket.isOpen()) {
                socket.descriptor.park(fd, Native.POLLOUT, 0);
                n = writeOnce(fd, b, off, len);
            }
            if (n > 0) {
                socket.countWritten(n);
            }
            return n;
        } finally {
            socket.endIO(false, n > 0);
        }
    }

    /**
     * One write system call: a large one straight from {@code b}, never waiting (when the send
     * buffer is full the caller waits until it has room, then tries again: cheaper than copying
     * the rest to wait in the kernel); a small one through the staging buffer.
     */
    private static int writeOnce(int fd, byte[] b, int off, int len) throws IOException {
        return len >= PIN_AT_LEAST ? Native.writeNow(fd, b, off, len) : Native.write(fd, b, off, len);
    }

    /** {@code OutputStream.write}: all of {@code b[off..off+len]}, under the write lock. */
    void write(byte[] b, int off, int len) throws IOException {
        try {
            writeCounted(b, off, len);
        } catch (IOException e) {
            throw socket.failed(e);
        }
    }

    private void writeCounted(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return;
        }
        socket.writeLock.lock();
        try {
            int pos = off;
            int end = off + len;
            boolean full = false;
            while (pos < end) {
                int chunk = Math.min(end - pos, MAX_BUFFER_SIZE);
                int n = implWrite(b, pos, chunk, full);
                full = n < chunk;
                pos += n;
            }
        } finally {
            socket.writeLock.unlock();
        }
    }

    /** {@code SocketImpl.sendUrgentData}: one byte of urgent data, under the write lock. */
    void sendUrgent(int data) throws IOException {
        socket.writeLock.lock();
        try {
            int n = 0;
            int fd = socket.beginIO(false);
            try {
                socket.descriptor.configureNonBlockingIfNeeded(fd, false);
                n = Native.sendUrgent(fd, data);
                if (n == Native.UNAVAILABLE) {
                    throw new SocketException("No buffer space available");
                }
            } finally {
                socket.endIO(false, n > 0);
            }
        } finally {
            socket.writeLock.unlock();
        }
    }
}
