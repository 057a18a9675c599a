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
use crate::options;
use crate::sock::{self, bad_argument, borrow, last_errno, UNAVAILABLE};
use socket2::{Domain, SockAddr, SockRef, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{IntoRawFd, RawFd};

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

/// Opens a UDP socket: dual-stack IPv6 when available, else IPv4; close-on-exec
/// and blocking (untimed receives on platform threads are one system call).
pub fn open_datagram() -> NetResult<RawFd> {
    let ipv6 = sock::ipv6_available();
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let socket =
        Socket::new(domain, Type::DGRAM, None).map_err(|e| NetError::from_io(Op::Setup, &e))?;
    if ipv6 {
        socket
            .set_only_v6(false)
            .map_err(|e| NetError::from_io(Op::Setup, &e))?;
    }
    let fd = socket.into_raw_fd();
    log::debug!("fd {fd}: opened (datagram)");
    Ok(fd)
}

/// Connects to one peer: from now on the kernel delivers only its datagrams
/// and sends without an address go to it. Datagrams from other senders that
/// were queued before the connect are discarded, as the JDK does, so that the
/// filter holds from the first receive on.
pub fn connect(fd: RawFd, ip: IpAddr, scope_id: u32, port: u16) -> NetResult<()> {
    let target = addr::to_kernel(ip, port, scope_id, sock::ipv6_available())?;
    SockRef::from(&borrow(fd)?)
        .connect(&target)
        .map_err(|e| NetError::from_io(Op::Connect, &e))?;
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
fn discard_queued(fd: RawFd) -> usize {
    let mut scrap = [0u8; 1];
    let (mut flushed, mut errors) = (0, 0);
    loop {
        // SAFETY: recv writes at most one byte into `scrap`.
        let n = unsafe { libc::recv(fd, scrap.as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) };
        if n >= 0 {
            flushed += 1;
            continue;
        }
        match last_errno() {
            libc::EAGAIN => return flushed,
            libc::EINTR => continue,
            errno => {
                errors += 1;
                if errors >= DISCARD_ERROR_LIMIT {
                    log::debug!("fd {fd}: discard stopped after {errors} errors (last {errno})");
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
pub fn disconnect(fd: RawFd, ip: IpAddr, scope_id: u32, port: u16) -> NetResult<()> {
    // connect(2) with AF_UNSPEC: on a datagram socket it only removes the peer.
    sock::abort(fd)?;
    if sock::local_addr(fd)?.port() == 0 && port != 0 {
        sock::bind(fd, ip, scope_id, port)?;
    }
    log::debug!("fd {fd}: datagram peer removed, local address {ip}:{port}");
    Ok(())
}

/// Sends one datagram from `buf`, to `target` or, when `None`, to the connected
/// peer. Returns the bytes sent (all of them: a datagram is never split), or
/// [`UNAVAILABLE`] when a non-blocking descriptor's send buffer is full.
pub fn send(fd: RawFd, buf: &[u8], target: Option<&SockAddr>) -> NetResult<i32> {
    borrow(fd)?;
    let (name, name_len) = match target {
        Some(t) => (t.as_ptr().cast::<libc::sockaddr>(), t.len()),
        None => (std::ptr::null(), 0),
    };
    loop {
        // SAFETY: reads buf.len() bytes of buf and name_len bytes of the address.
        let n = unsafe {
            libc::sendto(
                fd,
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
                name,
                name_len,
            )
        };
        if n >= 0 {
            return Ok(n as i32);
        }
        match last_errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(UNAVAILABLE),
            errno => return Err(NetError::from_errno(Op::DatagramWrite, errno)),
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

const NOTHING: Received = Received {
    len: UNAVAILABLE,
    truncated: false,
    from: None,
};

/// Receives one datagram into `buf`; with `peek` it stays queued. On a socket
/// that is not `connected`, an ICMP port-unreachable left over from an earlier
/// peer is skipped, as the JDK does; on a connected one it is an error.
pub fn receive(fd: RawFd, buf: &mut [u8], peek: bool, connected: bool) -> NetResult<Received> {
    borrow(fd)?;
    let flags = libc::MSG_TRUNC | if peek { libc::MSG_PEEK } else { 0 };
    loop {
        // SAFETY: zeroed sockaddr_storage is valid; recvfrom writes at most `len` bytes into it
        // and at most buf.len() bytes into buf.
        let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let n = unsafe {
            libc::recvfrom(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
                (&mut storage as *mut libc::sockaddr_storage).cast(),
                &mut len,
            )
        };
        if n >= 0 {
            if len == 0 {
                // woken by shutdown with nothing queued: no sender, no datagram
                return Ok(NOTHING);
            }
            // SAFETY: the kernel filled `len` bytes of a sockaddr_storage.
            let from = addr::from_storage(&storage, len)?;
            let full = n as usize;
            return Ok(Received {
                len: full.min(buf.len()) as i32,
                truncated: full > buf.len(),
                from: Some(from),
            });
        }
        match last_errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(NOTHING),
            libc::ECONNREFUSED if !connected => continue,
            errno => return Err(NetError::from_errno(Op::DatagramRead, errno)),
        }
    }
}

/// Reusable `sendmmsg`/`recvmmsg` bookkeeping, so that a batch costs no
/// allocation once the scratch has grown to the batch size.
pub struct BatchScratch {
    headers: Vec<libc::mmsghdr>,
    iovecs: Vec<libc::iovec>,
    names: Vec<libc::sockaddr_storage>,
    // per segmented group: its UDP_SEGMENT control message and how many datagrams it holds
    controls: Vec<[u64; 4]>,
    group_sizes: Vec<usize>,
}

impl Default for BatchScratch {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchScratch {
    /// Empty scratch; it grows on first use.
    pub const fn new() -> Self {
        BatchScratch {
            headers: Vec::new(),
            iovecs: Vec::new(),
            names: Vec::new(),
            controls: Vec::new(),
            group_sizes: Vec::new(),
        }
    }

    fn reserve(&mut self, n: usize) {
        if self.headers.len() < n {
            // SAFETY: all-zero is a valid value for these plain C structs.
            let zero_hdr: libc::mmsghdr = unsafe { std::mem::zeroed() };
            let zero_name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            self.headers.resize(n, zero_hdr);
            self.iovecs.resize(
                n,
                libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                },
            );
            self.names.resize(n, zero_name);
            self.controls.resize(n, [0u64; 4]);
            self.group_sizes.resize(n, 0);
        }
    }
}

impl BatchScratch {
    /// Points header `i` at one buffer and one address (null: none).
    fn set(
        &mut self,
        i: usize,
        base: *mut libc::c_void,
        len: usize,
        name: *mut libc::c_void,
        namelen: libc::socklen_t,
    ) {
        self.iovecs[i] = libc::iovec {
            iov_base: base,
            iov_len: len,
        };
        let h = &mut self.headers[i];
        h.msg_len = 0;
        h.msg_hdr.msg_iov = &mut self.iovecs[i];
        h.msg_hdr.msg_iovlen = 1;
        h.msg_hdr.msg_control = std::ptr::null_mut();
        h.msg_hdr.msg_controllen = 0;
        h.msg_hdr.msg_flags = 0;
        h.msg_hdr.msg_name = name;
        h.msg_hdr.msg_namelen = namelen;
    }
}

fn check_batch(count: usize, slot: usize, data_len: usize) -> NetResult<()> {
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

/// Sends `lens.len()` datagrams with one `sendmmsg` (two when a segmented
/// message is refused midway): the datagrams lie end to end in `data`
/// (datagram `i` is the `lens[i]` bytes after datagram `i - 1`), datagram `i`
/// addressed to `targets[i]` (`None`: the connected peer). Returns how many
/// were sent, counted from the first; fewer than asked when the kernel stopped
/// early (the next one failed or would block: sending from there again reports
/// why). [`UNAVAILABLE`] when a non-blocking descriptor could send none; an
/// error only when the first failed.
pub fn send_batch(
    fd: RawFd,
    scratch: &mut BatchScratch,
    data: &[u8],
    lens: &[usize],
    targets: &[Option<SockAddr>],
) -> NetResult<i32> {
    borrow(fd)?;
    let count = lens.len();
    check_count(count)?;
    if targets.len() != count {
        return Err(bad_argument("one target per datagram".into()));
    }
    if count == 0 {
        return Ok(0);
    }
    scratch.reserve(count);
    fill_plain(scratch, data, lens, targets)?;
    let from = match send_segmented(fd, scratch, lens, targets)? {
        Segmented::Sent(n) => return Ok(n),
        Segmented::NoRun | Segmented::Refused => 0,
        Segmented::StoppedAtRun(sent) => sent,
    };
    // one message per datagram from `from` on: all of them when no datagrams share a run or
    // the kernel refuses segmentation offload; after a refused run midway, the rest, so that
    // the count is not cut short by a refusal that is not the datagrams' own
    fill_plain(scratch, data, lens, targets)?;
    let n = send_plain(fd, scratch, from, count);
    if from == 0 {
        return n;
    }
    Ok(match n {
        Ok(n) if n >= 0 => (from as i32) + n,
        // would block, or the datagram's own error: reported when sending from there again
        _ => from as i32,
    })
}

/// `sendmmsg` of the headers `from..count` as [`fill_plain`] set them.
fn send_plain(fd: RawFd, scratch: &mut BatchScratch, from: usize, count: usize) -> NetResult<i32> {
    loop {
        // SAFETY: headers from..count, each pointing at live iovecs, data and addresses.
        let n = unsafe {
            libc::sendmmsg(
                fd,
                scratch.headers[from..count].as_mut_ptr(),
                (count - from) as libc::c_uint,
                libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            return Ok(n);
        }
        match last_errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(UNAVAILABLE),
            errno => return Err(NetError::from_errno(Op::DatagramWrite, errno)),
        }
    }
}

fn check_count(count: usize) -> NetResult<()> {
    if count > MAX_BATCH {
        return Err(bad_argument(format!(
            "a batch holds at most {MAX_BATCH} datagrams, not {count}"
        )));
    }
    Ok(())
}

/// Points one header per datagram at its bytes (end to end in `data`) and its target, for a
/// plain `sendmmsg`.
fn fill_plain(
    scratch: &mut BatchScratch,
    data: &[u8],
    lens: &[usize],
    targets: &[Option<SockAddr>],
) -> NetResult<()> {
    let mut at = 0usize;
    for i in 0..lens.len() {
        let end = at
            .checked_add(lens[i])
            .filter(|&end| end <= data.len())
            .ok_or_else(|| {
                bad_argument(format!(
                    "datagram {i} of {} bytes runs past the {} bytes of the batch",
                    lens[i],
                    data.len()
                ))
            })?;
        let (name, namelen) = match &targets[i] {
            Some(t) => (t.as_ptr() as *mut libc::c_void, t.len()),
            None => (std::ptr::null_mut(), 0),
        };
        let base = data[at..].as_ptr() as *mut libc::c_void;
        scratch.set(i, base, lens[i], name, namelen);
        at = end;
    }
    Ok(())
}

/// What [`send_segmented`] did.
#[derive(Debug, PartialEq, Eq)]
enum Segmented {
    /// This many datagrams sent (or [`UNAVAILABLE`]); when fewer than all, the next one is a
    /// lone datagram whose own send failed or would block.
    Sent(i32),
    /// No two datagrams share a run: nothing to segment, nothing sent.
    NoRun,
    /// The first message was a run the kernel refused to segment: nothing sent.
    Refused,
    /// This many datagrams sent, then the kernel stopped at a segmented run (refused, or the
    /// buffer is full: sending its datagrams one by one tells which).
    StoppedAtRun(usize),
}

/// `UDP_SEGMENT` (linux/udp.h): the segment size of a UDP GSO send.
const UDP_SEGMENT: libc::c_int = 103;
/// The most segments the kernel takes in one UDP GSO send (`UDP_MAX_SEGMENTS`, 64 before 6.x).
const MAX_SEGMENTS: usize = 64;
/// The most payload bytes one segmented send carries (an IP packet's limit, with margin).
const MAX_SEGMENTED_BYTES: usize = 60_000;

/// Sends runs of datagrams that share a target and a length (the last of a run may be
/// shorter) as one UDP GSO message each (`UDP_SEGMENT`): the kernel takes such a run through
/// its UDP/IP stack once and cuts it into the same datagrams on the way out, so receivers see
/// exactly what separate sends would give them, at a fraction of the kernel's cost per
/// datagram. Expects the iovecs filled by [`fill_plain`]; see [`Segmented`] for the outcomes.
fn send_segmented(
    fd: RawFd,
    scratch: &mut BatchScratch,
    lens: &[usize],
    targets: &[Option<SockAddr>],
) -> NetResult<Segmented> {
    let count = lens.len();
    let mut groups = 0;
    let mut start = 0;
    let mut any_run = false;
    while start < count {
        let size = lens[start];
        let mut end = start + 1;
        let mut bytes = size;
        if size > 0 {
            while end < count
                && end - start < MAX_SEGMENTS
                && targets[end] == targets[start]
                && lens[end] <= size
                && lens[end] > 0
                && bytes + lens[end] <= MAX_SEGMENTED_BYTES
            {
                bytes += lens[end];
                end += 1;
                if lens[end - 1] < size {
                    break; // a shorter datagram can only end a run
                }
            }
        }
        let run = end - start;
        any_run |= run > 1;
        let (name, namelen) = match &targets[start] {
            Some(t) => (t.as_ptr() as *mut libc::c_void, t.len()),
            None => (std::ptr::null_mut(), 0),
        };
        let control = &mut scratch.controls[groups];
        let (control_ptr, control_len) = if run > 1 {
            // SAFETY: CMSG_SPACE(2) (24) fits the 32-byte, 8-aligned buffer.
            unsafe {
                let space = libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) as usize;
                control.fill(0);
                let mut probe: libc::msghdr = std::mem::zeroed();
                probe.msg_control = control.as_mut_ptr().cast();
                probe.msg_controllen = space;
                let c = libc::CMSG_FIRSTHDR(&probe);
                (*c).cmsg_level = libc::SOL_UDP;
                (*c).cmsg_type = UDP_SEGMENT;
                (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), size as u16);
                (control.as_mut_ptr().cast::<libc::c_void>(), space)
            }
        } else {
            (std::ptr::null_mut(), 0)
        };
        let h = &mut scratch.headers[groups];
        h.msg_len = 0;
        h.msg_hdr.msg_iov = &mut scratch.iovecs[start];
        h.msg_hdr.msg_iovlen = run;
        h.msg_hdr.msg_control = control_ptr;
        h.msg_hdr.msg_controllen = control_len;
        h.msg_hdr.msg_flags = 0;
        h.msg_hdr.msg_name = name;
        h.msg_hdr.msg_namelen = namelen;
        scratch.group_sizes[groups] = run;
        groups += 1;
        start = end;
    }
    if !any_run {
        return Ok(Segmented::NoRun);
    }
    loop {
        // SAFETY: `groups` headers, each pointing at live iovecs, controls and addresses.
        let n = unsafe {
            libc::sendmmsg(
                fd,
                scratch.headers.as_mut_ptr(),
                groups as libc::c_uint,
                libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            let n = n as usize;
            let sent = scratch.group_sizes[..n].iter().sum::<usize>();
            return Ok(if n < groups && scratch.group_sizes[n] > 1 {
                Segmented::StoppedAtRun(sent)
            } else {
                Segmented::Sent(sent as i32)
            });
        }
        match last_errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(Segmented::Sent(UNAVAILABLE)),
            // no GSO for this kernel, route or device (MTU below the segment, no checksum
            // offload, SO_NO_CHECK): the caller sends one message per datagram, which also
            // reports any error that is the datagram's own
            libc::EINVAL | libc::EIO | libc::ENOPROTOOPT | libc::EOPNOTSUPP | libc::EMSGSIZE
                if scratch.group_sizes[0] > 1 =>
            {
                return Ok(Segmented::Refused)
            }
            errno => return Err(NetError::from_errno(Op::DatagramWrite, errno)),
        }
    }
}

/// Receives up to `lens.len()` datagrams with one `recvmmsg` into the slots of
/// `data` (slot `i` is `data[i * slot ..][.. slot]`). With `wait`, blocks (on a
/// blocking descriptor) until the first datagram, then takes only what is
/// already queued; without, takes only what is queued. For each datagram received, `lens[i]` is its stored length,
/// `truncated[i]` whether it was cut to the slot, and `senders[i]` its sender
/// in the Java wire layout. Returns how many, or [`UNAVAILABLE`] when none was
/// queued (non-blocking) or a shutdown woke the call.
#[allow(clippy::too_many_arguments)]
pub fn receive_batch(
    fd: RawFd,
    scratch: &mut BatchScratch,
    data: &mut [u8],
    slot: usize,
    lens: &mut [i32],
    truncated: &mut [bool],
    senders: &mut [[u8; WIRE_LEN]],
    connected: bool,
    wait: bool,
) -> NetResult<i32> {
    borrow(fd)?;
    let count = lens.len();
    check_batch(count, slot, data.len())?;
    if truncated.len() != count || senders.len() != count {
        return Err(bad_argument("one length, flag and sender per slot".into()));
    }
    if count == 0 {
        return Ok(0);
    }
    scratch.reserve(count);
    let base = data.as_mut_ptr();
    for i in 0..count {
        // SAFETY: i * slot + slot <= data.len(), checked above.
        let at = unsafe { base.add(i * slot) }.cast();
        let name = (&mut scratch.names[i] as *mut libc::sockaddr_storage).cast();
        let namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        scratch.set(i, at, slot, name, namelen);
    }
    let n = loop {
        // SAFETY: `count` headers pointing at live slots and address storage; no timeout.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                scratch.headers.as_mut_ptr(),
                count as libc::c_uint,
                if wait {
                    libc::MSG_WAITFORONE
                } else {
                    libc::MSG_DONTWAIT
                },
                std::ptr::null_mut(),
            )
        };
        if n >= 0 {
            break n as usize;
        }
        match last_errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(UNAVAILABLE),
            libc::ECONNREFUSED if !connected => continue,
            errno => return Err(NetError::from_errno(Op::DatagramRead, errno)),
        }
    };
    let mut got = 0;
    for i in 0..n {
        let h = &scratch.headers[i];
        if h.msg_hdr.msg_namelen == 0 {
            break; // a shutdown woke the call: nothing more is real
        }
        // SAFETY: the kernel filled msg_namelen bytes of names[i].
        let from = addr::from_storage(&scratch.names[i], h.msg_hdr.msg_namelen)?;
        addr::encode(&from, &mut senders[i]);
        lens[i] = h.msg_len as i32;
        truncated[i] = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        got += 1;
    }
    Ok(if got == 0 { UNAVAILABLE } else { got })
}

/// Joins (`join`) or leaves a multicast group on the interface with index
/// `ifindex` (0: the kernel's choice). IPv4 groups on a dual-stack socket use
/// the IPv4 calls, which Linux accepts on IPv6 sockets for mapped traffic.
pub fn membership(fd: RawFd, group: IpAddr, ifindex: u32, join: bool) -> NetResult<()> {
    borrow(fd)?;
    let result = match group {
        IpAddr::V4(g) => {
            let req = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(g.octets()),
                },
                imr_address: libc::in_addr {
                    s_addr: u32::from_ne_bytes(Ipv4Addr::UNSPECIFIED.octets()),
                },
                imr_ifindex: ifindex as libc::c_int,
            };
            let name = if join {
                libc::IP_ADD_MEMBERSHIP
            } else {
                libc::IP_DROP_MEMBERSHIP
            };
            options::set_struct(fd, libc::IPPROTO_IP, name, &req)
        }
        IpAddr::V6(g) => {
            if !sock::ipv6_available() {
                return Err(NetError::new(
                    ExceptionClass::Socket,
                    "Protocol family unavailable",
                ));
            }
            let req = libc::ipv6_mreq {
                ipv6mr_multiaddr: libc::in6_addr {
                    s6_addr: g.octets(),
                },
                ipv6mr_interface: ifindex,
            };
            let name = if join {
                libc::IPV6_ADD_MEMBERSHIP
            } else {
                libc::IPV6_DROP_MEMBERSHIP
            };
            options::set_struct(fd, libc::IPPROTO_IPV6, name, &req)
        }
    };
    // reclassified: "already a member" (EADDRINUSE) must not read as a bind failure
    result.map_err(|e| NetError::from_errno(Op::Membership, e.errno.unwrap_or(libc::EIO)))?;
    log::debug!(
        "fd {fd}: {} {group} on interface {ifindex}",
        if join { "joined" } else { "left" }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Opt;
    use crate::sock::{close, Shutdown};
    use std::net::Ipv6Addr;
    use std::time::Duration;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// A bound loopback datagram socket, closed on drop.
    struct Udp(RawFd, u16);

    impl Drop for Udp {
        fn drop(&mut self) {
            close(self.0);
        }
    }

    fn udp() -> Udp {
        let fd = open_datagram().unwrap();
        sock::bind(fd, LOOPBACK, 0, 0).unwrap();
        let port = sock::local_addr(fd).unwrap().port();
        Udp(fd, port)
    }

    fn to(port: u16) -> SockAddr {
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
    fn connect_discards_past_a_pending_port_unreachable() {
        // with IP_RECVERR an unconnected socket keeps the ICMP error of a send to a closed
        // port pending; a receive reports it before the datagrams queued behind it
        let b = udp();
        let on = 1;
        let _ = crate::options::set_raw(b.0, libc::IPPROTO_IPV6, libc::IPV6_RECVERR, on);
        crate::options::set_raw(b.0, libc::IPPROTO_IP, libc::IP_RECVERR, on).unwrap();
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
            (r, last_errno()),
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

    #[test]
    fn disconnect_keeps_the_local_port() {
        let (a, b) = (udp(), udp());
        let initial = sock::local_addr(b.0).unwrap();
        connect(b.0, LOOPBACK, 0, a.1).unwrap();
        disconnect(b.0, initial.ip(), 0, initial.port()).unwrap();
        assert_eq!(sock::local_addr(b.0).unwrap().port(), b.1);
        assert!(sock::peer_addr(b.0).is_err());
    }

    #[test]
    fn disconnect_returns_a_wildcard_socket_to_the_wildcard() {
        let a = udp();
        let b = open_datagram().unwrap();
        let b = Udp(b, 0);
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
    fn shutdown_wakes_a_blocked_receive() {
        let b = udp();
        let fd = b.0;
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 16];
            receive(fd, &mut buf, false, false)
        });
        std::thread::sleep(Duration::from_millis(100));
        sock::shutdown(fd, Shutdown::Both).unwrap();
        assert_eq!(reader.join().unwrap().unwrap().len, UNAVAILABLE);
    }

    #[test]
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
        sock::shutdown(fd, Shutdown::Both).unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), UNAVAILABLE);
    }

    #[test]
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
    fn a_connected_socket_sends_segmented_runs_to_its_peer() {
        let (a, b) = (udp(), udp());
        connect(a.0, LOOPBACK, 0, b.1).unwrap();
        let data = [5u8; 16 * 8];
        let lens = [16usize; 8];
        let targets: Vec<Option<SockAddr>> = (0..8).map(|_| None).collect();
        let mut scratch = BatchScratch::new();
        assert_eq!(
            send_batch(a.0, &mut scratch, &data, &lens, &targets).unwrap(),
            8
        );
        // the run really goes as one segmented message (no fallback) on this kernel
        scratch.reserve(8);
        fill_plain(&mut scratch, &data, &lens, &targets).unwrap();
        assert_eq!(
            send_segmented(a.0, &mut scratch, &lens, &targets).unwrap(),
            Segmented::Sent(8)
        );
        let mut buf = [0u8; 64];
        for _ in 0..16 {
            assert_eq!(receive(b.0, &mut buf, false, false).unwrap().len, 16);
        }
    }

    #[test]
    fn a_run_refused_midway_is_sent_datagram_by_datagram_in_the_same_call() {
        // SO_NO_CHECK makes the kernel refuse every segmented send (EINVAL) while plain
        // datagrams still go: a lone datagram first, then a run, stops sendmmsg after one
        let (a, b, c) = (udp(), udp(), udp());
        crate::options::set_raw(a.0, libc::SOL_SOCKET, libc::SO_NO_CHECK, 1).unwrap();
        let mut scratch = BatchScratch::new();
        let run_lens = [16usize; 8];
        let run_targets: Vec<Option<SockAddr>> = (0..8).map(|_| Some(to(b.1))).collect();
        let data: Vec<u8> = (0..10 + 16 * 8).map(|i| i as u8).collect();
        scratch.reserve(8);
        fill_plain(&mut scratch, &data[10..], &run_lens, &run_targets).unwrap();
        assert_eq!(
            send_segmented(a.0, &mut scratch, &run_lens, &run_targets).unwrap(),
            Segmented::Refused,
            "this kernel refuses a segmented send with SO_NO_CHECK"
        );
        let mut lens = vec![10usize];
        lens.extend_from_slice(&run_lens);
        let mut targets = vec![Some(to(c.1))];
        targets.extend(run_targets);
        assert_eq!(
            send_batch(a.0, &mut scratch, &data, &lens, &targets).unwrap(),
            9,
            "all nine, not the one before the refused run"
        );
        let mut buf = [0u8; 32];
        assert_eq!(receive(c.0, &mut buf, false, false).unwrap().len, 10);
        for i in 0..8 {
            let r = receive(b.0, &mut buf, false, false).unwrap();
            assert_eq!(r.len, 16);
            let at = 10 + i * 16;
            assert_eq!(&buf[..16], &data[at..at + 16], "datagram {i}");
        }
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
            options::set(a.0, Opt::MulticastIf, 1).unwrap();
            assert_eq!(options::get(a.0, Opt::MulticastIf).unwrap(), 1);
        }
    }

    #[test]
    fn multicast_on_loopback_ipv4_and_membership_ipv6() {
        // IPv4: the loopback interface carries a group's datagrams once IP_MULTICAST_IF
        // names it. IPv6 needs a multicast route on lo, which a host's lo usually lacks
        // (the Java suite runs that round trip in a network namespace it creates).
        let group = IpAddr::V4(Ipv4Addr::new(239, 255, 0, 77));
        let rx = open_datagram().unwrap();
        sock::bind(rx, IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, 0).unwrap();
        let port = sock::local_addr(rx).unwrap().port();
        membership(rx, group, 1, true).unwrap();
        let tx = open_datagram().unwrap();
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
