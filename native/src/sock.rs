//! The socket core: one function per system call the JDK makes in C, on raw
//! descriptors, with no JVM in sight so that `cargo test` exercises it alone.
//!
//! The shape follows the JDK's `NioSocketImpl`: a connected descriptor stays in
//! blocking mode for the untimed path of platform threads (one system call per
//! read), and is switched to non-blocking for timed operations, where the caller
//! waits with [`poll`] against a deadline. Connects always wait in [`poll`]. Calls on a non-blocking descriptor report
//! "would block" as [`UNAVAILABLE`] instead of an error, so the caller can park
//! however it likes (a `poll` here, or later a virtual-thread poller).
//!
//! A thread blocked in any of these calls is woken by [`shutdown`] on the same
//! descriptor: Linux wakes blocked `recv`, `send`, `accept`, `connect` and
//! `poll` when a socket is shut down. That is how `close()` from another thread
//! interrupts them without closing the descriptor under their feet.

use crate::addr;
use crate::error::{ExceptionClass, NetError, NetResult, Op};
use socket2::{Domain, SockAddr, SockRef, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{BorrowedFd, IntoRawFd, RawFd};
use std::sync::OnceLock;
use std::time::Duration;

/// Returned by [`read`] at end of stream.
pub const EOF: i32 = -1;
/// Returned by non-blocking calls that would have blocked.
pub const UNAVAILABLE: i32 = -2;

/// Readiness events for [`poll`], with the kernel's values.
pub const POLLIN: i16 = libc::POLLIN;
/// Writable, or a connect finished.
pub const POLLOUT: i16 = libc::POLLOUT;

/// `how` for [`shutdown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// No more receives.
    Read,
    /// No more sends (sends FIN).
    Write,
    /// Both.
    Both,
}

impl Shutdown {
    /// From the Java constants 0, 1, 2.
    pub fn from_java(how: i32) -> NetResult<Self> {
        match how {
            0 => Ok(Shutdown::Read),
            1 => Ok(Shutdown::Write),
            2 => Ok(Shutdown::Both),
            _ => Err(bad_argument(format!("shutdown mode {how}"))),
        }
    }
}

/// Socket options the Java side reads and writes as ints; the numbers are
/// shared with `io.rustsocket.internal.Native`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOption {
    /// TCP_NODELAY, 0 or 1.
    TcpNoDelay = 1,
    /// SO_KEEPALIVE, 0 or 1.
    KeepAlive = 2,
    /// SO_RCVBUF, bytes.
    RcvBuf = 3,
    /// SO_SNDBUF, bytes.
    SndBuf = 4,
    /// SO_LINGER: -1 when off, else seconds.
    Linger = 5,
    /// SO_REUSEADDR, 0 or 1.
    ReuseAddr = 6,
    /// SO_REUSEPORT, 0 or 1.
    ReusePort = 7,
    /// IP_TOS on IPv4 sockets, IPV6_TCLASS (and IP_TOS for mapped traffic) on IPv6 ones.
    IpTos = 8,
    /// SO_OOBINLINE, 0 or 1.
    OobInline = 9,
    /// TCP_KEEPIDLE, seconds (jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE).
    TcpKeepIdle = 10,
    /// TCP_KEEPINTVL, seconds.
    TcpKeepInterval = 11,
    /// TCP_KEEPCNT, probes.
    TcpKeepCount = 12,
    /// TCP_QUICKACK, 0 or 1.
    TcpQuickAck = 13,
    /// SO_INCOMING_NAPI_ID, read only.
    IncomingNapiId = 14,
    // Ids 15..99: the Linux options of `io.rustsocket.RustSocketOptions` (see `tcp_ext`).
    /// TCP_USER_TIMEOUT, milliseconds (0: the kernel's default).
    TcpUserTimeout = 15,
    /// TCP_CORK, 0 or 1.
    TcpCork = 16,
    /// TCP_NOTSENT_LOWAT, bytes (0: the sysctl's default).
    TcpNotSentLowat = 17,
    /// TCP_MAXSEG, bytes.
    TcpMaxSeg = 18,
    /// TCP_FASTOPEN on a listener: queue length of pending fast-open requests.
    TcpFastOpen = 19,
    /// TCP_FASTOPEN_CONNECT, 0 or 1: the first write rides on the SYN.
    TcpFastOpenConnect = 20,
    /// TCP_DEFER_ACCEPT, seconds (the kernel rounds to its retransmission steps).
    TcpDeferAccept = 21,
    /// IP_TTL (and IPV6_UNICAST_HOPS on IPv6 sockets), hops.
    IpTtl = 22,
    /// IPV6_V6ONLY, 0 or 1; IPv6 sockets only, before bind.
    Ipv6V6Only = 23,
    /// IP_FREEBIND, 0 or 1.
    IpFreeBind = 24,
    /// IP_BIND_ADDRESS_NO_PORT, 0 or 1.
    IpBindAddressNoPort = 25,
    /// SO_MARK (needs CAP_NET_ADMIN or CAP_NET_RAW to set).
    SoMark = 26,
    /// SO_INCOMING_CPU, a CPU number.
    SoIncomingCpu = 27,
    /// SO_BUSY_POLL, microseconds.
    SoBusyPoll = 28,
}

/// Socket options whose values are strings (ASCII names); ids shared with
/// `io.rustsocket.internal.Native`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringOption {
    /// TCP_CONGESTION: the congestion control algorithm's name.
    TcpCongestion = 50,
    /// SO_BINDTODEVICE: the interface's name; empty when unbound.
    BindToDevice = 51,
}

impl StringOption {
    /// From the Java constant.
    pub fn from_java(id: i32) -> NetResult<Self> {
        match id {
            50 => Ok(StringOption::TcpCongestion),
            51 => Ok(StringOption::BindToDevice),
            _ => Err(bad_argument(format!("unknown option id {id}"))),
        }
    }
}

