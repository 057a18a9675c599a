//! The socket core: one function per system call the JDK makes in C, on raw
//! descriptors, with no JVM in sight so that `cargo test` exercises it alone.
//!
//! The shape follows the JDK's `NioSocketImpl`: a connected descriptor stays in
//! blocking mode for the untimed path of platform threads (one system call per
//! read), and is switched to non-blocking for timed operations, where the caller
//! waits in [`crate::poller`] against a deadline. Connects always wait there.
//! Calls on a non-blocking descriptor report "would block" as [`UNAVAILABLE`]
//! instead of an error, so the caller can park however it likes (`poll`, or a
//! virtual thread parked in the poller).
//!
//! A thread blocked in any of these calls is woken by [`shutdown`] on the same
//! descriptor: Linux wakes blocked `recv`, `send`, `accept`, `connect` and
//! `poll` when a socket is shut down. That is how `close()` from another thread
//! interrupts them without closing the descriptor under their feet.

use crate::addr;
use crate::error::{ExceptionClass, NetError, NetResult, Op};
use crate::sys::{self, errno, Fd};

pub use crate::sys::{abort, available, borrow, close, last_errno, notice_empty_reads};
use socket2::{Domain, SockRef, Socket, Type};
use std::io::ErrorKind;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Returned by [`read`] at end of stream.
pub const EOF: i32 = -1;
/// Returned by non-blocking calls that would have blocked.
pub const UNAVAILABLE: i32 = -2;

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

pub(crate) fn bad_argument(message: String) -> NetError {
    NetError::new(ExceptionClass::IllegalArgument, message)
}

/// Set when the JVM runs with `java.net.preferIPv4Stack=true`: every socket is then IPv4.
static PREFER_IPV4_STACK: AtomicBool = AtomicBool::new(false);

/// Makes every socket opened from now on IPv4-only, as `java.net.preferIPv4Stack=true`
/// does for the JDK's sockets. Called once, when the library is loaded.
pub fn prefer_ipv4_stack(yes: bool) {
    PREFER_IPV4_STACK.store(yes, Ordering::Relaxed);
}

/// Whether sockets are opened as dual-stack IPv6: the host can open IPv6 sockets (decided
/// once, like the JDK) and `java.net.preferIPv4Stack` is not set.
pub fn ipv6_available() -> bool {
    static IPV6: OnceLock<bool> = OnceLock::new();
    !PREFER_IPV4_STACK.load(Ordering::Relaxed)
        && *IPV6.get_or_init(|| match Socket::new(Domain::IPV6, Type::STREAM, None) {
            Ok(s) => s.set_only_v6(false).is_ok(),
            Err(_) => false,
        })
}

/// Opens a TCP socket: dual-stack IPv6 when available, else IPv4; close-on-exec (not
/// inherited, on Windows). Client sockets start non-blocking: a connect is always started
/// without blocking and waited for in [`crate::poller::poll`], because a blocking connect(2)
/// is not woken by a shutdown(2) made just before it starts, and close() relies on that
/// wake-up; the caller makes the descriptor blocking once connected. Listeners get
/// SO_REUSEADDR on Unix, as the JDK's do there (on Windows SO_REUSEADDR would let another
/// socket bind the same port; the JDK's listeners there bind exclusively instead, see
/// [`bind`]), and block where a shutdown wakes a blocked accept (Linux); elsewhere every
/// socket stays non-blocking and threads wait in the poller.
pub fn open_stream(server: bool) -> NetResult<Fd> {
    let ipv6 = ipv6_available();
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let socket = open(
        domain,
        Type::STREAM,
        !server || !sys::SHUTDOWN_WAKES_BLOCKED_CALLS,
    )
    .map_err(|e| NetError::from_io(Op::Setup, &e))?;
    if ipv6 {
        socket
            .set_only_v6(false)
            .map_err(|e| NetError::from_io(Op::Setup, &e))?;
    }
    if server && cfg!(unix) {
        socket
            .set_reuse_address(true)
            .map_err(|e| NetError::from_io(Op::Setup, &e))?;
    }
    let fd = sys::into_fd(socket);
    log::debug!(
        "fd {fd}: opened ({})",
        if server { "server" } else { "client" }
    );
    Ok(fd)
}

