package io.rustsocket.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.SocketOptions;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.util.Objects;
import java.util.Set;

/**
 * The option adapter of {@link RustDatagramSocketImpl}, as {@link StreamOptions} is the stream
 * engine's: the {@link SocketOption} API, {@code DatagramSocket}'s legacy setters and getters,
 * and the legacy {@link SocketOptions} int ids, over the native {@link OptionTable}. A Unix
 * socket has the buffer sizes only; the legacy setters of IP options do nothing there, so that
 * code written for UDP runs unchanged, as {@code RustSocket}'s TCP setters do over a socket file.
 * Stateless: the socket keeps what it must remember (the multicast interface, the buffer sizes
 * set before it became a Unix socket).
 */
final class DatagramOptions {
    private DatagramOptions() {}

    // read from the native option table when first needed (the library is loaded by then)
    private static final class Udp {
        static final Set<SocketOption<?>> ALL = OptionTable.supported(OptionTable.DATAGRAM);
    }

    private static final class Unix {
        static final Set<SocketOption<?>> ALL = OptionTable.supported(OptionTable.UNIX_DATAGRAM);
    }

    /** The options {@code s} supports: the option table's UDP rows, or its Unix datagram rows. */
    static Set<SocketOption<?>> supported(RustDatagramSocketImpl s) {
        return s.unix != null ? Unix.ALL : Udp.ALL;
    }

