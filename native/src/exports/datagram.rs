//! The `native` methods of `io.rustsocket.internal.NativeDatagram`, over the datagram
//! core [`crate::udp`]. Set-up calls run under [`run`], the data path (send, receive
//! and the batches) under [`hot`].

use super::{
    hot, ip_arg, non_negative, port_arg, require, run, scope_arg, with_staging, Outcome, RawEnv,
};
use crate::addr::{self, WIRE_LEN};
use crate::error::{ExceptionClass, NetError, NetResult};
use crate::sock::UNAVAILABLE;
use crate::udp::{self, BatchScratch, MAX_BATCH, MAX_DATAGRAM, MAX_UDP_BYTES};
use jni::objects::{JByteArray, JClass, JFieldID};
use jni::sys::{jboolean, jbyteArray, jint, jintArray, jobject};
use jni::{jni_mangle, jni_sig, jni_str, EnvUnowned};
use socket2::SockAddr;
use std::cell::RefCell;
use std::sync::OnceLock;

/// `DatagramPacket.length` and `DatagramPacket.bufLength`. A receive must
/// honour the packet's buffer length (`bufLength`), which a receive leaves as
/// it was while it sets `length`; `getLength()` only shows `length`, so a
/// packet reused for a second receive would shrink to the first datagram. The
/// JDK's own socket code reads the private field; JNI may too.
static PACKET_FIELDS: OnceLock<Option<(JFieldID, JFieldID)>> = OnceLock::new();

/// Looks up the private `DatagramPacket` fields a receive needs; returns
/// whether they exist (if not, Java falls back to `getLength`/`setLength`).
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn init<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> jboolean {
    run(&mut env, |env| {
        let fields = PACKET_FIELDS.get_or_init(|| {
            let class = jni_str!("java/net/DatagramPacket");
            let length = env.get_field_id(class, jni_str!("length"), jni_sig!("I"));
            let length = length.and_then(|l| {
                env.get_field_id(class, jni_str!("bufLength"), jni_sig!("I"))
                    .map(|b| (l, b))
            });
            match length {
                Ok(fields) => Some(fields),
                Err(_) => {
                    if env.exception_check() {
                        env.exception_clear();
                    }
                    log::warn!("DatagramPacket fields not found: receive uses getLength()");
                    None
                }
            }
        });
        Ok(fields.is_some())
    })
}

/// Where a receive stores a datagram: `b[off..off+cap]`, or, when `cap` is negative, the
/// packet's whole buffer from `off` (its `bufLength`, when [`init`] found the field), checked
/// against `b`. Returns the offset and the room.
pub(super) fn receive_room(
    raw: RawEnv,
    packet: jobject,
    b: jbyteArray,
    off: jint,
    cap: jint,
) -> Outcome<(usize, usize)> {
    let cap = match *PACKET_FIELDS.get().unwrap_or(&None) {
        Some((_, buf_length)) if cap < 0 => {
            require(packet, "packet")?;
            raw.get_int_field(packet, buf_length)?
        }
        _ => cap,
    };
    Ok(raw.range(b, off, cap, "buffer")?)
}

/// Sets the packet's `length` to the bytes a receive stored (when there is a packet and
/// [`init`] found the field; otherwise Java sets it).
pub(super) fn set_received_length(raw: RawEnv, packet: jobject, stored: usize) -> Outcome<()> {
    if let (Some((length, _)), false) = (*PACKET_FIELDS.get().unwrap_or(&None), packet.is_null()) {
        raw.set_int_field(packet, length, stored as jint)?;
    }
    Ok(())
}

/// Opens a UDP socket and returns its descriptor.
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn open<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> jint {
    run(&mut env, |_| Ok(udp::open_datagram()?))
}

/// Connects to a peer (a filter for receives, the default target for sends).
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn connect<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    ip: JByteArray<'local>,
    scope_id: jint,
    port: jint,
) {
    run(&mut env, |env| {
        let ip = ip_arg(env, &ip)?;
        Ok(udp::connect(fd, ip, scope_arg(scope_id)?, port_arg(port)?)?)
    })
}