/// A new socket of `domain` and `kind`, non-blocking if asked (in one system call where the
/// OS allows it).
pub(crate) fn open(domain: Domain, kind: Type, nonblocking: bool) -> std::io::Result<Socket> {
    #[cfg(target_os = "linux")]
    {
        let kind = if nonblocking {
            kind.nonblocking()
        } else {
            kind
        };
        Socket::new(domain, kind, None)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let socket = Socket::new(domain, kind, None)?;
        if nonblocking {
            socket.set_nonblocking(true)?;
        }
        Ok(socket)
    }
}

/// Switches a descriptor between blocking and non-blocking mode.
pub fn set_blocking(fd: Fd, blocking: bool) -> NetResult<()> {
    let socket = borrow(fd)?;
    // one system call: socket2 makes two on Unix (fcntl get, then set), one on Windows
    #[cfg(unix)]
    let done = sys::set_nonblocking(&socket, !blocking);
    #[cfg(not(unix))]
    let done = SockRef::from(&socket).set_nonblocking(!blocking);
    done.map_err(|e| NetError::from_io(Op::Control, &e))
}

/// Sets how long a read on a blocking descriptor waits in the kernel before it gives up with
/// [`UNAVAILABLE`] (SO_RCVTIMEO); 0 waits without limit. The kernel rounds up to its clock tick.
pub fn set_read_timeout(fd: Fd, millis: i32) -> NetResult<()> {
    let socket = borrow(fd)?;
    let timeout = match u64::try_from(millis) {
        Ok(0) => None,
        Ok(ms) => Some(Duration::from_millis(ms)),
        Err(_) => return Err(bad_argument(format!("Negative read timeout: {millis}"))),
    };
    SockRef::from(&socket)
        .set_read_timeout(timeout)
        .map_err(|e| NetError::from_io(Op::Control, &e))
}

/// Binds to an address given as raw IP bytes (4 or 16), scope id and port. On Windows a
/// socket without SO_REUSEADDR binds exclusively, as the JDK's do there.
pub fn bind(fd: Fd, ip: IpAddr, scope_id: u32, port: u16) -> NetResult<()> {
    let target = addr::to_kernel(ip, port, scope_id, ipv6_available())?;
    #[cfg(windows)]
    sys::prepare_bind(fd)?;
    SockRef::from(&borrow(fd)?)
        .bind(&target)
        .map_err(|e| NetError::from_io(Op::Bind, &e))?;
    log::debug!("fd {fd}: bound to {ip}:{port}");
    Ok(())
}

/// Starts listening.
pub fn listen(fd: Fd, backlog: i32) -> NetResult<()> {
    SockRef::from(&borrow(fd)?)
        .listen(backlog)
        .map_err(|e| NetError::from_io(Op::Listen, &e))?;
    log::debug!("fd {fd}: listening, backlog {backlog}");
    Ok(())
}

/// Starts or makes a connection. Returns `true` when connected, `false` when
/// the connection is in progress (non-blocking descriptor, or a blocking
/// connect interrupted by a signal); wait for it with [`crate::poller::poll`] for `POLLOUT`,
/// then read the outcome with [`connect_result`].
pub fn connect(fd: Fd, ip: IpAddr, scope_id: u32, port: u16) -> NetResult<bool> {
    let target = addr::to_kernel(ip, port, scope_id, ipv6_available())?;
    #[cfg(windows)]
    sys::prepare_connect(fd, ip);
    let socket = borrow(fd)?;
    let connected = match SockRef::from(&socket).connect(&target) {
        Ok(()) => true,
        // EINTR: a non-blocking connect goes on in the background. EAGAIN is not "in
        // progress" (no free local port, or the routing cache is full): the JDK reports it as
        // a SocketException, and so does the error mapping.
        Err(e) if sys::connect_in_progress(&e) => connect_again(&SockRef::from(&socket), &target)?,
        Err(e) => return Err(NetError::from_io(Op::Connect, &e)),
    };
    if connected {
        log::debug!("fd {fd}: connected to {ip}:{port}");
    }
    Ok(connected)
}

