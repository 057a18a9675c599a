//! Readiness: waiting for a descriptor to become readable or writable.
//!
//! Two ways to wait, as in the JDK. A platform thread waits in [`poll`] (one
//! descriptor, against a deadline) or [`poll_any`] (the attempts of a racing
//! connect). A virtual thread never blocks its carrier: it arms its descriptor in
//! one of the virtual-thread pollers (an epoll instance, see [`epoll_create`]),
//! parks, and the poller's thread, waiting in [`epoll_wait`], unparks it when the
//! descriptor is ready. Registrations are one-shot: the event disarms the
//! descriptor and a thread that must wait again arms it again. [`epoll_delete`]
//! removes a descriptor before it is closed, as the JDK's poller does.

use crate::error::{NetError, NetResult, Op};
use crate::sock::{bad_argument, borrow, last_errno};
use std::os::fd::RawFd;

/// Readable, or a connection is waiting to be accepted (the kernel's value).
pub const POLLIN: i16 = libc::POLLIN;
/// Writable, or a connect finished.
pub const POLLOUT: i16 = libc::POLLOUT;

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

/// Removes `fd` from `epfd`; a descriptor that was never added (or whose registration
/// the kernel dropped) is not an error. Called before the descriptor is closed.
pub fn epoll_delete(epfd: RawFd, fd: RawFd) -> NetResult<()> {
    borrow(epfd)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sock::tests::trio;
    use crate::sock::{close, shutdown, write, Shutdown};

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

    #[test]
    fn deleted_descriptors_are_not_reported() {
        let t = trio();
        let ep = epoll_create().unwrap();
        epoll_arm(ep, t.server, POLLIN).unwrap();
        epoll_delete(ep, t.server).unwrap();
        // deleting twice, or what was never added, is fine
        epoll_delete(ep, t.server).unwrap();
        epoll_delete(ep, t.client).unwrap();
        write(t.client, b"x").unwrap();
        let mut ready = [0i32; 8];
        assert_eq!(epoll_wait(ep, &mut ready, 100).unwrap(), 0);
        close(ep);
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
}
