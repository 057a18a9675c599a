package io.rustsocket.internal;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.net.SocketException;
import java.util.ArrayDeque;

/**
 * The descriptors a Unix socket received with the bytes it read and the application has not
 * taken yet, oldest first. While {@link #receiving} is set, every read of the socket is a
 * {@code recvmsg} that takes them ({@link #read}); otherwise the socket reads with
 * {@code read(2)} and the kernel closes whatever descriptors came with the bytes.
 *
 * <p>Reads (serialized by the socket's read lock) add; {@link #take} and {@link #close} may come
 * from any thread, so the queue is guarded by this object. What is still queued when the socket
 * closes is closed with it; each descriptor is also a {@code FileDescriptor} the JDK's cleaner
 * closes if it becomes unreachable (a socket dropped without close).
 */
final class DescriptorInbox {
    static final String LOST = "Descriptors sent with the bytes read were lost (more than "
            + Native.MAX_PASSED_DESCRIPTORS + " in one write, or this process is out of descriptors);"
            + " those of that write that arrived were closed";

    private static final FileDescriptor[] NONE = {};

    /** Whether reads take descriptors; set under the socket's state lock, read by every read. */
    volatile boolean receiving;

    // the native read's output (count, lost flag, descriptors); used under the read lock only
    private final int[] received = new int[Native.RECEIVED_HEADER + Native.MAX_PASSED_DESCRIPTORS];
    private final ArrayDeque<FileDescriptor> queue = new ArrayDeque<>();
    // some write's descriptors did not all arrive since the last take
    private boolean lost;
    private boolean closed;

    /** One read of the socket {@code fd}, keeping the descriptors that came with the bytes. */
    int read(int fd, byte[] b, int off, int len) throws IOException {
        int n = Native.unixReadWithDescriptors(fd, b, off, len, received);
        int count = received[0];
        boolean truncated = received[1] != 0;
        if (count > 0 || truncated) {
            arrived(count, truncated);
        }
        return n;
    }

    /**
     * Queues what a read received. Never throws for a descriptor it could not wrap (the read's
     * bytes must reach the caller): that descriptor is closed and counted as lost.
     */
    private void arrived(int count, boolean truncated) {
        FileDescriptor[] wrapped = new FileDescriptor[count];
        int i = 0;
        try {
            for (; i < count; i++) {
                wrapped[i] = Native.newFileDescriptor(received[Native.RECEIVED_HEADER + i]);
            }
        } catch (RuntimeException | Error e) {
            for (int j = i; j < count; j++) {
                Native.close(received[Native.RECEIVED_HEADER + j]);
            }
            for (int j = 0; j < i; j++) {
                closeQuietly(wrapped[j]);
            }
            synchronized (this) {
                lost = true;
            }
            if (e instanceof Error) {
                throw (Error) e;
            }
            return;
        }
        synchronized (this) {
            lost |= truncated;
            if (!closed) {
                for (FileDescriptor d : wrapped) {
                    queue.add(d);
                }
                return;
            }
        }
        // a read that finished after close(): nobody can take them any more
        for (FileDescriptor d : wrapped) {
            closeQuietly(d);
        }
    }

    /**
     * The descriptors received so far, oldest first, now the caller's.
     *
     * @throws SocketException once after descriptors were lost (see {@link #LOST}); those
     *     received before and after stay queued for the next call
     */
    synchronized FileDescriptor[] take() throws SocketException {
        if (lost) {
            lost = false;
            throw new SocketException(LOST);
        }
        FileDescriptor[] out = queue.toArray(NONE);
        queue.clear();
        return out;
    }

    /** Closes what nobody took; later arrivals are closed at once. */
    void close() {
        FileDescriptor[] left;
        synchronized (this) {
            closed = true;
            receiving = false;
            left = queue.toArray(NONE);
            queue.clear();
        }
        for (FileDescriptor d : left) {
            closeQuietly(d);
        }
    }

    /** Closes a descriptor as the JDK's streams do (which also drops its cleaner). */
    static void closeQuietly(FileDescriptor d) {
        try {
            new FileInputStream(d).close();
        } catch (IOException ignore) {
            // close(2) released it whatever it reported
        }
    }
}