/// Asks once more about a connect that reported "in progress". Over loopback the handshake has
/// usually finished before connect(2) returned (the SYN-ACK waits in the socket's backlog until
/// the call releases the socket), and Linux answers a second connect(2) with the outcome: 0 when
/// connected, `EALREADY` while the handshake runs, or the connect's error. That is one system
/// call where the wait in poll and the `SO_ERROR` query would be two.
#[cfg(target_os = "linux")]
fn connect_again(socket: &SockRef<'_>, target: &socket2::SockAddr) -> NetResult<bool> {
    match socket.connect(target) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(errno::EISCONN) => Ok(true),
        Err(e) if e.raw_os_error() == Some(errno::EALREADY) || sys::connect_in_progress(&e) => {
            Ok(false)
        }
        Err(e) => Err(NetError::from_io(Op::Connect, &e)),
    }
}

/// Elsewhere a second connect(2) is not known to report the outcome alike: wait for it.
#[cfg(not(target_os = "linux"))]
fn connect_again(_socket: &SockRef<'_>, _target: &socket2::SockAddr) -> NetResult<bool> {
    Ok(false)
}

/// The outcome of a connect that [`crate::poller::poll`] reported ready (writable, error or
/// hang-up): `Ok` when it connected, the connect's error otherwise. Call it only
/// after such a poll: while the handshake is still running there is no error to see.
/// `blocking_call` says whether the JDK would have made this connect one blocking call (on a
/// platform thread, with no timeout): it then reports the failure as the connect's own, and
/// otherwise as the outcome read after a wait, which Windows' JDK words differently.
pub fn connect_result(fd: Fd, blocking_call: bool) -> NetResult<()> {
    let op = if blocking_call {
        Op::Connect
    } else {
        Op::FinishConnect
    };
    match SockRef::from(&borrow(fd)?).take_error() {
        Ok(None) => {
            log::debug!("fd {fd}: connect finished");
            Ok(())
        }
        Ok(Some(e)) | Err(e) => Err(NetError::from_io(op, &e)),
    }
}

/// Accepts a connection. Returns the new descriptor (close-on-exec; blocking where the
/// listener blocks) and the peer's IP address (`None` for a Unix socket's peer, which the
/// caller reads with [`crate::local::peer_name`] if it wants it), or `None` when a non-blocking
/// listener has none waiting.
pub fn accept(fd: Fd) -> NetResult<Option<(Fd, Option<SocketAddr>)>> {
    let listener = borrow(fd)?;
    loop {
        match SockRef::from(&listener).accept() {
            Ok((socket, peer)) => {
                if !sys::SHUTDOWN_WAKES_BLOCKED_CALLS {
                    // BSD sockets inherit O_NONBLOCK from the listener, Windows ones do not
                    socket
                        .set_nonblocking(true)
                        .map_err(|e| NetError::from_io(Op::Accept, &e))?;
                }
                // the socket closes itself if an IP peer cannot be read
                let peer = if peer.is_unix() {
                    None
                } else {
                    Some(addr::from_kernel(&peer)?)
                };
                let new_fd = sys::into_fd(socket);
                log::debug!("fd {fd}: accepted fd {new_fd} from {peer:?}");
                return Ok(Some((new_fd, peer)));
            }
            Err(e) => match e.kind() {
                ErrorKind::WouldBlock => return Ok(None),
                // A signal, or a connection that was reset while queued (ECONNABORTED on Unix,
                // WSAECONNRESET on Windows, WSAENOTCONN under Wine): try the next one.
                ErrorKind::Interrupted
                | ErrorKind::ConnectionAborted
                | ErrorKind::ConnectionReset
                | ErrorKind::NotConnected => continue,
                _ => return Err(NetError::from_io(Op::Accept, &e)),
            },
        }
    }
}

/// Receives into `buf`. Returns the byte count, [`EOF`], or [`UNAVAILABLE`] when a
/// non-blocking descriptor has nothing to read, a blocking one waited out its read timeout
/// ([`set_read_timeout`]), or a signal cut the wait short: restarting it would restart the
/// kernel's timeout too, so the caller, which knows its deadline, decides how to go on.
pub fn read(fd: Fd, buf: &mut [u8]) -> NetResult<i32> {
    recv_with_flags(fd, buf, 0)
}

/// [`read`] that never waits, whatever the descriptor's mode: [`UNAVAILABLE`] when nothing
/// is there to read.
pub fn read_now(fd: Fd, buf: &mut [u8]) -> NetResult<i32> {
    recv_with_flags(fd, buf, sys::RECV_DONTWAIT)
}

