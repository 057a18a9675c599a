//! macOS: BSD `sendfile(2)`, `TCP_CONNECTION_INFO`, a reset at close by `SO_LINGER` 0, the
//! removal of a datagram peer by `connect(AF_UNSPEC)`, the macOS socket options, and one
//! datagram through `recvmsg(2)`. The pollers (kqueue) and datagram batches come from the
//! `polling` and `batch_loop` modules.
//!
//! A shutdown(2) does not wake a thread blocked in accept(2), and on a socket that is not
//! connected it fails with `ENOTCONN` without touching it. So sockets stay non-blocking and
//! every thread waits in the pollers, where close() wakes it.
//!
//! Every socket socket2 makes carries `SO_NOSIGPIPE`, and the kernel copies it to accepted ones
//! (`sonewconn` inherits `SOF_NOSIGPIPE`): no send raises SIGPIPE.

use super::unix::{borrow, get_raw, get_struct, last_errno, set_raw, Fd, PlainOldData};
use crate::addr;
use crate::error::{ExceptionClass, NetError, NetResult, Op};
use crate::options::{clamp_i32, opt_err, unsupported, Opt};
use crate::sock::{bad_argument, UNAVAILABLE};
use crate::tcp_info::{field, state, TCP_INFO_FIELDS};
use crate::udp::{Received, NOTHING};
use socket2::{Domain, MaybeUninitSlice, SockRef};
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::time::Duration;

/// Whether shutting a socket down wakes every thread blocked on it: not on macOS (see the
/// module's documentation).
pub const SHUTDOWN_WAKES_BLOCKED_CALLS: bool = false;

/// The system this library runs on, as messages name it.
pub const PLATFORM: &str = "macOS";

/// What macOS offers (see `exports::socket::capabilities`): sendfile without a copy through
/// user memory, and a `TCP_CONNECTION_INFO` snapshot. Not: shutdown waking blocked calls,
/// batched datagram system calls.
pub const CAPABILITIES: i32 = 2 | 4;

/// The socket's address family. macOS has no `SO_DOMAIN`; the local address carries the
/// family, bound or not (an unbound socket reports its family's wildcard).
pub fn domain(s: &SockRef<'_>) -> std::io::Result<Domain> {
    Ok(s.local_addr()?.domain())
}

fn is_ipv6(s: &SockRef<'_>) -> NetResult<bool> {
    Ok(domain(s).map_err(opt_err)? == Domain::IPV6)
}

/// Makes the close(2) that releases the descriptor reset the connection (RST, unsent data
/// dropped): `SO_LINGER` on with 0 seconds. Nothing is sent now: unlike Linux, macOS has no
/// call that resets a connection and wakes the threads blocked on it, and it needs none,
/// since those threads wait in the pollers and close() wakes them. A shutdown(2) here would
/// send a FIN first, and a peer that drained the data would see a clean end of stream.
pub fn abort(fd: Fd) -> NetResult<()> {
    let socket = borrow(fd)?;
    SockRef::from(&socket)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| NetError::from_io(Op::Control, &e))?;
    log::debug!("fd {fd}: linger 0, close will reset");
    Ok(())
}

