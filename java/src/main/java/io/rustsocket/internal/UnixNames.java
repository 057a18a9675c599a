package io.rustsocket.internal;

import io.rustsocket.AbstractUnixSocketAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.Charset;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
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

    /** The longest path, in bytes: the JDK's limit here (see {@code local::MAX_PATH}). */
    private static final class Limit {
        static final int PATH = Native.unixPathLimit();
    }

    /**
     * The native form of a Unix socket address (empty for the empty path, the unnamed address),
     * its length checked here, before any system call.
     *
     * @throws SocketException "Unix domain path too long: N bytes, at most M"
     * @throws IllegalArgumentException if {@code address} is not a Unix name, or is an abstract
     *     name where the system has no abstract namespace
     */
    public static byte[] toNative(SocketAddress address) throws SocketException {
        if (address instanceof UnixDomainSocketAddress) {
            byte[] path = pathBytes(((UnixDomainSocketAddress) address).getPath());
            checkLength(path.length, Limit.PATH);
            return path;
        }
        if (address instanceof AbstractUnixSocketAddress) {
            if (!Platform.abstractUnixNames()) {
                throw new IllegalArgumentException("Unsupported address type: " + Platform.NAME
                        + " has no abstract namespace for Unix sockets");
            }
            byte[] name = ((AbstractUnixSocketAddress) address).getBytes();
            checkLength(name.length, Limit.PATH + 1); // all of sun_path but the leading NUL
            byte[] out = new byte[name.length + 1];
            System.arraycopy(name, 0, out, 1, name.length);
            return out;
        }
        throw new IllegalArgumentException("Unsupported address type");
    }

    private static void checkLength(int length, int limit) throws SocketException {
        if (length > limit) {
            // the JDK's message, with the figures it leaves out
            throw new SocketException("Unix domain path too long: " + length + " bytes, at most " + limit);
        }
    }

    /**
     * A path's bytes as the system calls see them, as the JDK's Unix channels take them: the
     * default file system's own bytes for the path (so a name listed from a directory that is not
     * valid in the JVM's encoding still works), UTF-8 on Windows, else the JVM's encoding.
     */
    private static byte[] pathBytes(Path path) {
        String s = path.toString();
        if (s.isEmpty()) {
            return new byte[0];
        }
        byte[] raw = path.getFileSystem() == FileSystems.getDefault() ? Native.unixPathBytes(path) : null;
        if (raw != null) {
            return raw;
        }
        return s.getBytes("Windows".equals(Platform.NAME) ? StandardCharsets.UTF_8 : PATH_CHARSET);
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
