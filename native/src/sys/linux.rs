//! Linux: epoll for the virtual-thread pollers, `sendfile(2)`, `TCP_INFO`, and a reset by
//! `connect(AF_UNSPEC)`. A shutdown(2) wakes every call blocked on the socket (recv, send,
//! accept, connect, poll), even one about to enter the kernel, so platform threads may block
//! in the kernel and still be woken by close().

use super::unix::{borrow, last_errno, Fd};
use crate::error::{NetError, NetResult, Op};
use crate::sock::UNAVAILABLE;
use crate::tcp_info::TCP_INFO_FIELDS;

/// Whether shutting a socket down wakes every thread blocked on it, so that platform threads
/// can block in the kernel (Linux) rather than wait in a poller that close() can wake.
pub const SHUTDOWN_WAKES_BLOCKED_CALLS: bool = true;

/// Resets the connection now: connect(2) with `AF_UNSPEC` makes Linux drop the
/// connection, send RST and wake every thread blocked on the socket with
/// ECONNRESET. This is how close() with SO_LINGER 0 wakes threads in flight: a
/// shutdown(2) would queue a FIN behind unsent data, and a peer that drained the
/// data first would see a clean end of stream instead of the reset.
pub fn abort(fd: Fd) -> NetResult<()> {
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

/// Creates a virtual-thread poller: an epoll instance (close-on-exec), whose descriptor is
/// the handle Java keeps and closes like any descriptor.
pub fn poller_create() -> NetResult<i64> {
    // SAFETY: plain system call.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epfd < 0 {
        return Err(NetError::last_os_error(Op::Setup));
    }
    log::debug!("epoll {epfd}: created");
    Ok(i64::from(epfd))
}

/// The epoll descriptor behind a poller handle.
fn epoll_fd(poller: i64) -> NetResult<Fd> {
    let epfd = Fd::try_from(poller).map_err(|_| NetError::from_errno(Op::Control, libc::EBADF))?;
    borrow(epfd)?;
    Ok(epfd)
}

/// Releases a poller made by [`poller_create`].
pub fn poller_close(poller: i64) {
    if let Ok(epfd) = Fd::try_from(poller) {
        super::unix::close(epfd);
    }
}

/// Arms `fd` in the poller for one readiness event (`POLLIN` or `POLLOUT`), one-shot:
/// after it fires, the registration stays but is disarmed until armed again. A
/// socket shut down before it is armed reports ready at once (epoll checks the
/// current state when it arms), which is what lets close() wake a parked thread.
pub fn poller_arm(poller: i64, fd: Fd, events: i16) -> NetResult<()> {
    let epfd = epoll_fd(poller)?;
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

/// Removes `fd` from the poller; a descriptor that was never added (or whose registration
/// the kernel dropped) is not an error. Called before the descriptor is closed.
pub fn poller_delete(poller: i64, fd: Fd) -> NetResult<()> {
    let epfd = epoll_fd(poller)?;
    borrow(fd)?;
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: valid descriptors; the event is ignored by EPOLL_CTL_DEL.
    let rc = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) };
    if rc < 0 && last_errno() != libc::ENOENT {
        return Err(NetError::last_os_error(Op::Control));
    }
    Ok(())
}

