//! The JNI layer of the datagram core: the `native` methods of
//! `io.rustsocket.internal.NativeDatagram`.
//!
//! Same rules as [`crate::exports`], whose helpers it shares: set-up calls run
//! under [`run`], the data path (send, receive and the batches) under [`hot`],
//! and every failure becomes its Java exception through [`crate::exports::ThrowJava`].

use crate::addr::{self, WIRE_LEN};
use crate::error::{ExceptionClass, NetError, NetResult};
use crate::exports::{
    get_array_region, hot, ip_arg, non_null, port_arg, run, set_array_region, with_staging, Outcome,
};
use crate::sock::UNAVAILABLE;
use crate::udp::{self, BatchScratch, DatagramOption, MAX_BATCH, MAX_DATAGRAM, MAX_UDP_BYTES};
use jni::objects::{JByteArray, JClass, JFieldID};
use jni::sys::{jboolean, jbyteArray, jclass, jint, jintArray, jobject};
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
            let buf_length = env.get_field_id(class, jni_str!("bufLength"), jni_sig!("I"));
            match (length, buf_length) {
                (Ok(l), Ok(b)) => Some((l, b)),
                _ => {
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

fn get_int_field(raw: *mut jni::sys::JNIEnv, obj: jobject, field: JFieldID) -> jint {
    // SAFETY: a valid env, a live DatagramPacket and one of its int fields.
    unsafe { ((**raw).v1_1.GetIntField)(raw, obj, field.into_raw()) }
}

fn set_int_field(raw: *mut jni::sys::JNIEnv, obj: jobject, field: JFieldID, value: jint) {
    // SAFETY: as for get_int_field.
    unsafe { ((**raw).v1_1.SetIntField)(raw, obj, field.into_raw(), value) }
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
        Ok(udp::connect(fd, ip, scope_id as u32, port_arg(port)?)?)
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
        Ok(udp::disconnect(fd, ip, scope_id as u32, port_arg(port)?)?)
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
        Ok(udp::membership(fd, group, ifindex as u32, join)?)
    })
}

/// getsockopt(2) for one of [`DatagramOption`].
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn get_option<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    opt: jint,
) -> jint {
    run(&mut env, |_| {
        Ok(udp::get_option(fd, DatagramOption::from_java(opt)?)?)
    })
}

/// setsockopt(2) for one of [`DatagramOption`].
#[jni_mangle("io.rustsocket.internal.NativeDatagram")]
pub fn set_option<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    opt: jint,
    value: jint,
) {
    run(&mut env, |_| -> Outcome<()> {
        Ok(udp::set_option(fd, DatagramOption::from_java(opt)?, value)?)
    })
}

fn datagram_len(len: jint) -> NetResult<usize> {
    usize::try_from(len).map_err(|_| {
        NetError::new(
            ExceptionClass::IllegalArgument,
            format!("negative length {len}"),
        )
    })
}

fn read_wire(raw: *mut jni::sys::JNIEnv, array: jbyteArray, off: jint) -> [u8; WIRE_LEN] {
    let mut wire = [0u8; WIRE_LEN];
    get_array_region(raw, array, off, &mut wire);
    wire
}

/// sendto(2) of `b[off..off+len]` to the address in `target` (wire layout of
/// [`addr`]; `null` for the connected peer). Returns the bytes sent, or -2 when
/// a non-blocking descriptor's buffer is full.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_rustsocket_internal_NativeDatagram_send(
    env: *mut jni::sys::JNIEnv,
    _class: jclass,
    fd: jint,
    b: jbyteArray,
    off: jint,
    len: jint,
    target: jbyteArray,
) -> jint {
    hot(env, || {
        non_null(b)?;
        let len = datagram_len(len)?;
        let to = if target.is_null() {
            None
        } else {
            udp::target_from_wire(&read_wire(env, target, 0))?
        };
        // a datagram is sent whole; past MAX_UDP_BYTES the kernel refuses it whatever the
        // length, so staging no more still gets its "Message too long"
        let staged = len.min(MAX_UDP_BYTES + 1);
        with_staging(staged, |buf| {
            get_array_region(env, b, off, buf);
            udp::send(fd, buf, to.as_ref())
        })
    })
}

