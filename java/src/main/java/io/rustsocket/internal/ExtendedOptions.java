package io.rustsocket.internal;

import io.rustsocket.RustSocketOptions;
import java.io.IOException;
import java.net.SocketOption;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The options of {@link RustSocketOptions}: their native ids, which kind of socket each applies
 * to, the values the kernel accepts, and which ones this kernel and address family support.
 */
final class ExtendedOptions {
    /** Which kind of socket an option means something on. */
    private enum Kind { CLIENT, SERVER, BOTH }

    /**
     * One option: its id in {@code Native}, the sockets it applies to, and for integers the
     * kernel's accepted range (inclusive).
     */
    private record Spec(int id, Kind kind, long min, long max) {
        boolean appliesTo(boolean server) {
            return kind == Kind.BOTH || (kind == Kind.SERVER) == server;
        }
    }

    /** Longest string value, with room to spare over IFNAMSIZ and TCP_CA_NAME_MAX. */
    private static final int MAX_STRING = 64;

    private static final Map<SocketOption<?>, Spec> SPECS = new IdentityHashMap<>();

    static {
        long intMax = Integer.MAX_VALUE;
        spec(RustSocketOptions.TCP_KEEPIDLE, Native.OPT_TCP_KEEPIDLE, Kind.BOTH, 1, 32767);
        spec(RustSocketOptions.TCP_KEEPINTERVAL, Native.OPT_TCP_KEEPINTERVAL, Kind.BOTH, 1, 32767);
        spec(RustSocketOptions.TCP_KEEPCOUNT, Native.OPT_TCP_KEEPCOUNT, Kind.BOTH, 1, 127);
        spec(RustSocketOptions.TCP_USER_TIMEOUT, Native.OPT_TCP_USER_TIMEOUT, Kind.BOTH, 0, intMax);
        spec(RustSocketOptions.TCP_QUICKACK, Native.OPT_TCP_QUICKACK, Kind.BOTH, 0, 1);
        spec(RustSocketOptions.TCP_CORK, Native.OPT_TCP_CORK, Kind.CLIENT, 0, 1);
        spec(RustSocketOptions.TCP_NOTSENT_LOWAT, Native.OPT_TCP_NOTSENT_LOWAT, Kind.BOTH, 0, intMax);
        spec(RustSocketOptions.TCP_MAXSEG, Native.OPT_TCP_MAXSEG, Kind.BOTH, 88, 32767);
        spec(RustSocketOptions.TCP_CONGESTION, Native.OPT_TCP_CONGESTION, Kind.BOTH, 0, 0);
        spec(RustSocketOptions.TCP_FASTOPEN, Native.OPT_TCP_FASTOPEN, Kind.SERVER, 0, intMax);
        spec(RustSocketOptions.TCP_FASTOPEN_CONNECT, Native.OPT_TCP_FASTOPEN_CONNECT, Kind.CLIENT, 0, 1);
        spec(RustSocketOptions.TCP_DEFER_ACCEPT, Native.OPT_TCP_DEFER_ACCEPT, Kind.SERVER, 0, intMax);
        spec(RustSocketOptions.IP_TTL, Native.OPT_IP_TTL, Kind.BOTH, 1, 255);
        spec(RustSocketOptions.IPV6_V6ONLY, Native.OPT_IPV6_V6ONLY, Kind.BOTH, 0, 1);
        spec(RustSocketOptions.IP_FREEBIND, Native.OPT_IP_FREEBIND, Kind.BOTH, 0, 1);
        spec(RustSocketOptions.IP_BIND_ADDRESS_NO_PORT, Native.OPT_IP_BIND_ADDRESS_NO_PORT, Kind.CLIENT, 0, 1);
        spec(RustSocketOptions.SO_MARK, Native.OPT_SO_MARK, Kind.BOTH, Integer.MIN_VALUE, intMax);
        spec(RustSocketOptions.SO_BINDTODEVICE, Native.OPT_SO_BINDTODEVICE, Kind.BOTH, 0, 0);
        spec(RustSocketOptions.SO_INCOMING_CPU, Native.OPT_SO_INCOMING_CPU, Kind.BOTH, -1, intMax);
        spec(RustSocketOptions.SO_BUSY_POLL, Native.OPT_SO_BUSY_POLL, Kind.BOTH, 0, intMax);
    }

