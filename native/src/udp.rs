//! The datagram (UDP) core: one function per system call behind
//! `io.rustsocket.RustDatagramSocket`, on raw descriptors, with no JVM in
//! sight so that `cargo test` exercises it alone.
//!
//! Descriptor life, binding, local addresses, `poll`, `shutdown`, `close` and
//! the options shared with TCP sockets come from [`crate::sock`]; this module
//! adds what only datagram sockets have: connect/disconnect as peer filters,
//! `sendto`/`recvfrom` with DatagramPacket semantics (truncation, sender
//! address), multicast membership and options, and the batched
//! `sendmmsg`/`recvmmsg` calls (sends of equal datagrams to one target go as
//! UDP segmentation offload messages, see [`send_batch`]).
//!
//! As with streams, a thread blocked in a receive is woken by
//! [`sock::shutdown`] on the same descriptor: Linux marks the socket shut down
//! and wakes its waiters even when the datagram socket is not connected (the
//! call fails with `ENOTCONN`, which `sock::shutdown` ignores), and the woken
//! receive returns with nothing. That is how `close()` from another thread
//! interrupts it without closing the descriptor under its feet.

use crate::addr::{self, WIRE_LEN};
use crate::error::{ExceptionClass, NetError, NetResult, Op};
use crate::sock::{self, bad_argument, borrow, UNAVAILABLE};
use crate::sys::{self, Fd};
use socket2::{Domain, InterfaceIndexOrAddress, SockAddr, SockRef, Type};
use std::io::ErrorKind;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};

/// The largest datagram payload over IPv4 (65,535 - 20 IP - 8 UDP); the most a
/// batch slot holds.
pub const MAX_DATAGRAM: usize = 65_507;

/// The most bytes one datagram send or receive ever moves: a UDP length field's
/// limit. IPv6 carries up to 65,527 payload bytes (its header is not counted in
/// its payload length), more than [`MAX_DATAGRAM`]; the kernel refuses anything
/// larger with `EMSGSIZE`, so staging this much lets it decide.
pub const MAX_UDP_BYTES: usize = 65_535;

/// The most messages one `sendmmsg`/`recvmmsg` call takes (the kernel's `UIO_MAXIOV`).
pub const MAX_BATCH: usize = 1024;

/// Opens a UDP socket: dual-stack IPv6 when available, else IPv4; close-on-exec. Blocking
/// where a shutdown wakes a blocked receive (Linux: untimed receives on platform threads are
/// one system call), non-blocking elsewhere.
pub fn open_datagram() -> NetResult<Fd> {
    let ipv6 = sock::ipv6_available();
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let socket = sock::open(domain, Type::DGRAM, !sys::SHUTDOWN_WAKES_BLOCKED_CALLS)
        .map_err(|e| NetError::from_io(Op::Setup, &e))?;
    if ipv6 {
        socket
            .set_only_v6(false)
            .map_err(|e| NetError::from_io(Op::Setup, &e))?;
    }
    let fd = sys::into_fd(socket);
    // an unconnected socket has no peer whose answer a port unreachable could be
    #[cfg(windows)]
    if let Err(e) = sys::report_port_unreachable(fd, false) {
        sys::close(fd);
        return Err(e);
    }
    log::debug!("fd {fd}: opened (datagram)");
    Ok(fd)
}

/// Connects to one peer: from now on the kernel delivers only its datagrams
/// and sends without an address go to it. Datagrams from other senders that
/// were queued before the connect are discarded, as the JDK does, so that the
/// filter holds from the first receive on.
pub fn connect(fd: Fd, ip: IpAddr, scope_id: u32, port: u16) -> NetResult<()> {
    let target = addr::to_kernel(ip, port, scope_id, sock::ipv6_available())?;
    SockRef::from(&borrow(fd)?)
        .connect(&target)
        .map_err(|e| NetError::from_io(Op::Connect, &e))?;
    // now a port unreachable is the peer's answer (undone by sys::dissolve)
    #[cfg(windows)]
    sys::report_port_unreachable(fd, true)?;
    let flushed = discard_queued(fd);
    log::debug!("fd {fd}: datagram peer {ip}:{port}, {flushed} queued datagrams discarded");
    Ok(())
}