impl IntOption {
    /// From the Java constant.
    pub fn from_java(id: i32) -> NetResult<Self> {
        Ok(match id {
            1 => IntOption::TcpNoDelay,
            2 => IntOption::KeepAlive,
            3 => IntOption::RcvBuf,
            4 => IntOption::SndBuf,
            5 => IntOption::Linger,
            6 => IntOption::ReuseAddr,
            7 => IntOption::ReusePort,
            8 => IntOption::IpTos,
            9 => IntOption::OobInline,
            10 => IntOption::TcpKeepIdle,
            11 => IntOption::TcpKeepInterval,
            12 => IntOption::TcpKeepCount,
            13 => IntOption::TcpQuickAck,
            14 => IntOption::IncomingNapiId,
            15 => IntOption::TcpUserTimeout,
            16 => IntOption::TcpCork,
            17 => IntOption::TcpNotSentLowat,
            18 => IntOption::TcpMaxSeg,
            19 => IntOption::TcpFastOpen,
            20 => IntOption::TcpFastOpenConnect,
            21 => IntOption::TcpDeferAccept,
            22 => IntOption::IpTtl,
            23 => IntOption::Ipv6V6Only,
            24 => IntOption::IpFreeBind,
            25 => IntOption::IpBindAddressNoPort,
            26 => IntOption::SoMark,
            27 => IntOption::SoIncomingCpu,
            28 => IntOption::SoBusyPoll,
            _ => return Err(bad_argument(format!("unknown option id {id}"))),
        })
    }
}

pub(crate) fn bad_argument(message: String) -> NetError {
    NetError::new(ExceptionClass::IllegalArgument, message)
}

/// Borrows a descriptor for socket2 without taking ownership of it.
pub(crate) fn borrow(fd: RawFd) -> NetResult<BorrowedFd<'static>> {
    if fd < 0 {
        return Err(NetError::from_errno(Op::Control, libc::EBADF));
    }
    // SAFETY: the Java side owns the descriptor and keeps it open for as long
    // as a call on it is in flight (close is deferred until the last one leaves).
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

pub(crate) fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Whether this host can open IPv6 sockets; decided once, like the JDK.
pub fn ipv6_available() -> bool {
    static IPV6: OnceLock<bool> = OnceLock::new();
    *IPV6.get_or_init(|| match Socket::new(Domain::IPV6, Type::STREAM, None) {
        Ok(s) => s.set_only_v6(false).is_ok(),
        Err(_) => false,
    })
}

/// Opens a TCP socket: dual-stack IPv6 when available, else IPv4; close-on-exec.
/// Server sockets are blocking and get SO_REUSEADDR, as the JDK's do. Client
/// sockets start non-blocking: a connect is always started without blocking and
/// waited for in [`poll`], because a blocking connect(2) is not woken by a
/// shutdown(2) made just before it starts, and close() relies on that wake-up.
/// The caller makes the descriptor blocking once connected.
pub fn open_stream(server: bool) -> NetResult<RawFd> {
    let ipv6 = ipv6_available();
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let kind = if server {
        Type::STREAM
    } else {
        Type::STREAM.nonblocking()
    };
    let socket = Socket::new(domain, kind, None).map_err(|e| NetError::from_io(Op::Setup, &e))?;
    if ipv6 {
        socket
            .set_only_v6(false)
            .map_err(|e| NetError::from_io(Op::Setup, &e))?;
    }
    if server {
        socket
            .set_reuse_address(true)
            .map_err(|e| NetError::from_io(Op::Setup, &e))?;
    }
    let fd = socket.into_raw_fd();
    log::debug!(
        "fd {fd}: opened ({})",
        if server { "server" } else { "client" }
    );
    Ok(fd)
}

/// Switches a descriptor between blocking and non-blocking mode.
pub fn set_blocking(fd: RawFd, blocking: bool) -> NetResult<()> {
    SockRef::from(&borrow(fd)?)
        .set_nonblocking(!blocking)
        .map_err(|e| NetError::from_io(Op::Control, &e))
}

/// Binds to an address given as raw IP bytes (4 or 16), scope id and port.
pub fn bind(fd: RawFd, ip: IpAddr, scope_id: u32, port: u16) -> NetResult<()> {
    let target = addr::to_kernel(ip, port, scope_id, ipv6_available())?;
    SockRef::from(&borrow(fd)?)
        .bind(&target)
        .map_err(|e| NetError::from_io(Op::Bind, &e))?;
    log::debug!("fd {fd}: bound to {ip}:{port}");
    Ok(())
}

/// Starts listening.
pub fn listen(fd: RawFd, backlog: i32) -> NetResult<()> {
    SockRef::from(&borrow(fd)?)
        .listen(backlog)
        .map_err(|e| NetError::from_io(Op::Listen, &e))?;
    log::debug!("fd {fd}: listening, backlog {backlog}");
    Ok(())
}

/// Starts or makes a connection. Returns `true` when connected, `false` when
/// the connection is in progress (non-blocking descriptor, or a blocking
/// connect interrupted by a signal); wait for it with [`poll`] for [`POLLOUT`],
/// then read the outcome with [`connect_result`].
pub fn connect(fd: RawFd, ip: IpAddr, scope_id: u32, port: u16) -> NetResult<bool> {
    let target = addr::to_kernel(ip, port, scope_id, ipv6_available())?;
    match SockRef::from(&borrow(fd)?).connect(&target) {
        Ok(()) => {
            log::debug!("fd {fd}: connected to {ip}:{port}");
            Ok(true)
        }
        Err(e) => match e.raw_os_error() {
            Some(libc::EINPROGRESS) | Some(libc::EINTR) | Some(libc::EAGAIN) => Ok(false),
            _ => Err(NetError::from_io(Op::Connect, &e)),
        },
    }
}

/// The outcome of a connect that [`poll`] reported ready (writable, error or
/// hang-up): `Ok` when it connected, the connect's error otherwise. Call it only
/// after such a poll: while the handshake is still running there is no error to see.
pub fn connect_result(fd: RawFd) -> NetResult<()> {
    match SockRef::from(&borrow(fd)?).take_error() {
        Ok(None) => {
            log::debug!("fd {fd}: connect finished");
            Ok(())
        }
        Ok(Some(e)) | Err(e) => Err(NetError::from_io(Op::Connect, &e)),
    }
}

/// Accepts a connection. Returns the new descriptor (close-on-exec, blocking)
/// and the peer's address, or `None` when a non-blocking listener has none waiting.
pub fn accept(fd: RawFd) -> NetResult<Option<(RawFd, SocketAddr)>> {
    borrow(fd)?;
    loop {
        // SAFETY: accept4 writes at most `len` bytes into the zeroed storage.
        let result = unsafe {
            SockAddr::try_init(|storage, len| {
                let n = libc::accept4(fd, storage.cast(), len, libc::SOCK_CLOEXEC);
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(n)
                }
            })
        };
        match result {
            Ok((new_fd, peer)) => {
                let peer = match addr::from_kernel(&peer) {
                    Ok(p) => p,
                    Err(e) => {
                        close(new_fd);
                        return Err(e);
                    }
                };
                log::debug!("fd {fd}: accepted fd {new_fd} from {peer}");
                return Ok(Some((new_fd, peer)));
            }
            Err(e) => match e.raw_os_error() {
                Some(libc::EAGAIN) => return Ok(None),
                // A signal, or a connection that was reset while queued: try the next one.
                Some(libc::EINTR) | Some(libc::ECONNABORTED) => continue,
                _ => return Err(NetError::from_io(Op::Accept, &e)),
            },
        }
    }
}