/// Removes the peer and binds the socket again to `ip`:`port` (scope `scope_id`), the local
/// address it had before connecting, when the kernel dropped it.
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn disconnect<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    ip: JByteArray<'local>,
    scope_id: jint,
    port: jint,
) {
    run(&mut env, |env| {
        let ip = ip_arg(env, &ip)?;
        Ok(udp::disconnect(
            fd,
            ip,
            scope_arg(scope_id)?,
            port_arg(port)?,
        )?)
    })
}

/// Joins (`join`) or leaves the multicast group `group` on interface `ifindex`.
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn membership<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    group: JByteArray<'local>,
    ifindex: jint,
    join: jboolean,
) {
    run(&mut env, |env| {
        let group = ip_arg(env, &group)?;
        let ifindex = non_negative(ifindex, "interface index")? as u32;
        Ok(udp::membership(fd, group, ifindex, join)?)
    })
}

/// Reads a target address (wire layout of [`addr`]) from `array[at..]`.
fn read_wire(raw: RawEnv, array: jbyteArray, at: usize) -> Outcome<[u8; WIRE_LEN]> {
    let mut wire = [0u8; WIRE_LEN];
    raw.get_bytes(array, at, &mut wire)?;
    Ok(wire)
}

/// sendto(2) of `b[off..off+len]` to the address in `target` (wire layout of
/// [`addr`]; `null` for the connected peer). Returns the bytes sent, or -2 when
/// a non-blocking descriptor's buffer is full.
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn send<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    b: jbyteArray,
    off: jint,
    len: jint,
    target: jbyteArray,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let (off, len) = raw.range(b, off, len, "buffer")?;
        let to = if target.is_null() {
            None
        } else {
            raw.at_least(target, WIRE_LEN, "target")?;
            udp::target_from_wire(&read_wire(raw, target, 0)?)?
        };
        // a datagram is sent whole; past MAX_UDP_BYTES the kernel refuses it whatever the
        // length, so staging no more still gets its "Message too long"
        let staged = len.min(MAX_UDP_BYTES + 1);
        with_staging(staged, |buf| {
            raw.get_bytes(b, off, buf)?;
            Ok(udp::send(fd, buf, to.as_ref())?)
        })
    })
}

/// recvfrom(2) into `b[off..off+cap]`, or, when `cap` is negative, into
/// `b[off..off+packet.bufLength]`; then sets `packet.length` (when the fields
/// exist). The sender goes to `sender` in the wire layout of [`addr`]. Returns
/// the bytes stored, or -2 when nothing was queued or a close woke the call.
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
#[allow(clippy::too_many_arguments)]
pub fn receive<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    packet: jobject,
    b: jbyteArray,
    off: jint,
    cap: jint,
    sender: jbyteArray,
    peek: jboolean,
    connected: jboolean,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let (off, cap) = receive_room(raw, packet, b, off, cap)?;
        raw.at_least(sender, WIRE_LEN, "sender")?;
        // IPv6 datagrams may be longer than IPv4's 65,507 bytes
        let cap = cap.min(MAX_UDP_BYTES);
        // An empty buffer would make recvfrom return at once on some systems; the
        // JDK receives into one byte then, and so do we (the datagram is cut to 0).
        with_staging(cap.max(1), |buf| {
            let r = udp::receive(fd, buf, peek, connected)?;
            if r.len == UNAVAILABLE {
                return Ok(UNAVAILABLE);
            }
            let stored = (r.len as usize).min(cap);
            raw.set_bytes(b, off, &buf[..stored])?;
            let mut wire = [0u8; WIRE_LEN];
            if let Some(from) = r.from {
                addr::encode(&from, &mut wire);
            }
            raw.set_bytes(sender, 0, &wire)?;
            set_received_length(raw, packet, stored)?;
            Ok(stored as jint)
        })
    })
}

/// Up to this many bytes of slots, a batch copies its whole slot range to or from Java at once.
const WHOLE_COPY_LIMIT: usize = 64 * 1024;

/// Per-thread buffers of the batched calls, so that the steady state allocates nothing.
struct BatchState {
    scratch: BatchScratch,
    data: Vec<u8>,
    lens: Vec<usize>,
    got: Vec<i32>,
    truncated: Vec<bool>,
    wires: Vec<[u8; WIRE_LEN]>,
    targets: Vec<Option<SockAddr>>,
}

thread_local! {
    static BATCH: RefCell<BatchState> = const {
        RefCell::new(BatchState {
            scratch: BatchScratch::new(),
            data: Vec::new(),
            lens: Vec::new(),
            got: Vec::new(),
            truncated: Vec::new(),
            wires: Vec::new(),
            targets: Vec::new(),
        })
    };
}

