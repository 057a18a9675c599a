package io.rustsocket.internal;

import io.rustsocket.RustSocketOptions;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The socket options, as the native library describes them ({@code native/src/options.rs}): read
 * once when the library loads, so ids, value types, ranges and which sockets take which option
 * are written in one place. Each row names a constant of {@link StandardSocketOptions},
 * {@link jdk.net.ExtendedSocketOptions} or {@link RustSocketOptions} (or a legacy
 * {@link java.net.SocketOptions} id), which this class finds by reflection; values are validated
 * by the native side, with the JDK's exceptions and messages.
 */
public final class OptionTable {
    /** A client or accepted TCP socket (the native table's socket bits). */
    public static final int CLIENT = 1;
    /** A listening TCP socket. */
    public static final int LISTENER = 2;
    /** A UDP socket. */
    public static final int DATAGRAM = 4;
    /** A connected Unix domain stream socket. */
    public static final int UNIX_CLIENT = 8;
    /** A listening Unix domain socket. */
    public static final int UNIX_LISTENER = 16;
    /** A Unix domain datagram socket. */
    public static final int UNIX_DATAGRAM = 32;

    /** One option: its native id and what the native table says about it. */
    public static final class Row {
        /** Index in the native table. */
        public final int id;
        /** Which class holds the constant: java, jdk, rust or legacy. */
        public final String origin;
        /** The constant's name. */
        public final String name;
        /** The value type's simple name: Boolean, Integer, String or NetworkInterface. */
        public final String type;
        /** The sockets it applies to ({@link #CLIENT}, {@link #LISTENER}, {@link #DATAGRAM}, Unix bits). */
        public final int sockets;
        /** Smallest valid value. */
        public final long min;
        /** Largest valid value. */
        public final long max;
        /** Whether it can only be read. */
        public final boolean readOnly;
        /** Whether the kernel must be asked whether it has it. */
        public final boolean probe;
        /** Whether the system the library was built for has it at all (SO_REUSEPORT: not Windows). */
        public final boolean available;

        Row(int id, String[] f) {
            this.id = id;
            this.origin = f[0];
            this.name = f[1];
            this.type = f[2];
            this.sockets = Integer.parseInt(f[3]);
            this.min = Long.parseLong(f[4]);
            this.max = Long.parseLong(f[5]);
            this.readOnly = f[6].equals("1");
            this.probe = f[7].equals("1");
            this.available = f[8].equals("1");
        }

        @Override
        public String toString() {
            return origin + ":" + name;
        }
    }

    private static final List<Row> ROWS = new ArrayList<>();
    private static final Map<SocketOption<?>, Row> BY_OPTION = new IdentityHashMap<>();
    private static final Map<String, Row> BY_KEY = new HashMap<>();

    static {
        NativeLibrary.ensureLoaded();
        String table = Native.optionTable();
        for (String line : table.split("\n")) {
            if (!line.isEmpty()) {
                Row row = new Row(ROWS.size(), line.split("\t", -1));
                ROWS.add(row);
                BY_KEY.put(row.origin + ":" + row.name, row);
            }
        }
        bind(StandardSocketOptions.class, "java");
        bindIfPresent("jdk.net.ExtendedSocketOptions", "jdk");
        bind(RustSocketOptions.class, "rust");
    }

    private OptionTable() {}

    /**
     * {@link #bind} for a holder in a module the runtime may lack: without {@code jdk.net}
     * (under {@code --limit-modules java.base}, or in an image made without it) the JDK's own
     * sockets have no extended options either, and the rest of the table must still load.
     */
    private static void bindIfPresent(String holder, String origin) {
        Class<?> c;
        try {
            c = Class.forName(holder);
        } catch (ClassNotFoundException | LinkageError e) {
            return;
        }
        bind(c, origin);
    }

