//! Windows: Winsock under socket2, and what socket2 leaves out (the error texts the JDK's
//! exceptions carry there, readiness by `select`, `ioctlsocket`, `closesocket`, the reset at
//! close, a datagram socket's disconnect, `SIO_UDP_CONNRESET`, exclusive binds, the options
//! that differ). A shutdown does not wake calls blocked on a socket here, so every socket stays
//! non-blocking and every thread, platform or virtual, waits in a poller that close() can wake
//! (`polling` on AFD, see [`super::polling`]).

use crate::error::{ExceptionClass, NetError, NetResult, Op};
use crate::options::{opt_err, unsupported, Opt};
use crate::sock::bad_argument;
use crate::tcp_info::TCP_INFO_FIELDS;
use crate::udp::{Received, NOTHING};
use socket2::{Domain, MaybeUninitSlice, SockRef};
use std::collections::BTreeSet;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr};
use std::os::windows::io::{BorrowedSocket, RawSocket};
use std::sync::Mutex;
use windows_sys::Win32::Networking::WinSock as ws;

/// A socket as Java holds it: the SOCKET handle as an `int`, as the JDK keeps it in
/// `FileDescriptor.fd`. A handle is an index into the process's handle table (at most 2^24
/// entries, four apart), so its value always fits.
pub type Fd = i32;

/// A socket borrowed for one call; socket2's `SockRef::from(&borrowed)` wraps it.
pub type Borrowed = BorrowedSocket<'static>;

/// The Winsock handle behind a descriptor.
fn raw(fd: Fd) -> RawSocket {
    fd as u32 as RawSocket
}

/// Borrows a socket without taking ownership of it.
pub fn borrow(fd: Fd) -> NetResult<Borrowed> {
    if fd < 0 {
        return Err(NetError::from_errno(Op::Control, errno::EBADF));
    }
    // SAFETY: the Java side owns the socket and keeps it open for as long as a call on it is
    // in flight (close is deferred until the last one leaves); fd is not INVALID_SOCKET.
    Ok(unsafe { BorrowedSocket::borrow_raw(raw(fd)) })
}

/// Takes ownership of a socket2 socket as the descriptor Java will hold.
pub fn into_fd(socket: socket2::Socket) -> Fd {
    use std::os::windows::io::IntoRawSocket;
    let handle = socket.into_raw_socket();
    debug_assert!(handle <= i32::MAX as RawSocket, "socket handle {handle}");
    handle as Fd
}

/// The errors the core tells apart, under their POSIX names, as the WSA codes Winsock reports
/// (`WSAGetLastError`). A name with no Windows counterpart gets a value that never occurs
/// (Winsock and system error codes are never negative).
pub mod errno {
    use windows_sys::Win32::Networking::WinSock as ws;

    pub const EACCES: i32 = ws::WSAEACCES;
    pub const EADDRINUSE: i32 = ws::WSAEADDRINUSE;
    pub const EADDRNOTAVAIL: i32 = ws::WSAEADDRNOTAVAIL;
    pub const EAGAIN: i32 = ws::WSAEWOULDBLOCK;
    pub const EBADF: i32 = ws::WSAEBADF;
    pub const ECONNABORTED: i32 = ws::WSAECONNABORTED;
    pub const ECONNREFUSED: i32 = ws::WSAECONNREFUSED;
    pub const ECONNRESET: i32 = ws::WSAECONNRESET;
    pub const EHOSTUNREACH: i32 = ws::WSAEHOSTUNREACH;
    pub const EINPROGRESS: i32 = ws::WSAEINPROGRESS;
    pub const EINTR: i32 = ws::WSAEINTR;
    pub const EINVAL: i32 = ws::WSAEINVAL;
    pub const EMFILE: i32 = ws::WSAEMFILE;
    pub const EMSGSIZE: i32 = ws::WSAEMSGSIZE;
    pub const ENETDOWN: i32 = ws::WSAENETDOWN;
    pub const ENETUNREACH: i32 = ws::WSAENETUNREACH;
    pub const ENOPROTOOPT: i32 = ws::WSAENOPROTOOPT;
    pub const ENOTCONN: i32 = ws::WSAENOTCONN;
    pub const ENOTSOCK: i32 = ws::WSAENOTSOCK;
    pub const EOPNOTSUPP: i32 = ws::WSAEOPNOTSUPP;
    /// A send after the socket was shut down for sending: Winsock's counterpart of EPIPE.
    pub const EPIPE: i32 = ws::WSAESHUTDOWN;
    pub const ETIMEDOUT: i32 = ws::WSAETIMEDOUT;
    // no Winsock counterpart
    pub const EIO: i32 = -5;
    pub const ENODEV: i32 = -19;
    pub const ENOENT: i32 = -2;
    pub const EPERM: i32 = -1;
    pub const EPROTO: i32 = -71;
}

