package io.rustsocket;

import java.net.SocketOption;

/**
 * Linux socket options that {@code java.net} does not offer, for {@link RustSocket} and
 * {@link RustServerSocket} through {@code setOption}, {@code getOption} and
 * {@code supportedOptions}.
 *
 * <p>Each constant is named after the kernel's option and takes the kernel's units (seconds for
 * {@link #TCP_KEEPIDLE}, milliseconds for {@link #TCP_USER_TIMEOUT}, ...). {@code getOption} reads
 * back what the kernel applied, which may differ from what was set where the kernel rounds
 * ({@link #TCP_DEFER_ACCEPT}) or adjusts ({@link #TCP_MAXSEG} once connected).
 *
 * <ul>
 *   <li>An option this kernel or the socket's address family does not support is absent from
 *       {@code supportedOptions()} and gives {@link UnsupportedOperationException}; so does an
 *       option that has no meaning on that kind of socket (for example {@link #TCP_DEFER_ACCEPT}
 *       on a client socket, {@link #TCP_CORK} on a server socket).</li>
 *   <li>A value outside the kernel's range gives {@link IllegalArgumentException}, as does an
 *       unknown congestion control algorithm or network interface.</li>
 *   <li>An option that needs a privilege the process lacks ({@link #SO_MARK}: {@code CAP_NET_ADMIN}
 *       or {@code CAP_NET_RAW}) gives {@link java.net.SocketException} with
 *       the operating system's reason, {@code "Operation not permitted"}.</li>
 *   <li>Any option on a closed socket gives {@link java.net.SocketException}.</li>
 * </ul>
 *
 * <p>On macOS only the keepalive options, {@link #TCP_NOTSENT_LOWAT}, {@link #TCP_MAXSEG},
 * {@link #TCP_FASTOPEN}, {@link #IP_TTL} and {@link #IPV6_V6ONLY} are supported, as the macOS
 * kernel has them: {@code TCP_MAXSEG} can only lower the segment size, {@code TCP_FASTOPEN} is a
 * switch (any positive value reads back as 1) that a listening socket only takes, and a
 * {@code TCP_NOTSENT_LOWAT} of 0 turns the mark off.
 *
 * <p>{@link jdk.net.ExtendedSocketOptions#TCP_KEEPIDLE}, {@code TCP_KEEPINTERVAL},
 * {@code TCP_KEEPCOUNT} and {@code TCP_QUICKACK} are accepted as well and set the same kernel
 * option as the constants here.
 */
public final class RustSocketOptions {
    private RustSocketOptions() {}

    /** Seconds of idleness before the first keepalive probe (needs {@code SO_KEEPALIVE}); 1 to 32767. */
    public static final SocketOption<Integer> TCP_KEEPIDLE = new Option<>("TCP_KEEPIDLE", Integer.class);

    /** Seconds between keepalive probes; 1 to 32767. */
    public static final SocketOption<Integer> TCP_KEEPINTERVAL = new Option<>("TCP_KEEPINTERVAL", Integer.class);

    /** Unanswered keepalive probes before the connection is dropped; 1 to 127. */
    public static final SocketOption<Integer> TCP_KEEPCOUNT = new Option<>("TCP_KEEPCOUNT", Integer.class);

    /**
     * Milliseconds that sent data may stay unacknowledged (or, with keepalive, that probes may go
     * unanswered) before the kernel drops the connection with {@code ETIMEDOUT}; 0 means the
     * kernel's default.
     */
    public static final SocketOption<Integer> TCP_USER_TIMEOUT = new Option<>("TCP_USER_TIMEOUT", Integer.class);

    /** Acknowledge at once rather than delaying ACKs; the kernel may clear it again by itself. */
    public static final SocketOption<Boolean> TCP_QUICKACK = new Option<>("TCP_QUICKACK", Boolean.class);

    /**
     * Hold back partial segments while set (at most 200 ms) so that several writes leave as full
     * segments; clearing it sends what is held. Client sockets only.
     */
    public static final SocketOption<Boolean> TCP_CORK = new Option<>("TCP_CORK", Boolean.class);

    /**
     * Bytes of unsent data above which the socket no longer counts as writable for
     * {@code poll}/{@code epoll}; 0 means the {@code net.ipv4.tcp_notsent_lowat} default.
     */
    public static final SocketOption<Integer> TCP_NOTSENT_LOWAT = new Option<>("TCP_NOTSENT_LOWAT", Integer.class);

    /**
     * Maximum segment size in bytes, 88 (176 on macOS) to 32767: before connecting (or
     * listening) it caps the MSS announced to the peer; once connected it reads back the MSS in
     * use.
     */
    public static final SocketOption<Integer> TCP_MAXSEG = new Option<>("TCP_MAXSEG", Integer.class);