    private static void spec(SocketOption<?> opt, int id, Kind kind, long min, long max) {
        SPECS.put(opt, new Spec(id, kind, min, max));
    }

    private ExtendedOptions() {}

    /**
     * The native id of one of {@link RustSocketOptions}' options.
     *
     * @return the id, or -1 if {@code opt} is not one of them
     */
    static int id(SocketOption<?> opt) {
        Spec spec = SPECS.get(opt);
        return spec == null ? -1 : spec.id;
    }

    /**
     * Checks an integer (or boolean as 0/1) value against the kernel's range for the option.
     *
     * @throws IllegalArgumentException naming the option and the value when it is out of range
     */
    static void checkValue(SocketOption<?> opt, int value) {
        Spec spec = SPECS.get(opt);
        if (spec != null && opt.type() != String.class && (value < spec.min || value > spec.max)) {
            throw new IllegalArgumentException("Invalid value for " + opt.name() + ": " + value
                    + " (must be " + spec.min + " to " + spec.max + ")");
        }
    }

    /**
     * The ASCII bytes of a string option's value.
     *
     * @throws IllegalArgumentException if the value has characters outside printable ASCII
     */
    static byte[] ascii(SocketOption<?> opt, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c <= ' ' || c > '~') {
                throw new IllegalArgumentException("Invalid value for " + opt.name() + ": '" + value + "'");
            }
        }
        return value.getBytes(StandardCharsets.US_ASCII);
    }

    /** Reads a string option. */
    static String getString(int fd, int id) throws IOException {
        byte[] out = new byte[MAX_STRING];
        int n = Native.getStringOption(fd, id, out);
        return new String(out, 0, Math.min(n, out.length), StandardCharsets.US_ASCII);
    }

    /**
     * {@code base} plus the options of {@link RustSocketOptions} that apply to this kind of socket
     * and that this kernel supports for the sockets' address family.
     */
    static Set<SocketOption<?>> withSupported(Set<SocketOption<?>> base, boolean server) {
        Set<SocketOption<?>> set = new HashSet<>(base);
        try {
            set.addAll(probe(server));
        } catch (RuntimeException e) {
            // this runs in a class initializer: anything escaping would make the class unusable
            // for the life of the JVM (NoClassDefFoundError), far worse than a smaller option set
        }
        return Collections.unmodifiableSet(set);
    }

    /**
     * Asks the kernel, on a fresh socket of the kind the library makes, for each option; an
     * option it answers ENOPROTOOPT for (or an IPv6 option on an IPv4 socket) is left out.
     */
    private static Set<SocketOption<?>> probe(boolean server) {
        Set<SocketOption<?>> found = new HashSet<>();
        int fd;
        try {
            fd = Native.socket(server);
        } catch (IOException e) {
            // no descriptor to ask with (out of descriptors?): setOption will tell per option
            SPECS.forEach((opt, spec) -> {
                if (spec.appliesTo(server)) {
                    found.add(opt);
                }
            });
            return found;
        }
        try {
            for (Map.Entry<SocketOption<?>, Spec> e : SPECS.entrySet()) {
                Spec spec = e.getValue();
                if (!spec.appliesTo(server)) {
                    continue;
                }
                try {
                    if (e.getKey().type() == String.class) {
                        getString(fd, spec.id);
                    } else {
                        Native.getOption(fd, spec.id);
                    }
                    found.add(e.getKey());
                } catch (RuntimeException absent) {
                    // UnsupportedOperationException: this kernel or this family does not have it;
                    // anything else unexpected (IllegalArgumentException from a mapping this
                    // kernel surprises): left out too rather than failing the class initializer
                } catch (IOException other) {
                    // it exists but cannot be read on a fresh socket
                    found.add(e.getKey());
                }
            }
        } finally {
            Native.close(fd);
        }
        return found;
    }
}
