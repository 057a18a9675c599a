//! The per-OS system layer, in socket2's shape: the portable core ([`crate::sock`],
//! [`crate::udp`], [`crate::options`], [`crate::poller`]) calls the functions re-exported
//! here, and each OS module makes them from its own system calls.
//!
//! - [`unix`] (Linux and macOS): descriptors are file descriptors; errors are `errno` values
//!   with the C library's texts; `poll(2)`, `ioctl(FIONREAD)`, `close(2)`.
//! - `linux`: epoll for the virtual-thread pollers, `sendfile(2)`, `TCP_INFO`,
//!   `sendmmsg`/`recvmmsg` with UDP segmentation offload, a reset by `connect(AF_UNSPEC)`;
//!   a shutdown wakes every call blocked on the socket, so platform threads may block in the
//!   kernel.
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