/// The calling thread's last Winsock error.
pub fn last_errno() -> i32 {
    // SAFETY: reads the calling thread's error slot.
    unsafe { ws::WSAGetLastError() }
}

/// Whether a failed non-blocking connect is under way rather than failed.
pub fn connect_in_progress(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(ws::WSAEWOULDBLOCK) | Some(ws::WSAEINPROGRESS)
    )
}

/// No receive flag is needed to not wait: every socket here is non-blocking.
pub const RECV_DONTWAIT: i32 = 0;

/// Whether a receive failed only because the datagram was longer than the buffer: Winsock
/// reports that as WSAEMSGSIZE, after filling the buffer and dropping the rest.
pub fn is_truncation(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(ws::WSAEMSGSIZE)
}

/// The flag that sends urgent (out-of-band) data.
pub const MSG_OOB: i32 = ws::MSG_OOB;

/// Flags for every stream send: Windows raises no signal on a dead connection.
pub const SEND_FLAGS: i32 = 0;

/// The system's text for an error code (`FormatMessage`), without the final period and line
/// break, as the JDK's `getLastErrorString` words the reads, writes and accepts that fail;
/// `None` where the system has no text for the code (Wine lacks most Winsock texts).
pub fn system_text(code: i32) -> Option<String> {
    use windows_sys::Win32::System::Diagnostics::Debug::{
        FormatMessageW, FORMAT_MESSAGE_FROM_SYSTEM, FORMAT_MESSAGE_IGNORE_INSERTS,
    };
    if code < 0 {
        return None;
    }
    let mut buf = [0u16; 512];
    // SAFETY: the buffer and its length in UTF-16 units; no inserts are read.
    let n = unsafe {
        FormatMessageW(
            FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
            std::ptr::null(),
            code as u32,
            0,
            buf.as_mut_ptr(),
            buf.len() as u32,
            std::ptr::null(),
        )
    } as usize;
    let text = String::from_utf16_lossy(&buf[..n.min(buf.len())]);
    let text = text.trim_end_matches(['\r', '\n']);
    let text = text.strip_suffix('.').unwrap_or(text);
    (!text.is_empty()).then(|| text.to_string())
}

/// The system's text for an error code ([`system_text`]), or the code where it has none.
pub fn error_text(code: i32) -> String {
    system_text(code).unwrap_or_else(|| format!("Unknown error {code}"))
}

/// The text of the JDK's Winsock error table (`net_util_md.c`), which `NET_ThrowNew` puts
/// before the name of the failing call ("Connection refused: connect"); `None` for a code the
/// table lacks.
fn winsock_table_text(code: i32) -> Option<&'static str> {
    Some(match code {
        ws::WSAEACCES => "Permission denied",
        ws::WSAEADDRINUSE => "Address already in use",
        ws::WSAEADDRNOTAVAIL => "Cannot assign requested address",
        ws::WSAEAFNOSUPPORT => "Address family not supported by protocol family",
        ws::WSAEALREADY => "Operation already in progress",
        ws::WSAECONNABORTED => "Software caused connection abort",
        ws::WSAECONNREFUSED => "Connection refused",
        ws::WSAECONNRESET => "Connection reset by peer",
        ws::WSAEDESTADDRREQ => "Destination address required",
        ws::WSAEFAULT => "Bad address",
        ws::WSAEHOSTDOWN => "Host is down",
        ws::WSAEHOSTUNREACH => "No route to host",
        ws::WSAEINPROGRESS => "Operation now in progress",
        ws::WSAEINTR => "Interrupted function call",
        ws::WSAEINVAL => "Invalid argument",
        ws::WSAEISCONN => "Socket is already connected",
        ws::WSAEMFILE => "Too many open files",
        ws::WSAEMSGSIZE => {
            "The message is larger than the maximum supported by the underlying transport"
        }
        ws::WSAENETDOWN => "Network is down",
        ws::WSAENETRESET => "Network dropped connection on reset",
        ws::WSAENETUNREACH => "Network is unreachable",
        ws::WSAENOBUFS => "No buffer space available (maximum connections reached?)",
        ws::WSAENOPROTOOPT => "Bad protocol option",
        ws::WSAENOTCONN => "Socket is not connected",
        ws::WSAENOTSOCK => "Socket operation on nonsocket",
        ws::WSAEOPNOTSUPP => "Operation not supported",
        ws::WSAEPFNOSUPPORT => "Protocol family not supported",
        ws::WSAEPROCLIM => "Too many processes",
        ws::WSAEPROTONOSUPPORT => "Protocol not supported",
        ws::WSAEPROTOTYPE => "Protocol wrong type for socket",
        ws::WSAESHUTDOWN => "Cannot send after socket shutdown",
        ws::WSAESOCKTNOSUPPORT => "Socket type not supported",
        ws::WSAETIMEDOUT => "Connection timed out",
        ws::WSAEWOULDBLOCK => "Resource temporarily unavailable",
        ws::WSAEDISCON => "Graceful shutdown in progress",
        _ => return None,
    })
}

