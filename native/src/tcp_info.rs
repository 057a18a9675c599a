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

/// Positions in the values [`tcp_info`] produces (the components of `io.rustsocket.TcpInfo`,
/// which follow Linux's `struct tcp_info`), for the systems that fill only some of them.
pub mod field {
    /// The connection's state, in [`super::state`]'s numbering.
    pub const STATE: usize = 0;
    /// Congestion-avoidance state (Linux's `TCP_CA_*`).
    pub const CA_STATE: usize = 1;
    /// `TCPI_OPT_*` bits.
    pub const OPTIONS: usize = 5;
    /// Window scale shift the peer announced.
    pub const SEND_WINDOW_SCALE: usize = 6;
    /// Window scale shift we announced.
    pub const RECEIVE_WINDOW_SCALE: usize = 7;
    /// Retransmission timeout, microseconds.
    pub const RTO_MICROS: usize = 10;
    /// Maximum segment size for sending, bytes.
    pub const SEND_MSS: usize = 12;
    /// Smoothed round-trip time, microseconds.
    pub const RTT_MICROS: usize = 23;
    /// Round-trip time variation, microseconds.
    pub const RTT_VAR_MICROS: usize = 24;
    /// Slow-start threshold, segments.
    pub const SEND_SSTHRESH: usize = 25;
    /// Congestion window, segments.
    pub const SEND_CWND: usize = 26;
    /// Segments retransmitted over the connection's life.
    pub const TOTAL_RETRANS: usize = 31;
    /// Bytes received.
    pub const BYTES_RECEIVED: usize = 35;
    /// Segments sent.
    pub const SEGMENTS_OUT: usize = 36;
    /// Segments received.
    pub const SEGMENTS_IN: usize = 37;
    /// Bytes sent, including retransmissions.
    pub const BYTES_SENT: usize = 48;
    /// Bytes retransmitted.
    pub const BYTES_RETRANSMITTED: usize = 49;
    /// The peer's receive window, bytes.
    pub const SEND_WINDOW: usize = 53;
    /// Our receive window, bytes.
    pub const RECEIVE_WINDOW: usize = 54;
    /// How many bytes of the system's structure were filled (the last value).
    pub const KERNEL_BYTES: usize = super::TCP_INFO_FIELDS - 1;
}

/// The states as `io.rustsocket.TcpInfo.State` numbers them: Linux's `TCP_*` numbering, into
/// which other systems translate theirs. 0 is a state the library does not know.
pub mod state {
    /// Connected; data flows.
    pub const ESTABLISHED: i64 = 1;
    /// SYN sent, waiting for the SYN-ACK.
    pub const SYN_SENT: i64 = 2;
    /// SYN received, SYN-ACK sent.
    pub const SYN_RECV: i64 = 3;
    /// We closed; our FIN is not yet acknowledged.
    pub const FIN_WAIT1: i64 = 4;
    /// Our FIN was acknowledged; waiting for the peer's.
    pub const FIN_WAIT2: i64 = 5;
    /// Both closed; waiting for stray segments to expire.
    pub const TIME_WAIT: i64 = 6;
    /// No connection.
    pub const CLOSE: i64 = 7;
    /// The peer closed; we have not.
    pub const CLOSE_WAIT: i64 = 8;
    /// The peer closed, then we did; waiting for the ACK of our FIN.
    pub const LAST_ACK: i64 = 9;
    /// Listening.
    pub const LISTEN: i64 = 10;
    /// Both sides closed at the same time.
    pub const CLOSING: i64 = 11;
}
