//! The readiness exports of `io.rustsocket.internal.Native`: `poll` for platform
//! threads and the virtual-thread pollers (see [`crate::poller`]).

use super::{hot, in_bounds, non_negative, require, run, RawEnv};
use crate::error::{ExceptionClass, NetError};
use crate::poller::{self, MAX_POLL_ANY, POLLIN, POLLOUT};
use jni::objects::{JClass, JIntArray};
use jni::sys::{jint, jintArray, jlong};
use jni::{jni_mangle, EnvUnowned};

/// Most descriptors one [`poller_wait`] reports.
const MAX_READY: usize = 256;

/// The events a wait may ask for: readable, writable, or both.
fn events_arg(events: jint) -> Result<i16, NetError> {
    let all = i32::from(POLLIN | POLLOUT);
    if events == 0 || events & !all != 0 {
        return Err(NetError::new(
            ExceptionClass::IllegalArgument,
            format!("poll events {events:#x} (POLLIN and/or POLLOUT only)"),
        ));
    }
    Ok(events as i16)
}

/// poll(2) on one descriptor: the events seen, 0 on timeout or signal.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn poll<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    events: jint,
    timeout_ms: jint,
) -> jint {
    hot(&env, |_| {
        Ok(jint::from(poller::poll(
            fd,
            events_arg(events)?,
            timeout_ms,
        )?))
    })
}

/// poll(2) on the first `count` (at most 64) descriptors of `fds`; each one's events go into
/// `revents`. Returns how many are ready, 0 on timeout or signal.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn poll_any<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fds: jintArray,
    count: jint,
    events: jint,
    timeout_ms: jint,
    revents: jintArray,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let count = non_negative(count, "descriptor count")?;
        if count > MAX_POLL_ANY {
            return Err(NetError::new(
                ExceptionClass::IllegalArgument,
                format!("{count} descriptors (at most {MAX_POLL_ANY})"),
            )
            .into());
        }
        let events = events_arg(events)?;
        raw.at_least(fds, count, "fds")?;
        raw.at_least(revents, count, "revents")?;
        let mut wanted = [0i32; MAX_POLL_ANY];
        raw.get_ints(fds, 0, &mut wanted[..count])?;
        let mut seen = [0i16; MAX_POLL_ANY];
        let n = poller::poll_any(&wanted[..count], events, &mut seen, timeout_ms)?;
        let mut out = [0i32; MAX_POLL_ANY];
        for (o, s) in out.iter_mut().zip(&seen[..count]) {
            *o = jint::from(*s);
        }
        raw.set_ints(revents, 0, &out[..count])?;
        Ok(n as jint)
    })
}

/// Creates a virtual-thread poller and returns its handle.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn poller_create<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> jlong {
    run(&mut env, |_| Ok(poller::poller_create()?))
}

/// Releases a poller made by [`poller_create`].
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn poller_close<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>, poller: jlong) {
    run(&mut env, |_| {
        poller::poller_close(poller);
        Ok(())
    })
}

/// Arms `fd` in poller `poller` for one `POLLIN` or `POLLOUT` event.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn poller_arm<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    poller: jlong,
    fd: jint,
    events: jint,
) {
    hot(&env, |_| {
        Ok(poller::poller_arm(poller, fd, events_arg(events)?)?)
    })
}

/// Adds `fd` to poller `poller` for good, edge-triggered, for `POLLIN` or `POLLOUT` (Linux:
/// the platform's capabilities say whether the system has it).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn poller_watch<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    poller: jlong,
    fd: jint,
    events: jint,
) {
    run(&mut env, |_| {
        Ok(poller::poller_watch(poller, fd, events_arg(events)?)?)
    })
}

/// Removes `fd` from poller `poller`; nothing happens if it is not there.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn poller_delete<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    poller: jlong,
    fd: jint,
) {
    run(&mut env, |_| Ok(poller::poller_delete(poller, fd)?))
}

/// Waits up to `timeout_ms` (negative: no limit) for armed descriptors, writes the ready
/// ones into `ready` (at most 256) and returns how many; 0 on timeout or signal.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn poller_wait<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    poller: jlong,
    ready: JIntArray<'local>,
    timeout_ms: jint,
) -> jint {
    run(&mut env, |env| {
        require(ready.as_raw(), "ready")?;
        let len = ready.len(env)?;
        in_bounds(0, 1, len)?;
        let mut buf = [0i32; MAX_READY];
        let n = poller::poller_wait(poller, &mut buf[..len.min(MAX_READY)], timeout_ms)?;
        ready.set_region(env, 0, &buf[..n])?;
        Ok(n as jint)
    })
}