/// A message worded as the JDK's `NET_ThrowNew` words it: the Winsock table's text and the
/// failing call, when the caller knows which call the JDK names (`call`), or, for a code the
/// table lacks, the code itself.
pub fn winsock_message(code: i32, call: Option<&str>) -> String {
    let text = match winsock_table_text(code) {
        Some(text) => text.to_string(),
        None => format!("Unrecognized Windows Sockets error: {code}"),
    };
    match call {
        Some(call) => format!("{text}: {call}"),
        None => text,
    }
}

/// Readable (the Java side's value).
pub const POLL_READ: i16 = 1;
/// Writable, or a connect finished (the Java side's value).
pub const POLL_WRITE: i16 = 4;
/// What [`poll_fds`] reports, beside the events asked for, for a connect that failed.
const POLL_ERROR: i16 = 8;

/// An empty descriptor set for `select`.
fn fd_set() -> ws::FD_SET {
    ws::FD_SET {
        fd_count: 0,
        fd_array: [0; 64],
    }
}

fn in_set(set: &ws::FD_SET, socket: RawSocket) -> bool {
    set.fd_array[..set.fd_count as usize]
        .iter()
        .any(|&s| s as RawSocket == socket)
}

/// Waits for `events` on `fds` (at most 64, `select`'s limit here) and writes each one's events
/// to `revents`. Returns how many are ready, 0 on timeout. `select` rather than `WSAPoll`, as in
/// the JDK's `Net.poll`: before Windows 10 2004 WSAPoll never reports a connect that failed,
/// while `select` reports it in the exception set, which is watched for writes only (for
/// reads it would also report urgent data, which is not what a reader waits for).
pub fn poll_fds(fds: &[Fd], events: i16, revents: &mut [i16], timeout_ms: i32) -> NetResult<usize> {
    let count = fds.len().min(64);
    let (mut read, mut write, mut except) = (fd_set(), fd_set(), fd_set());
    let add = |set: &mut ws::FD_SET, socket: ws::SOCKET| {
        set.fd_array[set.fd_count as usize] = socket;
        set.fd_count += 1;
    };
    for &fd in &fds[..count] {
        borrow(fd)?;
        let socket = raw(fd) as ws::SOCKET;
        if events & POLL_READ != 0 {
            add(&mut read, socket);
        }
        if events & POLL_WRITE != 0 {
            add(&mut write, socket);
            add(&mut except, socket);
        }
    }
    let timeout = ws::TIMEVAL {
        tv_sec: timeout_ms / 1000,
        tv_usec: (timeout_ms % 1000) * 1000,
    };
    let set = |s: &mut ws::FD_SET| -> *mut ws::FD_SET {
        if s.fd_count == 0 {
            std::ptr::null_mut()
        } else {
            s
        }
    };
    // SAFETY: valid sets (or null) and timeout; nfds is ignored on Windows.
    let n = unsafe {
        ws::select(
            0,
            set(&mut read),
            set(&mut write),
            set(&mut except),
            if timeout_ms < 0 {
                std::ptr::null()
            } else {
                &timeout
            },
        )
    };
    if n < 0 {
        return Err(NetError::from_errno(Op::Control, last_errno()));
    }
    let mut ready = 0;
    for (r, &fd) in revents.iter_mut().zip(&fds[..count]) {
        let socket = raw(fd);
        *r = 0;
        if in_set(&read, socket) {
            *r |= POLL_READ;
        }
        if in_set(&write, socket) {
            *r |= POLL_WRITE;
        }
        if in_set(&except, socket) {
            *r |= POLL_WRITE | POLL_ERROR;
        }
        if *r != 0 {
            ready += 1;
        }
    }
    Ok(ready)
}

