//! The Unix datagram exports of `io.rustsocket.internal.NativeDatagram`, over
//! [`crate::local_datagram`]. Sockets are opened, bound, named and paired through `Native`'s
//! Unix exports ([`super::local`]); the connect here is the datagram one. Sends and receives
//! are on the data path, under [`hot`].

use super::datagram::{receive_room, set_received_length};
use super::local::name_arg;
use super::{hot, run, with_staging, Outcome, RawEnv};
use crate::error::{ExceptionClass, NetError};
use crate::local;
use crate::local_datagram;
use crate::sock::UNAVAILABLE;
use jni::objects::{JByteArray, JClass};
use jni::sys::{jboolean, jbyteArray, jint, jobject};
use jni::{jni_mangle, EnvUnowned};

/// Bytes of the `sender` array of [`unix_receive`]: a length byte, then the name as
/// [`local::name_to_java`] gives it (a kind byte and at most 108 bytes of path).
pub const SENDER_LEN: usize = 128;

/// A datagram up to this long goes through the thread's staging buffer, which keeps its size
/// between calls (more than any UDP datagram, and the largest Unix one Linux's default buffer
/// sizes allow); a longer one gets a buffer of its own, so no thread keeps more than this.
const STAGING_KEPT: usize = 256 * 1024;

fn with_buffer<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    if len <= STAGING_KEPT {
        with_staging(len, f)
    } else {
        f(&mut vec![0u8; len])
    }
}

/// Connects a Unix datagram socket to `name` (a filter for receives, the target of sends
/// without one) and discards what was queued before.
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn unix_connect<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    name: JByteArray<'local>,
) {
    run(&mut env, |env| {
        Ok(local_datagram::connect(fd, &name_arg(env, &name)?)?)
    })
}

/// Reads a target name (`name[..]`, see [`local::to_kernel`]).
fn read_name(raw: RawEnv, name: jbyteArray) -> Outcome<Vec<u8>> {
    let len = raw.at_least(name, 0, "name")?;
    let mut bytes = vec![0u8; len];
    raw.get_bytes(name, 0, &mut bytes)?;
    Ok(bytes)
}

/// sendto(2) of `b[off..off+len]` to the Unix name `name` (`null`: the connected peer),
/// without waiting. Returns the bytes sent, or -2 when the datagram cannot go now.
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn unix_send<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    b: jbyteArray,
    off: jint,
    len: jint,
    name: jbyteArray,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let (off, len) = raw.range(b, off, len, "buffer")?;
        let to = if name.is_null() {
            None
        } else {
            Some(local::to_kernel(&read_name(raw, name)?)?)
        };
        with_buffer(len, |buf| {
            raw.get_bytes(b, off, buf)?;
            Ok(local_datagram::send(fd, buf, to.as_ref())?)
        })
    })
}

/// recvfrom(2) into `b[off..off+cap]`, or, when `cap` is negative, into
/// `b[off..off+packet.bufLength]`, then sets `packet.length` (when the fields exist). The
/// sender's name goes to `sender`: its length, then the name (a kind byte first). Returns the
/// bytes stored, or -2 when nothing was queued. A shutdown's wake-up returns 0 bytes from an
/// unnamed sender, as an empty datagram would: the caller checks whether it is closing.
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
#[allow(clippy::too_many_arguments)]
pub fn unix_receive<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    packet: jobject,
    b: jbyteArray,
    off: jint,
    cap: jint,
    sender: jbyteArray,
    peek: jboolean,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let (off, cap) = receive_room(raw, packet, b, off, cap)?;
        raw.at_least(sender, SENDER_LEN, "sender")?;
        // an empty buffer would make recvfrom return at once on some systems: receive into
        // one byte, and cut the datagram to none, as for UDP
        with_buffer(cap.max(1), |buf| {
            let r = local_datagram::receive(fd, buf, peek)?;
            if r.len == UNAVAILABLE {
                return Ok(UNAVAILABLE);
            }
            let stored = (r.len as usize).min(cap);
            raw.set_bytes(b, off, &buf[..stored])?;
            let name = r.from.as_ref().map(local::name_to_java).unwrap_or_default();
            if name.len() >= SENDER_LEN {
                return Err(NetError::new(
                    ExceptionClass::Socket,
                    format!("a sender's name of {} bytes", name.len()),
                )
                .into());
            }
            let mut wire = [0u8; SENDER_LEN];
            wire[0] = name.len() as u8;
            wire[1..=name.len()].copy_from_slice(&name);
            raw.set_bytes(sender, 0, &wire[..=name.len()])?;
            set_received_length(raw, packet, stored)?;
            Ok(stored as jint)
        })
    })
}

/// Removes the peer of a Unix datagram socket (its own name stays).
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn unix_disconnect<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>, fd: jint) {
    run(&mut env, |_| Ok(local_datagram::disconnect(fd)?))
}
