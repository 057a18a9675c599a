//! The virtual-thread pollers where there is no epoll: kqueue on macOS and AFD (the driver
//! behind IOCP) on Windows, both through the `polling` crate, which registers sockets it does
//! not own with one-shot interest, as the pollers need.
//!
//! A poller handle is an index into a process-wide table (plus one, so that 0 is never a
//! handle), which keeps each poller alive while a call uses it even if another thread closes
//! the handle meanwhile.

use super::{borrow, Fd, POLL_READ};
use crate::error::{ExceptionClass, NetError, NetResult, Op};
use polling::{Event, Events, Poller};
use std::cell::RefCell;
use std::io::ErrorKind;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static POLLERS: Mutex<Vec<Option<Arc<Poller>>>> = Mutex::new(Vec::new());

fn io_err(e: &std::io::Error) -> NetError {
    NetError::from_io(Op::Control, e)
}

fn table() -> std::sync::MutexGuard<'static, Vec<Option<Arc<Poller>>>> {
    // a panic while the table was held cannot have left it inconsistent: keep using it
    POLLERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The poller behind a handle.
fn get(handle: i64) -> NetResult<Arc<Poller>> {
    usize::try_from(handle - 1)
        .ok()
        .and_then(|i| table().get(i).cloned().flatten())
        .ok_or_else(|| NetError::new(ExceptionClass::Socket, format!("no poller {handle}")))
}

/// Creates a virtual-thread poller and returns its handle.
pub fn poller_create() -> NetResult<i64> {
    let poller = Arc::new(Poller::new().map_err(|e| io_err(&e))?);
    let mut t = table();
    let index = match t.iter().position(Option::is_none) {
        Some(free) => {
            t[free] = Some(poller);
            free
        }
        None => {
            t.push(Some(poller));
            t.len() - 1
        }
    };
    Ok(index as i64 + 1)
}

/// Releases a poller; a call still using it keeps it alive until the call returns.
pub fn poller_close(handle: i64) {
    if let Ok(i) = usize::try_from(handle - 1) {
        if let Some(slot) = table().get_mut(i) {
            *slot = None;
        }
    }
}

/// Arms `fd` for one readiness event (`POLL_READ` or `POLL_WRITE`), one-shot, adding it to the
/// poller the first time.
pub fn poller_arm(handle: i64, fd: Fd, events: i16) -> NetResult<()> {
    let poller = get(handle)?;
    let socket = borrow(fd)?;
    let key = fd as usize;
    let interest = if events & POLL_READ != 0 {
        Event::readable(key)
    } else {
        Event::writable(key)
    };
    match poller.modify(socket, interest) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            // SAFETY: the socket stays open until it is deleted from the poller: Java removes
            // it (poller_delete) before the descriptor is closed.
            unsafe { poller.add(&socket, interest) }.map_err(|e| io_err(&e))
        }
        Err(e) => Err(io_err(&e)),
    }
}

/// Edge-triggered registration ([`crate::poller`]'s `poller_watch`) is Linux's alone: the
/// `polling` crate has no edge mode on Windows, and these systems keep one-shot arming (their
/// `CAPABILITIES` leave the edge-triggered bit out, so Java never calls this).
pub fn poller_watch(_handle: i64, _fd: Fd, _events: i16) -> NetResult<()> {
    Err(NetError::new(
        ExceptionClass::UnsupportedOperation,
        "edge-triggered pollers are Linux only".to_string(),
    ))
}

/// Removes `fd` from the poller; one that was never added is not an error.
pub fn poller_delete(handle: i64, fd: Fd) -> NetResult<()> {
    let poller = get(handle)?;
    match poller.delete(borrow(fd)?) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(&e)),
    }
}

/// Removes `fd` from every poller, just before it is closed. Closing a descriptor removes it
/// from epoll and kqueue, but an AFD poller (Windows) keeps the registration under the handle's
/// value, and the next socket given the same value would find it and never see its readiness
/// reported. Java deletes what it armed before closing, but a descriptor may also be closed by
/// the Cleaner, or replaced by the winner of a racing connect while armed.
#[cfg(windows)]
pub(crate) fn forget(fd: Fd) {
    let Ok(socket) = borrow(fd) else {
        return;
    };
    for poller in table().iter().flatten() {
        match poller.delete(socket) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => log::warn!("fd {fd}: not removed from a poller: {e}"),
        }
    }
}

thread_local! {
    // each poller thread reuses one event buffer, as large as the array it fills (no event may
    // be taken from the poller without a place in that array: it is one-shot)
    static EVENTS: RefCell<Option<Events>> = const { RefCell::new(None) };
}

/// The longest single wait of a Windows poller (see [`next_wait`]).
const WINDOWS_WAIT_SLICE: Duration = Duration::from_millis(100);

/// How long the next wait toward `deadline` (None: no limit) may last. On Windows no wait
/// lasts longer than [`WINDOWS_WAIT_SLICE`]: the `polling` crate (3.11) can leave an arming
/// in its queue of pending updates while its thread waits. An arming made while the poller's
/// thread is between two waits is queued, to be submitted when the next wait starts; but the
/// arming thread decides to queue (reading that no wait is in progress) before it pushes, and
/// if the poller's thread starts its wait and empties the queue in between, the arming is
/// submitted only when a later wait starts. With no other event on that poller, that is
/// never, and the parked thread would hang. Each wait submits what is queued when it starts,
/// so slices bound such a delay by the slice, at the cost of a few wake-ups per second of an
/// idle poller thread.
fn next_wait(deadline: Option<Instant>) -> Option<Duration> {
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    if cfg!(windows) {
        Some(left.map_or(WINDOWS_WAIT_SLICE, |l| l.min(WINDOWS_WAIT_SLICE)))
    } else {
        left
    }
}

/// Waits up to `timeout_ms` (negative: no limit) for armed descriptors and writes the ready
/// ones into `ready`. Returns how many; 0 on timeout.
pub fn poller_wait(handle: i64, ready: &mut [i32], timeout_ms: i32) -> NetResult<usize> {
    let poller = get(handle)?;
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| Instant::now() + Duration::from_millis(ms));
    let Some(capacity) = NonZeroUsize::new(ready.len()) else {
        return Ok(0);
    };
    EVENTS.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().map(Events::capacity) != Some(capacity) {
            *slot = Some(Events::with_capacity(capacity));
        }
        let events = slot.as_mut().expect("made above");
        events.clear();
        loop {
            match poller.wait(events, next_wait(deadline)) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(0),
                Err(e) => return Err(io_err(&e)),
            }
            let passed = deadline.is_some_and(|d| Instant::now() >= d);
            if !events.is_empty() || passed {
                break;
            }
        }
        let mut n = 0;
        for (slot, event) in ready.iter_mut().zip(events.iter()) {
            *slot = event.key as i32;
            n += 1;
        }
        Ok(n)
    })
}

/// Only Linux's edge-triggered pollers need to know whether a read emptied the socket; these
/// pollers are one-shot, so the reads never ask.
pub fn notice_empty_reads(fd: Fd) -> NetResult<bool> {
    borrow(fd)?;
    Ok(false)
}
