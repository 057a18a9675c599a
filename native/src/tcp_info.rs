//! `TCP_INFO`: the kernel's view of a TCP connection, read field by field for
//! `io.rustsocket.TcpInfo`.

use crate::error::NetResult;
use crate::sys::{self, Fd};

/// How many values [`tcp_info`] produces; `io.rustsocket.TcpInfo` reads them in order.
pub const TCP_INFO_FIELDS: usize = 60;

/// The kernel's view of the connection now, as the values of `io.rustsocket.TcpInfo`'s
/// canonical constructor (after its state), unsigned kernel values widened to i64; the last
/// one is how many bytes of the kernel's structure were filled. Unsupported where the OS has
/// no such snapshot.
pub fn tcp_info(fd: Fd) -> NetResult<[i64; TCP_INFO_FIELDS]> {
    sys::tcp_info(fd)
}
