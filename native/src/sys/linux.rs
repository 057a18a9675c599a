//! Linux: epoll for the virtual-thread pollers, `sendfile(2)`, `TCP_INFO`, and a reset by
//! `connect(AF_UNSPEC)`. A shutdown(2) wakes every call blocked on the socket (recv, send,
//! accept, connect, poll), even one about to enter the kernel, so platform threads may block
//! in the kernel and still be woken by close().

use super::unix::{
    borrow, get_raw, get_struct, last_errno, recvmsg_one, set_raw, set_struct, Fd, PlainOldData,
};
use crate::error::{ExceptionClass, NetError, NetResult, Op};
use crate::options::{clamp_i32, opt_err, unsupported, Opt};
use crate::sock::bad_argument;
use crate::sock::UNAVAILABLE;
use crate::tcp_info::TCP_INFO_FIELDS;
use socket2::{Domain, SockRef};
use std::time::Duration;

/// Whether shutting a socket down wakes every thread blocked on it, so that platform threads
/// can block in the kernel (Linux) rather than wait in a poller that close() can wake.
pub const SHUTDOWN_WAKES_BLOCKED_CALLS: bool = true;

/// The socket's address family, as the kernel reports it (`SO_DOMAIN`).
pub fn domain(s: &SockRef<'_>) -> std::io::Result<Domain> {
    s.domain()
}

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

/// Adds `fd` to the poller for good, edge-triggered (`POLLIN` or `POLLOUT`): every time the
/// descriptor becomes ready again (new bytes, room to write, a shutdown or an error) the poller
/// reports it once, with no system call to re-arm it in between. Adding a descriptor that is
/// ready already reports it at once, so a thread that found it not ready, then added it, then
/// parks, misses nothing. Adding it twice is not an error.
///
/// A read registration also asks for `EPOLLRDHUP` and `EPOLLPRI`, so that [`poller_wait`] can
/// tell when the peer's FIN or urgent data is there: both can end a read early with something
/// left behind, which a reader waiting for the next edge must know (see [`poller_wait`]).
pub fn poller_watch(poller: i64, fd: Fd, events: i16) -> NetResult<()> {
    let epfd = epoll_fd(poller)?;
    borrow(fd)?;
    let mut wanted = (events as u16 as u32) | libc::EPOLLET as u32;
    if wanted & libc::EPOLLIN as u32 != 0 {
        wanted |= (libc::EPOLLRDHUP | libc::EPOLLPRI) as u32;
    }
    let mut ev = libc::epoll_event {
        events: wanted,
        u64: fd as u64,
    };
    // SAFETY: valid descriptors and event.
    let rc = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) };
    if rc < 0 && last_errno() != libc::EEXIST {
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
/// the ready ones into `ready`. Returns how many; 0 on timeout or signal. A descriptor
/// whose event said more than readable or writable (urgent data, the peer's FIN, a
/// hang-up, an error) is written as its complement `!fd`, a negative number.
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
    let plain = (libc::EPOLLIN | libc::EPOLLOUT) as u32;
    for (slot, ev) in ready.iter_mut().zip(&events[..n]) {
        let fd = ev.u64 as i32;
        *slot = if ev.events & !plain != 0 { !fd } else { fd };
    }
    Ok(n)
}

/// Asks the kernel to say, with each read of the TCP socket `fd`, how many bytes the read left
/// in the receive queue (`TCP_INQ`, Linux 4.18): [`recv_noticing_empty`] then knows when a read
/// emptied the socket even if it filled the caller's buffer. `Ok(false)` where the kernel cannot
/// (an older one, or not a TCP socket).
pub fn notice_empty_reads(fd: Fd) -> NetResult<bool> {
    borrow(fd)?;
    let on: libc::c_int = 1;
    // SAFETY: one int of storage and its length.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INQ,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    match last_errno() {
        libc::ENOPROTOOPT | libc::EOPNOTSUPP | libc::EINVAL => Ok(false),
        errno => Err(NetError::from_errno(Op::Option, errno)),
    }
}