/// Errors past which [`discard_queued`] gives up (each one reported clears itself, so only
/// a steady stream of them gets there).
const DISCARD_ERROR_LIMIT: usize = 64;

/// Reads and drops every datagram queued on `fd` without waiting; returns how many. A
/// pending error (an ICMP port-unreachable from an earlier peer comes first, before the
/// datagrams behind it) is skipped: only an empty queue ends the discard, or
/// [`DISCARD_ERROR_LIMIT`] errors in all.
pub(crate) fn discard_queued(fd: Fd) -> usize {
    let Ok(socket) = borrow(fd) else {
        return 0;
    };
    let mut scrap = [MaybeUninit::<u8>::uninit(); 1];
    let (mut flushed, mut errors) = (0, 0);
    loop {
        // asked first, so that a socket in blocking mode never waits here, even where no
        // receive flag says "do not wait" (Windows)
        let mut ready = [0i16; 1];
        if !matches!(sys::poll_fds(&[fd], sys::POLL_READ, &mut ready, 0), Ok(n) if n > 0) {
            return flushed;
        }
        match SockRef::from(&socket).recv_with_flags(&mut scrap, sys::RECV_DONTWAIT) {
            Ok(_) => flushed += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return flushed,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // a datagram longer than the scrap byte is still read and dropped
            Err(e) if sys::is_truncation(&e) => flushed += 1,
            Err(e) => {
                errors += 1;
                if errors >= DISCARD_ERROR_LIMIT {
                    log::debug!("fd {fd}: discard stopped after {errors} errors (last {e})");
                    return flushed;
                }
            }
        }
    }
}

/// Dissolves the association made by [`connect`]. Linux drops an ephemeral
/// local port on the way (the socket shows port 0 afterwards) and forgets the
/// source address the route chose; like the JDK, the socket is then bound again
/// to `ip`:`port`, the local address it had before the connect (which, for a
/// socket bound to the wildcard, is the wildcard, not the route's source address).
pub fn disconnect(fd: Fd, ip: IpAddr, scope_id: u32, port: u16) -> NetResult<()> {
    sys::dissolve(fd)?;
    if sock::local_addr(fd)?.port() == 0 && port != 0 {
        sock::bind(fd, ip, scope_id, port)?;
    }
    log::debug!("fd {fd}: datagram peer removed, local address {ip}:{port}");
    Ok(())
}

/// Sends one datagram from `buf`, to `target` or, when `None`, to the connected
/// peer. Returns the bytes sent (all of them: a datagram is never split), or
/// [`UNAVAILABLE`] when a non-blocking descriptor's send buffer is full.
pub fn send(fd: Fd, buf: &[u8], target: Option<&SockAddr>) -> NetResult<i32> {
    let socket = borrow(fd)?;
    let s = SockRef::from(&socket);
    loop {
        let sent = match target {
            Some(t) => s.send_to_with_flags(buf, t, sys::SEND_FLAGS),
            None => s.send_with_flags(buf, sys::SEND_FLAGS),
        };
        match sent {
            Ok(n) => return Ok(n as i32),
            Err(e) => match e.kind() {
                ErrorKind::Interrupted => continue,
                ErrorKind::WouldBlock => return Ok(UNAVAILABLE),
                _ => return Err(NetError::from_io(Op::DatagramWrite, &e)),
            },
        }
    }
}