/// Bytes that can be read without blocking (`ioctlsocket(FIONREAD)`).
pub fn available(fd: Fd) -> NetResult<i32> {
    borrow(fd)?;
    let mut n: u32 = 0;
    // SAFETY: FIONREAD writes one u_long.
    let rc = unsafe { ws::ioctlsocket(raw(fd) as ws::SOCKET, ws::FIONREAD, &mut n) };
    if rc != 0 {
        return Err(NetError::from_errno(Op::Control, last_errno()));
    }
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// Closes a socket (`closesocket`), after removing it from the virtual-thread pollers, which
/// do not forget a closed socket here (see [`super::polling::forget`]). Errors are logged, not
/// returned: the handle is gone whatever it says.
pub fn close(fd: Fd) {
    if fd < 0 {
        return;
    }
    super::polling::forget(fd);
    reuse_address_table().remove(&fd);
    // SAFETY: the caller owns the socket and no other call on it is in flight.
    let rc = unsafe { ws::closesocket(raw(fd) as ws::SOCKET) };
    if rc != 0 {
        log::warn!("fd {fd}: closesocket failed: {}", error_text(last_errno()));
    } else {
        log::debug!("fd {fd}: closed");
    }
}

/// A shutdown does not wake calls blocked on the socket on Windows: sockets stay non-blocking
/// and every thread waits in a poller, which close() wakes by unparking the thread.
pub const SHUTDOWN_WAKES_BLOCKED_CALLS: bool = false;

/// Makes the coming close reset the connection: with SO_LINGER on and zero, `closesocket`
/// sends RST and drops unsent data, never a FIN. Windows has no call that resets a connection
/// at once; the threads in flight are woken by close() itself, and the last one out closes.
pub fn abort(fd: Fd) -> NetResult<()> {
    SockRef::from(&borrow(fd)?)
        .set_linger(Some(std::time::Duration::ZERO))
        .map_err(|e| NetError::from_io(Op::Control, &e))?;
    log::debug!("fd {fd}: reset at close");
    Ok(())
}

/// Turns reports of ICMP port unreachable on a datagram socket on or off. Winsock reports
/// one as WSAECONNRESET on the next receive (and even send) of a socket, connected or not;
/// like the JDK, a socket reports it only while connected, when it is the peer's answer
/// (PortUnreachableException), and an unconnected one never does.
pub fn report_port_unreachable(fd: Fd, on: bool) -> NetResult<()> {
    borrow(fd)?;
    let enable: u32 = u32::from(on);
    let mut returned = 0u32;
    // SAFETY: a BOOL in, nothing out, no overlapped I/O.
    let rc = unsafe {
        ws::WSAIoctl(
            raw(fd) as ws::SOCKET,
            ws::SIO_UDP_CONNRESET,
            (&enable as *const u32).cast(),
            std::mem::size_of::<u32>() as u32,
            std::ptr::null_mut(),
            0,
            &mut returned,
            std::ptr::null_mut(),
            None,
        )
    };
    if rc != 0 {
        return Err(NetError::from_errno(Op::Setup, last_errno()));
    }
    Ok(())
}

/// Removes a datagram socket's peer: connect to the all-zero address dissolves the association
/// on Windows. The socket then stops reporting port unreachable.
pub fn dissolve(fd: Fd) -> NetResult<()> {
    borrow(fd)?;
    // SAFETY: all-zero is a valid SOCKADDR_STORAGE, and it is what Winsock takes as "none".
    let none: ws::SOCKADDR_STORAGE = unsafe { std::mem::zeroed() };
    // SAFETY: a valid address of the given length.
    let rc = unsafe {
        ws::connect(
            raw(fd) as ws::SOCKET,
            (&none as *const ws::SOCKADDR_STORAGE).cast(),
            std::mem::size_of::<ws::SOCKADDR_STORAGE>() as i32,
        )
    };
    if rc != 0 {
        return Err(NetError::from_errno(Op::Connect, last_errno()));
    }
    report_port_unreachable(fd, false)
}

/// Binds the way the JDK binds on Windows (`sun.net.useExclusiveBind`, on by default there):
/// a socket without SO_REUSEADDR takes its address with SO_EXCLUSIVEADDRUSE, so that no other
/// socket can bind the same port beside it (Windows' SO_REUSEADDR would otherwise let one).
pub fn prepare_bind(fd: Fd) -> NetResult<()> {
    let socket = borrow(fd)?;
    if !SockRef::from(&socket)
        .reuse_address()
        .map_err(|e| NetError::from_io(Op::Bind, &e))?
    {
        set_raw(fd, ws::SOL_SOCKET, ws::SO_EXCLUSIVEADDRUSE, 1)
            .map_err(|e| NetError::from_errno(Op::Bind, e.errno.unwrap_or(ws::WSAEINVAL)))?;
    }
    Ok(())
}

/// Sockets whose SO_REUSEADDR is on as far as Java can tell, though Windows never saw it (see
/// [`set_reuse_address`]). Entries leave with their socket ([`close`]).
static REUSE_ADDRESS: Mutex<BTreeSet<Fd>> = Mutex::new(BTreeSet::new());

fn reuse_address_table() -> std::sync::MutexGuard<'static, BTreeSet<Fd>> {
    // a panic while the set was held cannot have left it inconsistent: keep using it
    REUSE_ADDRESS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether SO_REUSEADDR is only remembered for this socket, as the JDK does on Windows, where
/// it binds exclusively: always on a stream socket (`NioSocketImpl`), on a datagram socket once
/// it is bound exclusively (`DatagramChannelImpl`; Windows refuses SO_REUSEADDR beside
/// SO_EXCLUSIVEADDRUSE). Windows' own SO_REUSEADDR would let another socket bind the same port.
fn reuse_address_emulated(fd: Fd, s: &SockRef<'_>) -> NetResult<bool> {
    Ok(s.r#type().map_err(opt_err)? == socket2::Type::STREAM
        || get_raw(fd, ws::SOL_SOCKET, ws::SO_EXCLUSIVEADDRUSE)? != 0)
}

/// SO_REUSEADDR as the JDK sets it on Windows (see [`reuse_address_emulated`]).
pub fn set_reuse_address(fd: Fd, s: &SockRef<'_>, on: bool) -> NetResult<()> {
    if !reuse_address_emulated(fd, s)? {
        return s.set_reuse_address(on).map_err(opt_err);
    }
    let mut table = reuse_address_table();
    if on {
        table.insert(fd);
    } else {
        table.remove(&fd);
    }
    Ok(())
}

/// SO_REUSEADDR as the JDK reads it on Windows (see [`reuse_address_emulated`]).
pub fn reuse_address(fd: Fd, s: &SockRef<'_>) -> NetResult<bool> {
    if reuse_address_emulated(fd, s)? {
        Ok(reuse_address_table().contains(&fd))
    } else {
        s.reuse_address().map_err(opt_err)
    }
}

/// Makes a connect to a closed port on the loopback interface fail at once, as the JDK does
/// (`NET_EnableFastTcpLoopbackConnect`): Windows otherwise retries the SYN for about two
/// seconds after the RST. Best effort: older systems and Wine lack the control.
pub fn prepare_connect(fd: Fd, ip: IpAddr) {
    let loopback = ip.is_loopback()
        || matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()));
    if !loopback {
        return;
    }
    // mstcpip.h: TCP_INITIAL_RTO_UNSPECIFIED_RTT is (USHORT)-1, the system's round trip;
    // TCP_INITIAL_RTO_NO_SYN_RETRANSMISSIONS is (UCHAR)-2 (Windows 10 1709 and later)
    let rto = ws::TCP_INITIAL_RTO_PARAMETERS {
        Rtt: u16::MAX,
        MaxSynRetransmissions: 0xfe,
    };
    let mut returned = 0u32;
    // SAFETY: the parameters in, nothing out, no overlapped I/O.
    let rc = unsafe {
        ws::WSAIoctl(
            raw(fd) as ws::SOCKET,
            ws::SIO_TCP_INITIAL_RTO,
            (&rto as *const ws::TCP_INITIAL_RTO_PARAMETERS).cast(),
            std::mem::size_of::<ws::TCP_INITIAL_RTO_PARAMETERS>() as u32,
            std::ptr::null_mut(),
            0,
            &mut returned,
            std::ptr::null_mut(),
            None,
        )
    };
    if rc != 0 {
        log::debug!("fd {fd}: no fast loopback connect ({})", last_errno());
    }
}

