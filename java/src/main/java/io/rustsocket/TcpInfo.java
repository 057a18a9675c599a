package io.rustsocket;

/**
 * A snapshot of the kernel's view of a TCP connection, read with {@code getsockopt(TCP_INFO)}
 * by {@link RustSocket#tcpInfo()}. Units are in the component names; counts of segments and
 * bytes are since the connection started.
 *
 * <p>On macOS the snapshot is {@code TCP_CONNECTION_INFO}, which fills only {@code state},
 * {@code caState} (3 during loss recovery), {@code options}, the window scales, {@code rtoMicros}
 * (0 while no retransmission is pending), {@code sendMssBytes}, {@code rttMicros} and
 * {@code rttVarMicros} (millisecond resolution), {@code sendSsthreshSegments} and
 * {@code sendCwndSegments} (bytes divided by the MSS), {@code totalRetransSegments},
 * {@code bytesReceived}, {@code segmentsOut}, {@code segmentsIn}, {@code bytesSent},
 * {@code bytesRetransmitted}, {@code sendWindowBytes} and {@code receiveWindowBytes}; the others
 * are 0, and {@code kernelBytes} counts bytes of {@code struct tcp_connection_info}.
 *
 * <pre>{@code
 * TcpInfo info = socket.tcpInfo();
 * System.out.printf("%s rtt %d us (+/- %d), cwnd %d, %d bytes acked, %d retransmitted%n",
 *         info.state(), info.rttMicros(), info.rttVarMicros(), info.sendCwndSegments(),
 *         info.bytesAcked(), info.totalRetransSegments());
 * }</pre>
 *
 * @param state the connection's state ({@code tcpi_state})
 * @param caState congestion-avoidance state: 0 open, 1 disorder, 2 CWR, 3 recovery, 4 loss
 * @param retransmits consecutive retransmission timeouts of the current segment
 * @param probes unanswered zero-window or keepalive probes
 * @param backoff exponential backoff of the retransmission timer
 * @param options {@code TCPI_OPT_*} bits negotiated; see {@link #timestamps()}, {@link #sack()}, {@link #windowScaling()}, {@link #ecn()}, {@link #synData()}
 * @param sendWindowScale window scale shift the peer announced
 * @param receiveWindowScale window scale shift we announced
 * @param deliveryRateAppLimited whether the delivery rate sample was limited by the application
 * @param fastOpenClientFail why a fast-open attempt as a client failed (0 none or unknown, 1 no cookie, 2 SYN-ACK did not ack the data, 3 SYN retransmitted)
 * @param rtoMicros retransmission timeout, microseconds
 * @param atoMicros delayed-ACK timeout, microseconds
 * @param sendMssBytes maximum segment size for sending, bytes
 * @param receiveMssBytes estimated segment size the peer sends, bytes
 * @param unackedSegments segments sent and not yet acknowledged
 * @param sackedSegments segments selectively acknowledged
 * @param lostSegments segments presumed lost
 * @param retransSegments segments retransmitted and not yet acknowledged
 * @param lastDataSentMillisAgo milliseconds since data was last sent
 * @param lastDataReceivedMillisAgo milliseconds since data was last received
 * @param lastAckReceivedMillisAgo milliseconds since an ACK was last received
 * @param pathMtuBytes path MTU, bytes
 * @param receiveSsthreshBytes receive-side slow-start threshold (window clamp), bytes
 * @param rttMicros smoothed round-trip time, microseconds
 * @param rttVarMicros round-trip time variation, microseconds
 * @param sendSsthreshSegments slow-start threshold, segments (a very large value means not yet set)
 * @param sendCwndSegments congestion window, segments
 * @param advertisedMssBytes maximum segment size we announced, bytes
 * @param reorderingSegments reordering distance the kernel tolerates, segments
 * @param receiveRttMicros round-trip time estimated by the receiver, microseconds
 * @param receiveSpaceBytes receive buffer space the kernel plans for, bytes
 * @param totalRetransSegments segments retransmitted over the connection's life
 * @param pacingRateBytesPerSecond current pacing rate, bytes per second
 * @param maxPacingRateBytesPerSecond pacing rate cap ({@code SO_MAX_PACING_RATE}), bytes per second
 * @param bytesAcked bytes the peer acknowledged (Linux counts the SYN as one)
 * @param bytesReceived bytes received in order
 * @param segmentsOut segments sent, including pure ACKs and retransmissions
 * @param segmentsIn segments received, including pure ACKs
 * @param notSentBytes bytes written and not yet sent
 * @param minRttMicros lowest round-trip time seen recently, microseconds
 * @param dataSegmentsIn segments received that carried data
 * @param dataSegmentsOut segments sent that carried data
 * @param deliveryRateBytesPerSecond most recent delivery rate, bytes per second
 * @param busyTimeMicros time spent with data in flight, microseconds
 * @param receiveWindowLimitedMicros time sending was limited by the peer's receive window, microseconds
 * @param sendBufferLimitedMicros time sending was limited by the send buffer, microseconds
 * @param deliveredSegments segments delivered to the peer, including retransmissions
 * @param deliveredCeSegments delivered segments the peer saw marked congestion-experienced (ECN)
 * @param bytesSent bytes sent, including retransmissions
 * @param bytesRetransmitted bytes retransmitted
 * @param dsackDuplicates duplicate segments the peer reported with D-SACK
 * @param reorderingEvents reordering events seen
 * @param outOfOrderPacketsReceived packets received out of order
 * @param sendWindowBytes the peer's receive window after scaling, bytes
 * @param receiveWindowBytes our receive window after scaling, bytes
 * @param rehashes path rehash attempts (PLB or timeouts)
 * @param totalRtoTimeouts retransmission timeouts, including SYN and SYN-ACK ones
 * @param totalRtoRecoveries recoveries from retransmission timeouts
 * @param totalRtoTimeMillis time spent recovering from retransmission timeouts, milliseconds
 * @param kernelBytes how many bytes of {@code struct tcp_info} the kernel filled: fields past that end are 0 because this kernel does not report them
 */