/// The target of a send, from the Java wire layout; `None` when byte 0 is 0
/// (send to the connected peer).
pub fn target_from_wire(wire: &[u8; WIRE_LEN]) -> NetResult<Option<SockAddr>> {
    if wire[0] == 0 {
        return Ok(None);
    }
    let a = addr::decode(wire).ok_or_else(|| bad_argument("malformed address".into()))?;
    let scope = match a {
        SocketAddr::V6(v6) => v6.scope_id(),
        SocketAddr::V4(_) => 0,
    };
    Ok(Some(addr::to_kernel(
        a.ip(),
        a.port(),
        scope,
        sock::ipv6_available(),
    )?))
}

/// One received datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes stored in the buffer (the datagram, cut to the buffer's length), or
    /// [`UNAVAILABLE`] when a non-blocking descriptor had nothing queued or the
    /// receive was woken by a shutdown.
    pub len: i32,
    /// Whether the datagram was longer than the buffer (the rest is discarded).
    pub truncated: bool,
    /// The sender (IPv4-mapped shown as IPv4); `None` with [`UNAVAILABLE`].
    pub from: Option<SocketAddr>,
}

/// What a receive that got nothing returns.
pub const NOTHING: Received = Received {
    len: UNAVAILABLE,
    truncated: false,
    from: None,
};

/// Receives one datagram into `buf`; with `peek` it stays queued. On a socket that is not
/// `connected`, an ICMP port-unreachable left over from an earlier peer is skipped, as the JDK
/// does; on a connected one it is an error.
pub fn receive(fd: Fd, buf: &mut [u8], peek: bool, connected: bool) -> NetResult<Received> {
    sys::receive(fd, buf, peek, connected)
}

pub use crate::sys::{receive_batch, send_batch, BatchScratch};

/// Checks the shape of a batch: at most [`MAX_BATCH`] datagrams of `slot` bytes each, all
/// within `data_len` bytes.
pub(crate) fn check_batch(count: usize, slot: usize, data_len: usize) -> NetResult<()> {
    if count > MAX_BATCH {
        return Err(bad_argument(format!(
            "a batch holds at most {MAX_BATCH} datagrams, not {count}"
        )));
    }
    if slot == 0 || count.checked_mul(slot).is_none_or(|need| need > data_len) {
        return Err(bad_argument(format!(
            "{count} slots of {slot} bytes do not fit {data_len} bytes"
        )));
    }
    Ok(())
}

/// Checks the arrays of a batch receive: one stored length, truncation flag and sender per
/// slot, all the slots within `data_len` bytes.
pub(crate) fn check_receive_batch(
    slot: usize,
    data_len: usize,
    lens: &[i32],
    truncated: &[bool],
    senders: &[[u8; WIRE_LEN]],
) -> NetResult<()> {
    check_batch(lens.len(), slot, data_len)?;
    if truncated.len() != lens.len() || senders.len() != lens.len() {
        return Err(bad_argument("one length, flag and sender per slot".into()));
    }
    Ok(())
}

/// Checks a batch's datagram count against [`MAX_BATCH`].
pub(crate) fn check_count(count: usize) -> NetResult<()> {
    if count > MAX_BATCH {
        return Err(bad_argument(format!(
            "a batch holds at most {MAX_BATCH} datagrams, not {count}"
        )));
    }
    Ok(())
}