/// The address family a socket was created with (`SO_PROTOCOL_INFOW`), which socket2 reads
/// only on Unix.
pub fn domain(s: &SockRef<'_>) -> std::io::Result<Domain> {
    use std::os::windows::io::AsRawSocket;
    let mut info: ws::WSAPROTOCOL_INFOW = ws::WSAPROTOCOL_INFOW::default();
    let mut len = std::mem::size_of::<ws::WSAPROTOCOL_INFOW>() as i32;
    // SAFETY: `info` is plain old data of `len` bytes.
    let rc = unsafe {
        ws::getsockopt(
            s.as_raw_socket() as ws::SOCKET,
            ws::SOL_SOCKET,
            ws::SO_PROTOCOL_INFOW,
            (&mut info as *mut ws::WSAPROTOCOL_INFOW).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(last_errno()));
    }
    Ok(Domain::from(info.iAddressFamily))
}

/// Returned by [`dup_readable_file`] for a descriptor that is closed or absent.
pub const FILE_CLOSED: i32 = -1;
/// Returned by [`dup_readable_file`] for a descriptor opened write-only.
pub const FILE_NOT_READABLE: i32 = -3;

/// Java keeps no descriptor number for a file on Windows (`FileDescriptor.fd` is -1; files are
/// handles), so there is never a file to send from here: the caller copies.
pub fn dup_readable_file(_fd: Fd) -> NetResult<Fd> {
    Ok(FILE_CLOSED)
}

