package io.rustsocket;

import io.rustsocket.internal.AddressWire;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Objects;

/**
 * A reusable set of datagrams for {@link RustDatagramSocket#send(DatagramBatch)} and
 * {@link RustDatagramSocket#receive(DatagramBatch)}: one {@code sendmmsg} or {@code recvmmsg}
 * moves all of them, and nothing is allocated once a batch is made (senders are decoded into
 * {@link InetSocketAddress} objects only when asked for, and reused while a slot's sender does
 * not change).
 *
 * <p>A batch has {@link #capacity()} slots of {@link #maxDatagramSize()} bytes each in one
 * array, {@link #buffer()}; slot {@code i} starts at {@link #offset(int)}. Each slot also holds
 * a length and an address: the target when sending, the sender after receiving. So a batch
 * just received can be answered in place: change the bytes (and lengths), and send it back.
 *
 * <pre>{@code
 * // a DNS-style server: up to 64 queries per system call, answers in one more
 * DatagramBatch in = new DatagramBatch(64, 512);
 * DatagramBatch out = new DatagramBatch(64, 512);
 * while (true) {
 *     int n = socket.receive(in);
 *     out.clear();
 *     for (int i = 0; i < n; i++) {
 *         int len = answer(in.buffer(), in.offset(i), in.length(i),   // query bytes
 *                          out.buffer(), out.offset(i));               // answer written in place
 *         out.addReply(len, in, i);                                    // to the query's sender
 *     }
 *     for (int sent = 0; sent < out.size(); ) {
 *         sent += socket.send(out, sent);        // partial sends: retry from the first unsent
 *     }
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one thread fills or reads a batch at a time.
 */
public final class DatagramBatch {
    final int slot;
    final byte[] data;
    final int[] lens;
    final byte[] addrs;
    private final boolean[] truncated;
    private final InetSocketAddress[] senders;
    private final byte[] senderWires;
    private int size;

    // the last target added, encoded once and copied while it stays the same
    private SocketAddress lastTarget;
    private final byte[] lastTargetWire = new byte[AddressWire.LEN];