/// Dissolves a datagram socket's association: connect(2) with an `AF_UNSPEC` address. The
/// kernel disconnects first, then hands the address to the protocol, which refuses it
/// (`EINVAL` from an IPv6 socket, which expects a `sockaddr_in6`; `EAFNOSUPPORT` from an IPv4
/// one). Such a refusal is success when the socket has no peer any more.
///
/// Unlike Linux, the local port stays, but a socket bound to a specific address is bound to
/// the wildcard afterwards, and a dual-stack socket keeps only the family of the peer it had.
pub fn dissolve(fd: Fd) -> NetResult<()> {
    let socket = borrow(fd)?;
    // SAFETY: zeroed is a valid sockaddr; only its length and family are read.
    let mut unspec: libc::sockaddr = unsafe { std::mem::zeroed() };
    unspec.sa_len = std::mem::size_of::<libc::sockaddr>() as u8;
    unspec.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
    // SAFETY: a valid sockaddr of the given length.
    let rc = unsafe {
        libc::connect(
            fd,
            &unspec,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        let errno = last_errno();
        let refused = matches!(errno, libc::EINVAL | libc::EAFNOSUPPORT);
        let peer_left = matches!(
            SockRef::from(&socket)
                .peer_addr()
                .map_err(|e| e.raw_os_error()),
            Err(Some(libc::ENOTCONN))
        );
        if !(refused && peer_left) {
            return Err(NetError::from_errno(Op::Control, errno));
        }
    }
    log::debug!("fd {fd}: datagram peer dissolved");
    Ok(())
}

/// The most bytes one [`send_file`] call moves (as on Linux, so that callers see the same
/// chunks).
const MAX_SEND_FILE: i64 = 0x7fff_f000;

/// Sends up to `count` bytes of the file `file`, starting at byte `offset`, on the socket `fd`
/// with BSD sendfile(2): the kernel reads the file into socket buffers, with no copy through
/// user memory; the file's own offset is not used or moved. Returns the bytes sent (0 when
/// `offset` is at or past the end of the file), [`UNAVAILABLE`] when a non-blocking socket's
/// send buffer is full, or [`crate::sendfile::SENDFILE_UNSUPPORTED`] for what macOS cannot
/// send this way (anything but a regular file).
///
/// macOS reports what it sent even when the call fails (a full buffer, a signal, an error
/// after some bytes left): those bytes are returned, and a lasting error comes back on the
/// next call. No SIGPIPE: sendfile raises none, and the socket has `SO_NOSIGPIPE`.
pub fn send_file(fd: Fd, file: Fd, offset: i64, count: i64) -> NetResult<i64> {
    borrow(fd)?;
    // The kernel's own offset arithmetic must not overflow (a range ending past i64::MAX is
    // past the end of any file anyway), and a length of 0 would mean "to the end of the file".
    let len = count.min(MAX_SEND_FILE).min(i64::MAX - offset);
    if len <= 0 {
        return Ok(0);
    }
    loop {
        let mut sent: libc::off_t = len;
        // SAFETY: two descriptors the caller keeps open, a valid length pointer, no headers.
        let rc = unsafe { libc::sendfile(file, fd, offset, &mut sent, std::ptr::null_mut(), 0) };
        if rc == 0 {
            return Ok(sent);
        }
        let errno = last_errno();
        if sent > 0 {
            return Ok(sent);
        }
        match errno {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(i64::from(UNAVAILABLE)),
            // not a regular file (ENOTSUP), or a socket sendfile cannot feed: not an error,
            // the caller copies instead
            libc::EINVAL | libc::ENOTSUP | libc::ENOTSOCK => {
                return Ok(crate::sendfile::SENDFILE_UNSUPPORTED)
            }
            errno => return Err(NetError::from_errno(Op::SendFile, errno)),
        }
    }
}

/// `struct tcp_connection_info` of macOS's `<netinet/tcp.h>` (112 bytes; the libc crate's
/// version spells the fast-open bit-field as fifteen `u32`s and is 176 bytes long, so it is
/// not used). Times are milliseconds, windows and thresholds bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectionInfo {
    /// `TCPS_*` of `<netinet/tcp_fsm.h>`.
    pub state: u8,
    pub snd_wscale: u8,
    pub rcv_wscale: u8,
    _pad1: u8,
    /// `TCPCI_OPT_*`: the same bits as Linux's `TCPI_OPT_*` for timestamps, SACK, window
    /// scaling and ECN.
    pub options: u32,
    /// `TCPCI_FLAG_*`.
    pub flags: u32,
    /// Retransmission timeout, 0 while the retransmission timer is not running.
    pub rto: u32,
    pub maxseg: u32,
    pub snd_ssthresh: u32,
    pub snd_cwnd: u32,
    pub snd_wnd: u32,
    /// Bytes in the send buffer, sent or not.
    pub snd_sbbytes: u32,
    pub rcv_wnd: u32,
    /// The latest round-trip sample.
    pub rttcur: u32,
    pub srtt: u32,
    pub rttvar: u32,
    /// The `tcpi_tfo_*` bit-field, first field in bit 0.
    pub tfo: u32,
    pub txpackets: u64,
    pub txbytes: u64,
    pub txretransmitbytes: u64,
    pub rxpackets: u64,
    pub rxbytes: u64,
    pub rxoutoforderbytes: u64,
    pub txretransmitpackets: u64,
}