/// Receives into `buf`. Returns the byte count, [`EOF`], or [`UNAVAILABLE`]
/// when a non-blocking descriptor has nothing to read.
pub fn read(fd: RawFd, buf: &mut [u8]) -> NetResult<i32> {
    borrow(fd)?;
    loop {
        // SAFETY: recv writes at most buf.len() bytes into buf.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n > 0 {
            return Ok(n as i32);
        }
        if n == 0 {
            return Ok(if buf.is_empty() { 0 } else { EOF });
        }
        match last_errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(UNAVAILABLE),
            errno => return Err(NetError::from_errno(Op::Read, errno)),
        }
    }
}

/// Sends from `buf` without raising SIGPIPE. Returns the byte count, or
/// [`UNAVAILABLE`] when a non-blocking descriptor's send buffer is full.
pub fn write(fd: RawFd, buf: &[u8]) -> NetResult<i32> {
    send_with_flags(fd, buf, libc::MSG_NOSIGNAL, Op::Write)
}

/// Sends one byte of urgent (out-of-band) data.
pub fn send_urgent(fd: RawFd, byte: u8) -> NetResult<i32> {
    send_with_flags(fd, &[byte], libc::MSG_NOSIGNAL | libc::MSG_OOB, Op::Urgent)
}

fn send_with_flags(fd: RawFd, buf: &[u8], flags: i32, op: Op) -> NetResult<i32> {
    borrow(fd)?;
    loop {
        // SAFETY: send reads at most buf.len() bytes from buf.
        let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), flags) };
        if n >= 0 {
            return Ok(n as i32);
        }
        match last_errno() {
            libc::EINTR => continue,
            // EINPROGRESS: a TCP_FASTOPEN_CONNECT socket sent its SYN without data;
            // it becomes writable when the handshake completes.
            libc::EAGAIN | libc::EINPROGRESS => return Ok(UNAVAILABLE),
            errno => return Err(NetError::from_errno(op, errno)),
        }
    }
}

/// Waits up to `timeout_ms` (negative: forever) for `events` on one
/// descriptor. Returns the events that occurred, 0 on timeout or when a signal
/// cut the wait short: the caller re-checks its own deadline and state.
pub fn poll(fd: RawFd, events: i16, timeout_ms: i32) -> NetResult<i16> {
    borrow(fd)?;
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if n < 0 {
        return match last_errno() {
            libc::EINTR => Ok(0),
            errno => Err(NetError::from_errno(Op::Control, errno)),
        };
    }
    Ok(if n == 0 { 0 } else { pfd.revents })
}

/// Shuts down one or both directions; also wakes every thread blocked on the socket.
/// ENOTCONN (the peer already reset the connection) is not an error, as in the JDK.
pub fn shutdown(fd: RawFd, how: Shutdown) -> NetResult<()> {
    let how_os = match how {
        Shutdown::Read => std::net::Shutdown::Read,
        Shutdown::Write => std::net::Shutdown::Write,
        Shutdown::Both => std::net::Shutdown::Both,
    };
    match SockRef::from(&borrow(fd)?).shutdown(how_os) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {}
        Err(e) => return Err(NetError::from_io(Op::Control, &e)),
    }
    log::debug!("fd {fd}: shutdown {how:?}");
    Ok(())
}

/// Resets the connection now: connect(2) with `AF_UNSPEC` makes Linux drop the
/// connection, send RST and wake every thread blocked on the socket with
/// ECONNRESET. This is how close() with SO_LINGER 0 wakes threads in flight: a
/// shutdown(2) would queue a FIN behind unsent data, and a peer that drained the
/// data first would see a clean end of stream instead of the reset.
pub fn abort(fd: RawFd) -> NetResult<()> {
    borrow(fd)?;
    // SAFETY: zeroed is a valid sockaddr; only the family is read.
    let mut unspec: libc::sockaddr = unsafe { std::mem::zeroed() };
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
        return Err(NetError::last_os_error(Op::Control));
    }
    log::debug!("fd {fd}: aborted (reset sent)");
    Ok(())
}

/// Closes a descriptor. Errors are logged, not returned: after close(2) the
/// descriptor is gone whatever it says (retrying on EINTR could close a reused number).
pub fn close(fd: RawFd) {
    if fd < 0 {
        return;
    }
    // SAFETY: the caller owns fd and no other call on it is in flight.
    let rc = unsafe { libc::close(fd) };
    if rc < 0 {
        log::warn!(
            "fd {fd}: close failed: {}",
            crate::error::strerror(last_errno())
        );
    } else {
        log::debug!("fd {fd}: closed");
    }
}

/// Bytes that can be read without blocking.
pub fn available(fd: RawFd) -> NetResult<i32> {
    borrow(fd)?;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Control));
    }
    Ok(n)
}

/// The local address, with IPv4-mapped addresses shown as IPv4.
pub fn local_addr(fd: RawFd) -> NetResult<SocketAddr> {
    let a = SockRef::from(&borrow(fd)?)
        .local_addr()
        .map_err(|e| NetError::from_io(Op::Control, &e))?;
    addr::from_kernel(&a)
}

/// The peer's address, with IPv4-mapped addresses shown as IPv4.
pub fn peer_addr(fd: RawFd) -> NetResult<SocketAddr> {
    let a = SockRef::from(&borrow(fd)?)
        .peer_addr()
        .map_err(|e| NetError::from_io(Op::Control, &e))?;
    addr::from_kernel(&a)
}

fn opt_err(e: std::io::Error) -> NetError {
    NetError::from_io(Op::Option, &e)
}