/// The shape of a batch call: the slot size, the first slot and how many slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    slot: usize,
    from: usize,
    count: usize,
}

fn batch_shape(slot: jint, from: jint, count: jint) -> NetResult<Shape> {
    let bad = |m: String| NetError::new(ExceptionClass::IllegalArgument, m);
    let slot = usize::try_from(slot)
        .ok()
        .filter(|s| (1..=MAX_DATAGRAM + 1).contains(s))
        .ok_or_else(|| bad(format!("slot size {slot}")))?;
    let from = non_negative(from, "first slot")?;
    let count = non_negative(count, "datagram count")?;
    if count > MAX_BATCH {
        return Err(bad(format!(
            "batch of {count} datagrams (at most {MAX_BATCH})"
        )));
    }
    Ok(Shape { slot, from, count })
}

impl Shape {
    /// Checks every array of a batch call against the slots it names: `data` holds
    /// `(from + count) * slot` bytes, `lens` one int and `addresses` one wire address per slot.
    fn check(
        self,
        raw: RawEnv,
        data: jbyteArray,
        lens: jintArray,
        addresses: jbyteArray,
    ) -> NetResult<()> {
        let end = self.from + self.count;
        raw.at_least(data, end * self.slot, "data")?;
        raw.at_least(lens, end, "lens")?;
        raw.at_least(addresses, end * WIRE_LEN, "addresses")?;
        Ok(())
    }
}

/// sendmmsg(2) of slots `from..from+count` of a batch: slot `i` holds
/// `lens[i]` bytes at `data[i * slot..]` for the address `targets[i * 23..]`
/// (byte 0 zero: the connected peer). Returns how many datagrams were sent,
/// counted from `from`, or -2 when a non-blocking descriptor could send none.
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
#[allow(clippy::too_many_arguments)]
pub fn send_batch<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    data: jbyteArray,
    slot: jint,
    lens: jintArray,
    targets: jbyteArray,
    from: jint,
    count: jint,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let shape = batch_shape(slot, from, count)?;
        shape.check(raw, data, lens, targets)?;
        let Shape { slot, from, count } = shape;
        // the datagrams go end to end into the buffer: it needs their total length, not
        // `count` whole slots
        with_batch(|st| {
            st.got.resize(count, 0);
            raw.get_ints(lens, from, &mut st.got)?;
            st.lens.clear();
            for &l in &st.got {
                st.lens.push(non_negative(l, "datagram length")?.min(slot));
            }
            let total: usize = st.lens.iter().sum();
            let whole = count * slot <= WHOLE_COPY_LIMIT;
            let need = if whole { count * slot } else { total };
            if st.data.len() < need {
                st.data.resize(need, 0);
            }
            if whole {
                // small slots: one copy of the whole range beats one JNI call per datagram; then
                // each datagram moves down to follow the one before (never past its own slot)
                raw.get_bytes(data, from * slot, &mut st.data[..count * slot])?;
                let mut at = 0;
                for (i, &len) in st.lens.iter().enumerate() {
                    st.data.copy_within(i * slot..i * slot + len, at);
                    at += len;
                }
            } else {
                let mut at = 0;
                for (i, &len) in st.lens.iter().enumerate() {
                    raw.get_bytes(data, (from + i) * slot, &mut st.data[at..at + len])?;
                    at += len;
                }
            }
            st.wires.resize(count, [0u8; WIRE_LEN]);
            raw.get_bytes(
                targets,
                from * WIRE_LEN,
                st.wires[..count].as_flattened_mut(),
            )?;
            st.targets.clear();
            for i in 0..count {
                // a run of datagrams to one peer decodes its address once
                let target = if i > 0 && st.wires[i] == st.wires[i - 1] {
                    st.targets[i - 1].clone()
                } else {
                    udp::target_from_wire(&st.wires[i])?
                };
                st.targets.push(target);
            }
            Ok(udp::send_batch(
                fd,
                &mut st.scratch,
                &st.data[..total],
                &st.lens,
                &st.targets,
            )?)
        })
    })
}

