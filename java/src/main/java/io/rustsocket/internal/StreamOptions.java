package io.rustsocket.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.SocketOptions;
import java.net.StandardSocketOptions;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The option adapter of {@link RustSocketImpl}: {@code SocketImpl}'s two option APIs (the
 * {@link SocketOption} one and the legacy {@link SocketOptions} int ids that
 * {@code java.net.Socket}'s setters use) over the native {@link OptionTable}, which validates
 * the values. It also remembers (in the socket's {@code presetOptions}) the options a client
 * socket was given before it connected, so that a connect racing several addresses gives every
 * attempt the same options. Stateless: a socket costs no adapter object.
 */
final class StreamOptions {
    private StreamOptions() {}

    // read from the native option table once per kind, when first needed
    private static final class Client {
        static final Set<SocketOption<?>> ALL = OptionTable.supported(OptionTable.CLIENT);
        static final Set<SocketOption<?>> JDK_VISIBLE = withoutOwn(ALL);
    }

    private static final class Listener {
        static final Set<SocketOption<?>> ALL = OptionTable.supported(OptionTable.LISTENER);
        static final Set<SocketOption<?>> JDK_VISIBLE = withoutOwn(ALL);
    }

    private static final class UnixClient {
        static final Set<SocketOption<?>> ALL = UnixSockets.withPeerCredentials(OptionTable.supported(OptionTable.UNIX_CLIENT));
        static final Set<SocketOption<?>> JDK_VISIBLE = withoutOwn(ALL);
    }

    private static final class UnixListener {
        static final Set<SocketOption<?>> ALL = OptionTable.supported(OptionTable.UNIX_LISTENER);
        static final Set<SocketOption<?>> JDK_VISIBLE = withoutOwn(ALL);
    }

    private static final class Rows {
        static final OptionTable.Row LINGER = OptionTable.row(StandardSocketOptions.SO_LINGER);
        static final OptionTable.Row TCP_NODELAY = OptionTable.row(StandardSocketOptions.TCP_NODELAY);
        static final OptionTable.Row SO_KEEPALIVE = OptionTable.row(StandardSocketOptions.SO_KEEPALIVE);
        static final OptionTable.Row SO_SNDBUF = OptionTable.row(StandardSocketOptions.SO_SNDBUF);
        static final OptionTable.Row SO_RCVBUF = OptionTable.row(StandardSocketOptions.SO_RCVBUF);
        static final OptionTable.Row SO_REUSEADDR = OptionTable.row(StandardSocketOptions.SO_REUSEADDR);
        static final OptionTable.Row SO_REUSEPORT = OptionTable.row(StandardSocketOptions.SO_REUSEPORT);
        static final OptionTable.Row IP_TOS = OptionTable.row(StandardSocketOptions.IP_TOS);
        static final OptionTable.Row SO_OOBINLINE = OptionTable.legacy("SO_OOBINLINE");
    }

    /** SO_LINGER of {@code fd}: -1 when off, else seconds. */
    static int linger(int fd) throws IOException {
        return Native.getOption(fd, Rows.LINGER.id);
    }

    /**
     * SO_LINGER of {@code impl}'s descriptor {@code fd}, for close: off (-1) without asking the
     * kernel when it was never set on the socket (nor on the listener that accepted it, whose
     * value the kernel copies), since only this class sets it. Saves a system call per close.
     */
    static int linger(RustSocketImpl impl, int fd) throws IOException {
        return impl.lingerMaybeOn ? linger(fd) : -1;
    }

    /** Turns SO_LINGER off on {@code fd}. */
    static void lingerOff(int fd) throws IOException {
        Native.setOption(fd, Rows.LINGER.id, -1);
    }

    static Set<SocketOption<?>> supported(RustSocketImpl impl) {
        if (impl.isUnix()) {
            return impl.server ? UnixListener.ALL : UnixClient.ALL;
        }
        return impl.server ? Listener.ALL : Client.ALL;
    }

    /**
     * What {@code SocketImpl.supportedOptions} reports, and so a plain {@code java.net.Socket}
     * under the agent: the JDK's options, without {@link io.rustsocket.RustSocketOptions}. Code
     * written for the JDK copies "every supported option" to a channel or another socket, which
     * would refuse ours; they are still accepted by {@code setOption}, and {@code RustSocket}
     * and {@code RustServerSocket} list them (see {@link #supported}).
     */
    static Set<SocketOption<?>> jdkVisible(RustSocketImpl impl) {
        if (impl.isUnix()) {
            return impl.server ? UnixListener.JDK_VISIBLE : UnixClient.JDK_VISIBLE;
        }
        return impl.server ? Listener.JDK_VISIBLE : Client.JDK_VISIBLE;
    }

    private static Set<SocketOption<?>> withoutOwn(Set<SocketOption<?>> options) {
        Set<SocketOption<?>> jdk = new HashSet<>(options);
        jdk.removeIf(OptionTable::isOwn);
        return Collections.unmodifiableSet(jdk);
    }

    private static OptionTable.Row supportedRow(RustSocketImpl impl, SocketOption<?> opt) {
        if (!supported(impl).contains(opt)) {
            throw new UnsupportedOperationException("'" + opt + "' not supported");
        }
        return OptionTable.row(opt);
    }

    static <T> void set(RustSocketImpl impl, SocketOption<T> opt, T value) throws IOException {
        if (UnixSockets.isPeerCredentials(opt) && supported(impl).contains(opt)) {
            OptionTable.checkType(opt, value);
            synchronized (impl.stateLock) {
                impl.ensureOpen();
            }
            throw new SocketException("SO_PEERCRED cannot be set "); // the JDK's message, its space too
        }
        OptionTable.Row row = supportedRow(impl, opt);
        OptionTable.checkType(opt, value);
        synchronized (impl.stateLock) {
            // as in the JDK, a closed socket is reported before a bad value
            impl.ensureOpen();
            setRow(impl, row, value);
        }
    }

    @SuppressWarnings("unchecked")
    static <T> T get(RustSocketImpl impl, SocketOption<T> opt) throws IOException {
        if (UnixSockets.isPeerCredentials(opt) && supported(impl).contains(opt)) {
            return (T) UnixSockets.peerPrincipal(impl);
        }
        OptionTable.Row row = supportedRow(impl, opt);
        synchronized (impl.stateLock) {
            impl.ensureOpen();
            return (T) OptionTable.get(impl.descriptor.fd(), row);
        }
    }

    /** Sets a row on the descriptor, remembering it for racing connect attempts. */
    private static void setRow(RustSocketImpl impl, OptionTable.Row row, Object value) throws IOException {
        assert Thread.holdsLock(impl.stateLock);
        OptionTable.set(impl.descriptor.fd(), row, value);
        if (row == Rows.LINGER) {
            impl.lingerMaybeOn = true;
        }
        // kept for a racing connect's other descriptors, and for the Unix descriptor that may
        // replace this one before a client connects or a listener binds
        if (impl.server ? impl.mayBecomeUnix() : impl.isUnconnected()) {
            if (impl.presetOptions == null) {
                impl.presetOptions = new LinkedHashMap<>();
            }
            impl.presetOptions.remove(row); // keep the order in which the values were last set
            impl.presetOptions.put(row, value);
        }
    }

    /** A copy of the options set on {@code impl} before connect, taken under its state lock. */
    static Map<OptionTable.Row, Object> presets(RustSocketImpl impl) {
        synchronized (impl.stateLock) {
            return impl.presetOptions == null ? Map.of() : new LinkedHashMap<>(impl.presetOptions);
        }
    }

    /**
     * Applies the options set before connect to another descriptor (those a Unix socket has, when
     * it is one); the caller holds the state lock.
     */
    static void applyPresets(RustSocketImpl impl, int fd) throws IOException {
        assert Thread.holdsLock(impl.stateLock);
        if (impl.presetOptions == null) {
            return;
        }
        int kind = impl.isUnix()
                ? (impl.server ? OptionTable.UNIX_LISTENER : OptionTable.UNIX_CLIENT)
                : (impl.server ? OptionTable.LISTENER : OptionTable.CLIENT);
        for (Map.Entry<OptionTable.Row, Object> o : impl.presetOptions.entrySet()) {
            if ((o.getKey().sockets & kind) != 0) {
                OptionTable.set(fd, o.getKey(), o.getValue());
            }
        }
    }

    /** Applies copies of options to a descriptor. */
    static void apply(int fd, Map<OptionTable.Row, Object> values) throws IOException {
        for (Map.Entry<OptionTable.Row, Object> o : values.entrySet()) {
            OptionTable.set(fd, o.getKey(), o.getValue());
        }
    }

    // ---------------------------------------------------------------- the legacy int ids

    private static boolean booleanValue(Object value, String desc) throws SocketException {
        if (!(value instanceof Boolean)) {
            throw new SocketException("Bad value for " + desc);
        }
        return (Boolean) value;
    }

    private static int intValue(Object value, String desc) throws SocketException {
        if (!(value instanceof Integer)) {
            throw new SocketException("Bad value for " + desc);
        }
        return (Integer) value;
    }

    /**
     * The legacy ids that mean nothing to a Unix socket. {@code java.net.Socket}'s setters for
     * them are no-ops there (their getters read false, or 0 for IP_TOS), so that code written for
     * TCP (a JDBC driver's {@code setTcpNoDelay(true)}) runs on a socket file unchanged; the
     * {@link SocketOption} API refuses them, as the JDK's Unix channels do.
     */
    private static boolean ignoredOnUnix(int opt) {
        switch (opt) {
            case SocketOptions.TCP_NODELAY:
            case SocketOptions.SO_KEEPALIVE:
            case SocketOptions.SO_OOBINLINE:
            case SocketOptions.IP_TOS:
            case SocketOptions.SO_REUSEADDR:
            case SocketOptions.SO_REUSEPORT:
                return true;
            default:
                return false;
        }
    }

    /** {@code SocketImpl.setOption(int, Object)}, with the JDK's checks and messages. */
    static void setLegacy(RustSocketImpl impl, int opt, Object value) throws SocketException {
        synchronized (impl.stateLock) {
            impl.ensureOpen();
            if (impl.isUnix() && ignoredOnUnix(opt)) {
                return;
            }
            try {
                switch (opt) {
                    case SocketOptions.SO_LINGER: {
                        int i;
                        if (value instanceof Boolean && !((Boolean) value)) {
                            i = -1;
                        } else {
                            i = intValue(value, "SO_LINGER");
                        }
                        setRow(impl, Rows.LINGER, i);
                        break;
                    }
                    case SocketOptions.SO_TIMEOUT: {
                        int i = intValue(value, "SO_TIMEOUT");
                        if (i < 0) {
                            throw new IllegalArgumentException("timeout < 0");
                        }
                        impl.setTimeout(i);
                        break;
                    }
                    case SocketOptions.IP_TOS:
                        setRow(impl, Rows.IP_TOS, intValue(value, "IP_TOS"));
                        break;
                    case SocketOptions.TCP_NODELAY:
                        setRow(impl, Rows.TCP_NODELAY, booleanValue(value, "TCP_NODELAY"));
                        break;
                    case SocketOptions.SO_SNDBUF: {
                        int i = intValue(value, "SO_SNDBUF");
                        if (i <= 0) {
                            throw new SocketException("SO_SNDBUF <= 0");
                        }
                        setRow(impl, Rows.SO_SNDBUF, i);
                        break;
                    }
                    case SocketOptions.SO_RCVBUF: {
                        int i = intValue(value, "SO_RCVBUF");
                        if (i <= 0) {
                            throw new SocketException("SO_RCVBUF <= 0");
                        }
                        setRow(impl, Rows.SO_RCVBUF, i);
                        break;
                    }
                    case SocketOptions.SO_KEEPALIVE:
                        setRow(impl, Rows.SO_KEEPALIVE, booleanValue(value, "SO_KEEPALIVE"));
                        break;
                    case SocketOptions.SO_OOBINLINE:
                        setRow(impl, Rows.SO_OOBINLINE, booleanValue(value, "SO_OOBINLINE"));
                        break;
                    case SocketOptions.SO_REUSEADDR:
                        setRow(impl, Rows.SO_REUSEADDR, booleanValue(value, "SO_REUSEADDR"));
                        break;
                    case SocketOptions.SO_REUSEPORT:
                        setRow(impl, Rows.SO_REUSEPORT, booleanValue(value, "SO_REUSEPORT"));
                        break;
                    default:
                        throw new SocketException("Unknown option " + opt);
                }
            } catch (SocketException e) {
                throw e;
            } catch (IllegalArgumentException | IOException e) {
                throw OptionTable.asSocketException(e);
            }
        }
    }

    /** {@code SocketImpl.getOption(int)}, with the JDK's values and messages. */
    static Object getLegacy(RustSocketImpl impl, int opt) throws SocketException {
        synchronized (impl.stateLock) {
            impl.ensureOpen();
            if (impl.isUnix() && (ignoredOnUnix(opt) || opt == SocketOptions.SO_BINDADDR)) {
                return opt == SocketOptions.IP_TOS ? (Object) 0
                        : opt == SocketOptions.SO_BINDADDR ? (Object) InetAddress.getLoopbackAddress()
                        : (Object) Boolean.FALSE;
            }
            int fd = impl.descriptor.fd();
            try {
                switch (opt) {
                    case SocketOptions.SO_TIMEOUT:
                        return impl.timeout();
                    case SocketOptions.TCP_NODELAY:
                        return OptionTable.get(fd, Rows.TCP_NODELAY);
                    case SocketOptions.SO_OOBINLINE:
                        return OptionTable.get(fd, Rows.SO_OOBINLINE);
                    case SocketOptions.SO_LINGER: {
                        int i = linger(fd);
                        return i == -1 ? (Object) Boolean.FALSE : (Object) i;
                    }
                    case SocketOptions.SO_REUSEADDR:
                        return OptionTable.get(fd, Rows.SO_REUSEADDR);
                    case SocketOptions.SO_BINDADDR:
                        return AddressWire.localOf(fd).getAddress();
                    case SocketOptions.SO_SNDBUF:
                        return OptionTable.get(fd, Rows.SO_SNDBUF);
                    case SocketOptions.SO_RCVBUF:
                        return OptionTable.get(fd, Rows.SO_RCVBUF);
                    case SocketOptions.IP_TOS:
                        return OptionTable.get(fd, Rows.IP_TOS);
                    case SocketOptions.SO_KEEPALIVE:
                        return OptionTable.get(fd, Rows.SO_KEEPALIVE);
                    case SocketOptions.SO_REUSEPORT:
                        return OptionTable.get(fd, Rows.SO_REUSEPORT);
                    default:
                        throw new SocketException("Unknown option " + opt);
                }
            } catch (SocketException e) {
                throw e;
            } catch (IllegalArgumentException | IOException e) {
                throw OptionTable.asSocketException(e);
            }
        }
    }
}