public record TcpInfo(
        State state,
        int caState,
        int retransmits,
        int probes,
        int backoff,
        int options,
        int sendWindowScale,
        int receiveWindowScale,
        boolean deliveryRateAppLimited,
        int fastOpenClientFail,
        long rtoMicros,
        long atoMicros,
        long sendMssBytes,
        long receiveMssBytes,
        long unackedSegments,
        long sackedSegments,
        long lostSegments,
        long retransSegments,
        long lastDataSentMillisAgo,
        long lastDataReceivedMillisAgo,
        long lastAckReceivedMillisAgo,
        long pathMtuBytes,
        long receiveSsthreshBytes,
        long rttMicros,
        long rttVarMicros,
        long sendSsthreshSegments,
        long sendCwndSegments,
        long advertisedMssBytes,
        long reorderingSegments,
        long receiveRttMicros,
        long receiveSpaceBytes,
        long totalRetransSegments,
        long pacingRateBytesPerSecond,
        long maxPacingRateBytesPerSecond,
        long bytesAcked,
        long bytesReceived,
        long segmentsOut,
        long segmentsIn,
        long notSentBytes,
        long minRttMicros,
        long dataSegmentsIn,
        long dataSegmentsOut,
        long deliveryRateBytesPerSecond,
        long busyTimeMicros,
        long receiveWindowLimitedMicros,
        long sendBufferLimitedMicros,
        long deliveredSegments,
        long deliveredCeSegments,
        long bytesSent,
        long bytesRetransmitted,
        long dsackDuplicates,
        long reorderingEvents,
        long outOfOrderPacketsReceived,
        long sendWindowBytes,
        long receiveWindowBytes,
        long rehashes,
        long totalRtoTimeouts,
        long totalRtoRecoveries,
        long totalRtoTimeMillis,
        int kernelBytes) {

    /** {@code TCPI_OPT_TIMESTAMPS}. */
    private static final int OPT_TIMESTAMPS = 1;
    /** {@code TCPI_OPT_SACK}. */
    private static final int OPT_SACK = 2;
    /** {@code TCPI_OPT_WSCALE}. */
    private static final int OPT_WSCALE = 4;
    /** {@code TCPI_OPT_ECN}. */
    private static final int OPT_ECN = 8;
    /** {@code TCPI_OPT_SYN_DATA}. */
    private static final int OPT_SYN_DATA = 32;

    /** How many values the native side reports, in the order of the components. */
    static final int FIELDS = 60;

    /**
     * Builds a snapshot from the native side's values, in component order.
     *
     * @param v the values; {@link #FIELDS} of them
     * @return the snapshot
     */
    static TcpInfo of(long[] v) {
        return new TcpInfo(
                State.of((int) v[0]),
                (int) v[1],
                (int) v[2],
                (int) v[3],
                (int) v[4],
                (int) v[5],
                (int) v[6],
                (int) v[7],
                v[8] != 0,
                (int) v[9],
                v[10],
                v[11],
                v[12],
                v[13],
                v[14],
                v[15],
                v[16],
                v[17],
                v[18],
                v[19],
                v[20],
                v[21],
                v[22],
                v[23],
                v[24],
                v[25],
                v[26],
                v[27],
                v[28],
                v[29],
                v[30],
                v[31],
                v[32],
                v[33],
                v[34],
                v[35],
                v[36],
                v[37],
                v[38],
                v[39],
                v[40],
                v[41],
                v[42],
                v[43],
                v[44],
                v[45],
                v[46],
                v[47],
                v[48],
                v[49],
                v[50],
                v[51],
                v[52],
                v[53],
                v[54],
                v[55],
                v[56],
                v[57],
                v[58],
                (int) v[59]);
    }

    /**
     * Whether TCP timestamps (RFC 7323) are in use.
     *
     * @return {@code true} if both ends agreed on timestamps
     */
    public boolean timestamps() {
        return (options & OPT_TIMESTAMPS) != 0;
    }

    /**
     * Whether selective acknowledgements are in use.
     *
     * @return {@code true} if both ends agreed on SACK
     */
    public boolean sack() {
        return (options & OPT_SACK) != 0;
    }

    /**
     * Whether window scaling is in use.
     *
     * @return {@code true} if both ends agreed on window scaling
     */
    public boolean windowScaling() {
        return (options & OPT_WSCALE) != 0;
    }

    /**
     * Whether explicit congestion notification is in use.
     *
     * @return {@code true} if both ends agreed on ECN
     */
    public boolean ecn() {
        return (options & OPT_ECN) != 0;
    }

    /**
     * Whether data rode on the SYN and was acknowledged by the SYN-ACK (TCP Fast Open).
     *
     * @return {@code true} if the handshake carried data (on either side)
     */
    public boolean synData() {
        return (options & OPT_SYN_DATA) != 0;
    }

    /** The TCP states, in the kernel's numbering ({@code TCP_ESTABLISHED} is 1). */
    public enum State {
        /** A state this library does not know (a newer kernel's). */
        UNKNOWN,
        /** Connected; data flows. */
        ESTABLISHED,
        /** SYN sent, waiting for the SYN-ACK. */
        SYN_SENT,
        /** SYN received, SYN-ACK sent. */
        SYN_RECV,
        /** We closed; our FIN is not yet acknowledged. */
        FIN_WAIT1,
        /** We closed and our FIN was acknowledged; waiting for the peer's FIN. */
        FIN_WAIT2,
        /** Both closed; waiting for stray segments to expire. */
        TIME_WAIT,
        /** No connection. */
        CLOSE,
        /** The peer closed; we have not. */
        CLOSE_WAIT,
        /** The peer closed, then we did; waiting for the ACK of our FIN. */
        LAST_ACK,
        /** Listening. */
        LISTEN,
        /** Both sides closed at the same time. */
        CLOSING,
        /** A request socket of a listener (never seen on a connection). */
        NEW_SYN_RECV,
        /** Bound, neither connected nor listening (Linux 6.8 and newer). */
        BOUND_INACTIVE;

        static State of(int kernel) {
            State[] all = values();
            return kernel > 0 && kernel < all.length ? all[kernel] : UNKNOWN;
        }
    }
}