/// One read that never waits, on a socket set up by [`notice_empty_reads`]: the bytes read
/// (or [`crate::sock::EOF`], or [`UNAVAILABLE`]), and whether the read left the receive queue
/// empty. The kernel counts a FIN or urgent byte still to be read as something left.
pub fn recv_noticing_empty(fd: Fd, buf: &mut [u8]) -> NetResult<(i32, bool)> {
    borrow(fd)?;
    let mut left = None;
    // SAFETY: arithmetic only.
    let control_len = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) };
    let received = recvmsg_one(
        fd,
        buf,
        control_len as usize,
        libc::MSG_DONTWAIT,
        |level, kind, data, len| {
            if level == libc::SOL_TCP
                && kind == libc::TCP_CM_INQ
                && len >= std::mem::size_of::<libc::c_int>()
            {
                // SAFETY: a TCP_CM_INQ message holds one int, maybe unaligned.
                left = Some(unsafe { data.cast::<libc::c_int>().read_unaligned() });
            }
        },
    )?;
    match received {
        None => Ok((UNAVAILABLE, false)),
        Some((0, _)) => Ok((if buf.is_empty() { 0 } else { crate::sock::EOF }, false)),
        Some((n, _)) => Ok((n as i32, left == Some(0))),
    }
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

// SAFETY: a #[repr(C)] struct of integers.
unsafe impl PlainOldData for KernelTcpInfo {}

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
    get_struct(fd, libc::IPPROTO_TCP, libc::TCP_INFO)
}

/// Dissolves a datagram socket's association (connect(2) with `AF_UNSPEC`, which on a
/// datagram socket only removes the peer).
pub fn dissolve(fd: Fd) -> NetResult<()> {
    abort(fd)
}

/// The system this library runs on, as messages name it.
pub const PLATFORM: &str = "Linux";

/// What Linux offers (see `exports::socket::capabilities`): shutdown wakes blocked calls,
/// zero-copy sendfile, TCP_INFO, batched datagram system calls, edge-triggered pollers
/// ([`poller_watch`]).
pub const CAPABILITIES: i32 = 1 | 2 | 4 | 8 | 16;

/// Reads one of the options that are not the same on every system (see `options::get`).
pub fn get_option(fd: Fd, s: &SockRef<'_>, opt: Opt) -> NetResult<i32> {
    let flag = |b: bool| i32::from(b);
    Ok(match opt {
        Opt::ReusePort => flag(s.reuse_port().map_err(opt_err)?),
        Opt::IpTos if s.domain().map_err(opt_err)? == Domain::IPV6 => {
            s.tclass_v6().map_err(opt_err)? as i32
        }
        Opt::IpTos => s.tos_v4().map_err(opt_err)? as i32,
        Opt::TcpKeepIdle => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE)?,
        Opt::TcpKeepInterval => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL)?,
        Opt::TcpKeepCount => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT)?,
        Opt::TcpQuickAck => flag(get_raw(fd, libc::IPPROTO_TCP, libc::TCP_QUICKACK)? != 0),
        Opt::IncomingNapiId => get_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_NAPI_ID)?,
        Opt::TcpUserTimeout => match s.tcp_user_timeout().map_err(opt_err)? {
            None => 0,
            Some(d) => clamp_i32(d.as_millis() as u64),
        },
        Opt::TcpCork => flag(s.tcp_cork().map_err(opt_err)?),
        Opt::TcpNotSentLowat => clamp_i32(u64::from(s.tcp_notsent_lowat().map_err(opt_err)?)),
        Opt::TcpMaxSeg => clamp_i32(u64::from(s.tcp_mss().map_err(opt_err)?)),
        Opt::TcpFastOpen => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN)?,
        Opt::TcpFastOpenConnect => {
            flag(get_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN_CONNECT)? != 0)
        }
        Opt::TcpDeferAccept => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT)?,
        Opt::IpFreeBind => flag(s.freebind_v4().map_err(opt_err)?),
        Opt::IpBindAddressNoPort => {
            flag(get_raw(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT)? != 0)
        }
        Opt::SoMark => s.mark().map_err(opt_err)? as i32,
        // socket2's getter is unsigned, but -1 ("no CPU yet") is a real answer.
        Opt::SoIncomingCpu => get_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_CPU)?,
        Opt::SoBusyPoll => clamp_i32(u64::from(s.busy_poll().map_err(opt_err)?)),
        Opt::MulticastIf if crate::sock::ipv6_available() => {
            get_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF)?
        }
        // IPv4-only sockets: the kernel reports an address, not an index; Java keeps what it set.
        Opt::MulticastIf => -1,
        other => return Err(unsupported(other)),
    })
}