/// [`read_now`] that also says whether the read left the socket empty, on a socket set up by
/// [`notice_empty_reads`] where the system can tell (Linux); elsewhere it never says so.
pub fn read_noticing_empty(fd: Fd, buf: &mut [u8]) -> NetResult<(i32, bool)> {
    #[cfg(target_os = "linux")]
    {
        sys::recv_noticing_empty(fd, buf)
    }
    #[cfg(not(target_os = "linux"))]
    {
        read_now(fd, buf).map(|n| (n, false))
    }
}

fn recv_with_flags(fd: Fd, buf: &mut [u8], flags: i32) -> NetResult<i32> {
    let socket = borrow(fd)?;
    // SAFETY: recv only writes initialised bytes; u8 and MaybeUninit<u8> share a layout.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    match SockRef::from(&socket).recv_with_flags(uninit, flags) {
        Ok(0) => Ok(if buf.is_empty() { 0 } else { EOF }),
        Ok(n) => Ok(n as i32),
        Err(e) => match e.kind() {
            ErrorKind::Interrupted | ErrorKind::WouldBlock => Ok(UNAVAILABLE),
            _ => Err(NetError::from_io(Op::Read, &e)),
        },
    }
}

/// Sends from `buf` without raising SIGPIPE. Returns the byte count, or
/// [`UNAVAILABLE`] when a non-blocking descriptor's send buffer is full.
pub fn write(fd: Fd, buf: &[u8]) -> NetResult<i32> {
    send_with_flags(fd, buf, sys::SEND_FLAGS, Op::Write)
}

/// [`write`] that never waits, whatever the descriptor's mode: it sends what fits in the send
/// buffer now, and [`UNAVAILABLE`] when nothing does. (The flag that makes a receive not wait
/// does the same for a send; where the system has none, sockets are never blocking.)
pub fn write_now(fd: Fd, buf: &[u8]) -> NetResult<i32> {
    send_with_flags(fd, buf, sys::SEND_FLAGS | sys::RECV_DONTWAIT, Op::Write)
}

/// Sends one byte of urgent (out-of-band) data.
pub fn send_urgent(fd: Fd, byte: u8) -> NetResult<i32> {
    send_with_flags(fd, &[byte], sys::SEND_FLAGS | sys::MSG_OOB, Op::Urgent)
}

fn send_with_flags(fd: Fd, buf: &[u8], flags: i32, op: Op) -> NetResult<i32> {
    let socket = borrow(fd)?;
    loop {
        match SockRef::from(&socket).send_with_flags(buf, flags) {
            Ok(n) => return Ok(n as i32),
            Err(e) => match e.kind() {
                ErrorKind::Interrupted => continue,
                ErrorKind::WouldBlock => return Ok(UNAVAILABLE),
                // EINPROGRESS: a TCP_FASTOPEN_CONNECT socket sent its SYN without data;
                // it becomes writable when the handshake completes.
                _ if e.raw_os_error() == Some(errno::EINPROGRESS) => return Ok(UNAVAILABLE),
                _ => return Err(NetError::from_io(op, &e)),
            },
        }
    }
}

/// Shuts down one or both directions; also wakes every thread blocked on the socket.
/// ENOTCONN (the peer already reset the connection) is not an error, as in the JDK.
pub fn shutdown(fd: Fd, how: Shutdown) -> NetResult<()> {
    let how_os = match how {
        Shutdown::Read => std::net::Shutdown::Read,
        Shutdown::Write => std::net::Shutdown::Write,
        Shutdown::Both => std::net::Shutdown::Both,
    };
    match SockRef::from(&borrow(fd)?).shutdown(how_os) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(errno::ENOTCONN) => {}
        Err(e) => return Err(NetError::from_io(Op::Control, &e)),
    }
    log::debug!("fd {fd}: shutdown {how:?}");
    Ok(())
}

