//! Batched datagrams where the system has no `sendmmsg`/`recvmmsg` (macOS, Windows): the same
//! contract as Linux's `mmsg` module, kept by a loop of single sends and receives in one native
//! call. The batch API stays the same on every system; only the system calls per datagram differ.

use super::Fd;
use crate::addr::{self, WIRE_LEN};
use crate::error::NetResult;
use crate::sock::{bad_argument, UNAVAILABLE};
use crate::udp::{self, check_count, check_receive_batch};
use socket2::SockAddr;

/// Nothing to keep between calls here; the type exists so that callers are the same on every
/// system.
#[derive(Default)]
pub struct BatchScratch;

impl BatchScratch {
    /// An empty scratch.
    pub const fn new() -> Self {
        BatchScratch
    }
}

/// Sends `lens.len()` datagrams one by one: they lie end to end in `data`, datagram `i`
/// addressed to `targets[i]` (`None`: the connected peer). Returns how many were sent, counted
/// from the first; fewer than asked when one would block or failed (sending from there again
/// reports why). [`UNAVAILABLE`] when none could be sent without blocking; an error only when
/// the first failed.
pub fn send_batch(
    fd: Fd,
    _scratch: &mut BatchScratch,
    data: &[u8],
    lens: &[usize],
    targets: &[Option<SockAddr>],
) -> NetResult<i32> {
    let count = lens.len();
    check_count(count)?;
    if targets.len() != count {
        return Err(bad_argument("one target per datagram".into()));
    }
    let mut at = 0;
    for (i, (&len, target)) in lens.iter().zip(targets).enumerate() {
        let datagram = data
            .get(at..at + len)
            .ok_or_else(|| bad_argument("the datagrams overrun the data".into()))?;
        match udp::send(fd, datagram, target.as_ref()) {
            Ok(UNAVAILABLE) if i == 0 => return Ok(UNAVAILABLE),
            Ok(UNAVAILABLE) => return Ok(i as i32),
            Ok(_) => at += len,
            Err(e) if i == 0 => return Err(e),
            Err(_) => return Ok(i as i32),
        }
    }
    Ok(count as i32)
}

/// Receives up to `lens.len()` datagrams one by one into the slots of `data` (`slot` bytes
/// each): their stored lengths go to `lens`, whether each was cut to its slot to `truncated`,
/// their senders (wire layout) to `senders`. Takes only what is queued (the sockets here are
/// non-blocking; the caller waits for the first). Returns how many, or [`UNAVAILABLE`] when none.
#[allow(clippy::too_many_arguments)]
pub fn receive_batch(
    fd: Fd,
    _scratch: &mut BatchScratch,
    data: &mut [u8],
    slot: usize,
    lens: &mut [i32],
    truncated: &mut [bool],
    senders: &mut [[u8; WIRE_LEN]],
    connected: bool,
    _wait: bool,
) -> NetResult<i32> {
    check_receive_batch(slot, data.len(), lens, truncated, senders)?;
    let count = lens.len();
    let mut got = 0;
    while got < count {
        let r = match udp::receive(
            fd,
            &mut data[got * slot..(got + 1) * slot],
            false,
            connected,
        ) {
            Ok(r) => r,
            // what arrived is returned; the error belongs to a later receive
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        };
        if r.len == UNAVAILABLE {
            break;
        }
        lens[got] = r.len;
        truncated[got] = r.truncated;
        senders[got] = [0u8; WIRE_LEN];
        if let Some(from) = r.from {
            addr::encode(&from, &mut senders[got]);
        }
        got += 1;
    }
    Ok(if got == 0 { UNAVAILABLE } else { got as i32 })
}