/// Sets one of the options that are not the same on every system (see `options::set`).
pub fn set_option(fd: Fd, s: &SockRef<'_>, opt: Opt, value: i32) -> NetResult<()> {
    let on = value != 0;
    // non-negative where the table says so, except SO_MARK's bit pattern
    let unsigned = value as u32;
    match opt {
        Opt::ReusePort => s.set_reuse_port(on).map_err(opt_err),
        Opt::IpTos => {
            if s.domain().map_err(opt_err)? == Domain::IPV6 {
                s.set_tclass_v6(unsigned).map_err(opt_err)?;
                // IPv4 traffic on a dual-stack socket takes its TOS from IP_TOS;
                // best effort, as in the JDK.
                let _ = s.set_tos_v4(unsigned);
                Ok(())
            } else {
                s.set_tos_v4(unsigned).map_err(opt_err)
            }
        }
        Opt::TcpKeepIdle => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, value),
        Opt::TcpKeepInterval => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, value),
        Opt::TcpKeepCount => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, value),
        Opt::TcpQuickAck => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_QUICKACK, value),
        Opt::IncomingNapiId => set_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_NAPI_ID, value),
        Opt::TcpUserTimeout => {
            let timeout = (value > 0).then(|| Duration::from_millis(u64::from(unsigned)));
            s.set_tcp_user_timeout(timeout).map_err(opt_err)
        }
        Opt::TcpCork => s.set_tcp_cork(on).map_err(opt_err),
        Opt::TcpNotSentLowat => s.set_tcp_notsent_lowat(unsigned).map_err(opt_err),
        Opt::TcpMaxSeg => s.set_tcp_mss(unsigned).map_err(opt_err),
        Opt::TcpFastOpen => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN, value),
        Opt::TcpFastOpenConnect => {
            set_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN_CONNECT, value).map_err(|e| {
                // The value is valid, so EINVAL means the socket already left TCP_CLOSE.
                if e.errno == Some(libc::EINVAL) {
                    NetError::new(
                        ExceptionClass::Socket,
                        "TCP_FASTOPEN_CONNECT can only be changed before connect",
                    )
                } else {
                    e
                }
            })
        }
        Opt::TcpDeferAccept => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, value),
        Opt::IpFreeBind => s.set_freebind_v4(on).map_err(opt_err),
        Opt::IpBindAddressNoPort => {
            set_raw(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, value)
        }
        Opt::SoMark => s.set_mark(unsigned).map_err(opt_err),
        Opt::SoIncomingCpu => set_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_CPU, value),
        Opt::SoBusyPoll => s.set_busy_poll(unsigned).map_err(opt_err),
        // On a dual-stack socket the IPv6 option is set and the IPv4 one too, best effort,
        // since IPv4 traffic on the socket follows the IPv4 option.
        Opt::MulticastIf => {
            let req = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr { s_addr: 0 },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: value,
            };
            let r4 = set_struct(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &req);
            if crate::sock::ipv6_available() {
                set_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, value)
            } else {
                r4
            }
        }
        other => Err(unsupported(other)),
    }
}