/// recvfrom(2) into `b[off..off+cap]`, or, when `cap` is negative, into
/// `b[off..off+packet.bufLength]`; then sets `packet.length` (when the fields
/// exist). The sender goes to `sender` in the wire layout of [`addr`]. Returns
/// the bytes stored, or -2 when nothing was queued or a close woke the call.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_rustsocket_internal_NativeDatagram_receive(
    env: *mut jni::sys::JNIEnv,
    _class: jclass,
    fd: jint,
    packet: jobject,
    b: jbyteArray,
    off: jint,
    cap: jint,
    sender: jbyteArray,
    peek: jboolean,
    connected: jboolean,
) -> jint {
    hot(env, || {
        non_null(b)?;
        non_null(sender)?;
        let fields = *PACKET_FIELDS.get().unwrap_or(&None);
        let cap = match (cap, fields) {
            (c, Some((_, buf_length))) if c < 0 && !packet.is_null() => {
                get_int_field(env, packet, buf_length)
            }
            (c, _) => c,
        };
        // IPv6 datagrams may be longer than IPv4's 65,507 bytes
        let cap = datagram_len(cap)?.min(MAX_UDP_BYTES);
        // An empty buffer would make recvfrom return at once on some systems; the
        // JDK receives into one byte then, and so do we (the datagram is cut to 0).
        with_staging(cap.max(1), |buf| {
            let r = udp::receive(fd, buf, peek, connected)?;
            if r.len == UNAVAILABLE {
                return Ok(UNAVAILABLE);
            }
            let stored = (r.len as usize).min(cap);
            set_array_region(env, b, off, &buf[..stored]);
            let mut wire = [0u8; WIRE_LEN];
            if let Some(from) = r.from {
                addr::encode(&from, &mut wire);
            }
            set_array_region(env, sender, 0, &wire);
            if let (Some((length, _)), false) = (fields, packet.is_null()) {
                set_int_field(env, packet, length, stored as jint);
            }
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

fn batch_shape(slot: jint, from: jint, count: jint) -> NetResult<(usize, usize, usize)> {
    let bad = |m: String| NetError::new(ExceptionClass::IllegalArgument, m);
    let slot = usize::try_from(slot)
        .ok()
        .filter(|s| (1..=MAX_DATAGRAM + 1).contains(s))
        .ok_or_else(|| bad(format!("slot size {slot}")))?;
    let from = usize::try_from(from).map_err(|_| bad(format!("first slot {from}")))?;
    let count = usize::try_from(count)
        .ok()
        .filter(|c| *c <= MAX_BATCH)
        .ok_or_else(|| bad(format!("batch of {count} datagrams (at most {MAX_BATCH})")))?;
    Ok((slot, from, count))
}

fn get_ints(raw: *mut jni::sys::JNIEnv, array: jintArray, off: usize, out: &mut [i32]) {
    // SAFETY: a valid env and a non-null int[]; the Java caller checked the bounds.
    unsafe {
        ((**raw).v1_1.GetIntArrayRegion)(
            raw,
            array,
            off as jint,
            out.len() as jint,
            out.as_mut_ptr(),
        );
    }
}

fn set_ints(raw: *mut jni::sys::JNIEnv, array: jintArray, off: usize, src: &[i32]) {
    // SAFETY: as for get_ints.
    unsafe {
        ((**raw).v1_1.SetIntArrayRegion)(raw, array, off as jint, src.len() as jint, src.as_ptr());
    }
}

/// sendmmsg(2) of slots `from..from+count` of a batch: slot `i` holds
/// `lens[i]` bytes at `data[i * slot..]` for the address `targets[i * 23..]`
/// (byte 0 zero: the connected peer). Returns how many datagrams were sent,
/// counted from `from`, or -2 when a non-blocking descriptor could send none.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_rustsocket_internal_NativeDatagram_sendBatch(
    env: *mut jni::sys::JNIEnv,
    _class: jclass,
    fd: jint,
    data: jbyteArray,
    slot: jint,
    lens: jintArray,
    targets: jbyteArray,
    from: jint,
    count: jint,
) -> jint {
    hot(env, || {
        non_null(data)?;
        non_null(targets)?;
        let (slot, from, count) = batch_shape(slot, from, count)?;
        // the datagrams go end to end into the buffer: it needs their total length, not
        // `count` whole slots
        with_batch(|st| {
            st.got.resize(count, 0);
            get_ints(env, lens, from, &mut st.got);
            st.lens.clear();
            for &l in &st.got {
                st.lens.push(datagram_len(l)?.min(slot));
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
                get_array_region(
                    env,
                    data,
                    (from * slot) as jint,
                    &mut st.data[..count * slot],
                );
                let mut at = 0;
                for (i, &len) in st.lens.iter().enumerate() {
                    st.data.copy_within(i * slot..i * slot + len, at);
                    at += len;
                }
            } else {
                let mut at = 0;
                for (i, &len) in st.lens.iter().enumerate() {
                    get_array_region(
                        env,
                        data,
                        ((from + i) * slot) as jint,
                        &mut st.data[at..at + len],
                    );
                    at += len;
                }
            }
            st.wires.resize(count, [0u8; WIRE_LEN]);
            get_array_region(
                env,
                targets,
                (from * WIRE_LEN) as jint,
                st.wires[..count].as_flattened_mut(),
            );
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
            udp::send_batch(
                fd,
                &mut st.scratch,
                &st.data[..total],
                &st.lens,
                &st.targets,
            )
        })
    })
}

/// Runs `f` on this thread's batch buffers, then gives back what a large batch took.
fn with_batch(f: impl FnOnce(&mut BatchState) -> NetResult<i32>) -> NetResult<i32> {
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
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_rustsocket_internal_NativeDatagram_receiveBatch(
    env: *mut jni::sys::JNIEnv,
    _class: jclass,
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
    hot(env, || {
        non_null(data)?;
        non_null(senders)?;
        let (slot, from, count) = batch_shape(slot, from, count)?;
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
            let first = (from * slot) as jint;
            if n * slot <= WHOLE_COPY_LIMIT {
                // small slots: one copy of all of them, the bytes past each datagram zeroed
                // (never another datagram's leftovers)
                for i in 0..n {
                    st.data[i * slot + st.got[i] as usize..(i + 1) * slot].fill(0);
                }
                set_array_region(env, data, first, &st.data[..n * slot]);
            } else {
                for i in 0..n {
                    let len = st.got[i] as usize;
                    set_array_region(
                        env,
                        data,
                        first + (i * slot) as jint,
                        &st.data[i * slot..i * slot + len],
                    );
                }
            }
            for i in 0..n {
                if st.truncated[i] {
                    st.got[i] = -st.got[i] - 1;
                }
            }
            set_array_region(
                env,
                senders,
                (from * WIRE_LEN) as jint,
                st.wires[..n].as_flattened(),
            );
            set_ints(env, lens, from, &st.got[..n]);
            Ok(n as jint)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_shapes_are_checked() {
        assert_eq!(batch_shape(512, 3, 64).unwrap(), (512, 3, 64));
        assert!(batch_shape(0, 0, 1).is_err());
        assert!(batch_shape(MAX_DATAGRAM as jint + 2, 0, 1).is_err());
        assert!(batch_shape(1, -1, 1).is_err());
        assert!(batch_shape(1, 0, MAX_BATCH as jint + 1).is_err());
        assert!(datagram_len(-1).is_err());
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