// SAFETY: a #[repr(C)] struct of integers.
unsafe impl PlainOldData for ConnectionInfo {}

const _: () = {
    assert!(std::mem::size_of::<ConnectionInfo>() == 112);
    assert!(std::mem::offset_of!(ConnectionInfo, rto) == 12);
    assert!(std::mem::offset_of!(ConnectionInfo, tfo) == 52);
    assert!(std::mem::offset_of!(ConnectionInfo, txpackets) == 56);
    assert!(std::mem::offset_of!(ConnectionInfo, txretransmitpackets) == 104);
};

/// `TCPCI_FLAG_LOSSRECOVERY`: in fast recovery or after a retransmission timeout.
const FLAG_LOSS_RECOVERY: u32 = 1;
/// The `TCPCI_OPT_*` bits that mean what Linux's `TCPI_OPT_*` bits of the same value mean.
const SHARED_OPTIONS: u32 = 0xf;
/// Linux's `TCPI_OPT_SYN_DATA`: data rode on the SYN and was acknowledged (or, on a server,
/// received).
const OPT_SYN_DATA: i64 = 32;
/// `tcpi_tfo_syn_data_acked` and `tcpi_tfo_syn_data_rcv` in the fast-open bit-field.
const TFO_SYN_DATA_ACKED_OR_RECEIVED: u32 = (1 << 4) | (1 << 5);
/// Linux's `TCP_CA_Recovery`.
const CA_RECOVERY: i64 = 3;

impl ConnectionInfo {
    /// The values of `io.rustsocket.TcpInfo` (see [`crate::tcp_info::field`]), from the fields
    /// that have a Linux counterpart; every other value is 0:
    ///
    /// - state: `TCPS_*` translated to Linux's numbering ([`crate::tcp_info::state`]);
    /// - caState: 3 (recovery) while `TCPCI_FLAG_LOSSRECOVERY` is set, else 0;
    /// - options: timestamps, SACK, window scaling, ECN as they are, and `TCPI_OPT_SYN_DATA`
    ///   when fast-open data was acknowledged or received; the two window scales;
    /// - rtoMicros, rttMicros, rttVarMicros: `tcpi_rto`, `tcpi_srtt`, `tcpi_rttvar` (ms) times
    ///   1000; the RTO reads 0 while the retransmission timer is not running;
    /// - sendMssBytes: `tcpi_maxseg`;
    /// - sendSsthreshSegments, sendCwndSegments: bytes divided by `tcpi_maxseg`, rounded up;
    /// - totalRetransSegments: `tcpi_txretransmitpackets`;
    /// - bytesReceived, segmentsIn: `tcpi_rxbytes`, `tcpi_rxpackets` (payload bytes, counting
    ///   out-of-order ones);
    /// - segmentsOut, bytesSent, bytesRetransmitted: `tcpi_txpackets`, `tcpi_txbytes`,
    ///   `tcpi_txretransmitbytes`;
    /// - sendWindowBytes, receiveWindowBytes: `tcpi_snd_wnd`, `tcpi_rcv_wnd`;
    /// - kernelBytes: `filled`, the bytes of this structure the kernel wrote.
    pub fn to_java(&self, filled: usize) -> [i64; TCP_INFO_FIELDS] {
        let millis_as_micros = |ms: u32| i64::from(ms) * 1000;
        let segments = |bytes: u32| match self.maxseg {
            0 => 0,
            mss => i64::from(bytes.div_ceil(mss)),
        };
        let count = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let mut v = [0i64; TCP_INFO_FIELDS];
        v[field::STATE] = java_state(self.state);
        if self.flags & FLAG_LOSS_RECOVERY != 0 {
            v[field::CA_STATE] = CA_RECOVERY;
        }
        v[field::OPTIONS] = i64::from(self.options & SHARED_OPTIONS);
        if self.tfo & TFO_SYN_DATA_ACKED_OR_RECEIVED != 0 {
            v[field::OPTIONS] |= OPT_SYN_DATA;
        }
        v[field::SEND_WINDOW_SCALE] = i64::from(self.snd_wscale);
        v[field::RECEIVE_WINDOW_SCALE] = i64::from(self.rcv_wscale);
        v[field::RTO_MICROS] = millis_as_micros(self.rto);
        v[field::SEND_MSS] = i64::from(self.maxseg);
        v[field::RTT_MICROS] = millis_as_micros(self.srtt);
        v[field::RTT_VAR_MICROS] = millis_as_micros(self.rttvar);
        v[field::SEND_SSTHRESH] = segments(self.snd_ssthresh);
        v[field::SEND_CWND] = segments(self.snd_cwnd);
        v[field::TOTAL_RETRANS] = count(self.txretransmitpackets);
        v[field::BYTES_RECEIVED] = count(self.rxbytes);
        v[field::SEGMENTS_OUT] = count(self.txpackets);
        v[field::SEGMENTS_IN] = count(self.rxpackets);
        v[field::BYTES_SENT] = count(self.txbytes);
        v[field::BYTES_RETRANSMITTED] = count(self.txretransmitbytes);
        v[field::SEND_WINDOW] = i64::from(self.snd_wnd);
        v[field::RECEIVE_WINDOW] = i64::from(self.rcv_wnd);
        v[field::KERNEL_BYTES] = filled as i64;
        v
    }
}

