package io.rustsocket;

import io.rustsocket.internal.Statistics;
import java.util.Map;

/**
 * An immutable snapshot of rustsocket's counters for this JVM, from
 * {@link RustSockets#statistics()}. The same figures are published over JMX by the MXBean
 * {@value RustSockets#MBEAN_NAME} ({@link SocketStatisticsMXBean}).
 *
 * <p>Counts cover every socket made by this library, through {@link RustSocket},
 * {@link RustServerSocket}, the factories, or JVM-wide after
 * {@link RustSockets#installAsDefault()}, since the library was loaded. Failures on a socket
 * the application itself had closed (for example {@code SocketException("Socket closed")} in a
 * thread blocked in {@code accept} while the server shuts down) are not counted.
 */
public final class SocketStatistics {
    private final Statistics.Totals totals;

    SocketStatistics(Statistics.Totals totals) {
        this.totals = totals;
    }

    /**
     * Client and accepted sockets that hold a descriptor now (connected, or created and not yet
     * connected).
     *
     * @return the count
     */
    public long getOpenSockets() {
        return totals.openSockets;
    }

    /**
     * Server (listening) sockets that hold a descriptor now.
     *
     * @return the count
     */
    public long getOpenServerSockets() {
        return totals.openServerSockets;
    }

    /**
     * Outgoing connections established since the library was loaded.
     *
     * @return the count
     */
    public long getConnectionsOpened() {
        return totals.connected;
    }

    /**
     * Incoming connections accepted since the library was loaded.
     *
     * @return the count
     */
    public long getConnectionsAccepted() {
        return totals.accepted;
    }

    /**
     * Bytes read from sockets, open and closed.
     *
     * @return the count
     */
    public long getBytesRead() {
        return totals.bytesRead;
    }

    /**
     * Bytes written to sockets, open and closed.
     *
     * @return the count
     */
    public long getBytesWritten() {
        return totals.bytesWritten;
    }

    /**
     * Read, accept and connect timeouts ({@link java.net.SocketTimeoutException}).
     *
     * @return the count
     */
    public long getTimeouts() {
        return totals.timeouts;
    }

    /**
     * Connections reset by the peer ({@code "Connection reset"} on a read,
     * {@code "Connection reset by peer"} on a write), each connection counted once.
     *
     * @return the count
     */
    public long getResets() {
        return totals.resets;
    }

    /**
     * Every other failed read, write, accept or connect, by exception class name (for example
     * {@code java.net.ConnectException}), sorted by name.
     *
     * @return an unmodifiable map; empty when nothing failed
     */
    public Map<String, Long> getErrors() {
        return totals.errors;
    }

    /**
     * All figures on one line, for logs.
     *
     * @return for example {@code SocketStatistics[openSockets=2, openServerSockets=1, ...]}
     */
    @Override
    public String toString() {
        return "SocketStatistics[openSockets=" + totals.openSockets
                + ", openServerSockets=" + totals.openServerSockets
                + ", connectionsOpened=" + totals.connected
                + ", connectionsAccepted=" + totals.accepted
                + ", bytesRead=" + totals.bytesRead
                + ", bytesWritten=" + totals.bytesWritten
                + ", timeouts=" + totals.timeouts
                + ", resets=" + totals.resets
                + ", errors=" + totals.errors + "]";
    }
}