    private static OptionTable.Row supportedRow(RustDatagramSocketImpl s, SocketOption<?> name) {
        Objects.requireNonNull(name);
        if (!supported(s).contains(name)) {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
        return OptionTable.row(name);
    }

    /** {@code DatagramSocket.setOption}; a closed socket gives {@link ClosedChannelException}, as the JDK's. */
    static <T> void set(RustDatagramSocketImpl s, SocketOption<T> name, T value) throws IOException {
        OptionTable.Row row = supportedRow(s, name);
        OptionTable.checkType(name, value);
        synchronized (s.stateLock) {
            if (!s.isOpen()) {
                throw new ClosedChannelException();
            }
            OptionTable.set(s.descriptor.fd(), row, value);
            if (name == StandardSocketOptions.IP_MULTICAST_IF) {
                s.multicastInterface = (NetworkInterface) value;
            }
            if (s.unix == null && !s.bound && s.remote == null) {
                if (name == StandardSocketOptions.SO_SNDBUF) {
                    s.presetSendBuffer = (Integer) value;
                } else if (name == StandardSocketOptions.SO_RCVBUF) {
                    s.presetReceiveBuffer = (Integer) value;
                }
            }
        }
    }

    /** {@code DatagramSocket.getOption}; a closed socket gives {@link ClosedChannelException}, as the JDK's. */
    @SuppressWarnings("unchecked")
    static <T> T get(RustDatagramSocketImpl s, SocketOption<T> name) throws IOException {
        OptionTable.Row row = supportedRow(s, name);
        synchronized (s.stateLock) {
            if (!s.isOpen()) {
                throw new ClosedChannelException();
            }
            Object v = OptionTable.get(s.descriptor.fd(), row);
            if (name == StandardSocketOptions.IP_MULTICAST_IF) {
                int index = (Integer) v;
                if (index < 0) {
                    // IPv4-only sockets cannot read the interface back as an index
                    return (T) s.multicastInterface;
                }
                return index == 0 ? null : (T) NetworkInterface.getByIndex(index);
            }
            return (T) v;
        }
    }

    /**
     * Gives a new Unix descriptor of {@code s} the buffer sizes set while it was a UDP socket
     * neither bound nor connected; the caller holds the state lock.
     */
    static void applyPresetBuffers(RustDatagramSocketImpl s, int fd) throws SocketException {
        try {
            if (s.presetSendBuffer != null) {
                OptionTable.set(fd, OptionTable.row(StandardSocketOptions.SO_SNDBUF), s.presetSendBuffer);
            }
            if (s.presetReceiveBuffer != null) {
                OptionTable.set(fd, OptionTable.row(StandardSocketOptions.SO_RCVBUF), s.presetReceiveBuffer);
            }
        } catch (SocketException e) {
            throw e;
        } catch (IOException e) {
            throw new SocketException(e.getMessage());
        }
    }

    /** An option call whose failures {@link #legacy} translates. */
    private interface OptionCall<R> {
        R call() throws IOException;
    }

    /**
     * Runs an option call the way {@code DatagramSocket}'s legacy setters and getters do: a
     * closed socket gives {@code SocketException("Socket is closed")}, other I/O failures a
     * {@code SocketException}.
     */
    private static <R> R legacy(OptionCall<R> call) throws SocketException {
        try {
            return call.call();
        } catch (ClosedChannelException e) {
            throw new SocketException("Socket is closed");
        } catch (SocketException e) {
            throw e;
        } catch (IOException e) {
            throw new SocketException(e.getMessage());
        }
    }

    /** {@link #set} with the exceptions of the legacy setters; a no-op for an IP option on a Unix socket. */
    static <T> void setLegacy(RustDatagramSocketImpl s, SocketOption<T> name, T value) throws SocketException {
        if (ignoredOnUnix(s, name)) {
            return;
        }
        legacy(() -> {
            set(s, name, value);
            return null;
        });
    }

    /** {@link #get} with the exceptions of the legacy getters; an IP option on a Unix socket reads false, 0 or null. */
    @SuppressWarnings("unchecked")
    static <T> T getLegacy(RustDatagramSocketImpl s, SocketOption<T> name) throws SocketException {
        if (ignoredOnUnix(s, name)) {
            Class<T> type = name.type();
            return type == Boolean.class ? (T) Boolean.FALSE : type == Integer.class ? (T) Integer.valueOf(0) : null;
        }
        return legacy(() -> get(s, name));
    }

    /** Whether a legacy call for {@code name} is a no-op: an option a Unix socket lacks, on an open one. */
    private static boolean ignoredOnUnix(RustDatagramSocketImpl s, SocketOption<?> name) throws SocketException {
        if (s.unix == null || Unix.ALL.contains(name)) {
            return false;
        }
        if (s.isClosed()) {
            throw new SocketException("Socket is closed");
        }
        return true;
    }

    /** The standard option behind a legacy {@link SocketOptions} id, or null. */
    private static SocketOption<?> legacyOption(int optID) {
        switch (optID) {
            case SocketOptions.SO_SNDBUF:
                return StandardSocketOptions.SO_SNDBUF;
            case SocketOptions.SO_RCVBUF:
                return StandardSocketOptions.SO_RCVBUF;
            case SocketOptions.SO_REUSEADDR:
                return StandardSocketOptions.SO_REUSEADDR;
            case SocketOptions.SO_REUSEPORT:
                return StandardSocketOptions.SO_REUSEPORT;
            case SocketOptions.SO_BROADCAST:
                return StandardSocketOptions.SO_BROADCAST;
            case SocketOptions.IP_TOS:
                return StandardSocketOptions.IP_TOS;
            case SocketOptions.IP_MULTICAST_IF2:
                return StandardSocketOptions.IP_MULTICAST_IF;
            case SocketOptions.IP_MULTICAST_LOOP:
                return StandardSocketOptions.IP_MULTICAST_LOOP;
            default:
                return null;
        }
    }

    /** {@code SocketOptions.setOption}, for code that drives the impl directly. */
    @SuppressWarnings("unchecked")
    static void setLegacy(RustDatagramSocketImpl s, int optID, Object value) throws SocketException {
        if (optID == SocketOptions.SO_TIMEOUT) {
            s.setSoTimeout(value instanceof Integer ? (Integer) value : -1);
            return;
        }
        SocketOption<Object> opt = (SocketOption<Object>) legacyOption(optID);
        if (opt == null) {
            throw new SocketException("Unknown option " + optID);
        }
        if (optID == SocketOptions.IP_MULTICAST_LOOP && value instanceof Boolean) {
            value = !(Boolean) value; // the legacy option means "loopback disabled"
        }
        setLegacy(s, opt, value);
    }

    /** {@code SocketOptions.getOption}, for code that drives the impl directly. */
    static Object getLegacy(RustDatagramSocketImpl s, int optID) throws SocketException {
        if (optID == SocketOptions.SO_TIMEOUT) {
            return s.getSoTimeout();
        }
        if (optID == SocketOptions.SO_BINDADDR) {
            if (s.unix != null) {
                return InetAddress.getLoopbackAddress(); // as RustSocket's over a socket file
            }
            InetSocketAddress local = s.localSocketAddress();
            return local != null ? local.getAddress() : RustDatagramSocketImpl.anyLocal();
        }
        SocketOption<?> opt = legacyOption(optID);
        if (opt == null) {
            throw new SocketException("Unknown option " + optID);
        }
        Object v = getLegacy(s, opt);
        return optID == SocketOptions.IP_MULTICAST_LOOP ? (Object) !(Boolean) v : v;
    }
}