    /**
     * Congestion control algorithm by name, for example {@code "cubic"}, {@code "reno"},
     * {@code "bbr"} (see {@code /proc/sys/net/ipv4/tcp_available_congestion_control}).
     */
    public static final SocketOption<String> TCP_CONGESTION = new Option<>("TCP_CONGESTION", String.class);

    /**
     * Server sockets only: enables TCP Fast Open on the listener with this many pending fast-open
     * requests allowed; 0 disables it. Data in SYNs is accepted only if
     * {@code net.ipv4.tcp_fastopen} has bit 2 (value 2 or 3) set.
     */
    public static final SocketOption<Integer> TCP_FASTOPEN = new Option<>("TCP_FASTOPEN", Integer.class);

    /**
     * Client sockets only, before connecting: {@code connect} returns at once and the first write
     * goes out with the SYN when the kernel holds a fast-open cookie for the server (otherwise a
     * normal handshake fetches one). Needs bit 1 of {@code net.ipv4.tcp_fastopen} (the default).
     * Because {@code connect} then returns before any handshake, the connect timeout does not
     * apply, and {@link RustSocket#connectAny} and the host-name connects race nothing: the first
     * address always "wins", and a peer that does not answer shows up only at the first read or
     * write.
     */
    public static final SocketOption<Boolean> TCP_FASTOPEN_CONNECT = new Option<>("TCP_FASTOPEN_CONNECT", Boolean.class);

    /**
     * Server sockets only: seconds to wait for the first data of a new connection before
     * {@code accept} sees it; the kernel rounds up to its SYN-ACK retransmission steps and
     * reads back the rounded value.
     */
    public static final SocketOption<Integer> TCP_DEFER_ACCEPT = new Option<>("TCP_DEFER_ACCEPT", Integer.class);

    /**
     * Time to live (hop limit) of outgoing packets, 1 to 255. On dual-stack sockets it sets both
     * {@code IP_TTL} and {@code IPV6_UNICAST_HOPS}, and reads back the one the connection uses.
     */
    public static final SocketOption<Integer> IP_TTL = new Option<>("IP_TTL", Integer.class);

    /**
     * IPv6 sockets only, before bind: accept or make IPv6 connections only, no IPv4-mapped ones.
     * Absent from {@code supportedOptions()} when the sockets are IPv4.
     */
    public static final SocketOption<Boolean> IPV6_V6ONLY = new Option<>("IPV6_V6ONLY", Boolean.class);

    /** Allow binding to an address that is not (yet) configured on this host. */
    public static final SocketOption<Boolean> IP_FREEBIND = new Option<>("IP_FREEBIND", Boolean.class);

    /**
     * Client sockets only: a bind to port 0 does not reserve a port; the port is chosen at connect
     * time, so that many connections to different servers can share local ports.
     */
    public static final SocketOption<Boolean> IP_BIND_ADDRESS_NO_PORT = new Option<>("IP_BIND_ADDRESS_NO_PORT", Boolean.class);

    /**
     * Firewall/routing mark of outgoing packets (32 bits); setting it needs {@code CAP_NET_ADMIN}
     * (or, since Linux 5.17, {@code CAP_NET_RAW}).
     */
    public static final SocketOption<Integer> SO_MARK = new Option<>("SO_MARK", Integer.class);

    /**
     * Network interface the socket is bound to, by name (for example {@code "lo"}); an empty string
     * unbinds. Reads back the empty string when unbound.
     */
    public static final SocketOption<String> SO_BINDTODEVICE = new Option<>("SO_BINDTODEVICE", String.class);

    /**
     * The CPU that last received this socket's packets, or -1; setting it on listeners of an
     * {@code SO_REUSEPORT} group steers connections to the listener of the receiving CPU.
     */
    public static final SocketOption<Integer> SO_INCOMING_CPU = new Option<>("SO_INCOMING_CPU", Integer.class);

    /**
     * Microseconds to busy-poll the device queue on blocking reads with no data. Older kernels
     * required {@code CAP_NET_ADMIN} to raise it; where one still does, the refusal is a
     * {@link java.net.SocketException} like {@link #SO_MARK}'s.
     */
    public static final SocketOption<Integer> SO_BUSY_POLL = new Option<>("SO_BUSY_POLL", Integer.class);

    /** A socket option known by name and value type. */
    private static final class Option<T> implements SocketOption<T> {
        private final String name;
        private final Class<T> type;

        Option(String name, Class<T> type) {
            this.name = name;
            this.type = type;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Class<T> type() {
            return type;
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