/// Reads an option as an int (see [`IntOption`] for the encoding).
pub fn get_option(fd: RawFd, opt: IntOption) -> NetResult<i32> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let flag = |b: bool| i32::from(b);
    Ok(match opt {
        IntOption::TcpNoDelay => flag(s.tcp_nodelay().map_err(opt_err)?),
        IntOption::KeepAlive => flag(s.keepalive().map_err(opt_err)?),
        // Linux doubles the size it is given (for bookkeeping) and reports the doubled value;
        // the JDK halves it so that users read back what they set, and so do we.
        IntOption::RcvBuf => clamp_i32(s.recv_buffer_size().map_err(opt_err)? / 2),
        IntOption::SndBuf => clamp_i32(s.send_buffer_size().map_err(opt_err)? / 2),
        IntOption::Linger => match s.linger().map_err(opt_err)? {
            None => -1,
            Some(d) => clamp_i32(d.as_secs() as usize),
        },
        IntOption::ReuseAddr => flag(s.reuse_address().map_err(opt_err)?),
        IntOption::ReusePort => flag(s.reuse_port().map_err(opt_err)?),
        IntOption::IpTos => {
            if ipv6_available() {
                s.tclass_v6().map_err(opt_err)? as i32
            } else {
                s.tos_v4().map_err(opt_err)? as i32
            }
        }
        IntOption::OobInline => flag(s.out_of_band_inline().map_err(opt_err)?),
        IntOption::TcpKeepIdle => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE)?,
        IntOption::TcpKeepInterval => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL)?,
        IntOption::TcpKeepCount => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT)?,
        IntOption::TcpQuickAck => flag(get_raw(fd, libc::IPPROTO_TCP, libc::TCP_QUICKACK)? != 0),
        IntOption::IncomingNapiId => get_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_NAPI_ID)?,
        // ids 15..99: the Linux options of `tcp_ext`
        _ => crate::tcp_ext::get_option(fd, opt)?,
    })
}

// socket2 has no single getter/setter for the keepalive, quick-ack and NAPI options.
pub(crate) fn get_raw(fd: RawFd, level: libc::c_int, name: libc::c_int) -> NetResult<i32> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: one int of storage and its length.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Option));
    }
    Ok(value)
}

pub(crate) fn set_raw(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: i32,
) -> NetResult<()> {
    // SAFETY: one int and its length.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Option));
    }
    Ok(())
}

fn clamp_i32(v: usize) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Sets an option from an int (see [`IntOption`]). Range checks that the JDK
/// does in Java are done in Java; the kernel has the last word on the rest.
pub fn set_option(fd: RawFd, opt: IntOption, value: i32) -> NetResult<()> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let on = value != 0;
    let non_negative = |v: i32| -> NetResult<usize> {
        usize::try_from(v).map_err(|_| bad_argument(format!("{opt:?} must not be negative: {v}")))
    };
    match opt {
        IntOption::TcpNoDelay => s.set_tcp_nodelay(on).map_err(opt_err),
        IntOption::KeepAlive => s.set_keepalive(on).map_err(opt_err),
        IntOption::RcvBuf => s
            .set_recv_buffer_size(non_negative(value)?)
            .map_err(opt_err),
        IntOption::SndBuf => s
            .set_send_buffer_size(non_negative(value)?)
            .map_err(opt_err),
        IntOption::Linger => {
            let linger = if value < 0 {
                None
            } else {
                Some(Duration::from_secs(value as u64))
            };
            s.set_linger(linger).map_err(opt_err)
        }
        IntOption::ReuseAddr => s.set_reuse_address(on).map_err(opt_err),
        IntOption::ReusePort => s.set_reuse_port(on).map_err(opt_err),
        IntOption::IpTos => {
            let tos = u32::try_from(value)
                .ok()
                .filter(|v| *v <= 255)
                .ok_or_else(|| bad_argument(format!("IP_TOS out of range: {value}")))?;
            if ipv6_available() {
                s.set_tclass_v6(tos).map_err(opt_err)?;
                // IPv4 traffic on a dual-stack socket takes its TOS from IP_TOS;
                // best effort, as in the JDK.
                let _ = s.set_tos_v4(tos);
                Ok(())
            } else {
                s.set_tos_v4(tos).map_err(opt_err)
            }
        }
        IntOption::OobInline => s.set_out_of_band_inline(on).map_err(opt_err),
        IntOption::TcpKeepIdle => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, value),
        IntOption::TcpKeepInterval => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, value),
        IntOption::TcpKeepCount => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, value),
        IntOption::TcpQuickAck => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_QUICKACK, value),
        IntOption::IncomingNapiId => {
            set_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_NAPI_ID, value)
        }
        // ids 15..99: the Linux options of `tcp_ext`
        _ => crate::tcp_ext::set_option(fd, opt, value),
    }
}

/// Creates an epoll instance (close-on-exec) for the virtual-thread poller.
pub fn epoll_create() -> NetResult<RawFd> {
    // SAFETY: plain system call.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epfd < 0 {
        return Err(NetError::last_os_error(Op::Setup));
    }
    log::debug!("epoll {epfd}: created");
    Ok(epfd)
}

/// Arms `fd` in `epfd` for one readiness event (`POLLIN` or `POLLOUT`), one-shot:
/// after it fires, the registration stays but is disarmed until armed again. A
/// socket shut down before it is armed reports ready at once (epoll checks the
/// current state when it arms), which is what lets close() wake a parked thread.
pub fn epoll_arm(epfd: RawFd, fd: RawFd, events: i16) -> NetResult<()> {
    borrow(epfd)?;
    borrow(fd)?;
    let mut ev = libc::epoll_event {
        events: (events as u16 as u32) | libc::EPOLLONESHOT as u32,
        u64: fd as u64,
    };
    // SAFETY: valid descriptors and event.
    let rc = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_MOD, fd, &mut ev) };
    if rc == 0 {
        return Ok(());
    }
    if last_errno() != libc::ENOENT {
        return Err(NetError::last_os_error(Op::Control));
    }
    // SAFETY: as above.
    let rc = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Control));
    }
    Ok(())
}

/// Waits up to `timeout_ms` (negative: forever) for armed descriptors and writes
/// the ready ones into `ready`. Returns how many; 0 on timeout or signal.
pub fn epoll_wait(epfd: RawFd, ready: &mut [i32], timeout_ms: i32) -> NetResult<usize> {
    borrow(epfd)?;
    const BATCH: usize = 256;
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
    let max = ready.len().min(BATCH) as i32;
    if max == 0 {
        return Ok(0);
    }
    // SAFETY: `events` has room for `max` entries.
    let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), max, timeout_ms) };
    if n < 0 {
        return match last_errno() {
            libc::EINTR => Ok(0),
            errno => Err(NetError::from_errno(Op::Control, errno)),
        };
    }
    let n = n as usize;
    for (slot, ev) in ready.iter_mut().zip(&events[..n]) {
        *slot = ev.u64 as i32;
    }
    Ok(n)
}

/// Returned by [`send_file`] when the file cannot be read by sendfile(2) (a pipe, a
/// directory, some special files): the caller copies the bytes itself instead.
pub const SENDFILE_UNSUPPORTED: i64 = -3;