/// No zero-copy file sending here (`TransmitFile` would need the file's handle): the caller
/// copies the bytes itself.
pub fn send_file(_fd: Fd, _file: Fd, _offset: i64, _count: i64) -> NetResult<i64> {
    Ok(crate::sendfile::SENDFILE_UNSUPPORTED)
}

/// No `TCP_INFO` snapshot on Windows.
pub fn tcp_info(_fd: Fd) -> NetResult<[i64; TCP_INFO_FIELDS]> {
    Err(NetError::new(
        ExceptionClass::UnsupportedOperation,
        "tcpInfo is not available on Windows",
    ))
}

/// The system this library runs on, as messages name it.
pub const PLATFORM: &str = "Windows";

/// What Windows offers (see `exports::socket::capabilities`): none of the extras (shutdown
/// does not wake blocked calls, no zero-copy sendfile, no TCP_INFO, no batch system calls).
pub const CAPABILITIES: i32 = 0;

/// getsockopt of a plain int.
fn get_raw(fd: Fd, level: i32, name: i32) -> NetResult<i32> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as i32;
    // SAFETY: one int of storage and its length.
    let rc = unsafe {
        ws::getsockopt(
            raw(fd) as ws::SOCKET,
            level,
            name,
            (&mut value as *mut i32).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(NetError::from_errno(Op::Option, last_errno()));
    }
    Ok(value)
}

/// setsockopt of a plain int.
pub fn set_raw(fd: Fd, level: i32, name: i32, value: i32) -> NetResult<()> {
    // SAFETY: one int and its length.
    let rc = unsafe {
        ws::setsockopt(
            raw(fd) as ws::SOCKET,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as i32,
        )
    };
    if rc != 0 {
        return Err(NetError::from_errno(Op::Option, last_errno()));
    }
    Ok(())
}

