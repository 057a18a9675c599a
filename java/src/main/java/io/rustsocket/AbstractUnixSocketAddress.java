package io.rustsocket;

import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A name in Linux's abstract namespace for Unix domain sockets: a socket bound to it has no file
 * in the file system, and the name goes away when the last socket holding it closes. The JDK's
 * {@link java.net.UnixDomainSocketAddress} cannot hold such a name (it would start with a NUL
 * byte), so rustsocket has this type, accepted wherever a {@code UnixDomainSocketAddress} is:
 *
 * <pre>{@code
 * RustServerSocket server = new RustServerSocket();
 * server.bind(AbstractUnixSocketAddress.of("my-service"));
 * RustSocket client = new RustSocket();
 * client.connect(AbstractUnixSocketAddress.of("my-service"));
 * }</pre>
 *
 * Linux only: binding or connecting to one elsewhere throws
 * {@link UnsupportedOperationException}.
 */
public final class AbstractUnixSocketAddress extends SocketAddress {
    private static final long serialVersionUID = 1L;

    /** The name's bytes, without the leading NUL the kernel sees. */
    private final byte[] name;

    private AbstractUnixSocketAddress(byte[] name) {
        this.name = name;
    }

    /**
     * The abstract name {@code name}, encoded as UTF-8.
     *
     * @param name the name (without a leading NUL)
     * @return the address
     * @throws NullPointerException if {@code name} is null
     */
    public static AbstractUnixSocketAddress of(String name) {
        return of(name.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The abstract name made of {@code name}'s bytes (which may hold any value, NUL included).
     *
     * @param name the name's bytes (without a leading NUL); copied
     * @return the address
     * @throws NullPointerException if {@code name} is null
     */
    public static AbstractUnixSocketAddress of(byte[] name) {
        return new AbstractUnixSocketAddress(name.clone());
    }

    /**
     * The name's bytes, without the leading NUL.
     *
     * @return a copy of the bytes
     */
    public byte[] getBytes() {
        return name.clone();
    }

    /**
     * The name decoded as UTF-8 (bytes that are not UTF-8 show as replacement characters).
     *
     * @return the name
     */
    public String getName() {
        return new String(name, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AbstractUnixSocketAddress && Arrays.equals(name, ((AbstractUnixSocketAddress) o).name);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(name);
    }

    /** The name with an {@code @} in front, as Linux tools show abstract names. */
    @Override
    public String toString() {
        return "@" + getName();
    }
}