/// Returned by [`dup_readable_file`] for a descriptor that is closed or absent.
pub const FILE_CLOSED: i32 = -1;
/// Returned by [`dup_readable_file`] for a descriptor opened write-only.
pub const FILE_NOT_READABLE: i32 = -3;

/// Sends up to `count` bytes of the file `file`, starting at byte `offset`, on the
/// socket `fd` with sendfile(2): the kernel moves the bytes from the page cache to
/// the socket, with no copy through user memory. The file's own offset is not used
/// or moved. Returns the bytes sent (0 when `offset` is at or past the end of the
/// file), [`UNAVAILABLE`] when a non-blocking socket's send buffer is full, or
/// [`SENDFILE_UNSUPPORTED`] when the file cannot be spliced.
///
/// sendfile(2) has no `MSG_NOSIGNAL`: a send to a dead peer would raise SIGPIPE,
/// so SIGPIPE is blocked in this thread for the call and a SIGPIPE it raised is
/// consumed before the mask is restored. The caller gets `Broken pipe`, never a signal.
pub fn send_file(fd: RawFd, file: RawFd, offset: i64, count: i64) -> NetResult<i64> {
    borrow(fd)?;
    if file < 0 {
        return Err(NetError::from_errno(Op::SendFile, libc::EBADF));
    }
    if offset < 0 || count < 0 {
        return Err(bad_argument(format!(
            "negative file position or count: {offset}, {count}"
        )));
    }
    // The kernel moves at most 0x7fff_f000 bytes in one call anyway (MAX_RW_COUNT), and
    // rejects with EINVAL a range whose end overflows a file offset.
    let len = count.min(0x7fff_f000).min(i64::MAX - offset) as usize;
    let guard = SigpipeBlocked::new();
    let outcome = loop {
        let mut off: libc::off_t = offset;
        // SAFETY: two descriptors the caller keeps open and a valid offset pointer.
        let n = unsafe { libc::sendfile(fd, file, &mut off, len) };
        if n >= 0 {
            break Ok(n as i64);
        }
        match last_errno() {
            libc::EINTR => continue,
            libc::EAGAIN => break Ok(i64::from(UNAVAILABLE)),
            // the file has no splice support: not an error, the caller copies instead
            libc::EINVAL | libc::ENOSYS => break Ok(SENDFILE_UNSUPPORTED),
            // only raised when `offset` is past the largest offset the file system allows,
            // so necessarily past the end of the file: nothing to send
            libc::EOVERFLOW => break Ok(0),
            errno => break Err(errno),
        }
    };
    guard.restore(outcome == Err(libc::EPIPE));
    outcome.map_err(|errno| NetError::from_errno(Op::SendFile, errno))
}

/// SIGPIPE blocked in the calling thread for the life of one system call.
struct SigpipeBlocked {
    previous_mask: libc::sigset_t,
    was_pending: bool,
}

impl SigpipeBlocked {
    fn sigpipe_set() -> libc::sigset_t {
        // SAFETY: sigemptyset initialises the set before sigaddset reads it.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            set
        }
    }

    fn new() -> Self {
        let set = Self::sigpipe_set();
        // SAFETY: valid sets; pthread_sigmask and sigpending only touch this thread's state.
        unsafe {
            let mut previous_mask: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut previous_mask);
            let mut pending: libc::sigset_t = std::mem::zeroed();
            libc::sigpending(&mut pending);
            SigpipeBlocked {
                previous_mask,
                was_pending: libc::sigismember(&pending, libc::SIGPIPE) == 1,
            }
        }
    }

    /// Consumes the SIGPIPE the call raised (if it failed with EPIPE and none was pending
    /// before), then restores the thread's mask.
    fn restore(self, raised: bool) {
        let set = Self::sigpipe_set();
        // SAFETY: valid set and timespec; a zero timeout makes sigtimedwait return at once.
        unsafe {
            if raised && !self.was_pending {
                let zero = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                while libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) < 0
                    && last_errno() == libc::EINTR
                {}
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous_mask, std::ptr::null_mut());
        }
    }
}

/// A close-on-exec duplicate of a file descriptor that is open for reading, so that a
/// transfer keeps its own reference to the file even if the owner closes its copy (and
/// the number is reused) meanwhile. Returns [`FILE_CLOSED`] for a negative or closed
/// descriptor and [`FILE_NOT_READABLE`] for one opened write-only.
pub fn dup_readable_file(fd: RawFd) -> NetResult<RawFd> {
    if fd < 0 {
        return Ok(FILE_CLOSED);
    }
    // SAFETY: fcntl on a plain int descriptor; an invalid one gives EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return match last_errno() {
            libc::EBADF => Ok(FILE_CLOSED),
            errno => Err(NetError::from_errno(Op::SendFile, errno)),
        };
    }
    if flags & libc::O_ACCMODE == libc::O_WRONLY {
        return Ok(FILE_NOT_READABLE);
    }
    // SAFETY: as above; the new descriptor belongs to the caller.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return match last_errno() {
            libc::EBADF => Ok(FILE_CLOSED),
            errno => Err(NetError::from_errno(Op::SendFile, errno)),
        };
    }
    Ok(copy)
}