/// A `TCPS_*` state of `<netinet/tcp_fsm.h>` in Linux's numbering, 0 when unknown.
fn java_state(bsd: u8) -> i64 {
    // indexed by TCPS_CLOSED (0) .. TCPS_TIME_WAIT (10)
    const BY_BSD_STATE: [i64; 11] = [
        state::CLOSE,
        state::LISTEN,
        state::SYN_SENT,
        state::SYN_RECV,
        state::ESTABLISHED,
        state::CLOSE_WAIT,
        state::FIN_WAIT1,
        state::CLOSING,
        state::LAST_ACK,
        state::FIN_WAIT2,
        state::TIME_WAIT,
    ];
    BY_BSD_STATE.get(usize::from(bsd)).copied().unwrap_or(0)
}

/// getsockopt(TCP_CONNECTION_INFO): the kernel's view of the connection now, as the values of
/// `io.rustsocket.TcpInfo` ([`ConnectionInfo::to_java`]).
pub fn tcp_info(fd: Fd) -> NetResult<[i64; TCP_INFO_FIELDS]> {
    let (info, filled) = read_connection_info(fd)?;
    Ok(info.to_java(filled))
}

/// The raw snapshot and how many of its bytes the kernel filled.
pub fn read_connection_info(fd: Fd) -> NetResult<(ConnectionInfo, usize)> {
    get_struct(fd, libc::IPPROTO_TCP, libc::TCP_CONNECTION_INFO)
}

/// `TCP_NOTSENT_LOWAT` of `<netinet/tcp.h>` (the libc crate lacks it for macOS).
const TCP_NOTSENT_LOWAT: libc::c_int = 0x201;
/// `IP_MULTICAST_IFINDEX` of `<netinet/in.h>`: the IPv4 multicast interface by index.
const IP_MULTICAST_IFINDEX: libc::c_int = 66;

/// Reads one of the options that are not the same on every system (see `options::get`).
/// `IP_TTL` arrives here only for IPv6 sockets (see `IPV4_OPTIONS_ON_IPV6_SOCKETS`).
pub fn get_option(fd: Fd, s: &SockRef<'_>, opt: Opt) -> NetResult<i32> {
    let flag = |b: bool| i32::from(b);
    Ok(match opt {
        Opt::ReusePort => flag(s.reuse_port().map_err(opt_err)?),
        Opt::IpTos if is_ipv6(s)? => s.tclass_v6().map_err(opt_err)? as i32,
        Opt::IpTos => s.tos_v4().map_err(opt_err)? as i32,
        // macOS names the idle time TCP_KEEPALIVE
        Opt::TcpKeepIdle => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPALIVE)?,
        Opt::TcpKeepInterval => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL)?,
        Opt::TcpKeepCount => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT)?,
        Opt::TcpNotSentLowat => get_raw(fd, libc::IPPROTO_TCP, TCP_NOTSENT_LOWAT)?,
        Opt::TcpMaxSeg => clamp_i32(u64::from(s.tcp_mss().map_err(opt_err)?)),
        Opt::TcpFastOpen => fast_open(fd)?,
        Opt::IpTtl => hop_limit(fd)?,
        Opt::MulticastIf if crate::sock::ipv6_available() => {
            get_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF)?
        }
        Opt::MulticastIf => get_raw(fd, libc::IPPROTO_IP, IP_MULTICAST_IFINDEX)?,
        other => return Err(unsupported(other)),
    })
}

