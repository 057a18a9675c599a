package io.rustsocket.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.reflect.Constructor;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.security.Security;

/**
 * The JDK's networking system properties that change how sockets behave, read once as the JDK
 * reads them, so that an application configured for the JDK's sockets gets the same behaviour
 * from ours. The README lists which properties are honoured and why the others are not.
 */
final class NetProperties {
    /**
     * {@code java.net.preferIPv4Stack=true}: every socket is IPv4 only, and an IPv6 address is
     * refused by bind and connect. Read when the library loads, as the JDK reads it at start-up.
     */
    static final boolean PREFER_IPV4_STACK = Boolean.getBoolean("java.net.preferIPv4Stack");

    private NetProperties() {}

    /**
     * The JDK's message for an IPv6 address given to an IPv4-only socket: JDK 17 and 21 say
     * "Protocol family unavailable", JDK 25 "IPv6 protocol family unavailable" (both checked
     * here; the releases between were not).
     */
    static SocketException ipv6Unavailable() {
        return new SocketException(Runtime.version().feature() >= 25
                ? "IPv6 protocol family unavailable"
                : "Protocol family unavailable");
    }

    /**
     * What an implementation's connect throws once an interrupt of its virtual thread closed it,
     * which java.net.Socket then sees. JDK 21 to 23 (java.net.Socket before JDK-8343791):
     * NioSocketImpl rethrows the {@code InterruptedIOException}, and Socket.connect closes the
     * Socket itself and turns it into SocketException("Closed by interrupt"); a SocketException
     * made here would leave the Socket open. JDK 24+: NioSocketImpl throws that SocketException
     * and Socket.connect closes itself on any IOException, so an InterruptedIOException would
     * reach the caller.
     */
    static IOException interruptedConnect(InterruptedIOException e) {
        if (Runtime.version().feature() < 24) {
            return e;
        }
        SocketException se = new SocketException("Closed by interrupt");
        se.initCause(e);
        return se;
    }

    /** Whether {@code address} cannot be used by this process's IPv4-only sockets. */
    static boolean refusedByIpv4Stack(InetAddress address) {
        return PREFER_IPV4_STACK && address instanceof Inet6Address;
    }

    // read on first use: only a failed connect needs it
    private static final class HostInfo {
        static final boolean INCLUDED = hostInfoIncluded();
    }

    /**
     * {@code jdk.includeInExceptions} (a system property, else the security property of the same
     * name): a comma-separated list of categories, compared without case; {@code hostInfo}
     * puts the remote address into the messages of failed connects.
     */
    private static boolean hostInfoIncluded() {
        String value = System.getProperty("jdk.includeInExceptions");
        if (value == null) {
            value = Security.getProperty("jdk.includeInExceptions");
        }
        if (value == null) {
            return false;
        }
        for (String category : value.split(",")) {
            if (category.trim().equalsIgnoreCase("hostInfo")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The exception a failed connect to {@code remote} reports: {@code e} itself, or, when
     * {@code jdk.includeInExceptions} includes {@code hostInfo}, a new exception of the same
     * class whose message ends with ": " and the address (for example "Connection refused:
     * localhost/127.0.0.1:8080"), as the JDK's sockets do. Timeouts are left alone, as the JDK
     * leaves them.
     */
    static IOException withHostInfo(IOException e, InetSocketAddress remote) {
        if (remote == null || !HostInfo.INCLUDED || e instanceof java.net.SocketTimeoutException) {
            return e;
        }
        String message = e.getMessage() + ": " + remote;
        try {
            Constructor<? extends IOException> ctor = e.getClass().getConstructor(String.class);
            IOException enhanced = ctor.newInstance(message);
            enhanced.setStackTrace(e.getStackTrace());
            for (Throwable s : e.getSuppressed()) {
                enhanced.addSuppressed(s);
            }
            if (e.getCause() != null) {
                enhanced.initCause(e.getCause());
            }
            return enhanced;
        } catch (ReflectiveOperationException | RuntimeException noStringConstructor) {
            return e;
        }
    }
}
