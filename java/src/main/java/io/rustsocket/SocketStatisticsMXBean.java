package io.rustsocket;

import java.util.Map;

/**
 * The management interface of rustsocket's statistics, registered as
 * {@value RustSockets#MBEAN_NAME} by {@link RustSockets#installAsDefault()} (and so by the
 * agent) or by {@link RustSockets#registerStatisticsMBean()}. Each attribute is the
 * same-named figure of {@link SocketStatistics}, read afresh.
 */
public interface SocketStatisticsMXBean {
    /**
     * See {@link SocketStatistics#getOpenSockets()}.
     *
     * @return the count
     */
    long getOpenSockets();

    /**
     * See {@link SocketStatistics#getOpenServerSockets()}.
     *
     * @return the count
     */
    long getOpenServerSockets();

    /**
     * See {@link SocketStatistics#getConnectionsOpened()}.
     *
     * @return the count
     */
    long getConnectionsOpened();

    /**
     * See {@link SocketStatistics#getConnectionsAccepted()}.
     *
     * @return the count
     */
    long getConnectionsAccepted();

    /**
     * See {@link SocketStatistics#getBytesRead()}.
     *
     * @return the count
     */
    long getBytesRead();

    /**
     * See {@link SocketStatistics#getBytesWritten()}.
     *
     * @return the count
     */
    long getBytesWritten();

    /**
     * See {@link SocketStatistics#getTimeouts()}.
     *
     * @return the count
     */
    long getTimeouts();

    /**
     * See {@link SocketStatistics#getResets()}.
     *
     * @return the count
     */
    long getResets();

    /**
     * See {@link SocketStatistics#getErrors()}; shown by JMX clients as a table of class name and count.
     *
     * @return the counts by exception class name
     */
    Map<String, Long> getErrors();

    /**
     * Whether {@link RustSockets#installAsDefault()} made rustsocket the JVM-wide implementation
     * of {@code java.net.Socket} and {@code java.net.ServerSocket}.
     *
     * @return {@code true} once installed
     */
    boolean isInstalledAsDefault();
}
