package io.rustsocket.internal;

import io.rustsocket.RustSocketOptions;
import java.io.IOException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Options applied to every new client socket and every listener (whose options Linux copies to
 * the connections it accepts), for settings users
 * want JVM-wide (chiefly TCP keepalive) without touching the code that makes the sockets. Read
 * from system properties {@code io.rustsocket.<name>} when first used, or set by the agent's
 * options (which win). Nothing is applied, and nothing costs, while none is set.
 */
public final class SocketDefaults {
    /** Option names, as used after {@code io.rustsocket.} and in the agent's options. */
    public static final String KEEP_ALIVE = "keepAlive";
    /** TCP_KEEPIDLE in seconds. */
    public static final String KEEP_IDLE = "keepIdle";
    /** TCP_KEEPINTVL in seconds. */
    public static final String KEEP_INTERVAL = "keepInterval";
    /** TCP_KEEPCNT. */
    public static final String KEEP_COUNT = "keepCount";
    /** TCP_NODELAY. */
    public static final String TCP_NO_DELAY = "tcpNoDelay";

    private static final int UNSET = -1;

    // Linux's limits (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT); a test checks that
    // they are the native option table's for RustSocketOptions' keepalive options
    static final int MAX_KEEP_IDLE = 32767;
    static final int MAX_KEEP_INTERVAL = 32767;
    static final int MAX_KEEP_COUNT = 127;

    // written once at start-up (class init or the agent), read per new socket
    private static volatile boolean any;
    private static volatile int keepAlive = UNSET;
    private static volatile int keepIdle = UNSET;
    private static volatile int keepInterval = UNSET;
    private static volatile int keepCount = UNSET;
    private static volatile int tcpNoDelay = UNSET;
    // the defaults this system turned down, each reported once
    private static final Set<String> UNSUPPORTED_REPORTED = ConcurrentHashMap.newKeySet();

    static {
        for (String name : new String[] {KEEP_ALIVE, KEEP_IDLE, KEEP_INTERVAL, KEEP_COUNT, TCP_NO_DELAY}) {
            String v = System.getProperty("io.rustsocket." + name);
            if (v != null) {
                try {
                    set(name, v);
                } catch (IllegalArgumentException e) {
                    System.getLogger("io.rustsocket").log(System.Logger.Level.WARNING,
                            "rustsocket: ignoring -Dio.rustsocket." + name + ": " + e.getMessage());
                }
            }
        }
    }

    private SocketDefaults() {}

    /** Whether {@code name} is one of the options above. */
    public static boolean isOption(String name) {
        switch (name) {
            case KEEP_ALIVE:
            case KEEP_IDLE:
            case KEEP_INTERVAL:
            case KEEP_COUNT:
            case TCP_NO_DELAY:
                return true;
            default:
                return false;
        }
    }

    /**
     * Sets one default.
     *
     * @param name one of the option names above
     * @param value {@code true}/{@code false} for the switches, a positive whole number for the
     *     keepalive figures
     * @throws IllegalArgumentException for an unknown name or a bad value, with a message saying which
     */
    public static synchronized void set(String name, String value) {
        switch (name) {
            case KEEP_ALIVE:
                keepAlive = bool(name, value);
                break;
            case TCP_NO_DELAY:
                tcpNoDelay = bool(name, value);
                break;
            case KEEP_IDLE:
                keepIdle = positive(name, value, MAX_KEEP_IDLE);
                break;
            case KEEP_INTERVAL:
                keepInterval = positive(name, value, MAX_KEEP_INTERVAL);
                break;
            case KEEP_COUNT:
                keepCount = positive(name, value, MAX_KEEP_COUNT);
                break;
            default:
                throw new IllegalArgumentException("unknown option '" + name + "'");
        }
        any = true;
    }

    private static int bool(String name, String value) {
        switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "true":
                return 1;
            case "false":
                return 0;
            default:
                throw new IllegalArgumentException(name + " must be true or false, not '" + value + "'");
        }
    }

    private static int positive(String name, String value, int max) {
        int v;
        try {
            v = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, not '" + value + "'");
        }
        if (v < 1 || v > max) {
            throw new IllegalArgumentException(name + " must be between 1 and " + max + ", not " + v);
        }
        return v;
    }

    /**
     * Applies the defaults that are set to a new client or listening socket's descriptor (not
     * to accepted ones: they inherit the listener's, including what the application set there).
     */
    static void apply(int fd) throws IOException {
        if (!any) {
            return;
        }
        applyOne(fd, StandardSocketOptions.SO_KEEPALIVE, keepAlive);
        // our rows rather than jdk.net's: the same kernel options, and the systems where the JDK
        // has no jdk.net keepalive options (Windows) have ours
        applyOne(fd, RustSocketOptions.TCP_KEEPIDLE, keepIdle);
        applyOne(fd, RustSocketOptions.TCP_KEEPINTERVAL, keepInterval);
        applyOne(fd, RustSocketOptions.TCP_KEEPCOUNT, keepCount);
        applyOne(fd, StandardSocketOptions.TCP_NODELAY, tcpNoDelay);
    }

    private static void applyOne(int fd, SocketOption<?> option, int value) throws IOException {
        if (value != UNSET) {
            try {
                Native.setOption(fd, OptionTable.row(option).id, value);
            } catch (UnsupportedOperationException e) {
                // a system without the option (keepalive tuning before Windows 10 1709): the
                // socket is made all the same, and the user is told once
                if (UNSUPPORTED_REPORTED.add(option.name())) {
                    System.getLogger("io.rustsocket").log(System.Logger.Level.WARNING,
                            "rustsocket: the default " + option.name() + " is not applied: " + e.getMessage());
                }
            }
        }
    }

    /** The defaults in force, for the agent's start-up line; empty when none is set. */
    public static String describe() {
        StringBuilder sb = new StringBuilder();
        append(sb, KEEP_ALIVE, keepAlive, true);
        append(sb, KEEP_IDLE, keepIdle, false);
        append(sb, KEEP_INTERVAL, keepInterval, false);
        append(sb, KEEP_COUNT, keepCount, false);
        append(sb, TCP_NO_DELAY, tcpNoDelay, true);
        return sb.toString();
    }

    private static void append(StringBuilder sb, String name, int value, boolean bool) {
        if (value != UNSET) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(name).append('=').append(bool ? String.valueOf(value == 1) : String.valueOf(value));
        }
    }
}