/// Joins (`join`) or leaves a multicast group on the interface with index `ifindex` (0: the
/// kernel's choice). IPv4 groups on a dual-stack socket use the IPv4 calls where the kernel
/// accepts them on IPv6 sockets for mapped traffic (Linux), and the IPv6 calls with the
/// IPv4-mapped group where it does not (macOS), as the JDK does.
pub fn membership(fd: Fd, group: IpAddr, ifindex: u32, join: bool) -> NetResult<()> {
    let socket = borrow(fd)?;
    let s = SockRef::from(&socket);
    let result = match group {
        IpAddr::V4(g) if !sys::IPV4_OPTIONS_ON_IPV6_SOCKETS && sock::ipv6_available() => {
            if join {
                s.join_multicast_v6(&g.to_ipv6_mapped(), ifindex)
            } else {
                s.leave_multicast_v6(&g.to_ipv6_mapped(), ifindex)
            }
        }
        IpAddr::V4(g) => {
            let interface = InterfaceIndexOrAddress::Index(ifindex);
            if join {
                s.join_multicast_v4_n(&g, &interface)
            } else {
                s.leave_multicast_v4_n(&g, &interface)
            }
        }
        IpAddr::V6(g) => {
            if !sock::ipv6_available() {
                return Err(NetError::new(
                    ExceptionClass::Socket,
                    "Protocol family unavailable",
                ));
            }
            if join {
                s.join_multicast_v6(&g, ifindex)
            } else {
                s.leave_multicast_v6(&g, ifindex)
            }
        }
    };
    // "already a member" (EADDRINUSE) must not read as a bind failure
    result.map_err(|e| NetError::from_io(Op::Membership, &e))?;
    log::debug!(
        "fd {fd}: {} {group} on interface {ifindex}",
        if join { "joined" } else { "left" }
    );
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::emulator;
    use crate::options;
    use crate::options::Opt;
    use crate::sock::close;
    use crate::sys::errno::ENODEV;
    use crate::sys::errno::ENOPROTOOPT;
    use std::net::Ipv4Addr;
    use std::net::Ipv6Addr;
    use std::time::Duration;

    pub(crate) const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// A bound loopback datagram socket, closed on drop.
    pub(crate) struct Udp(pub(crate) Fd, pub(crate) u16);

    impl Drop for Udp {
        fn drop(&mut self) {
            close(self.0);
        }
    }

    /// Blocking (where the system makes every socket non-blocking, the tests still want one
    /// call per receive).
    pub(crate) fn udp() -> Udp {
        let fd = open_datagram().unwrap();
        sock::set_blocking(fd, true).unwrap();
        sock::bind(fd, LOOPBACK, 0, 0).unwrap();
        let port = sock::local_addr(fd).unwrap().port();
        Udp(fd, port)
    }

    pub(crate) fn to(port: u16) -> SockAddr {
        addr::to_kernel(LOOPBACK, port, 0, sock::ipv6_available()).unwrap()
    }

    #[test]
    fn datagram_crosses_with_its_sender_and_is_truncated_to_the_buffer() {
        let (a, b) = (udp(), udp());
        assert_eq!(send(a.0, b"hello world", Some(&to(b.1))).unwrap(), 11);
        let mut buf = [0u8; 5];
        let r = receive(b.0, &mut buf, false, false).unwrap();
        assert_eq!((r.len, r.truncated), (5, true));
        assert_eq!(&buf, b"hello");
        assert_eq!(r.from, Some(SocketAddr::new(LOOPBACK, a.1)));
        // the rest of the truncated datagram is gone
        sock::set_blocking(b.0, false).unwrap();
        assert_eq!(
            receive(b.0, &mut buf, false, false).unwrap().len,
            UNAVAILABLE
        );
    }

    #[test]
    fn peek_leaves_the_datagram_queued() {
        let (a, b) = (udp(), udp());
        send(a.0, b"xyz", Some(&to(b.1))).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(receive(b.0, &mut buf, true, false).unwrap().len, 3);
        assert_eq!(receive(b.0, &mut buf, false, false).unwrap().len, 3);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn maximum_ipv4_datagram_crosses_and_one_more_byte_is_refused() {
        let (a, b) = (udp(), udp());
        options::set(b.0, Opt::RcvBuf, 1 << 20).unwrap();
        let big: Vec<u8> = (0..MAX_DATAGRAM).map(|i| i as u8).collect();
        assert_eq!(
            send(a.0, &big, Some(&to(b.1))).unwrap(),
            MAX_DATAGRAM as i32
        );
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        let r = receive(b.0, &mut buf, false, false).unwrap();
        assert_eq!(r.len as usize, MAX_DATAGRAM);
        assert_eq!(&buf[..MAX_DATAGRAM], &big[..]);
        let too_big = vec![0u8; MAX_DATAGRAM + 1];
        let err = send(a.0, &too_big, Some(&to(b.1))).unwrap_err();
        assert_eq!(err.errno, Some(libc::EMSGSIZE));
        assert_eq!(err.class, ExceptionClass::Socket);
    }

    #[test]
    fn connect_filters_and_discards_what_was_queued_from_others() {
        let (a, b, other) = (udp(), udp(), udp());
        send(other.0, b"early", Some(&to(b.1))).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        connect(b.0, LOOPBACK, 0, a.1).unwrap();
        send(other.0, b"late", Some(&to(b.1))).unwrap();
        send(a.0, b"peer", Some(&to(b.1))).unwrap();
        let mut buf = [0u8; 8];
        let r = receive(b.0, &mut buf, false, true).unwrap();
        assert_eq!(&buf[..r.len as usize], b"peer");
        assert_eq!(send(b.0, b"back", None).unwrap(), 4);
        assert_eq!(receive(a.0, &mut buf, false, false).unwrap().len, 4);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn connect_discards_past_a_pending_port_unreachable() {
        // with IP_RECVERR an unconnected socket keeps the ICMP error of a send to a closed
        // port pending; a receive reports it before the datagrams queued behind it
        let b = udp();
        let on = 1;
        let _ = crate::sys::set_raw(b.0, libc::IPPROTO_IPV6, libc::IPV6_RECVERR, on);
        crate::sys::set_raw(b.0, libc::IPPROTO_IP, libc::IP_RECVERR, on).unwrap();
        let gone = udp();
        let closed = gone.1;
        drop(gone);
        let (a, other) = (udp(), udp());
        send(b.0, b"anyone?", Some(&to(closed))).unwrap();
        for _ in 0..3 {
            send(other.0, b"early", Some(&to(b.1))).unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
        let mut probe = [0u8; 8];
        // SAFETY: a one-byte peek into `probe`.
        let r = unsafe { libc::recv(b.0, probe.as_mut_ptr().cast(), 1, libc::MSG_PEEK) };
        assert_eq!(
            (r, crate::sys::last_errno()),
            (-1, libc::ECONNREFUSED),
            "the error is pending"
        );
        send(b.0, b"anyone?", Some(&to(closed))).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        connect(b.0, LOOPBACK, 0, a.1).unwrap();
        sock::set_blocking(b.0, false).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            receive(b.0, &mut buf, false, true).unwrap().len,
            UNAVAILABLE,
            "every datagram queued before the connect is gone"
        );
    }

    /// Wine's disconnect of a datagram socket drops its port, as Linux does, and a bind
    /// after it fails (WSAEINVAL); Windows keeps the port.
    const DISCONNECT_DROPS_THE_PORT: &str =
        "a datagram socket's disconnect drops its port and it cannot be bound again";

    #[test]
    fn disconnect_keeps_the_local_port() {
        if sock::tests::wine_differs(DISCONNECT_DROPS_THE_PORT) {
            return;
        }
        let (a, b) = (udp(), udp());
        let initial = sock::local_addr(b.0).unwrap();
        connect(b.0, LOOPBACK, 0, a.1).unwrap();
        disconnect(b.0, initial.ip(), 0, initial.port()).unwrap();
        assert_eq!(sock::local_addr(b.0).unwrap().port(), b.1);
        assert!(sock::peer_addr(b.0).is_err());
    }

    #[test]
    fn disconnect_returns_a_wildcard_socket_to_the_wildcard() {
        if sock::tests::wine_differs(DISCONNECT_DROPS_THE_PORT) {
            return;
        }
        let a = udp();
        let b = open_datagram().unwrap();
        let b = Udp(b, 0);
        sock::set_blocking(b.0, true).unwrap();
        sock::bind(b.0, IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, 0).unwrap();
        let initial = sock::local_addr(b.0).unwrap();
        connect(b.0, LOOPBACK, 0, a.1).unwrap();
        // connected, the socket shows the route's source address
        assert!(sock::local_addr(b.0).unwrap().ip().is_loopback());
        disconnect(b.0, initial.ip(), 0, initial.port()).unwrap();
        assert_eq!(sock::local_addr(b.0).unwrap(), initial);
        // and it still takes datagrams from anyone
        let other = udp();
        send(other.0, b"hi", Some(&to(initial.port()))).unwrap();
        let mut buf = [0u8; 4];
        let r = receive(b.0, &mut buf, false, false).unwrap();
        assert_eq!(r.len, 2);
        assert_eq!(r.from, Some(SocketAddr::new(LOOPBACK, other.1)));
    }

    #[test]
    fn connected_socket_reports_port_unreachable() {
        if sock::tests::wine_differs("a datagram socket never reports ICMP port unreachable") {
            return;
        }
        let b = udp();
        let gone = udp();
        let port = gone.1;
        drop(gone);
        connect(b.0, LOOPBACK, 0, port).unwrap();
        send(b.0, b"anyone?", None).unwrap();
        let mut buf = [0u8; 8];
        let err = receive(b.0, &mut buf, false, true).unwrap_err();
        assert_eq!(err.class, ExceptionClass::PortUnreachable);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn shutdown_wakes_a_blocked_receive() {
        let b = udp();
        let fd = b.0;
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 16];
            receive(fd, &mut buf, false, false)
        });
        std::thread::sleep(Duration::from_millis(100));
        sock::shutdown(fd, sock::Shutdown::Both).unwrap();
        assert_eq!(reader.join().unwrap().unwrap().len, UNAVAILABLE);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn shutdown_wakes_a_blocked_batch_receive() {
        let b = udp();
        let fd = b.0;
        let reader = std::thread::spawn(move || {
            let mut scratch = BatchScratch::new();
            let mut data = [0u8; 64];
            let (mut lens, mut tr, mut from) = ([0; 4], [false; 4], [[0u8; WIRE_LEN]; 4]);
            receive_batch(
                fd,
                &mut scratch,
                &mut data,
                16,
                &mut lens,
                &mut tr,
                &mut from,
                false,
                true,
            )
        });
        std::thread::sleep(Duration::from_millis(100));
        sock::shutdown(fd, sock::Shutdown::Both).unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), UNAVAILABLE);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn batches_cross_in_order_and_stop_at_a_failing_datagram() {
        let (a, b) = (udp(), udp());
        let lens = [1, 2, 3, MAX_DATAGRAM + 1, 5]; // the fourth: EMSGSIZE over IPv4
        let starts: Vec<usize> = (0..5).map(|i| lens[..i].iter().sum()).collect();
        let mut data = vec![0u8; lens.iter().sum()];
        for i in 0..5 {
            data[starts[i]] = i as u8;
        }
        let targets: Vec<Option<SockAddr>> = (0..5).map(|_| Some(to(b.1))).collect();
        let mut scratch = BatchScratch::new();
        assert_eq!(
            send_batch(a.0, &mut scratch, &data, &lens, &targets).unwrap(),
            3
        );
        let err = send_batch(
            a.0,
            &mut scratch,
            &data[starts[3]..],
            &lens[3..],
            &targets[3..],
        )
        .unwrap_err();
        assert_eq!(err.errno, Some(libc::EMSGSIZE));
        assert_eq!(
            send_batch(
                a.0,
                &mut scratch,
                &data[starts[4]..],
                &lens[4..],
                &targets[4..]
            )
            .unwrap(),
            1
        );
        std::thread::sleep(Duration::from_millis(20));
        let mut inbox = vec![0u8; 8 * 4];
        let (mut got, mut tr, mut from) = ([0i32; 8], [false; 8], [[0u8; WIRE_LEN]; 8]);
        let n = receive_batch(
            b.0,
            &mut scratch,
            &mut inbox,
            4,
            &mut got,
            &mut tr,
            &mut from,
            false,
            true,
        )
        .unwrap();
        assert_eq!(n, 4);
        assert_eq!(&got[..4], &[1, 2, 3, 4]);
        assert_eq!(&tr[..4], &[false, false, false, true]);
        assert_eq!([inbox[0], inbox[4], inbox[8], inbox[12]], [0, 1, 2, 4]);
        assert_eq!(addr::decode(&from[0]), Some(SocketAddr::new(LOOPBACK, a.1)));
    }

    #[test]
    fn equal_datagrams_to_one_target_arrive_as_separate_datagrams() {
        // 70 of 64 bytes and a last one of 10: sent as segmented runs (64 at most per run)
        let (a, b) = (udp(), udp());
        options::set(b.0, Opt::RcvBuf, 1 << 20).unwrap();
        let n = 71;
        let slot = 64;
        let mut data = vec![0u8; slot * n];
        let mut lens = vec![slot; n];
        lens[n - 1] = 10;
        for i in 0..n {
            data[i * slot..(i + 1) * slot].fill(i as u8);
        }
        let targets: Vec<Option<SockAddr>> = (0..n).map(|_| Some(to(b.1))).collect();
        let mut scratch = BatchScratch::new();
        let mut sent = 0;
        while sent < n {
            // every datagram but the last fills its slot: the bytes lie end to end already
            sent += send_batch(
                a.0,
                &mut scratch,
                &data[sent * slot..],
                &lens[sent..],
                &targets[sent..],
            )
            .unwrap() as usize;
        }
        let mut buf = [0u8; 128];
        for i in 0..n {
            let r = receive(b.0, &mut buf, false, false).unwrap();
            assert_eq!(r.len as usize, lens[i], "datagram {i}");
            assert!(buf[..lens[i]].iter().all(|&x| x == i as u8), "datagram {i}");
            assert_eq!(r.from, Some(SocketAddr::new(LOOPBACK, a.1)));
        }
        sock::set_blocking(b.0, false).unwrap();
        assert_eq!(
            receive(b.0, &mut buf, false, false).unwrap().len,
            UNAVAILABLE
        );
    }

    #[test]
    fn batch_arguments_are_checked() {
        let a = udp();
        let mut scratch = BatchScratch::new();
        let data = [0u8; 8];
        assert!(send_batch(a.0, &mut scratch, &data, &[4, 4, 1], &[None, None, None]).is_err());
        assert!(send_batch(a.0, &mut scratch, &data, &[9], &[None]).is_err());
        assert!(send_batch(a.0, &mut scratch, &data, &[1], &[]).is_err());
        let many = vec![0usize; MAX_BATCH + 1];
        let none: Vec<Option<SockAddr>> = many.iter().map(|_| None).collect();
        assert!(send_batch(a.0, &mut scratch, &data, &many, &none).is_err());
        assert_eq!(send_batch(a.0, &mut scratch, &data, &[], &[]).unwrap(), 0);
    }

    #[test]
    fn options_read_back() {
        let a = udp();
        for opt in [Opt::Broadcast, Opt::MulticastLoop] {
            options::set(a.0, opt, 1).unwrap();
            assert_eq!(options::get(a.0, opt).unwrap(), 1, "{opt:?}");
            options::set(a.0, opt, 0).unwrap();
            assert_eq!(options::get(a.0, opt).unwrap(), 0, "{opt:?}");
        }
        options::set(a.0, Opt::MulticastTtl, 7).unwrap();
        assert_eq!(options::get(a.0, Opt::MulticastTtl).unwrap(), 7);
        let ttl = options::find(options::Origin::Java, "IP_MULTICAST_TTL").unwrap();
        assert!(options::check(ttl, 256).is_err());
        if sock::ipv6_available() {
            match options::set(a.0, Opt::MulticastIf, 1) {
                // qemu-user does not translate IPV6_MULTICAST_IF
                Err(e) if emulator::refused("set IPV6_MULTICAST_IF", &e, &[ENOPROTOOPT]) => {}
                set => {
                    set.unwrap();
                    assert_eq!(options::get(a.0, Opt::MulticastIf).unwrap(), 1);
                }
            }
        }
    }

    #[test]
    fn an_ipv4_group_is_joined_and_left_once() {
        // on the loopback interface (index 1), as the JDK names it to the kernel
        let group = IpAddr::V4(Ipv4Addr::new(239, 255, 0, 78));
        let rx = udp();
        if !sock::tests::wine_differs("no IPv4 multicast interface given by index (0.0.0.x)") {
            match membership(rx.0, group, 1, true) {
                Ok(()) => {
                    assert!(membership(rx.0, group, 1, true).is_err(), "joined twice");
                    membership(rx.0, group, 1, false).unwrap();
                    assert!(membership(rx.0, group, 1, false).is_err(), "left twice");
                }
                Err(e) if emulator::refused("IPv4 membership by index", &e, &[ENODEV]) => {}
                Err(e) => panic!("join: {e}"),
            }
        }
        if sock::ipv6_available() {
            let g6 = IpAddr::V6("ff02::78".parse::<Ipv6Addr>().unwrap());
            membership(rx.0, g6, 1, true).unwrap();
            assert!(membership(rx.0, g6, 1, true).is_err(), "joined twice");
            membership(rx.0, g6, 1, false).unwrap();
        }
    }

    #[test]
    // macOS has no IPv4 multicast interface for a dual-stack socket's traffic: it refuses
    // IP_MULTICAST_IF on IPv6 sockets, and IPV6_MULTICAST_IF governs IPv6 traffic only
    #[cfg(target_os = "linux")]
    fn multicast_on_loopback_ipv4_and_membership_ipv6() {
        if sock::tests::wine_differs("no IPv4 multicast interface given by index (0.0.0.x)") {
            return;
        }
        // IPv4: the loopback interface carries a group's datagrams once IP_MULTICAST_IF
        // names it. IPv6 needs a multicast route on lo, which a host's lo usually lacks
        // (the Java suite runs that round trip in a network namespace it creates).
        let group = IpAddr::V4(Ipv4Addr::new(239, 255, 0, 77));
        let rx = open_datagram().unwrap();
        sock::bind(rx, IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, 0).unwrap();
        let port = sock::local_addr(rx).unwrap().port();
        let tx = open_datagram().unwrap();
        match membership(rx, group, 1, true) {
            // qemu-user drops the interface index of an IPv4 membership (the kernel then
            // finds no such device), so the IPv4 round trip cannot be made under it
            Err(e) if emulator::refused("IPv4 membership by index", &e, &[ENODEV]) => {}
            joined => {
                joined.unwrap();
                options::set(tx, Opt::MulticastIf, 1).unwrap();
                let target = addr::to_kernel(group, port, 0, sock::ipv6_available()).unwrap();
                send(tx, b"to the group", Some(&target)).unwrap();
                let mut buf = [0u8; 32];
                let r = receive(rx, &mut buf, false, false).unwrap();
                assert_eq!(&buf[..r.len as usize], b"to the group");
                membership(rx, group, 1, false).unwrap();
                assert_eq!(
                    membership(rx, group, 1, false).unwrap_err().class,
                    ExceptionClass::Socket,
                    "left twice"
                );
            }
        }
        if sock::ipv6_available() {
            let g6 = IpAddr::V6("ff02::77".parse::<Ipv6Addr>().unwrap());
            membership(rx, g6, 1, true).unwrap();
            assert!(membership(rx, g6, 1, true).is_err(), "joined twice");
            membership(rx, g6, 1, false).unwrap();
        }
        close(tx);
        close(rx);
    }
}
