//! rustsocket's native engine.
//!
//! - [`sock`]: the socket core, one function per system call, on raw descriptors.
//! - [`tcp_ext`]: the Linux-only TCP/IP options and TCP_INFO that java.net lacks.
//! - [`addr`]: addresses between Java, Rust and the kernel (dual-stack mapping).
//! - [`error`]: the one mapping from OS errors to Java exception classes.
//! - [`exports`]: the thin JNI layer that `io.rustsocket.internal.Native` binds to.
//! - [`udp`]: the datagram core (UDP, multicast, `sendmmsg`/`recvmmsg`).
//! - [`exports_udp`]: its JNI layer, bound to `io.rustsocket.internal.NativeDatagram`.

pub mod addr;
pub mod error;
pub mod exports;
pub mod exports_udp;
pub mod sock;
pub mod tcp_ext;
pub mod udp;