/// Sets one of the options that are not the same on every system (see `options::set`).
pub fn set_option(fd: Fd, s: &SockRef<'_>, opt: Opt, value: i32) -> NetResult<()> {
    let on = value != 0;
    // non-negative where the table says so
    let unsigned = value as u32;
    match opt {
        Opt::ReusePort => s.set_reuse_port(on).map_err(opt_err),
        // macOS refuses IP_TOS on IPv6 sockets, so there is no IPv4 half to set on a
        // dual-stack socket (the kernel copies only the ECN bits of the traffic class)
        Opt::IpTos if is_ipv6(s)? => s.set_tclass_v6(unsigned).map_err(opt_err),
        Opt::IpTos => s.set_tos_v4(unsigned).map_err(opt_err),
        Opt::TcpKeepIdle => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPALIVE, value),
        Opt::TcpKeepInterval => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, value),
        Opt::TcpKeepCount => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, value),
        Opt::TcpNotSentLowat => set_raw(fd, libc::IPPROTO_TCP, TCP_NOTSENT_LOWAT, value),
        Opt::TcpMaxSeg => set_max_segment(s, unsigned),
        Opt::TcpFastOpen => set_fast_open(fd, on),
        // on a dual-stack socket the kernel applies the hop limit to IPv4 traffic too
        Opt::IpTtl => set_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, value),
        Opt::MulticastIf if crate::sock::ipv6_available() => {
            set_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, value)
        }
        Opt::MulticastIf => set_raw(fd, libc::IPPROTO_IP, IP_MULTICAST_IFINDEX, value),
        other => Err(unsupported(other)),
    }
}

/// TCP_MAXSEG: macOS only lowers the segment size (to at least `net.inet.tcp.minmss` less 40),
/// and says only "Invalid argument" otherwise; the message names the limit instead.
fn set_max_segment(s: &SockRef<'_>, mss: u32) -> NetResult<()> {
    match s.set_tcp_mss(mss) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            let current = s.tcp_mss().map_err(opt_err)?;
            Err(NetError::new(
                ExceptionClass::Socket,
                format!(
                    "TCP_MAXSEG {mss} refused: macOS can only lower the segment size, now {current}"
                ),
            ))
        }
        Err(e) => Err(opt_err(e)),
    }
}

fn is_listening(fd: Fd) -> NetResult<bool> {
    Ok(get_raw(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? != 0)
}

/// TCP_FASTOPEN as macOS has it: on or off (no queue length), on a listening socket only.
/// Off when the socket does not listen or the `net.inet.tcp.fastopen` sysctl disables the
/// server side (`ENOTSUP`).
fn fast_open(fd: Fd) -> NetResult<i32> {
    if !is_listening(fd)? {
        return Ok(0);
    }
    match get_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN) {
        Err(e) if e.errno == Some(libc::ENOTSUP) => Ok(0),
        other => other,
    }
}

/// Enables or disables TCP Fast Open on a listener; any positive value enables it.
fn set_fast_open(fd: Fd, on: bool) -> NetResult<()> {
    if !is_listening(fd)? {
        return Err(NetError::new(
            ExceptionClass::Socket,
            "TCP_FASTOPEN can only be set on a listening socket on macOS",
        ));
    }
    set_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN, i32::from(on))
}

/// An IPv6 socket's hop limit. macOS reports -1 until one is set: the system's default then
/// applies, IPv4's for a socket that speaks IPv4 (bound or connected to a mapped address).
fn hop_limit(fd: Fd) -> NetResult<i32> {
    let hops = get_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS)?;
    if hops >= 0 {
        return Ok(hops);
    }
    let default = if crate::sock::local_addr(fd)?.is_ipv4() {
        c"net.inet.ip.ttl"
    } else {
        c"net.inet6.ip6.hlim"
    };
    sysctl_int(default)
}

