package io.rustsocket;

/**
 * Who is at the other end of a connected Unix domain socket, as the kernel recorded it when the
 * connection was made ({@code SO_PEERCRED} on Linux, {@code LOCAL_PEERCRED} and
 * {@code LOCAL_PEERPID} on macOS). Returned by {@link RustSocket#peerCredentials()}.
 *
 * @param pid the peer process's id, or -1 where the system does not report it
 * @param uid the peer's user id
 * @param gid the peer's group id
 */
public record PeerCredentials(long pid, long uid, long gid) {
}