/// The recvmsg(2) flag that makes received descriptors close-on-exec as they are installed.
pub const RECV_CLOEXEC: libc::c_int = libc::MSG_CMSG_CLOEXEC;

/// Nothing to do on Linux: [`RECV_CLOEXEC`] made the descriptor close-on-exec atomically.
pub fn close_on_exec_after_receipt(_fd: Fd) {}

/// Readies a socket received from another process for this library: nothing on Linux, where
/// every send passes `MSG_NOSIGNAL`.
pub fn prepare_adopted(_fd: Fd) -> NetResult<()> {
    Ok(())
}

/// `struct ucred` (libc's has no `Default`, which [`get_struct`] asks of its structs).
#[repr(C)]
#[derive(Default)]
struct Ucred {
    pid: libc::pid_t,
    uid: libc::uid_t,
    gid: libc::gid_t,
}

// SAFETY: a #[repr(C)] struct of integers.
unsafe impl PlainOldData for Ucred {}

/// The pid, uid and gid of the process at the other end of a connected Unix socket
/// (SO_PEERCRED: what the kernel recorded when the connection was made).
pub fn peer_credentials(fd: Fd) -> NetResult<[i64; 3]> {
    let (cred, _) = get_struct::<Ucred>(fd, libc::SOL_SOCKET, libc::SO_PEERCRED)?;
    // an unconnected socket has no peer: the kernel answers uid -1, which the JDK reports as EINVAL
    if cred.uid == u32::MAX {
        return Err(NetError::from_errno(Op::Option, libc::EINVAL));
    }
    Ok([
        i64::from(cred.pid),
        i64::from(cred.uid),
        i64::from(cred.gid),
    ])
}

/// Longest interface name the kernel accepts (IFNAMSIZ less the terminating NUL).
const MAX_DEVICE_NAME: usize = 15;
/// Longest congestion control name the kernel accepts (TCP_CA_NAME_MAX less the NUL).
const MAX_CONGESTION_NAME: usize = 15;

/// Reads a string option; SO_BINDTODEVICE is empty when the socket is not bound to a device.
pub fn get_string_option(s: &SockRef<'_>, opt: Opt) -> NetResult<String> {
    let bytes = match opt {
        Opt::TcpCongestion => s.tcp_congestion().map_err(opt_err)?,
        Opt::BindToDevice => s.device().map_err(opt_err)?.unwrap_or_default(),
        other => return Err(bad_argument(format!("{other:?} is not a string option"))),
    };
    // The kernel pads names with NULs.
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
}