/// An integer sysctl, by name.
fn sysctl_int(name: &CStr) -> NetResult<i32> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>();
    // SAFETY: a NUL-terminated name and one int of storage with its length; nothing is set.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Option));
    }
    Ok(value)
}

/// macOS has no flag that makes received descriptors close-on-exec as they are installed
/// (Linux's `MSG_CMSG_CLOEXEC`): [`close_on_exec_after_receipt`] sets it right after.
pub const RECV_CLOEXEC: libc::c_int = 0;

/// Sets `FD_CLOEXEC` on a descriptor just received; a fork and exec in another thread between
/// the receipt and this call would still inherit it, a window Linux does not have.
pub fn close_on_exec_after_receipt(fd: Fd) {
    // SAFETY: fcntl on a descriptor this process just received.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        log::warn!(
            "fd {fd}: FD_CLOEXEC not set: {}",
            super::error_text(last_errno())
        );
    }
}

/// Readies a socket received from another process for this library: `SO_NOSIGPIPE`, which
/// socket2 sets on the sockets it makes and which a write to a dead peer needs here to raise
/// an error instead of SIGPIPE.
pub fn prepare_adopted(fd: Fd) -> NetResult<()> {
    SockRef::from(&borrow(fd)?)
        .set_nosigpipe(true)
        .map_err(|e| NetError::from_io(Op::Setup, &e))
}

/// The pid, uid and gid of the process at the other end of a connected Unix socket: macOS has
/// no SO_PEERCRED; getpeereid(3) gives the effective ids and LOCAL_PEERPID the pid, all as the
/// kernel recorded them at connect.
pub fn peer_credentials(fd: Fd) -> NetResult<[i64; 3]> {
    borrow(fd)?;
    let (mut uid, mut gid): (libc::uid_t, libc::gid_t) = (0, 0);
    // SAFETY: two ids of storage.
    if unsafe { libc::getpeereid(fd, &mut uid, &mut gid) } < 0 {
        return Err(NetError::last_os_error(Op::Option));
    }
    let pid = get_raw(fd, libc::SOL_LOCAL, libc::LOCAL_PEERPID)?;
    Ok([i64::from(pid), i64::from(uid), i64::from(gid)])
}

/// The string options (TCP_CONGESTION, SO_BINDTODEVICE) are Linux's only.
pub fn get_string_option(_s: &SockRef<'_>, opt: Opt) -> NetResult<String> {
    Err(string_option(opt))
}

/// The string options (TCP_CONGESTION, SO_BINDTODEVICE) are Linux's only.
pub fn set_string_option(_s: &SockRef<'_>, opt: Opt, _value: &str) -> NetResult<()> {
    Err(string_option(opt))
}

fn string_option(opt: Opt) -> NetError {
    match opt {
        Opt::TcpCongestion | Opt::BindToDevice => unsupported(opt),
        other => bad_argument(format!("{other:?} is not a string option")),
    }
}

