//! The per-OS system layer, in socket2's shape: the portable core ([`crate::sock`],
//! [`crate::udp`], [`crate::options`], [`crate::poller`], [`crate::sendfile`],
//! [`crate::tcp_info`]) calls what is re-exported here, and each system's modules make it from
//! their own calls. Most socket calls need no OS code at all: socket2 makes them portable.
//!
//! - `unix` (Linux and macOS): descriptors are file descriptors; errors are `errno` values with
//!   the C library's texts; `poll(2)`, `ioctl(FIONREAD)`, `close(2)`.
//! - `linux`: epoll for the virtual-thread pollers, `sendfile(2)`, `TCP_INFO`, the reset by
//!   `connect(AF_UNSPEC)`, the Linux socket options; `mmsg`: `sendmmsg`/`recvmmsg` with UDP
//!   segmentation offload. On Linux a shutdown wakes every call blocked on the socket, so
//!   platform threads may block in the kernel.
//! - `macos`: BSD `sendfile(2)`, `TCP_CONNECTION_INFO`, the reset at close by `SO_LINGER` 0,
//!   the macOS socket options, one datagram through `recvmsg(2)`. A shutdown does not wake a
//!   blocked accept, so sockets stay non-blocking.
//! - `windows`: SOCKET handles held as `int`s, WSA error codes with the texts the JDK's
//!   exceptions carry on Windows, `select`, `ioctlsocket`, `closesocket`, the reset at close,
//!   exclusive binds and `SIO_UDP_CONNRESET` as the JDK sets them, the options that differ.
//! - `polling` (every system but Linux): the virtual-thread pollers on the `polling` crate
//!   (kqueue, AFD); `batch_loop`: batched datagrams as a loop of single calls.
//!
//! What every system provides (the names the core uses):
//! - `Fd` (the `int` Java holds), `Borrowed` and `borrow(fd)` (socket2's `SockRef::from` takes a
//!   `&Borrowed`), `into_fd(socket2::Socket)`, `domain(socket)` (its address family);
//! - `errno::{...}` (the POSIX names of the errors the core tells apart), `last_errno()`,
//!   `error_text(code)` (the text the JDK's messages carry on that system);
//! - `POLL_READ`/`POLL_WRITE` (Java's values 1 and 4), `poll_fds`, `available`, `close`;
//! - `SEND_FLAGS`, `MSG_OOB`, `RECV_DONTWAIT`, `is_truncation`, `connect_in_progress`;
//! - `SHUTDOWN_WAKES_BLOCKED_CALLS`: true only where a shutdown wakes every blocked call; where
//!   it is false, sockets stay non-blocking and platform threads wait in the pollers too, so
//!   that close() wakes them by unparking them;
//! - `abort` (reset the connection, now or at close), `dissolve` (remove a datagram socket's peer);
//! - `poller_create/close/arm/delete/wait`;
//! - `send_file` (or `SENDFILE_UNSUPPORTED`), `dup_readable_file`, `FILE_CLOSED`,
//!   `FILE_NOT_READABLE`; `tcp_info` (or `UnsupportedOperationException`);
//! - `PLATFORM` (the system's name in messages), `CAPABILITIES` (what Java may rely on),
//!   `get_option`/`set_option` for the options that differ between systems,
//!   `get_string_option`/`set_string_option`;
//! - `receive` (one datagram, with its sender and whether it was cut), `BatchScratch`,
//!   `send_batch`, `receive_batch`;
//! - `domain(socket)` (the family a socket was created with).
//!
//! Windows alone also provides what the core calls there under `cfg(windows)`:
//! `prepare_bind`, `set_reuse_address` and `reuse_address` (exclusive binds, SO_REUSEADDR as the
//! JDK keeps it there), `prepare_connect` (fast loopback connects), `report_port_unreachable` (`SIO_UDP_CONNRESET`), and `system_text` and
//! `winsock_message` (the two ways the JDK words a Winsock error).
//!
//! Linux and macOS also pass descriptors over Unix sockets ([`crate::passing`]):
//! `send_with_fds`, `receive_with_fds` (close-on-exec on arrival: `RECV_CLOEXEC` where the
//! kernel can, `close_on_exec_after_receipt` where it cannot), `dup_cloexec`, `prepare_adopted`.
//!
//! Every function takes the descriptor as the `int` Java holds ([`Fd`]).

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
compile_error!(
    "rustsocket's native engine supports Linux, macOS and Windows; this target is none of them"
);

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;
#[cfg(target_os = "linux")]
mod mmsg;
#[cfg(target_os = "linux")]
pub use mmsg::*;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub use macos::*;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

#[cfg(not(target_os = "linux"))]
mod batch_loop;
#[cfg(not(target_os = "linux"))]
pub use batch_loop::*;
#[cfg(not(target_os = "linux"))]
mod polling;
#[cfg(not(target_os = "linux"))]
pub use self::polling::*;

/// Whether IPv4 options (level `IPPROTO_IP`) reach the IPv4 traffic of a dual-stack IPv6
/// socket. macOS refuses them on IPv6 sockets (`EINVAL`); there `IPV6_UNICAST_HOPS` sets the
/// IPv4 TTL too, and IPv4 groups are joined as IPv4-mapped IPv6 groups.
pub const IPV4_OPTIONS_ON_IPV6_SOCKETS: bool = !cfg!(target_os = "macos");
