//! Linux's batched datagram calls: `recvfrom` with `MSG_TRUNC` for one datagram, and
//! `sendmmsg`/`recvmmsg` for many, with UDP segmentation offload (`UDP_SEGMENT`) for runs of
//! equal datagrams to one target (see [`send_batch`]).

use super::unix::{borrow, last_errno, Fd};
use crate::addr::{self, WIRE_LEN};
use crate::error::{NetError, NetResult, Op};
use crate::sock::{bad_argument, UNAVAILABLE};
use crate::udp::{check_count, check_receive_batch, Received, NOTHING};
use socket2::SockAddr;

/// Receives one datagram into `buf`; with `peek` it stays queued. On a socket
/// that is not `connected`, an ICMP port-unreachable left over from an earlier
/// peer is skipped, as the JDK does; on a connected one it is an error.
pub fn receive(fd: Fd, buf: &mut [u8], peek: bool, connected: bool) -> NetResult<Received> {
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

/// Sends `lens.len()` datagrams with one `sendmmsg` (two when a segmented
/// message is refused midway): the datagrams lie end to end in `data`
/// (datagram `i` is the `lens[i]` bytes after datagram `i - 1`), datagram `i`
/// addressed to `targets[i]` (`None`: the connected peer). Returns how many
/// were sent, counted from the first; fewer than asked when the kernel stopped
/// early (the next one failed or would block: sending from there again reports
/// why). [`UNAVAILABLE`] when a non-blocking descriptor could send none; an
/// error only when the first failed.
pub fn send_batch(
    fd: Fd,
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
fn send_plain(fd: Fd, scratch: &mut BatchScratch, from: usize, count: usize) -> NetResult<i32> {
    loop {
        // SAFETY: headers from..count, each pointing at live iovecs, data and addresses.
        let n = unsafe {
            libc::sendmmsg(
                fd,
                scratch.headers[from..count].as_mut_ptr(),
                (count - from) as libc::c_uint,
                libc::MSG_NOSIGNAL as _,
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
    fd: Fd,
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
                probe.msg_controllen = space as _;
                let c = libc::CMSG_FIRSTHDR(&probe);
                (*c).cmsg_level = libc::SOL_UDP;
                (*c).cmsg_type = UDP_SEGMENT;
                (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as _;
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), size as u16);
                (control.as_mut_ptr().cast::<libc::c_void>(), space)
            }
        } else {
            (std::ptr::null_mut(), 0)
        };
        let h = &mut scratch.headers[groups];
        h.msg_len = 0;
        h.msg_hdr.msg_iov = &mut scratch.iovecs[start];
        h.msg_hdr.msg_iovlen = run as _;
        h.msg_hdr.msg_control = control_ptr;
        h.msg_hdr.msg_controllen = control_len as _;
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
                libc::MSG_NOSIGNAL as _,
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
    fd: Fd,
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
    check_receive_batch(slot, data.len(), lens, truncated, senders)?;
    let count = lens.len();
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
                // (c_int on glibc, c_uint on musl)
                (if wait {
                    libc::MSG_WAITFORONE
                } else {
                    libc::MSG_DONTWAIT
                }) as _,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::udp::connect;
    use crate::udp::receive;
    use crate::udp::tests::{to, udp, LOOPBACK};

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
        crate::sys::set_raw(a.0, libc::SOL_SOCKET, libc::SO_NO_CHECK, 1).unwrap();
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
}
