package io.rustsocket.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.NonReadableChannelException;

/**
 * {@code RustSocket.sendFile}: the bytes of a file go from the page cache to the socket with
 * sendfile(2) when the channel is the JDK's own file channel; other channels, and files
 * sendfile cannot read, are copied through {@code write}. Either way the socket's write lock is
 * held throughout, so no other write interleaves with the file, and the send waits, wakes on
 * close and fails exactly as {@code write} does.
 */
final class FileSender {
    private FileSender() {}

    /**
     * Sends {@code count} bytes of {@code channel} from {@code position} (the channel's own
     * position is neither used nor moved), stopping early at the end of the file.
     *
     * @param socket the connected socket to send on
     * @param channel a readable file channel
     * @param position the first byte to send, 0 or more
     * @param count how many bytes to send at most, 0 or more
     * @return the bytes sent
     * @throws ClosedChannelException if the channel is closed
     * @throws NonReadableChannelException if it was not opened for reading
     * @throws java.net.SocketException if the socket is closed (by another thread too), not
     *         connected or its output is shut down, or the connection fails, with the messages
     *         of {@code write}
     * @throws IOException if the file cannot be read
     */
    static long send(RustSocketImpl socket, FileChannel channel, long position, long count) throws IOException {
        int fileFd = Native.fileChannelDescriptor(channel);
        if (fileFd == Native.NOT_READABLE) {
            throw new NonReadableChannelException();
        }
        try {
            // checked after the descriptor was duplicated: a channel still open then was open when
            // its descriptor was read, so the duplicate is its file, not a reused number's
            if (!channel.isOpen()) {
                throw new ClosedChannelException();
            }
            socket.writeLock.lock();
            try {
                if (fileFd == Native.NO_DESCRIPTOR) {
                    // another FileChannel class (an in-memory or zip file system): nothing to splice
                    return copy(socket, channel, position, count);
                }
                long sent = 0;
                while (sent < count) {
                    long n;
                    try {
                        n = sendFile(socket, fileFd, position + sent, count - sent);
                    } catch (IOException e) {
                        // counted like write()'s failures (copy counts through write)
                        throw socket.failed(e);
                    }
                    if (n == Native.SENDFILE_UNSUPPORTED) {
                        return sent + copy(socket, channel, position + sent, count - sent);
                    }
                    if (n == 0) {
                        break; // end of file
                    }
                    sent += n;
                }
                return sent;
            } finally {
                socket.writeLock.unlock();
            }
        } finally {
            if (fileFd >= 0) {
                Native.close(fileFd);
            }
        }
    }

    /**
     * One sendfile(2) call, parked while the send buffer is full: the shape of the socket's own
     * write, kept apart from it because a shared body would cost the write path a lambda per call.
     */
    private static long sendFile(RustSocketImpl socket, int fileFd, long position, long count) throws IOException {
        long n = Native.UNAVAILABLE;
        int fd = socket.beginIO(false);
        try {
            socket.descriptor.configureNonBlockingIfNeeded(fd, false);
            n = Native.sendFile(fd, fileFd, position, count);
            while (n == Native.UNAVAILABLE && socket.isOpen()) {
                socket.descriptor.park(fd, Native.POLLOUT, 0);
                n = Native.sendFile(fd, fileFd, position, count);
            }
            if (n > 0) {
                socket.countWritten(n);
            }
            return n;
        } finally {
            socket.endIO(false, n >= 0 || n == Native.SENDFILE_UNSUPPORTED);
        }
    }

    /**
     * The fallback: positional reads from the channel, written as {@code write} writes. Bounded by
     * the file's size first, as {@code transferTo} is: a read far past the end is an error on some
     * systems (Windows refuses an offset near {@code Long.MAX_VALUE}) rather than the end of file.
     */
    private static long copy(RustSocketImpl socket, FileChannel channel, long position, long count) throws IOException {
        // an empty read first: a write-only channel fails it (NonReadableChannelException), as
        // transferTo fails, before the size says there is nothing to send
        channel.read(ByteBuffer.allocate(0), 0);
        long size = channel.size();
        if (position >= size) {
            return 0;
        }
        count = Math.min(count, size - position);
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(count, SocketStreams.MAX_BUFFER_SIZE));
        long sent = 0;
        while (sent < count) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), count - sent));
            int n = channel.read(buf, position + sent);
            if (n <= 0) {
                break;
            }
            socket.streams.write(buf.array(), 0, n);
            sent += n;
        }
        return sent;
    }
}
