package io.rustsocket.internal;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * Decodes the fixed address layout the native side writes (see {@code native/src/addr.rs}):
 * byte 0 is 4 or 6, bytes 1..17 the address, bytes 17..19 the port, bytes 19..23 the scope id.
 */
final class SocketAddresses {
    /** Bytes in one encoded address. */
    static final int WIRE_LEN = 23;

    private SocketAddresses() {}

    static InetSocketAddress decode(byte[] wire) {
        int port = ((wire[17] & 0xff) << 8) | (wire[18] & 0xff);
        return new InetSocketAddress(decodeAddress(wire), port);
    }

    static InetAddress decodeAddress(byte[] wire) {
        try {
            if (wire[0] == 4) {
                return InetAddress.getByAddress(new byte[] {wire[1], wire[2], wire[3], wire[4]});
            }
            byte[] ip = new byte[16];
            System.arraycopy(wire, 1, ip, 0, 16);
            int scope = ((wire[19] & 0xff) << 24) | ((wire[20] & 0xff) << 16)
                    | ((wire[21] & 0xff) << 8) | (wire[22] & 0xff);
            return scope != 0 ? Inet6Address.getByAddress(null, ip, scope) : InetAddress.getByAddress(ip);
        } catch (UnknownHostException e) {
            // Only thrown for a wrong length, which the native side never writes.
            throw new IllegalStateException("malformed native address", e);
        }
    }

    /** The scope id the kernel needs for a link-local IPv6 address, 0 otherwise. */
    static int scopeId(InetAddress address) {
        return address instanceof Inet6Address ? ((Inet6Address) address).getScopeId() : 0;
    }
}
