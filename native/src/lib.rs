//! rustsocket's native engine.
//!
//! - [`sock`]: the socket core, one function per system call, on raw descriptors.
//! - [`udp`]: the datagram core (UDP, multicast, `sendmmsg`/`recvmmsg`).
//! - [`local`]: what Unix domain sockets add (names, socket pairs, peer credentials);
//!   [`local_datagram`]: Unix datagrams (sends to a name, receives with the sender's name).
//! - [`passing`]: descriptor passing (`SCM_RIGHTS`) over Unix stream sockets.
//! - [`options`]: every socket option, described once in a table that Java reads.
//! - [`poller`]: readiness, for platform threads (`poll`) and virtual threads (epoll).
//! - [`sendfile`]: zero-copy sending of files.
//! - [`tcp_info`]: the kernel's `TCP_INFO` snapshot.
//! - [`addr`]: addresses between Java, Rust and the kernel (dual-stack mapping, wire layout).
//! - [`error`]: the one mapping from OS errors to Java exception classes.
//! - [`sys`]: the per-OS system layer under all of the above.
//! - [`exports`]: the thin JNI layer that `io.rustsocket.internal.Native` and
//!   `NativeDatagram` bind to; it checks every argument and catches every panic.

pub mod addr;
#[cfg(test)]
// qemu-user runs Linux binaries only; elsewhere its checks are never true
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod emulator;
pub mod error;
pub mod exports;
pub mod local;
pub mod local_datagram;
pub mod options;
pub mod passing;
pub mod poller;
pub mod sendfile;
pub mod sock;
pub mod sys;
pub mod tcp_info;
pub mod udp;