/// Sets a string option. An empty SO_BINDTODEVICE unbinds the socket from its device.
pub fn set_string_option(s: &SockRef<'_>, opt: Opt, value: &str) -> NetResult<()> {
    let (what, max) = match opt {
        Opt::TcpCongestion => ("TCP_CONGESTION", MAX_CONGESTION_NAME),
        Opt::BindToDevice => ("SO_BINDTODEVICE", MAX_DEVICE_NAME),
        other => return Err(bad_argument(format!("{other:?} is not a string option"))),
    };
    let printable = value.bytes().all(|b| b.is_ascii_graphic());
    if value.len() > max || !printable || (value.is_empty() && opt == Opt::TcpCongestion) {
        return Err(NetError::new(
            ExceptionClass::IllegalArgument,
            format!("Invalid value for {what}: '{value}'"),
        ));
    }
    match opt {
        Opt::TcpCongestion => s.set_tcp_congestion(value.as_bytes()).map_err(opt_err),
        _ => {
            // An empty name of length 0 unbinds. It points into a real (static) byte, not
            // NULL as socket2's `bind_device(None)` does: the kernel reads nothing either way,
            // but qemu-user (aarch64 JVMs on x86_64 build machines) answers a NULL option
            // value with EFAULT, "Bad address".
            static UNBOUND: [u8; 1] = [0];
            let device = if value.is_empty() {
                &UNBOUND[..0]
            } else {
                value.as_bytes()
            };
            s.bind_device(Some(device)).map_err(opt_err)
        }
    }
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
    fn a_read_says_when_it_left_nothing_behind_and_a_fin_counts_as_something() {
        let t = trio();
        assert!(notice_empty_reads(t.server).unwrap());
        let mut buf = [0u8; 8];
        assert_eq!(
            recv_noticing_empty(t.server, &mut buf).unwrap(),
            (UNAVAILABLE, false)
        );
        sock::write(t.client, b"abcdef").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            recv_noticing_empty(t.server, &mut buf[..4]).unwrap(),
            (4, false)
        );
        assert_eq!(
            recv_noticing_empty(t.server, &mut buf[..2]).unwrap(),
            (2, true)
        );
        assert_eq!(&buf[..2], b"ef");
        sock::write(t.client, b"xy").unwrap();
        sock::shutdown(t.client, sock::Shutdown::Write).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            recv_noticing_empty(t.server, &mut buf).unwrap(),
            (2, false),
            "the FIN is left"
        );
        assert_eq!(
            recv_noticing_empty(t.server, &mut buf).unwrap(),
            (sock::EOF, false)
        );
        // not TCP: the kernel cannot tell, and says so
        let (a, b) = socket2::Socket::pair(Domain::UNIX, socket2::Type::STREAM, None).unwrap();
        use std::os::fd::AsRawFd;
        assert!(!notice_empty_reads(a.as_raw_fd()).unwrap());
        drop(b);
    }

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
    fn the_portable_positions_name_the_kernel_fields() {
        use crate::tcp_info::{field, state};
        let info = KernelTcpInfo {
            state: ESTABLISHED,
            ca_state: 3,
            options: 7,
            wscale: 0x72,
            rto: 204_000,
            snd_mss: 1448,
            rtt: 150,
            rttvar: 75,
            snd_ssthresh: 20,
            snd_cwnd: 10,
            total_retrans: 4,
            bytes_received: 5,
            segs_out: 6,
            segs_in: 8,
            bytes_sent: 9,
            bytes_retrans: 11,
            snd_wnd: 12,
            rcv_wnd: 13,
            ..KernelTcpInfo::default()
        };
        let v = info.to_java(248);
        let at = |i: usize| v[i];
        assert_eq!(at(field::STATE), state::ESTABLISHED);
        assert_eq!(at(field::CA_STATE), 3);
        assert_eq!(at(field::OPTIONS), 7);
        assert_eq!(at(field::SEND_WINDOW_SCALE), 2);
        assert_eq!(at(field::RECEIVE_WINDOW_SCALE), 7);
        assert_eq!(at(field::RTO_MICROS), 204_000);
        assert_eq!(at(field::SEND_MSS), 1448);
        assert_eq!(at(field::RTT_MICROS), 150);
        assert_eq!(at(field::RTT_VAR_MICROS), 75);
        assert_eq!(at(field::SEND_SSTHRESH), 20);
        assert_eq!(at(field::SEND_CWND), 10);
        assert_eq!(at(field::TOTAL_RETRANS), 4);
        assert_eq!(at(field::BYTES_RECEIVED), 5);
        assert_eq!(at(field::SEGMENTS_OUT), 6);
        assert_eq!(at(field::SEGMENTS_IN), 8);
        assert_eq!(at(field::BYTES_SENT), 9);
        assert_eq!(at(field::BYTES_RETRANSMITTED), 11);
        assert_eq!(at(field::SEND_WINDOW), 12);
        assert_eq!(at(field::RECEIVE_WINDOW), 13);
        assert_eq!(at(field::KERNEL_BYTES), 248);
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
        let wanted = std::mem::offset_of!(KernelTcpInfo, pacing_rate);
        // qemu-user copies back only the first 4 bytes of the structure
        if crate::emulator::cut_short("getsockopt(TCP_INFO)", filled, wanted) {
            return;
        }
        assert!(filled >= wanted);
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
