package io.rustsocket.internal;

import io.rustsocket.AbstractUnixSocketAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Unix domain socket names between Java and the native side (see {@code native/src/local.rs}):
 * a {@link UnixDomainSocketAddress} travels as its path's bytes in the file system's encoding
 * (as the JDK's own Unix channels encode it), an {@link AbstractUnixSocketAddress} as a NUL and
 * its name; back from the native side, a kind byte (0 unnamed, 1 path, 2 abstract) comes first.
 */
public final class UnixNames {
    private static final Charset PATH_CHARSET = pathCharset();

    /**
     * The address {@code java.net.Socket} and {@code ServerSocket} are given for a Unix bind or
     * connect, whose own checks accept only an {@code InetSocketAddress}: the implementation has
     * the Unix name already and ignores it.
     */
    public static final InetSocketAddress PLACEHOLDER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

    private UnixNames() {}

    private static Charset pathCharset() {
        String jnu = System.getProperty("sun.jnu.encoding");
        try {
            return jnu != null ? Charset.forName(jnu) : Charset.defaultCharset();
        } catch (RuntimeException e) {
            return Charset.defaultCharset();
        }
    }

    /** Whether {@code address} names a Unix domain socket (a path or an abstract name). */
    public static boolean isUnix(SocketAddress address) {
        return address instanceof UnixDomainSocketAddress || address instanceof AbstractUnixSocketAddress;
    }

    /**
     * The native form of a Unix socket address.
     *
     * @throws IllegalArgumentException if {@code address} is not one
     * @throws UnsupportedOperationException for an abstract name where the system has none
     */
    public static byte[] toNative(SocketAddress address) {
        if (address instanceof UnixDomainSocketAddress) {
            return ((UnixDomainSocketAddress) address).getPath().toString().getBytes(PATH_CHARSET);
        }
        if (address instanceof AbstractUnixSocketAddress) {
            if (!Platform.abstractUnixNames()) {
                throw new UnsupportedOperationException("abstract Unix socket names are Linux's only");
            }
            byte[] name = ((AbstractUnixSocketAddress) address).getBytes();
            byte[] out = new byte[name.length + 1];
            System.arraycopy(name, 0, out, 1, name.length);
            return out;
        }
        throw new IllegalArgumentException("Unsupported address type");
    }

    /**
     * The address the native side reported: a path as a {@link UnixDomainSocketAddress} (an
     * unnamed socket as the empty path, as the JDK's Unix channels show it), an abstract name as
     * an {@link AbstractUnixSocketAddress}.
     */
    static SocketAddress fromNative(byte[] name) {
        byte kind = name.length == 0 ? 0 : name[0];
        byte[] rest = name.length == 0 ? name : Arrays.copyOfRange(name, 1, name.length);
        switch (kind) {
            case 1:
                return UnixDomainSocketAddress.of(Path.of(new String(rest, PATH_CHARSET)));
            case 2:
                return AbstractUnixSocketAddress.of(rest);
            default:
                return UnixDomainSocketAddress.of("");
        }
    }
}
