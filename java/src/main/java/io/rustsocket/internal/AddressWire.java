package io.rustsocket.internal;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;

/**
 * Socket addresses in the fixed 23-byte layout the native side reads and writes (see
 * {@code native/src/addr.rs}): byte 0 is 4 or 6 (0: no address), bytes 1..17 the address,
 * 17..19 the port, 19..23 the IPv6 scope id. The one encoder and decoder of that layout on the
 * Java side: the TCP engine reads local and peer addresses through it, and the datagram engine
 * and the batch API keep addresses as bytes so that the steady state allocates nothing.
 */
public final class AddressWire {
    /** Bytes of one address. */
    public static final int LEN = 23;

    private AddressWire() {}

    /** The scope id the kernel needs for a link-local IPv6 address, 0 otherwise. */
    public static int scopeId(InetAddress address) {
        return address instanceof Inet6Address ? ((Inet6Address) address).getScopeId() : 0;
    }

    /** The address at {@code wire[0..LEN]}; allocates. */
    public static InetSocketAddress decode(byte[] wire) {
        return decode(wire, 0);
    }

    /** The local address of socket {@code fd}, as the kernel reports it. */
    static InetSocketAddress localOf(int fd) throws java.io.IOException {
        byte[] out = new byte[LEN];
        Native.localAddress(fd, out);
        return decode(out, 0);
    }

    /** Writes {@code address:port} at {@code out[off..off+LEN]}. Allocates (the address bytes). */
    public static void encode(InetAddress address, int port, byte[] out, int off) {
        byte[] ip = address.getAddress();
        out[off] = (byte) (ip.length == 4 ? 4 : 6);
        System.arraycopy(ip, 0, out, off + 1, ip.length);
        for (int i = ip.length; i < 16; i++) {
            out[off + 1 + i] = 0;
        }
        out[off + 17] = (byte) (port >>> 8);
        out[off + 18] = (byte) port;
        int scope = scopeId(address);
        out[off + 19] = (byte) (scope >>> 24);
        out[off + 20] = (byte) (scope >>> 16);
        out[off + 21] = (byte) (scope >>> 8);
        out[off + 22] = (byte) scope;
    }

    /** Marks {@code out[off..off+LEN]} as "no address" (a connected socket's peer). */
    public static void clear(byte[] out, int off) {
        out[off] = 0;
    }

    /** The port at {@code wire[off..]}. */
    public static int port(byte[] wire, int off) {
        return ((wire[off + 17] & 0xff) << 8) | (wire[off + 18] & 0xff);
    }

    /** Whether {@code a[aoff..]} and {@code b[boff..]} hold the same address. */
    public static boolean same(byte[] a, int aoff, byte[] b, int boff) {
        for (int i = 0; i < LEN; i++) {
            if (a[aoff + i] != b[boff + i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code a} and {@code b} encode alike: equal and with the same IPv6 scope id,
     * which {@code Inet6Address.equals} ignores (fe80::1%1 equals fe80::1%2). For caches of
     * an encoded target; allocates nothing.
     */
    public static boolean sameAddress(InetAddress a, InetAddress b) {
        return a == b || (a != null && a.equals(b) && scopeId(a) == scopeId(b));
    }

    /** {@link #sameAddress} for socket addresses: equal, and the same scope id when resolved. */
    public static boolean sameTarget(SocketAddress a, SocketAddress b) {
        if (a == b) {
            return true;
        }
        if (a == null || !a.equals(b)) {
            return false;
        }
        return !(a instanceof InetSocketAddress)
                || sameAddress(((InetSocketAddress) a).getAddress(), ((InetSocketAddress) b).getAddress());
    }

    /** The address at {@code wire[off..]}; allocates. */
    public static InetSocketAddress decode(byte[] wire, int off) {
        return new InetSocketAddress(decodeAddress(wire, off), port(wire, off));
    }

    static InetAddress decodeAddress(byte[] wire, int off) {
        try {
            if (wire[off] == 4) {
                return InetAddress.getByAddress(new byte[] {wire[off + 1], wire[off + 2], wire[off + 3], wire[off + 4]});
            }
            byte[] ip = new byte[16];
            System.arraycopy(wire, off + 1, ip, 0, 16);
            int scope = ((wire[off + 19] & 0xff) << 24) | ((wire[off + 20] & 0xff) << 16)
                    | ((wire[off + 21] & 0xff) << 8) | (wire[off + 22] & 0xff);
            return scope != 0 ? Inet6Address.getByAddress(null, ip, scope) : InetAddress.getByAddress(ip);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("malformed native address", e);
        }
    }
}