    /**
     * Creates a batch.
     *
     * @param capacity how many datagrams it holds (1 to 1024 make one system call; more are
     *        sent or received in several)
     * @param maxDatagramSize the size of each slot in bytes (at most 65,508); received datagrams
     *        longer than this are truncated
     * @throws IllegalArgumentException if a size is out of range
     */
    public DatagramBatch(int capacity, int maxDatagramSize) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity < 1: " + capacity);
        }
        if (maxDatagramSize < 1 || maxDatagramSize > 65_508) {
            throw new IllegalArgumentException("maxDatagramSize out of range: " + maxDatagramSize);
        }
        if ((long) capacity * maxDatagramSize > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("batch too large: " + capacity + " x " + maxDatagramSize);
        }
        this.slot = maxDatagramSize;
        this.data = new byte[capacity * maxDatagramSize];
        this.lens = new int[capacity];
        this.addrs = new byte[capacity * AddressWire.LEN];
        this.truncated = new boolean[capacity];
        this.senders = new InetSocketAddress[capacity];
        this.senderWires = new byte[capacity * AddressWire.LEN];
    }

    /** @return how many datagrams the batch holds at most */
    public int capacity() {
        return lens.length;
    }

    /** @return the size of each slot in bytes */
    public int maxDatagramSize() {
        return slot;
    }

    /** @return how many datagrams the batch holds now */
    public int size() {
        return size;
    }

    /** Empties the batch (the slots keep their bytes; nothing is freed or allocated). */
    public void clear() {
        size = 0;
    }

    /** @return the array that holds every slot's bytes; slot {@code i} starts at {@link #offset(int)} */
    public byte[] buffer() {
        return data;
    }

    /**
     * @param i a slot index, {@code 0 <= i < capacity()}
     * @return where slot {@code i} starts in {@link #buffer()}
     */
    public int offset(int i) {
        Objects.checkIndex(i, lens.length);
        return i * slot;
    }

    /**
     * @param i a datagram index, {@code 0 <= i < size()}
     * @return the length of datagram {@code i}
     */
    public int length(int i) {
        Objects.checkIndex(i, size);
        return lens[i];
    }

    /**
     * @param i a datagram index, {@code 0 <= i < size()}
     * @return whether received datagram {@code i} was longer than a slot and cut to it
     */
    public boolean truncated(int i) {
        Objects.checkIndex(i, size);
        return truncated[i];
    }

    /**
     * The sender of received datagram {@code i} (or the target of one added for sending; null
     * for one added without a target). Decoded on first request and reused while the slot's
     * address stays the same, so a server with recurring peers allocates nothing here.
     *
     * @param i a datagram index, {@code 0 <= i < size()}
     * @return the address
     */
    public InetSocketAddress address(int i) {
        Objects.checkIndex(i, size);
        int at = i * AddressWire.LEN;
        if (addrs[at] == 0) {
            return null;
        }
        InetSocketAddress cached = senders[i];
        if (cached == null || !AddressWire.same(addrs, at, senderWires, at)) {
            System.arraycopy(addrs, at, senderWires, at, AddressWire.LEN);
            cached = AddressWire.decode(addrs, at);
            senders[i] = cached;
        }
        return cached;
    }

    /**
     * Appends a datagram: copies {@code src[off..off+len]} into the next slot.
     *
     * @param src the bytes
     * @param off where they start
     * @param len how many (at most {@link #maxDatagramSize()})
     * @param target where to send it; {@code null} for a connected socket's peer
     * @return the datagram's index
     * @throws IllegalStateException if the batch is full
     * @throws IllegalArgumentException if {@code len} exceeds a slot, or the target is not an
     *         {@code InetSocketAddress} with a resolved address and a port other than 0
     */
    public int add(byte[] src, int off, int len, SocketAddress target) {
        Objects.checkFromIndexSize(off, len, src.length);
        int i = reserve(len);
        System.arraycopy(src, off, data, i * slot, len);
        return commit(i, len, target);
    }

    /**
     * Appends a datagram whose {@code length} bytes were already written into
     * {@link #buffer()} at {@code offset(size())}, without copying.
     *
     * @param length the datagram's length
     * @param target where to send it; {@code null} for a connected socket's peer
     * @return the datagram's index
     * @throws IllegalStateException if the batch is full
     * @throws IllegalArgumentException as for {@link #add(byte[], int, int, SocketAddress)}
     */
    public int addInPlace(int length, SocketAddress target) {
        return commit(reserve(length), length, target);
    }

    /**
     * Appends a datagram whose {@code length} bytes were already written at
     * {@code offset(size())}, addressed to the sender of datagram {@code index} of
     * {@code received} (copied as bytes: no allocation).
     *
     * @param length the datagram's length
     * @param received a batch filled by {@link RustDatagramSocket#receive(DatagramBatch)}
     * @param index the datagram in {@code received} to answer
     * @return the datagram's index
     * @throws IllegalStateException if the batch is full
     */
    public int addReply(int length, DatagramBatch received, int index) {
        Objects.checkIndex(index, received.size);
        int i = reserve(length);
        lens[i] = length;
        truncated[i] = false;
        System.arraycopy(received.addrs, index * AddressWire.LEN, addrs, i * AddressWire.LEN, AddressWire.LEN);
        size = i + 1;
        return i;
    }

    /**
     * Sets the length of datagram {@code i}, for answering a received batch in place.
     *
     * @param i a datagram index, {@code 0 <= i < size()}
     * @param length its new length, at most {@link #maxDatagramSize()}
     */
    public void setLength(int i, int length) {
        Objects.checkIndex(i, size);
        checkLength(length);
        lens[i] = length;
        truncated[i] = false;
    }

    private void checkLength(int len) {
        if (len < 0 || len > slot) {
            throw new IllegalArgumentException("datagram length " + len + " does not fit a slot of " + slot);
        }
    }

    private int reserve(int len) {
        if (size == lens.length) {
            throw new IllegalStateException("batch full: " + size);
        }
        checkLength(len);
        return size;
    }

    private int commit(int i, int len, SocketAddress target) {
        int at = i * AddressWire.LEN;
        if (target == null) {
            AddressWire.clear(addrs, at);
        } else {
            if (!AddressWire.sameTarget(target, lastTarget)) {
                if (!(target instanceof InetSocketAddress)) {
                    throw new IllegalArgumentException("Unsupported address type");
                }
                InetSocketAddress isa = (InetSocketAddress) target;
                if (isa.isUnresolved()) {
                    throw new IllegalArgumentException("Unresolved address: " + isa);
                }
                if (isa.getPort() == 0) {
                    throw new IllegalArgumentException("Can't send to port 0");
                }
                AddressWire.encode(isa.getAddress(), isa.getPort(), lastTargetWire, 0);
                lastTarget = target;
            }
            System.arraycopy(lastTargetWire, 0, addrs, at, AddressWire.LEN);
        }
        lens[i] = len;
        truncated[i] = false;
        size = i + 1;
        return i;
    }

    /** After a receive of {@code n} datagrams: lengths arrive as {@code -len - 1} when truncated. */
    void received(int n) {
        for (int i = 0; i < n; i++) {
            int l = lens[i];
            truncated[i] = l < 0;
            lens[i] = l < 0 ? -l - 1 : l;
        }
        size = n;
    }
}