/// Waits up to `timeout_ms` (negative: forever) for armed descriptors and writes
/// the ready ones into `ready`. Returns how many; 0 on timeout or signal.
pub fn poller_wait(poller: i64, ready: &mut [i32], timeout_ms: i32) -> NetResult<usize> {
    let epfd = epoll_fd(poller)?;
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
pub fn send_file(fd: Fd, file: Fd, offset: i64, count: i64) -> NetResult<i64> {
    borrow(fd)?;
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
            libc::EINVAL | libc::ENOSYS => break Ok(crate::sendfile::SENDFILE_UNSUPPORTED),
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

/// `struct tcp_info` of `linux/tcp.h` as of Linux 6.7 (248 bytes). An older
/// kernel fills a prefix and leaves the rest zero; a newer one fills more than
/// we ask for and the rest is not copied.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelTcpInfo {
    pub state: u8,
    pub ca_state: u8,
    pub retransmits: u8,
    pub probes: u8,
    pub backoff: u8,
    pub options: u8,
    /// snd_wscale in the low 4 bits, rcv_wscale in the high 4.
    pub wscale: u8,
    /// delivery_rate_app_limited in bit 0, fastopen_client_fail in bits 1-2.
    pub app_limited_and_tfo_fail: u8,
    pub rto: u32,
    pub ato: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub unacked: u32,
    pub sacked: u32,
    pub lost: u32,
    pub retrans: u32,
    pub fackets: u32,
    pub last_data_sent: u32,
    pub last_ack_sent: u32,
    pub last_data_recv: u32,
    pub last_ack_recv: u32,
    pub pmtu: u32,
    pub rcv_ssthresh: u32,
    pub rtt: u32,
    pub rttvar: u32,
    pub snd_ssthresh: u32,
    pub snd_cwnd: u32,
    pub advmss: u32,
    pub reordering: u32,
    pub rcv_rtt: u32,
    pub rcv_space: u32,
    pub total_retrans: u32,
    pub pacing_rate: u64,
    pub max_pacing_rate: u64,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_out: u32,
    pub segs_in: u32,
    pub notsent_bytes: u32,
    pub min_rtt: u32,
    pub data_segs_in: u32,
    pub data_segs_out: u32,
    pub delivery_rate: u64,
    pub busy_time: u64,
    pub rwnd_limited: u64,
    pub sndbuf_limited: u64,
    pub delivered: u32,
    pub delivered_ce: u32,
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
    pub dsack_dups: u32,
    pub reord_seen: u32,
    pub rcv_ooopack: u32,
    pub snd_wnd: u32,
    pub rcv_wnd: u32,
    pub rehash: u32,
    pub total_rto: u16,
    pub total_rto_recoveries: u16,
    pub total_rto_time: u32,
}

impl KernelTcpInfo {
    /// The values in the order of `io.rustsocket.TcpInfo`'s canonical constructor
    /// (after its state), unsigned kernel values widened to i64. The last one is
    /// how many bytes of the structure the kernel filled.
    pub fn to_java(&self, filled: usize) -> [i64; TCP_INFO_FIELDS] {
        let u = |v: u32| i64::from(v);
        let w = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        [
            i64::from(self.state),
            i64::from(self.ca_state),
            i64::from(self.retransmits),
            i64::from(self.probes),
            i64::from(self.backoff),
            i64::from(self.options),
            i64::from(self.wscale & 0x0f),
            i64::from(self.wscale >> 4),
            i64::from(self.app_limited_and_tfo_fail & 1),
            i64::from((self.app_limited_and_tfo_fail >> 1) & 3),
            u(self.rto),
            u(self.ato),
            u(self.snd_mss),
            u(self.rcv_mss),
            u(self.unacked),
            u(self.sacked),
            u(self.lost),
            u(self.retrans),
            u(self.last_data_sent),
            u(self.last_data_recv),
            u(self.last_ack_recv),
            u(self.pmtu),
            u(self.rcv_ssthresh),
            u(self.rtt),
            u(self.rttvar),
            u(self.snd_ssthresh),
            u(self.snd_cwnd),
            u(self.advmss),
            u(self.reordering),
            u(self.rcv_rtt),
            u(self.rcv_space),
            u(self.total_retrans),
            w(self.pacing_rate),
            w(self.max_pacing_rate),
            w(self.bytes_acked),
            w(self.bytes_received),
            u(self.segs_out),
            u(self.segs_in),
            u(self.notsent_bytes),
            u(self.min_rtt),
            u(self.data_segs_in),
            u(self.data_segs_out),
            w(self.delivery_rate),
            w(self.busy_time),
            w(self.rwnd_limited),
            w(self.sndbuf_limited),
            u(self.delivered),
            u(self.delivered_ce),
            w(self.bytes_sent),
            w(self.bytes_retrans),
            u(self.dsack_dups),
            u(self.reord_seen),
            u(self.rcv_ooopack),
            u(self.snd_wnd),
            u(self.rcv_wnd),
            u(self.rehash),
            i64::from(self.total_rto),
            i64::from(self.total_rto_recoveries),
            u(self.total_rto_time),
            filled as i64,
        ]
    }
}

/// getsockopt(TCP_INFO): the kernel's view of the connection now, as the values of
/// `io.rustsocket.TcpInfo` ([`KernelTcpInfo::to_java`]).
pub fn tcp_info(fd: Fd) -> NetResult<[i64; TCP_INFO_FIELDS]> {
    let (info, filled) = read_tcp_info(fd)?;
    Ok(info.to_java(filled))
}

/// The raw snapshot and how many of its bytes the kernel filled.
pub fn read_tcp_info(fd: Fd) -> NetResult<(KernelTcpInfo, usize)> {
    borrow(fd)?;
    let mut info = KernelTcpInfo::default();
    let mut len = std::mem::size_of::<KernelTcpInfo>() as libc::socklen_t;
    // SAFETY: `info` is plain old data of `len` bytes; the kernel writes at most `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut KernelTcpInfo).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Option));
    }
    Ok((info, len as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sock::tests::trio;
    use crate::sock::{self};
    use std::time::Duration;

    /// TCP_ESTABLISHED in the kernel's numbering.
    const ESTABLISHED: u8 = 1;

    #[test]
    fn the_structure_has_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<KernelTcpInfo>(), 248);
        assert_eq!(std::mem::offset_of!(KernelTcpInfo, rto), 8);
        assert_eq!(std::mem::offset_of!(KernelTcpInfo, total_retrans), 100);
        assert_eq!(std::mem::offset_of!(KernelTcpInfo, pacing_rate), 104);
        assert_eq!(std::mem::offset_of!(KernelTcpInfo, delivery_rate), 160);
        assert_eq!(std::mem::offset_of!(KernelTcpInfo, total_rto_time), 244);
    }

    #[test]
    fn tcp_info_of_a_loopback_connection() {
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
        let (info, filled) = read_tcp_info(t.client).unwrap();
        assert!(filled >= std::mem::offset_of!(KernelTcpInfo, pacing_rate));
        assert_eq!(info.state, ESTABLISHED);
        assert!(info.rtt > 0, "{info:?}");
        assert!(info.snd_cwnd > 0);
        // The data was read, so it was acked (the ACK may trail the read briefly).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut acked = info.bytes_acked;
        while acked < 10_000 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            acked = read_tcp_info(t.client).unwrap().0.bytes_acked;
        }
        assert!(acked >= 10_000, "bytes acked {acked}");
        assert_eq!(read_tcp_info(t.server).unwrap().0.bytes_received, 10_000);
        let java = tcp_info(t.client).unwrap();
        assert_eq!(info.to_java(filled)[0], java[0]);
        assert_eq!(java[0], i64::from(ESTABLISHED));
        assert!(java[TCP_INFO_FIELDS - 1] >= filled as i64 - 8);
    }
}