/// Runs `f` on this thread's batch buffers, then gives back what a large batch took.
fn with_batch(f: impl FnOnce(&mut BatchState) -> Outcome<i32>) -> Outcome<i32> {
    BATCH.with(|cell| {
        let st = &mut *cell.borrow_mut();
        let result = f(st);
        trim(&mut st.data);
        result
    })
}

/// Bytes of batch buffer a thread keeps between calls. A batch of 1024 full slots takes 67 MB;
/// a thread that sent or received one once should not hold that for the rest of its life.
const RETAINED_BATCH_BYTES: usize = 1 << 20;

/// Gives back the part of a batch buffer beyond [`RETAINED_BATCH_BYTES`].
fn trim(buf: &mut Vec<u8>) {
    if buf.capacity() > RETAINED_BATCH_BYTES {
        buf.truncate(RETAINED_BATCH_BYTES);
        buf.shrink_to(RETAINED_BATCH_BYTES);
    }
}

/// recvmmsg(2) into slots `from..from+count` of a batch: with `wait`, waits (on a
/// blocking descriptor) for the first datagram, then takes what is already queued;
/// without, takes only what is queued. For each datagram, its bytes go to
/// `data[i * slot..]`, its stored length to `lens[i]` (negated and minus one when
/// it was truncated to the slot) and its sender to `senders[i * 23..]`. Returns
/// how many, or -2 when none.
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
#[allow(clippy::too_many_arguments)]
pub fn receive_batch<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    data: jbyteArray,
    slot: jint,
    lens: jintArray,
    senders: jbyteArray,
    from: jint,
    count: jint,
    connected: jboolean,
    wait: jboolean,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let shape = batch_shape(slot, from, count)?;
        shape.check(raw, data, lens, senders)?;
        let Shape { slot, from, count } = shape;
        with_batch(|st| {
            if st.data.len() < count * slot {
                st.data.resize(count * slot, 0);
            }
            st.got.resize(count, 0);
            st.truncated.resize(count, false);
            st.wires.resize(count, [0u8; WIRE_LEN]);
            let n = udp::receive_batch(
                fd,
                &mut st.scratch,
                &mut st.data[..count * slot],
                slot,
                &mut st.got,
                &mut st.truncated,
                &mut st.wires,
                connected,
                wait,
            )?;
            if n == UNAVAILABLE {
                return Ok(UNAVAILABLE);
            }
            let n = n as usize;
            let first = from * slot;
            if n * slot <= WHOLE_COPY_LIMIT {
                // small slots: one copy of all of them, the bytes past each datagram zeroed
                // (never another datagram's leftovers)
                for i in 0..n {
                    st.data[i * slot + st.got[i] as usize..(i + 1) * slot].fill(0);
                }
                raw.set_bytes(data, first, &st.data[..n * slot])?;
            } else {
                for i in 0..n {
                    let len = st.got[i] as usize;
                    raw.set_bytes(data, first + i * slot, &st.data[i * slot..i * slot + len])?;
                }
            }
            for i in 0..n {
                if st.truncated[i] {
                    st.got[i] = -st.got[i] - 1;
                }
            }
            raw.set_bytes(senders, from * WIRE_LEN, st.wires[..n].as_flattened())?;
            raw.set_ints(lens, from, &st.got[..n])?;
            Ok(n as jint)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_shapes_are_checked() {
        let shape = batch_shape(512, 3, 64).unwrap();
        assert_eq!((shape.slot, shape.from, shape.count), (512, 3, 64));
        assert!(batch_shape(0, 0, 1).is_err());
        assert!(batch_shape(MAX_DATAGRAM as jint + 2, 0, 1).is_err());
        assert!(batch_shape(1, -1, 1).is_err());
        let e = batch_shape(1, 0, -1).unwrap_err();
        assert_eq!(e.class, ExceptionClass::IllegalArgument);
        assert!(batch_shape(1, 0, MAX_BATCH as jint + 1).is_err());
    }

    #[test]
    fn a_large_batch_buffer_is_given_back() {
        let mut buf = vec![0u8; 1024 * 65_508];
        trim(&mut buf);
        assert!(buf.capacity() <= RETAINED_BATCH_BYTES);
        let mut small = vec![0u8; 4096];
        let kept = small.as_ptr();
        trim(&mut small);
        assert_eq!(
            (small.len(), small.as_ptr()),
            (4096, kept),
            "a small one stays"
        );
    }
}