    /** Maps the public static SocketOption constants of {@code holder} to their rows. */
    private static void bind(Class<?> holder, String origin) {
        for (Field f : holder.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && SocketOption.class.isAssignableFrom(f.getType())) {
                Row row = BY_KEY.get(origin + ":" + f.getName());
                if (row != null && row.available) {
                    try {
                        BY_OPTION.put((SocketOption<?>) f.get(null), row);
                    } catch (IllegalAccessException e) {
                        throw new IllegalStateException("cannot read " + f, e);
                    }
                }
            }
        }
    }

    /** Every row, in id order (for tests that compare Java's view with the native one). */
    public static List<Row> rows() {
        return Collections.unmodifiableList(ROWS);
    }

    /** The Java constant a row describes, or {@code null} for legacy rows and unknown names. */
    public static SocketOption<?> option(Row row) {
        for (Map.Entry<SocketOption<?>, Row> e : BY_OPTION.entrySet()) {
            if (e.getValue() == row) {
                return e.getKey();
            }
        }
        return null;
    }

    /** Whether {@code option} is one of {@link RustSocketOptions}, not the JDK's. */
    static boolean isOwn(SocketOption<?> option) {
        Row row = BY_OPTION.get(option);
        return row != null && row.origin.equals("rust");
    }

    /** The row of {@code option}, or {@code null} if the library does not know it. */
    static Row row(SocketOption<?> option) {
        return BY_OPTION.get(option);
    }

    /** The row of a legacy {@link java.net.SocketOptions} option with no SocketOption constant. */
    static Row legacy(String name) {
        Row row = BY_KEY.get("legacy:" + name);
        if (row == null) {
            throw new IllegalStateException("the native option table has no legacy " + name);
        }
        return row;
    }

    /**
     * The options a socket of {@code kind} supports: every row for that kind whose Java constant
     * exists and that this system has, less the extras this kernel lacks (asked once per kind, on
     * a fresh socket).
     */
    static Set<SocketOption<?>> supported(int kind) {
        Set<SocketOption<?>> set = new HashSet<>();
        List<Map.Entry<SocketOption<?>, Row>> probed = new ArrayList<>();
        for (Map.Entry<SocketOption<?>, Row> e : BY_OPTION.entrySet()) {
            if ((e.getValue().sockets & kind) == 0 || !e.getValue().available) {
                continue;
            }
            if (e.getValue().probe) {
                probed.add(e);
            } else {
                set.add(e.getKey());
            }
        }
        if (!probed.isEmpty()) {
            try {
                set.addAll(probe(kind, probed));
            } catch (RuntimeException e) {
                // this runs in class initializers: anything escaping would make the class unusable
                // for the life of the JVM (NoClassDefFoundError), far worse than a smaller option set
            }
        }
        return Collections.unmodifiableSet(set);
    }

    /**
     * Asks the kernel, on a fresh socket of the kind the library makes, for each option; an
     * option it answers ENOPROTOOPT for (or an IPv6 option on an IPv4 socket) is left out.
     */
    private static Set<SocketOption<?>> probe(int kind, List<Map.Entry<SocketOption<?>, Row>> rows) {
        Set<SocketOption<?>> found = new HashSet<>();
        int fd;
        try {
            if (kind == DATAGRAM) {
                fd = NativeDatagram.open();
            } else if (kind >= UNIX_CLIENT) {
                fd = Native.unixSocket(kind == UNIX_DATAGRAM, kind == UNIX_LISTENER);
            } else {
                fd = Native.socket(kind == LISTENER);
            }
        } catch (IOException e) {
            // no descriptor to ask with (out of descriptors?): setOption will tell per option
            rows.forEach(r -> found.add(r.getKey()));
            return found;
        }
        try {
            for (Map.Entry<SocketOption<?>, Row> e : rows) {
                try {
                    get(fd, e.getValue());
                    found.add(e.getKey());
                } catch (RuntimeException absent) {
                    // UnsupportedOperationException: this kernel or this family does not have it;
                    // anything unexpected is left out too rather than failing a class initializer
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

    /**
     * Sets an option on {@code fd}: the value converted to its native form and validated by the
     * native side (IllegalArgumentException for a bad value, with the JDK's message).
     *
     * @param value a Boolean, Integer, String or NetworkInterface as the row's type says
     * @throws IllegalArgumentException if the value has the wrong type or is out of range
     */
    static void set(int fd, Row row, Object value) throws IOException {
        if (value instanceof String) {
            Native.setStringOption(fd, row.id, (String) value);
        } else {
            Native.setOption(fd, row.id, toNative(value));
        }
    }

    /** The native int for a Boolean, Integer or NetworkInterface value. */
    static int toNative(Object value) {
        if (value instanceof Boolean) {
            return ((Boolean) value) ? 1 : 0;
        } else if (value instanceof Integer) {
            return (Integer) value;
        } else if (value instanceof NetworkInterface) {
            return ((NetworkInterface) value).getIndex();
        }
        throw new IllegalArgumentException("Invalid value '" + value + "'");
    }

    /**
     * Reads an option from {@code fd}, as the row's type: Boolean, Integer or String (a
     * NetworkInterface row reads as its Integer index; the caller maps it).
     */
    static Object get(int fd, Row row) throws IOException {
        switch (row.type) {
            case "String":
                return Native.getStringOption(fd, row.id);
            case "Boolean":
                return Native.getOption(fd, row.id) != 0;
            default:
                return Native.getOption(fd, row.id);
        }
    }

    /** Whether {@code value} has the type {@code option} declares (as the JDK's setOption checks). */
    static void checkType(SocketOption<?> option, Object value) {
        if (!option.type().isInstance(value)) {
            throw new IllegalArgumentException("Invalid value '" + value + "'");
        }
    }

    /** A socket exception with the message of a failed legacy option call. */
    static SocketException asSocketException(Exception e) {
        if (e instanceof SocketException) {
            return (SocketException) e;
        }
        SocketException se = new SocketException(e.getMessage());
        se.setStackTrace(e.getStackTrace());
        return se;
    }
}
