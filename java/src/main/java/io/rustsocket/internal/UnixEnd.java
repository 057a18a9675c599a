package io.rustsocket.internal;

import java.net.SocketAddress;

/**
 * The Unix side of a {@link RustSocketImpl} that is a Unix domain socket (an IP socket has
 * none, so it costs nothing there). Guarded by the socket's state lock; {@link UnixSockets}
 * holds the logic.
 */
final class UnixEnd {
    /** Bound to a name (its {@code localport} stays 0). */
    boolean bound;
    /**
     * The names the next bind and the next connect take, set before {@code java.net.Socket}
     * calls them with {@link UnixNames#PLACEHOLDER}.
     */
    byte[] bindName;
    byte[] connectName;
    /** The address the next connect was given: the remote name once connected, as the JDK keeps it. */
    SocketAddress connectTarget;
    /**
     * One end of a socket pair handed over before {@code java.net.Socket} creates the
     * implementation: create() adopts it instead of opening a socket, and the first connect()
     * just completes ({@code pairConnectPending}).
     */
    int pairEnd = -1;
    boolean pairConnectPending;
    /**
     * The names, recorded when the socket is bound, connected, accepted or made by a pair: they
     * outlive the descriptor, as a TCP socket's addresses do.
     */
    SocketAddress local;
    SocketAddress remote;
    /**
     * The descriptors received and not yet taken, made when the application first asks for
     * them ({@link DescriptorPassing#setReceiving}); read without the lock by every read.
     */
    volatile DescriptorInbox inbox;
}