/// The local address, with IPv4-mapped addresses shown as IPv4. A socket not bound yet has
/// the wildcard address of its family and port 0, as Unix reports it; Windows reports no
/// address at all then (WSAEINVAL), which the JDK reads as port 0 too (`Net.localPort`).
pub fn local_addr(fd: Fd) -> NetResult<SocketAddr> {
    let socket = borrow(fd)?;
    let s = SockRef::from(&socket);
    let a = match s.local_addr() {
        Ok(a) => a,
        Err(e) if cfg!(windows) && e.raw_os_error() == Some(errno::EINVAL) => {
            let unbound = match sys::domain(&s) {
                Ok(Domain::IPV6) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                Ok(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                Err(_) => return Err(NetError::from_io(Op::Control, &e)),
            };
            return Ok(SocketAddr::new(unbound, 0));
        }
        Err(e) => return Err(NetError::from_io(Op::Control, &e)),
    };
    addr::from_kernel(&a)
}

/// The peer's address, with IPv4-mapped addresses shown as IPv4.
pub fn peer_addr(fd: Fd) -> NetResult<SocketAddr> {
    let a = SockRef::from(&borrow(fd)?)
        .peer_addr()
        .map_err(|e| NetError::from_io(Op::Control, &e))?;
    addr::from_kernel(&a)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::poller::{poll, POLLIN, POLLOUT};
    use std::net::Ipv4Addr;
    use std::time::Duration;
    use std::time::Instant;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// A listener on an ephemeral loopback port, a client connected to it and the accepted side.
    pub(crate) struct Trio {
        pub(crate) listener: Fd,
        pub(crate) client: Fd,
        pub(crate) server: Fd,
    }

    impl Drop for Trio {
        fn drop(&mut self) {
            close(self.client);
            close(self.server);
            close(self.listener);
        }
    }

    fn listener() -> (Fd, u16) {
        let l = open_stream(true).unwrap();
        bind(l, LOOPBACK, 0, 0).unwrap();
        listen(l, 16).unwrap();
        let port = local_addr(l).unwrap().port();
        (l, port)
    }

    /// Connects a fresh (non-blocking) client socket to the loopback port.
    fn connect_and_wait(fd: Fd, port: u16) {
        if !connect(fd, LOOPBACK, 0, port).unwrap() {
            assert_ne!(
                poll(fd, POLLOUT, 5000).unwrap(),
                0,
                "connect did not finish"
            );
            connect_result(fd, false).unwrap();
        }
    }

    /// Accepts the connection waiting on `l` (the listener does not block where a shutdown
    /// does not wake a blocked accept, and the handshake may still be finishing).
    fn accept_waiting(l: Fd) -> (Fd, Option<SocketAddr>) {
        assert_ne!(poll(l, POLLIN, 5000).unwrap(), 0, "no connection to accept");
        accept(l).unwrap().unwrap()
    }

    /// Whether the tests run under Wine and its Winsock differs from Windows' in `what`
    /// (each such difference is shown with a plain socket2 program in
    /// docs/windows.md): the test is then skipped, saying why.
    pub(crate) fn wine_differs(what: &str) -> bool {
        #[cfg(windows)]
        if crate::sys::under_wine() {
            eprintln!("skipped under Wine: {what}");
            return true;
        }
        let _ = what;
        false
    }

    /// The JDK's message on this system: the C library's text on Unix, the Winsock table's
    /// text and the failing call on Windows.
    pub(crate) fn jdk_text(unix: &str, windows: &str) -> String {
        if cfg!(windows) { windows } else { unix }.to_string()
    }

    /// Both ends blocking (where the system makes every socket non-blocking, the tests still
    /// want one call per read).
    pub(crate) fn trio() -> Trio {
        let (listener, port) = listener();
        let client = open_stream(false).unwrap();
        connect_and_wait(client, port);
        set_blocking(client, true).unwrap();
        let (server, peer) = accept_waiting(listener);
        set_blocking(server, true).unwrap();
        assert_eq!(peer, Some(local_addr(client).unwrap()));
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
    #[cfg(target_os = "linux")]
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
    #[cfg(unix)]
    fn a_blocking_read_gives_up_after_its_read_timeout_and_0_removes_it() {
        let t = trio();
        set_blocking(t.server, true).unwrap();
        set_read_timeout(t.server, 60).unwrap();
        let mut buf = [0u8; 16];
        let start = Instant::now();
        assert_eq!(read(t.server, &mut buf).unwrap(), UNAVAILABLE);
        // the kernel rounds up to its tick, but may end a tick early against this clock
        assert!(
            start.elapsed() >= Duration::from_millis(50),
            "{:?}",
            start.elapsed()
        );
        write(t.client, b"xy").unwrap();
        assert_eq!(read(t.server, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"xy");
        let socket = borrow(t.server).unwrap();
        // read back in the kernel's ticks: 60 ms, or a little more where a tick does not divide it
        let kept = SockRef::from(&socket).read_timeout().unwrap().unwrap();
        assert!(
            kept >= Duration::from_millis(60) && kept < Duration::from_millis(70),
            "{kept:?}"
        );
        set_read_timeout(t.server, 0).unwrap();
        assert_eq!(SockRef::from(&socket).read_timeout().unwrap(), None);
        let e = set_read_timeout(t.server, -1).unwrap_err();
        assert_eq!(e.class, ExceptionClass::IllegalArgument);
    }

    #[test]
    #[cfg(target_os = "linux")]
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
                connect_result(c, true).unwrap_err()
            }
        };
        assert_eq!(err.class, ExceptionClass::Connect);
        assert_eq!(
            err.message,
            jdk_text("Connection refused", "Connection refused: connect")
        );
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
    // Windows has no MSG_DONTWAIT: there the library's descriptors are always non-blocking
    #[cfg(unix)]
    fn read_now_and_write_now_never_wait_on_a_blocking_socket() {
        let t = trio(); // both ends blocking
        let mut buf = [0u8; 64];
        assert_eq!(read_now(t.server, &mut buf).unwrap(), UNAVAILABLE);
        // fill the connection without a reader: write_now must stop at "unavailable", not block
        crate::options::set(t.client, crate::options::Opt::SndBuf, 4096).unwrap();
        let chunk = [9u8; 65536];
        let mut sent = 0usize;
        loop {
            match write_now(t.client, &chunk).unwrap() {
                UNAVAILABLE => break,
                n => sent += n as usize,
            }
            assert!(sent < 64 << 20, "write_now never filled the connection");
        }
        // and the bytes sent so far arrive intact, read without waiting once they are there
        let mut got = 0usize;
        let deadline = Instant::now() + Duration::from_secs(5);
        while got < sent {
            match read_now(t.server, &mut buf).unwrap() {
                UNAVAILABLE => {
                    assert!(Instant::now() < deadline, "bytes lost: {got} of {sent}");
                    poll(t.server, POLLIN, 100).unwrap();
                }
                n => {
                    assert!(buf[..n as usize].iter().all(|&b| b == 9));
                    got += n as usize;
                }
            }
        }
        assert_eq!(got, sent);
        assert_eq!(read_now(t.server, &mut buf).unwrap(), UNAVAILABLE);
    }

    #[test]
    fn set_blocking_switches_both_ways() {
        let t = trio();
        let mut buf = [0u8; 4];
        set_blocking(t.server, false).unwrap();
        assert_eq!(read(t.server, &mut buf).unwrap(), UNAVAILABLE);
        set_blocking(t.server, true).unwrap();
        write(t.client, b"ok").unwrap();
        assert_eq!(read(t.server, &mut buf).unwrap(), 2); // waits for the bytes
    }

    #[test]
    fn a_connect_to_a_closed_port_fails_at_once_or_after_the_wait() {
        // Linux asks a second time when the first connect(2) reports "in progress": a refusal
        // must then come out of connect itself, with the JDK's message
        let (l, port) = listener();
        close(l);
        for _ in 0..20 {
            let c = open_stream(false).unwrap();
            match connect(c, LOOPBACK, 0, port) {
                Err(e) => assert_eq!(e.message, "Connection refused"),
                Ok(true) => panic!("connected to a closed port"),
                Ok(false) => {
                    poll(c, POLLOUT, 5000).unwrap();
                    assert_eq!(
                        connect_result(c, true).unwrap_err().class,
                        ExceptionClass::Connect
                    );
                }
            }
            close(c);
        }
    }

    #[test]
    fn a_connect_that_reports_connected_is_usable_at_once() {
        let (l, port) = listener();
        for _ in 0..20 {
            let c = open_stream(false).unwrap();
            connect_and_wait(c, port);
            let (s, peer) = accept_waiting(l);
            assert_eq!(peer, Some(local_addr(c).unwrap()));
            assert_eq!(write(c, b"x").unwrap(), 1);
            set_blocking(s, true).unwrap();
            let mut buf = [0u8; 1];
            assert_eq!(read(s, &mut buf).unwrap(), 1);
            close(s);
            close(c);
        }
        close(l);
    }

    #[test]
    fn bind_conflict_is_a_bind_exception() {
        let (l, port) = listener();
        let other = open_stream(false).unwrap();
        let err = bind(other, LOOPBACK, 0, port).unwrap_err();
        assert_eq!(err.class, ExceptionClass::Bind);
        assert_eq!(
            err.message,
            jdk_text("Address already in use", "Address already in use: bind")
        );
        // on Windows also when the second socket asks to share the address, since the first
        // took it exclusively, as the JDK's sockets do there
        let sharing = open_stream(false).unwrap();
        crate::options::set(sharing, crate::options::Opt::ReuseAddr, 1).unwrap();
        if cfg!(windows) {
            let err = bind(sharing, LOOPBACK, 0, port).unwrap_err();
            assert_eq!(
                (err.class, err.message.as_str()),
                (ExceptionClass::Bind, "Address already in use: bind")
            );
        }
        close(sharing);
        close(other);
        close(l);
    }

    #[test]
    fn write_to_reset_peer_fails_without_sigpipe() {
        let mut t = trio();
        crate::options::set(t.server, crate::options::Opt::Linger, 0).unwrap();
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
        if wine_differs(LINGER_ZERO_SENDS_FIN) {
            return;
        }
        let mut t = trio();
        crate::options::set(t.server, crate::options::Opt::Linger, 0).unwrap();
        close(t.server);
        t.server = -1;
        std::thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 8];
        let err = read(t.client, &mut buf).unwrap_err();
        assert_eq!(err.class, ExceptionClass::ConnectionReset);
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
        crate::options::set(t.server, crate::options::Opt::OobInline, 1).unwrap();
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

    /// Wine's close with SO_LINGER 0 ends the connection with FIN, not RST.
    const LINGER_ZERO_SENDS_FIN: &str = "a close with SO_LINGER 0 sends FIN instead of RST";

    #[test]
    #[cfg(target_os = "linux")]
    fn abort_wakes_a_blocked_writer_and_the_peer_sees_a_reset_not_eof() {
        let t = trio();
        crate::options::set(t.client, crate::options::Opt::SndBuf, 4096).unwrap();
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
        assert_peer_sees_reset(t.server);
    }

    /// Reads `fd` past whatever data is queued: the end must be a reset, not EOF.
    fn assert_peer_sees_reset(fd: Fd) {
        let mut buf = [0u8; 65536];
        let end = loop {
            match read(fd, &mut buf) {
                Ok(n) if n > 0 => continue,
                other => break other,
            }
        };
        let err = end.expect_err("the peer must see the reset, not EOF");
        assert_eq!(err.class, ExceptionClass::ConnectionReset);
    }

    #[test]
    fn abort_makes_the_close_reset_the_connection() {
        if wine_differs(LINGER_ZERO_SENDS_FIN) {
            return;
        }
        let mut t = trio();
        write(t.client, b"unsent or unread").unwrap();
        abort(t.client).unwrap();
        close(t.client);
        t.client = -1;
        assert_peer_sees_reset(t.server);
    }

    #[test]
    fn shutdown_after_the_peer_reset_is_not_an_error() {
        if wine_differs(LINGER_ZERO_SENDS_FIN) {
            return;
        }
        let mut t = trio();
        crate::options::set(t.server, crate::options::Opt::Linger, 0).unwrap();
        close(t.server);
        t.server = -1;
        std::thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 4];
        assert!(read(t.client, &mut buf).is_err()); // sees the reset
        shutdown(t.client, Shutdown::Read).unwrap();
        shutdown(t.client, Shutdown::Write).unwrap();
    }

    #[test]
    fn bad_descriptor_is_an_error_not_a_panic() {
        let mut buf = [0u8; 1];
        assert_eq!(
            read(-1, &mut buf).unwrap_err().class,
            ExceptionClass::Socket
        );
        assert!(crate::options::get(-5, crate::options::Opt::TcpNoDelay).is_err());
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
            connect_result(c, false).unwrap();
        }
        let (s, peer) = accept_waiting(l);
        assert_eq!(peer.map(|p| p.ip()), Some(v6));
        close(s);
        close(c);
        close(l);
    }
}