/// Whether a socket is a datagram socket.
fn datagram(s: &SockRef<'_>) -> NetResult<bool> {
    Ok(s.r#type().map_err(opt_err)? == socket2::Type::DGRAM)
}

/// The bits of a type-of-service value that the JDK passes on Windows (precedence and TOS;
/// the lowest bit is dropped).
const TOS_MASK: i32 = 0xfe;

/// Reads one of the options that are not the same on every system (see `options::get`).
pub fn get_option(fd: Fd, s: &SockRef<'_>, opt: Opt) -> NetResult<i32> {
    let ipv6 = domain(s).map_err(opt_err)? == Domain::IPV6;
    Ok(match opt {
        // As in the JDK on Windows, where IP_TOS is deprecated: an IPv6 socket reads its
        // traffic class, always 0 (the JDK does not ask Windows), except a datagram socket
        // bound to an IPv4 address, which reads the IPv4 option (DatagramChannelImpl); an IPv4
        // socket reads what was set, or 0 where the system refuses to tell.
        Opt::IpTos if ipv6 && !(datagram(s)? && crate::sock::local_addr(fd)?.is_ipv4()) => 0,
        Opt::IpTos => match get_raw(fd, ws::IPPROTO_IP, ws::IP_TOS) {
            Err(e) if e.errno == Some(ws::WSAENOPROTOOPT) => 0,
            other => other?,
        },
        Opt::TcpKeepIdle => get_raw(fd, ws::IPPROTO_TCP, ws::TCP_KEEPIDLE)?,
        Opt::TcpKeepInterval => get_raw(fd, ws::IPPROTO_TCP, ws::TCP_KEEPINTVL)?,
        Opt::TcpKeepCount => get_raw(fd, ws::IPPROTO_TCP, ws::TCP_KEEPCNT)?,
        Opt::MulticastIf if ipv6 => get_raw(fd, ws::IPPROTO_IPV6, ws::IPV6_MULTICAST_IF)?,
        // IPv4-only sockets: Windows reports an address, not an index; Java keeps what it set.
        Opt::MulticastIf => -1,
        other => return Err(unsupported(other)),
    })
}

/// Sets one of the options that are not the same on every system (see `options::set`).
pub fn set_option(fd: Fd, s: &SockRef<'_>, opt: Opt, value: i32) -> NetResult<()> {
    let ipv6 = domain(s).map_err(opt_err)? == Domain::IPV6;
    match opt {
        // As in the JDK on Windows: nothing on an IPv6 stream socket (IPV6_TCLASS, which the
        // JDK leaves alone); the IPv4 option on a datagram socket of either family, and on an
        // IPv4 socket, masked, where a refusal (an edition without IP_TOS, an unbound datagram
        // socket) is not an error.
        Opt::IpTos if ipv6 && !datagram(s)? => Ok(()),
        Opt::IpTos => match set_raw(fd, ws::IPPROTO_IP, ws::IP_TOS, value & TOS_MASK) {
            Err(e) if matches!(e.errno, Some(ws::WSAENOPROTOOPT | ws::WSAEINVAL)) => Ok(()),
            other => other,
        },
        // Windows 10 1709 and later.
        Opt::TcpKeepIdle => set_raw(fd, ws::IPPROTO_TCP, ws::TCP_KEEPIDLE, value),
        Opt::TcpKeepInterval => set_raw(fd, ws::IPPROTO_TCP, ws::TCP_KEEPINTVL, value),
        Opt::TcpKeepCount => set_raw(fd, ws::IPPROTO_TCP, ws::TCP_KEEPCNT, value),
        // An interface index for IPv6; for IPv4 Windows takes an index as the address
        // 0.0.0.index. A dual-stack socket gets both, the IPv4 one best effort, since IPv4
        // traffic on it follows the IPv4 option.
        Opt::MulticastIf => {
            let index = u32::try_from(value).map_err(|_| bad_argument(format!("{value}")))?;
            let r4 = s
                .set_multicast_if_v4(&Ipv4Addr::from(index))
                .map_err(opt_err);
            if ipv6 {
                s.set_multicast_if_v6(index).map_err(opt_err)
            } else {
                r4
            }
        }
        other => Err(unsupported(other)),
    }
}

/// Reads a string option: Windows has none.
pub fn get_string_option(_s: &SockRef<'_>, opt: Opt) -> NetResult<String> {
    match opt {
        Opt::TcpCongestion | Opt::BindToDevice => Err(unsupported(opt)),
        other => Err(bad_argument(format!("{other:?} is not a string option"))),
    }
}

/// Sets a string option: Windows has none.
pub fn set_string_option(_s: &SockRef<'_>, opt: Opt, _value: &str) -> NetResult<()> {
    match opt {
        Opt::TcpCongestion | Opt::BindToDevice => Err(unsupported(opt)),
        other => Err(bad_argument(format!("{other:?} is not a string option"))),
    }
}

/// Receives one datagram into `buf`; with `peek` it stays queued. A datagram longer than the
/// buffer is cut (Winsock's WSAEMSGSIZE, which is no error here). On a socket that is not
/// `connected`, a port unreachable left over from an earlier peer is skipped, as the JDK
/// does; on a connected one it is the peer's answer, an error.
pub fn receive(fd: Fd, buf: &mut [u8], peek: bool, connected: bool) -> NetResult<Received> {
    let socket = borrow(fd)?;
    let s = SockRef::from(&socket);
    let flags = if peek { ws::MSG_PEEK } else { 0 };
    loop {
        // SAFETY: the receive only writes initialised bytes; u8 and MaybeUninit<u8> share a
        // layout.
        let uninit = unsafe { &mut *(&mut *buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        let mut bufs = [MaybeUninitSlice::new(uninit)];
        match s.recv_from_vectored_with_flags(&mut bufs, flags) {
            Ok((n, received, from)) => {
                // a socket shut down for receiving reports no sender and no datagram
                let Some(_) = from.as_socket() else {
                    return Ok(NOTHING);
                };
                // a cut datagram filled the buffer, whatever count came back with WSAEMSGSIZE
                // (Wine reports none), as the JDK takes it
                let truncated = received.is_truncated();
                let len = if truncated {
                    buf.len()
                } else {
                    n.min(buf.len())
                };
                return Ok(Received {
                    len: len as i32,
                    truncated,
                    from: Some(crate::addr::from_kernel(&from)?),
                });
            }
            Err(e) => match e.raw_os_error() {
                Some(ws::WSAEWOULDBLOCK) => return Ok(NOTHING),
                Some(ws::WSAEINTR) => continue,
                Some(ws::WSAECONNRESET) if !connected => continue,
                _ => return Err(NetError::from_io(Op::DatagramRead, &e)),
            },
        }
    }
}

/// Whether this process runs under Wine (its ntdll exports `wine_get_version`), whose
/// Winsock differs from Windows' in ways some tests must skip.
#[cfg(test)]
pub(crate) fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: ntdll is loaded in every process; both names are NUL-terminated.
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_address_is_only_remembered_where_the_jdk_binds_exclusively() {
        use crate::options::{get, set, Opt};
        use std::net::{IpAddr, Ipv4Addr};
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let os_value = |fd| SockRef::from(&borrow(fd).unwrap()).reuse_address().unwrap();
        // a stream socket: remembered, never set, so its bind is exclusive all the same
        let stream = crate::sock::open_stream(false).unwrap();
        set(stream, Opt::ReuseAddr, 1).unwrap();
        assert_eq!(get(stream, Opt::ReuseAddr).unwrap(), 1);
        assert!(!os_value(stream));
        crate::sock::bind(stream, loopback, 0, 0).unwrap();
        assert_eq!(get(stream, Opt::ReuseAddr).unwrap(), 1);
        crate::sock::close(stream);
        // a datagram socket: the real option before bind, remembered once bound exclusively
        let datagram = crate::udp::open_datagram().unwrap();
        set(datagram, Opt::ReuseAddr, 1).unwrap();
        assert!(os_value(datagram));
        set(datagram, Opt::ReuseAddr, 0).unwrap();
        crate::sock::bind(datagram, loopback, 0, 0).unwrap();
        set(datagram, Opt::ReuseAddr, 1).unwrap();
        assert_eq!(get(datagram, Opt::ReuseAddr).unwrap(), 1);
        assert!(!os_value(datagram));
        crate::sock::close(datagram);
    }

    #[test]
    fn error_texts_are_the_systems_without_the_final_period() {
        let text = error_text(ws::WSAECONNREFUSED);
        assert!(text.starts_with("Connection refused") || text.contains("actively refused"));
        assert!(!text.ends_with('.') && !text.ends_with('\n'), "{text:?}");
        assert_eq!(system_text(errno::EIO), None);
        assert_eq!(error_text(errno::EIO), "Unknown error -5");
    }

    #[test]
    fn winsock_messages_name_the_call_as_the_jdk_does() {
        assert_eq!(
            winsock_message(ws::WSAECONNREFUSED, Some("connect")),
            "Connection refused: connect"
        );
        assert_eq!(
            winsock_message(ws::WSAEADDRINUSE, Some("bind")),
            "Address already in use: bind"
        );
        assert_eq!(
            winsock_message(12345, Some("bind")),
            "Unrecognized Windows Sockets error: 12345: bind"
        );
        assert_eq!(winsock_message(ws::WSAEINVAL, None), "Invalid argument");
    }
}