/// Waits up to `timeout_ms` (negative: forever) for `events` on any of `fds` and
/// writes each descriptor's events into `revents`. Returns how many are ready; 0 on
/// timeout or when a signal cut the wait short. Used to wait for several connects at once.
pub fn poll_any(
    fds: &[RawFd],
    events: i16,
    revents: &mut [i16],
    timeout_ms: i32,
) -> NetResult<usize> {
    const MAX: usize = 64;
    if fds.len() > MAX || revents.len() < fds.len() {
        return Err(bad_argument(format!("poll_any: {} descriptors", fds.len())));
    }
    let mut pfds = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; MAX];
    for (p, &fd) in pfds.iter_mut().zip(fds) {
        borrow(fd)?;
        p.fd = fd;
        p.events = events;
    }
    // SAFETY: `fds.len()` initialised pollfds.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        return match last_errno() {
            libc::EINTR => Ok(0),
            errno => Err(NetError::from_errno(Op::Control, errno)),
        };
    }
    for (r, p) in revents.iter_mut().zip(&pfds[..fds.len()]) {
        *r = p.revents;
    }
    Ok(n as usize)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Instant;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// A listener on an ephemeral loopback port, a client connected to it and the accepted side.
    pub(crate) struct Trio {
        pub(crate) listener: RawFd,
        pub(crate) client: RawFd,
        pub(crate) server: RawFd,
    }

    impl Drop for Trio {
        fn drop(&mut self) {
            close(self.client);
            close(self.server);
            close(self.listener);
        }
    }

    fn listener() -> (RawFd, u16) {
        let l = open_stream(true).unwrap();
        bind(l, LOOPBACK, 0, 0).unwrap();
        listen(l, 16).unwrap();
        let port = local_addr(l).unwrap().port();
        (l, port)
    }

    /// Connects a fresh (non-blocking) client socket to the loopback port.
    fn connect_and_wait(fd: RawFd, port: u16) {
        if !connect(fd, LOOPBACK, 0, port).unwrap() {
            assert_ne!(
                poll(fd, POLLOUT, 5000).unwrap(),
                0,
                "connect did not finish"
            );
            connect_result(fd).unwrap();
        }
    }

    pub(crate) fn trio() -> Trio {
        let (listener, port) = listener();
        let client = open_stream(false).unwrap();
        connect_and_wait(client, port);
        set_blocking(client, true).unwrap();
        let (server, peer) = accept(listener).unwrap().unwrap();
        assert_eq!(peer, local_addr(client).unwrap());
        Trio {
            listener,
            client,
            server,
        }
    }

    #[test]
    fn bytes_cross_intact_and_eof_is_reported() {
        let t = trio();
        let msg: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let mut sent = 0;
        while sent < msg.len() {
            sent += write(t.client, &msg[sent..]).unwrap() as usize;
        }
        shutdown(t.client, Shutdown::Write).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = read(t.server, &mut buf).unwrap();
            if n == EOF {
                break;
            }
            got.extend_from_slice(&buf[..n as usize]);
        }
        assert_eq!(got, msg);
        assert_eq!(read(t.server, &mut buf).unwrap(), EOF, "EOF repeats");
    }

    #[test]
    fn addresses_are_reported_as_ipv4_on_dual_stack_sockets() {
        let t = trio();
        let local = local_addr(t.client).unwrap();
        let peer = peer_addr(t.client).unwrap();
        assert_eq!(local.ip(), LOOPBACK);
        assert_eq!(peer, local_addr(t.server).unwrap());
    }

    #[test]
    fn non_blocking_read_reports_unavailable_and_poll_times_out() {
        let t = trio();
        set_blocking(t.server, false).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(read(t.server, &mut buf).unwrap(), UNAVAILABLE);
        let start = Instant::now();
        assert_eq!(poll(t.server, POLLIN, 50).unwrap(), 0);
        assert!(start.elapsed() >= Duration::from_millis(45));
        write(t.client, b"x").unwrap();
        assert_ne!(poll(t.server, POLLIN, 1000).unwrap() & POLLIN, 0);
        assert_eq!(read(t.server, &mut buf).unwrap(), 1);
    }

    #[test]
    fn shutdown_wakes_a_blocked_reader() {
        let t = trio();
        let fd = t.server;
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 16];
            read(fd, &mut buf)
        });
        std::thread::sleep(Duration::from_millis(100));
        shutdown(fd, Shutdown::Read).unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), EOF);
    }

    #[test]
    fn shutdown_wakes_a_blocked_accept() {
        let (l, _) = listener();
        let acceptor = std::thread::spawn(move || accept(l));
        std::thread::sleep(Duration::from_millis(100));
        shutdown(l, Shutdown::Both).unwrap();
        let result = acceptor.join().unwrap();
        assert!(result.is_err(), "accept after shutdown: {result:?}");
        close(l);
    }

    #[test]
    fn refused_connect_is_a_connect_exception() {
        let (l, port) = listener();
        close(l);
        let c = open_stream(false).unwrap();
        let err = match connect(c, LOOPBACK, 0, port) {
            Err(e) => e,
            Ok(true) => panic!("connected to a closed port"),
            Ok(false) => {
                poll(c, POLLOUT, 5000).unwrap();
                connect_result(c).unwrap_err()
            }
        };
        assert_eq!(err.class, ExceptionClass::Connect);
        assert_eq!(err.message, "Connection refused");
        close(c);
    }

    #[test]
    fn shutdown_before_connect_makes_the_wait_return_at_once() {
        // close() may shut a socket down just before its connect starts; the wait
        // for the connect must then end at once, not when the kernel gives up.
        let (l, port) = listener();
        let c = open_stream(false).unwrap();
        let _ = shutdown(c, Shutdown::Both); // ENOTCONN, but the flags are set
        let _ = connect(c, LOOPBACK, 0, port);
        let start = Instant::now();
        assert_ne!(poll(c, POLLOUT, 5000).unwrap(), 0);
        assert!(start.elapsed() < Duration::from_secs(2));
        close(c);
        close(l);
    }

    #[test]
    fn client_sockets_start_non_blocking() {
        let (l, port) = listener();
        let c = open_stream(false).unwrap();
        connect_and_wait(c, port);
        let mut buf = [0u8; 4];
        assert_eq!(read(c, &mut buf).unwrap(), UNAVAILABLE);
        close(c);
        close(l);
    }

    #[test]
    fn bind_conflict_is_a_bind_exception() {
        let (l, port) = listener();
        let other = open_stream(false).unwrap();
        let err = bind(other, LOOPBACK, 0, port).unwrap_err();
        assert_eq!(err.class, ExceptionClass::Bind);
        assert_eq!(err.message, "Address already in use");
        close(other);
        close(l);
    }

    #[test]
    fn write_to_reset_peer_fails_without_sigpipe() {
        let mut t = trio();
        set_option(t.server, IntOption::Linger, 0).unwrap();
        close(t.server);
        t.server = -1;
        std::thread::sleep(Duration::from_millis(50));
        let mut last = Ok(0);
        for _ in 0..100 {
            last = write(t.client, &[0u8; 1024]);
            if last.is_err() {
                break;
            }
        }
        let err = last.unwrap_err();
        assert_eq!(err.class, ExceptionClass::Socket);
        assert!(
            err.message == "Connection reset by peer" || err.message == "Broken pipe",
            "{err}"
        );
    }

    #[test]
    fn read_after_reset_is_connection_reset() {
        let mut t = trio();
        set_option(t.server, IntOption::Linger, 0).unwrap();
        close(t.server);
        t.server = -1;
        std::thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 8];
        let err = read(t.client, &mut buf).unwrap_err();
        assert_eq!(err.class, ExceptionClass::ConnectionReset);
    }

    #[test]
    fn options_read_back() {
        let t = trio();
        let fd = t.client;
        for opt in [
            IntOption::TcpNoDelay,
            IntOption::KeepAlive,
            IntOption::ReuseAddr,
            IntOption::ReusePort,
            IntOption::OobInline,
        ] {
            set_option(fd, opt, 1).unwrap();
            assert_eq!(get_option(fd, opt).unwrap(), 1, "{opt:?}");
            set_option(fd, opt, 0).unwrap();
            assert_eq!(get_option(fd, opt).unwrap(), 0, "{opt:?}");
        }
        assert_eq!(get_option(fd, IntOption::Linger).unwrap(), -1);
        set_option(fd, IntOption::Linger, 7).unwrap();
        assert_eq!(get_option(fd, IntOption::Linger).unwrap(), 7);
        set_option(fd, IntOption::IpTos, 0x10).unwrap();
        assert_eq!(get_option(fd, IntOption::IpTos).unwrap(), 0x10);
        set_option(fd, IntOption::RcvBuf, 65536).unwrap();
        assert_eq!(get_option(fd, IntOption::RcvBuf).unwrap(), 65536);
        set_option(fd, IntOption::SndBuf, 32768).unwrap();
        assert_eq!(get_option(fd, IntOption::SndBuf).unwrap(), 32768);
        assert_eq!(
            set_option(fd, IntOption::IpTos, 256).unwrap_err().class,
            ExceptionClass::IllegalArgument
        );
        assert_eq!(
            set_option(fd, IntOption::SndBuf, -1).unwrap_err().class,
            ExceptionClass::IllegalArgument
        );
        assert!(IntOption::from_java(99).is_err());
        for (opt, v) in [
            (IntOption::TcpKeepIdle, 30),
            (IntOption::TcpKeepInterval, 5),
            (IntOption::TcpKeepCount, 4),
        ] {
            set_option(fd, opt, v).unwrap();
            assert_eq!(get_option(fd, opt).unwrap(), v, "{opt:?}");
        }
        assert_eq!(
            set_option(fd, IntOption::TcpKeepIdle, -1)
                .unwrap_err()
                .message,
            "Invalid argument"
        );
        assert!(get_option(fd, IntOption::IncomingNapiId).unwrap() >= 0);
    }

    #[test]
    fn available_counts_buffered_bytes() {
        let t = trio();
        write(t.client, b"hello").unwrap();
        let deadline = Instant::now() + Duration::from_secs(2);
        while available(t.server).unwrap() < 5 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(available(t.server).unwrap(), 5);
    }

    #[test]
    fn urgent_byte_arrives_inline_when_asked() {
        let t = trio();
        set_option(t.server, IntOption::OobInline, 1).unwrap();
        write(t.client, b"ab").unwrap();
        send_urgent(t.client, b'!').unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 8];
        while got.len() < 3 {
            let n = read(t.server, &mut buf).unwrap();
            got.extend_from_slice(&buf[..n as usize]);
        }
        assert_eq!(got, b"ab!");
    }

    #[test]
    fn abort_wakes_a_blocked_writer_and_the_peer_sees_a_reset_not_eof() {
        let t = trio();
        set_option(t.client, IntOption::SndBuf, 4096).unwrap();
        let fd = t.client;
        let writer = std::thread::spawn(move || {
            let chunk = [7u8; 65536];
            loop {
                if let Err(e) = write(fd, &chunk) {
                    return e;
                }
            }
        });
        std::thread::sleep(Duration::from_millis(200)); // the writer is now blocked
        abort(t.client).unwrap();
        let err = writer.join().unwrap();
        assert_eq!(err.class, ExceptionClass::Socket, "{err}");
        let mut buf = [0u8; 65536];
        let end = loop {
            match read(t.server, &mut buf) {
                Ok(n) if n > 0 => continue,
                other => break other,
            }
        };
        let err = end.expect_err("the peer must see the reset, not EOF");
        assert_eq!(err.class, ExceptionClass::ConnectionReset);
    }

    #[test]
    fn shutdown_after_the_peer_reset_is_not_an_error() {
        let mut t = trio();
        set_option(t.server, IntOption::Linger, 0).unwrap();
        close(t.server);
        t.server = -1;
        std::thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 4];
        assert!(read(t.client, &mut buf).is_err()); // sees the reset
        shutdown(t.client, Shutdown::Read).unwrap();
        shutdown(t.client, Shutdown::Write).unwrap();
    }

    #[test]
    fn epoll_reports_readiness_once_per_arming() {
        let t = trio();
        let ep = epoll_create().unwrap();
        let mut ready = [0i32; 8];
        epoll_arm(ep, t.server, POLLIN).unwrap();
        assert_eq!(epoll_wait(ep, &mut ready, 0).unwrap(), 0);
        write(t.client, b"x").unwrap();
        assert_eq!(epoll_wait(ep, &mut ready, 2000).unwrap(), 1);
        assert_eq!(ready[0], t.server);
        // one-shot: still readable, but not reported again until re-armed
        assert_eq!(epoll_wait(ep, &mut ready, 0).unwrap(), 0);
        epoll_arm(ep, t.server, POLLIN).unwrap();
        assert_eq!(epoll_wait(ep, &mut ready, 0).unwrap(), 1);
        close(ep);
    }

    #[test]
    fn epoll_armed_after_shutdown_is_ready_at_once() {
        let t = trio();
        let ep = epoll_create().unwrap();
        shutdown(t.server, Shutdown::Read).unwrap();
        epoll_arm(ep, t.server, POLLIN).unwrap();
        let mut ready = [0i32; 8];
        assert_eq!(epoll_wait(ep, &mut ready, 2000).unwrap(), 1);
        close(ep);
    }

    /// A file in the temporary directory holding `content`, removed on drop.
    struct TempFile {
        path: std::path::PathBuf,
        file: std::fs::File,
    }

    impl TempFile {
        fn new(name: &str, content: &[u8]) -> TempFile {
            let path = std::env::temp_dir().join(format!(
                "rustsocket-sock-test-{}-{name}",
                std::process::id()
            ));
            std::fs::write(&path, content).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            TempFile { path, file }
        }

        fn fd(&self) -> RawFd {
            use std::os::fd::AsRawFd;
            self.file.as_raw_fd()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Reads from `fd` until `n` bytes arrived.
    fn read_n(fd: RawFd, n: usize) -> Vec<u8> {
        let mut got = Vec::with_capacity(n);
        let mut buf = [0u8; 65536];
        while got.len() < n {
            let k = read(fd, &mut buf[..(n - got.len()).min(65536)]).unwrap();
            assert!(k > 0, "EOF after {} of {n} bytes", got.len());
            got.extend_from_slice(&buf[..k as usize]);
        }
        got
    }

    #[test]
    fn send_file_sends_the_range_and_leaves_the_file_offset_alone() {
        let t = trio();
        let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let f = TempFile::new("range", &content);
        let fd = t.server;
        let reader = std::thread::spawn(move || read_n(fd, 150_000));
        let mut sent = 0i64;
        while sent < 150_000 {
            let n = send_file(t.client, f.fd(), 1_000 + sent, 150_000 - sent).unwrap();
            assert!(n > 0, "{n}");
            sent += n;
        }
        assert_eq!(reader.join().unwrap(), &content[1_000..151_000]);
        // SAFETY: lseek on an open file.
        assert_eq!(unsafe { libc::lseek(f.fd(), 0, libc::SEEK_CUR) }, 0);
    }

    #[test]
    fn send_file_stops_at_the_end_of_the_file() {
        let t = trio();
        let f = TempFile::new("eof", b"0123456789");
        assert_eq!(send_file(t.client, f.fd(), 4, 1_000_000).unwrap(), 6);
        assert_eq!(read_n(t.server, 6), b"456789");
        assert_eq!(send_file(t.client, f.fd(), 10, 5).unwrap(), 0);
        assert_eq!(send_file(t.client, f.fd(), 1 << 40, 5).unwrap(), 0);
        assert_eq!(send_file(t.client, f.fd(), i64::MAX - 1, 5).unwrap(), 0);
        assert_eq!(
            send_file(t.client, f.fd(), -1, 5).unwrap_err().class,
            ExceptionClass::IllegalArgument
        );
    }

    #[test]
    fn send_file_reports_a_full_send_buffer_as_unavailable() {
        let t = trio();
        set_option(t.client, IntOption::SndBuf, 4096).unwrap();
        set_blocking(t.client, false).unwrap();
        let f = TempFile::new("full", &vec![3u8; 8 << 20]);
        let mut offset = 0;
        let outcome = loop {
            let n = send_file(t.client, f.fd(), offset, (8 << 20) - offset).unwrap();
            if n <= 0 {
                break n;
            }
            offset += n;
        };
        assert_eq!(outcome, i64::from(UNAVAILABLE));
        assert!(offset < 8 << 20);
    }

    #[test]
    fn send_file_from_a_directory_is_unsupported_not_an_error() {
        let t = trio();
        let dir = std::fs::File::open(std::env::temp_dir()).unwrap();
        use std::os::fd::AsRawFd;
        assert_eq!(
            send_file(t.client, dir.as_raw_fd(), 0, 10).unwrap(),
            SENDFILE_UNSUPPORTED
        );
    }

    #[test]
    fn send_file_after_shutdown_is_broken_pipe_without_a_signal() {
        let t = trio();
        let f = TempFile::new("pipe", b"data");
        shutdown(t.client, Shutdown::Write).unwrap();
        // The test harness ignores SIGPIPE; restore the default action (kill the process)
        // so that a SIGPIPE escaping the mask would fail this test loudly.
        // SAFETY: changing a signal disposition; restored below.
        let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let err = send_file(t.client, f.fd(), 0, 4).unwrap_err();
        // SAFETY: valid sets; only this thread's state is read.
        let (pending, blocked) = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigpending(&mut set);
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask);
            (
                libc::sigismember(&set, libc::SIGPIPE),
                libc::sigismember(&mask, libc::SIGPIPE),
            )
        };
        // SAFETY: restores the disposition saved above.
        unsafe { libc::signal(libc::SIGPIPE, previous) };
        assert_eq!(
            (err.class, err.message.as_str()),
            (ExceptionClass::Socket, "Broken pipe")
        );
        assert_eq!(
            (pending, blocked),
            (0, 0),
            "SIGPIPE consumed, mask restored"
        );
    }

    #[test]
    fn dup_readable_file_copies_readable_descriptors_only() {
        let f = TempFile::new("dup", b"x");
        let copy = dup_readable_file(f.fd()).unwrap();
        assert!(copy >= 0 && copy != f.fd());
        // SAFETY: fstat into zeroed storage on two open descriptors.
        let (a, b) = unsafe {
            let mut a: libc::stat = std::mem::zeroed();
            let mut b: libc::stat = std::mem::zeroed();
            libc::fstat(f.fd(), &mut a);
            libc::fstat(copy, &mut b);
            (a.st_ino, b.st_ino)
        };
        assert_eq!(a, b);
        close(copy);
        let write_only = std::fs::OpenOptions::new()
            .write(true)
            .open(&f.path)
            .unwrap();
        use std::os::fd::AsRawFd;
        assert_eq!(
            dup_readable_file(write_only.as_raw_fd()).unwrap(),
            FILE_NOT_READABLE
        );
        assert_eq!(dup_readable_file(-1).unwrap(), FILE_CLOSED);
        assert_eq!(dup_readable_file(1 << 20).unwrap(), FILE_CLOSED);
    }

    #[test]
    fn poll_any_reports_which_descriptor_is_ready() {
        let a = trio();
        let b = trio();
        let mut revents = [0i16; 2];
        assert_eq!(
            poll_any(&[a.server, b.server], POLLIN, &mut revents, 0).unwrap(),
            0
        );
        write(b.client, b"x").unwrap();
        assert_eq!(
            poll_any(&[a.server, b.server], POLLIN, &mut revents, 2000).unwrap(),
            1
        );
        assert_eq!(revents[0], 0);
        assert_ne!(revents[1] & POLLIN, 0);
        assert!(poll_any(&[-1], POLLIN, &mut revents, 0).is_err());
    }

    #[test]
    fn bad_descriptor_is_an_error_not_a_panic() {
        let mut buf = [0u8; 1];
        assert_eq!(
            read(-1, &mut buf).unwrap_err().class,
            ExceptionClass::Socket
        );
        assert!(get_option(-5, IntOption::TcpNoDelay).is_err());
        assert!(Shutdown::from_java(7).is_err());
    }

    #[test]
    fn ipv6_loopback_works_when_available() {
        if !ipv6_available() {
            return;
        }
        let l = open_stream(true).unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        if bind(l, v6, 0, 0).is_err() {
            // IPv6 sockets exist but ::1 is not configured (some containers).
            close(l);
            return;
        }
        listen(l, 4).unwrap();
        let port = local_addr(l).unwrap().port();
        let c = open_stream(false).unwrap();
        if !connect(c, v6, 0, port).unwrap() {
            poll(c, POLLOUT, 5000).unwrap();
            connect_result(c).unwrap();
        }
        let (s, peer) = accept(l).unwrap().unwrap();
        assert_eq!(peer.ip(), v6);
        close(s);
        close(c);
        close(l);
    }
}