/// Receives one datagram into `buf` with recvmsg(2); with `peek` it stays queued. macOS
/// returns at most the buffer's length and flags a longer datagram with `MSG_TRUNC` in
/// `msg_flags` (it has no Linux-style `MSG_TRUNC` flag that returns the full length). On a
/// socket that is not `connected`, an ICMP port-unreachable left over from an earlier peer is
/// skipped, as the JDK does; on a connected one it is an error. A sender of length 0 means a
/// shutdown ended the receive: nothing.
pub fn receive(fd: Fd, buf: &mut [u8], peek: bool, connected: bool) -> NetResult<Received> {
    let socket = borrow(fd)?;
    let flags = if peek { libc::MSG_PEEK } else { 0 };
    // SAFETY: recvmsg only writes initialised bytes; u8 and MaybeUninit<u8> share a layout.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    let mut bufs = [MaybeUninitSlice::new(uninit)];
    loop {
        match SockRef::from(&socket).recv_from_vectored_with_flags(&mut bufs, flags) {
            Ok((_, _, from)) if from.len() == 0 => return Ok(NOTHING),
            Ok((n, received, from)) => {
                return Ok(Received {
                    len: n as i32,
                    truncated: received.is_truncated(),
                    from: Some(addr::from_kernel(&from)?),
                })
            }
            Err(e) => match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => return Ok(NOTHING),
                Some(libc::ECONNREFUSED) if !connected => continue,
                _ => return Err(NetError::from_io(Op::DatagramRead, &e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{self, Origin};
    use crate::sock::tests::trio;
    use crate::sock::{self, close, open_stream};

    #[test]
    fn every_bsd_state_has_its_linux_number() {
        let java: Vec<i64> = (0..=11).map(java_state).collect();
        assert_eq!(java, [7, 10, 2, 3, 1, 8, 4, 11, 9, 5, 6, 0]);
    }

    #[test]
    fn tcp_connection_info_of_a_loopback_connection() {
        let t = trio();
        let mut sent = 0;
        while sent < 10_000 {
            sent += sock::write(t.client, &[1u8; 10_000][sent..]).unwrap() as usize;
        }
        let mut got = 0;
        let mut buf = [0u8; 10_000];
        while got < 10_000 {
            got += sock::read(t.server, &mut buf).unwrap() as usize;
        }
        let (info, filled) = read_connection_info(t.client).unwrap();
        assert_eq!(filled, std::mem::size_of::<ConnectionInfo>());
        assert_eq!(java_state(info.state), state::ESTABLISHED, "{info:?}");
        assert!(info.maxseg > 0 && info.snd_cwnd > 0, "{info:?}");
        assert!(info.txbytes >= 10_000, "{info:?}");
        let java = tcp_info(t.client).unwrap();
        assert_eq!(java[field::STATE], state::ESTABLISHED);
        assert_eq!(java[field::SEND_MSS], i64::from(info.maxseg));
        assert!(java[field::SEND_CWND] > 0);
        assert_eq!(java[field::KERNEL_BYTES], 112);
        let server = read_connection_info(t.server).unwrap().0;
        assert!(server.rxbytes >= 10_000, "{server:?}");
    }

    #[test]
    fn macos_options_read_back() {
        let t = trio();
        let fd = t.client;
        for (name, v) in [("TCP_NOTSENT_LOWAT", 16384), ("IP_TTL", 7)] {
            let spec = options::find(Origin::Rust, name).unwrap();
            options::check(spec, v).unwrap();
            options::set(fd, spec.opt, v).unwrap();
            assert_eq!(options::get(fd, spec.opt).unwrap(), v, "{name}");
        }
        // a fresh socket reports the system's default hop limit, not -1
        let fresh = open_stream(false).unwrap();
        let ttl = options::get(fresh, Opt::IpTtl).unwrap();
        assert!((1..=255).contains(&ttl), "{ttl}");
        // the segment size can only go down
        let mss = options::get(fd, Opt::TcpMaxSeg).unwrap();
        let e = options::set(fd, Opt::TcpMaxSeg, mss + 1).unwrap_err();
        assert_eq!(e.class, ExceptionClass::Socket, "{e}");
        options::set(fd, Opt::TcpMaxSeg, 500).unwrap();
        assert_eq!(options::get(fd, Opt::TcpMaxSeg).unwrap(), 500);
        let e = options::get(fd, Opt::TcpCongestion).unwrap_err();
        assert_eq!(e.class, ExceptionClass::IllegalArgument);
        let e = options::get_string(fd, Opt::TcpCongestion).unwrap_err();
        assert_eq!(e.class, ExceptionClass::UnsupportedOperation);
        close(fresh);
    }

    #[test]
    fn fast_open_is_a_listeners_switch() {
        let l = open_stream(true).unwrap();
        assert_eq!(options::get(l, Opt::TcpFastOpen).unwrap(), 0);
        let e = options::set(l, Opt::TcpFastOpen, 16).unwrap_err();
        assert_eq!(e.class, ExceptionClass::Socket);
        sock::bind(l, "127.0.0.1".parse().unwrap(), 0, 0).unwrap();
        sock::listen(l, 4).unwrap();
        // the net.inet.tcp.fastopen sysctl may disable the server side
        if options::set(l, Opt::TcpFastOpen, 16).is_ok() {
            assert_eq!(options::get(l, Opt::TcpFastOpen).unwrap(), 1);
            options::set(l, Opt::TcpFastOpen, 0).unwrap();
            assert_eq!(options::get(l, Opt::TcpFastOpen).unwrap(), 0);
        }
        close(l);
    }
}
