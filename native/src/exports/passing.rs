//! The descriptor-passing exports of `io.rustsocket.internal.Native` (see [`crate::passing`]),
//! and the JNI side of `java.io.FileDescriptor`: reading the number inside one (or inside a
//! JDK channel or socket, which do not expose it) always as a close-on-exec duplicate, checked
//! against a concurrent close, and making a new one that the JDK's own streams can use and close.
//!
//! The JDK classes are reached through JNI, which applies no module access checks, so no
//! `--add-opens` is needed. A JDK whose private fields or methods differ gives "no descriptor"
//! (the exception its lookup raised is cleared), never a crash.

use super::socket::MAX_CHUNK;
use super::{
    as_jbytes, as_jbytes_mut, in_bounds, object_arg, require, run, with_staging, Failure, Outcome,
};
use crate::error::{ExceptionClass, NetError};
use crate::passing::{self, MAX_FDS};
use crate::sock;
use jni::objects::{JByteArray, JClass, JIntArray, JObject, JValue};
use jni::sys::jint;
use jni::{jni_mangle, jni_sig, jni_str, Env, EnvUnowned};

/// Returned by [`channel_descriptor`] and [`socket_impl_descriptor`] when the object holds no
/// descriptor this library can reach.
const NO_DESCRIPTOR: jint = -1;

/// The ints [`unix_read_with_descriptors`] writes before the descriptors: their count and the
/// truncation flag.
const READ_HEADER: usize = 2;

fn illegal(message: impl Into<String>) -> Failure {
    NetError::new(ExceptionClass::IllegalArgument, message).into()
}

/// The `fd` field of a `java.io.FileDescriptor` (-1 once closed); `IllegalArgumentException`
/// for any other object.
fn descriptor_number(env: &mut Env<'_>, descriptor: &JObject<'_>) -> Outcome<jint> {
    let class = env.find_class(jni_str!("java/io/FileDescriptor"))?;
    if !env.is_instance_of(descriptor, &class)? {
        return Err(illegal("not a java.io.FileDescriptor"));
    }
    Ok(env
        .get_field(descriptor, jni_str!("fd"), jni_sig!("I"))?
        .i()?)
}

/// A close-on-exec duplicate of the descriptor inside `descriptor`, which the caller owns. The
/// field is read again after the duplicate is made: if it still holds the same number, the
/// `FileDescriptor` was open throughout (a close sets it to -1 before closing the number), so
/// the duplicate is its file and not a reused number's.
fn duplicate_of(env: &mut Env<'_>, descriptor: &JObject<'_>) -> Outcome<jint> {
    let number = descriptor_number(env, descriptor)?;
    if number < 0 {
        return Err(illegal(
            "the FileDescriptor is not valid (closed, or never opened)",
        ));
    }
    let copy = passing::duplicate(number)?;
    match descriptor_number(env, descriptor) {
        Ok(again) if again == number => Ok(copy),
        Ok(_) => {
            sock::close(copy);
            Err(illegal("the FileDescriptor was closed during the call"))
        }
        Err(e) => {
            sock::close(copy);
            Err(e)
        }
    }
}

/// A duplicate of the descriptor a JDK object holds (see [`duplicate_of`]), or
/// [`NO_DESCRIPTOR`] when it holds none or a closed one.
fn duplicate_if_open(env: &mut Env<'_>, descriptor: Option<JObject<'_>>) -> Outcome<jint> {
    match descriptor {
        Some(d) if descriptor_number(env, &d)? >= 0 => duplicate_of(env, &d),
        _ => Ok(NO_DESCRIPTOR),
    }
}

/// Runs a lookup of JDK internals; `None`, with the exception it raised (NoSuchFieldError,
/// NoSuchMethodError) cleared, when this JDK does not have them.
fn jdk_lookup<'l, T>(
    env: &mut Env<'l>,
    lookup: impl FnOnce(&mut Env<'l>) -> jni::errors::Result<Option<T>>,
) -> Option<T> {
    lookup(env).unwrap_or_else(|_| {
        if env.exception_check() {
            env.exception_clear();
        }
        None
    })
}

/// The `java.io.FileDescriptor` inside a JDK channel: the `fd` field of a
/// `sun.nio.ch.FileChannelImpl` (`FileChannel.open`, `FileInputStream.getChannel`, ...), or what
/// `getFD()` of a `sun.nio.ch.SelChImpl` returns (socket, server-socket, datagram and pipe
/// channels). `None` for other classes, or when this JDK has neither.
pub(crate) fn channel_file_descriptor<'l>(
    env: &mut Env<'l>,
    channel: &JObject<'_>,
) -> Option<JObject<'l>> {
    jdk_lookup(env, |env| {
        let file = env.find_class(jni_str!("sun/nio/ch/FileChannelImpl"))?;
        let descriptor = if env.is_instance_of(channel, &file)? {
            env.get_field(
                channel,
                jni_str!("fd"),
                jni_sig!("Ljava/io/FileDescriptor;"),
            )?
            .l()?
        } else {
            let selectable = env.find_class(jni_str!("sun/nio/ch/SelChImpl"))?;
            if !env.is_instance_of(channel, &selectable)? {
                return Ok(None);
            }
            env.call_method(
                channel,
                jni_str!("getFD"),
                jni_sig!("()Ljava/io/FileDescriptor;"),
                &[],
            )?
            .l()?
        };
        Ok((!descriptor.is_null()).then_some(descriptor))
    })
}

/// A duplicate of the descriptor inside `descriptor` (see `duplicate_of`):
/// `NullPointerException` for null, `IllegalArgumentException` when it is not valid or not open.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn duplicate_descriptor<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    descriptor: JObject<'local>,
) -> jint {
    run(&mut env, |env| {
        duplicate_of(env, object_arg(&descriptor, "descriptor")?)
    })
}

/// A close-on-exec duplicate of descriptor `fd`.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn duplicate<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>, fd: jint) -> jint {
    run(&mut env, |_| Ok(passing::duplicate(fd)?))
}

/// A duplicate of the descriptor of a JDK channel (see `channel_file_descriptor`), or -1
/// when the channel is another class or closed.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn channel_descriptor<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    channel: JObject<'local>,
) -> jint {
    run(&mut env, |env| {
        let channel = object_arg(&channel, "channel")?;
        let descriptor = channel_file_descriptor(env, channel);
        duplicate_if_open(env, descriptor)
    })
}

/// The `SocketImpl` of a `java.net.Socket` or `java.net.ServerSocket` (their private `impl`
/// field), or null when it has none or this JDK names the field otherwise.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn socket_impl<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    socket: JObject<'local>,
) -> JObject<'local> {
    run(&mut env, |env| {
        let socket = object_arg(&socket, "socket")?;
        Ok(jdk_lookup(env, |env| {
            let client = env.find_class(jni_str!("java/net/Socket"))?;
            let server = env.find_class(jni_str!("java/net/ServerSocket"))?;
            if !env.is_instance_of(socket, &client)? && !env.is_instance_of(socket, &server)? {
                return Ok(None);
            }
            let imp = env
                .get_field(socket, jni_str!("impl"), jni_sig!("Ljava/net/SocketImpl;"))?
                .l()?;
            Ok(Some(imp))
        })
        .unwrap_or_default())
    })
}

/// A duplicate of the descriptor of a JDK `SocketImpl` (what its protected
/// `getFileDescriptor()` returns), or -1 when it has none (not created yet, closed).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn socket_impl_descriptor<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    socket_impl: JObject<'local>,
) -> jint {
    run(&mut env, |env| {
        let socket_impl = object_arg(&socket_impl, "impl")?;
        let descriptor = jdk_lookup(env, |env| {
            let class = env.find_class(jni_str!("java/net/SocketImpl"))?;
            if !env.is_instance_of(socket_impl, &class)? {
                return Ok(None);
            }
            let d = env
                .call_method(
                    socket_impl,
                    jni_str!("getFileDescriptor"),
                    jni_sig!("()Ljava/io/FileDescriptor;"),
                    &[],
                )?
                .l()?;
            Ok((!d.is_null()).then_some(d))
        });
        duplicate_if_open(env, descriptor)
    })
}

/// A new `java.io.FileDescriptor` that owns descriptor `fd`: the JDK's streams built on it
/// read, write and close it, and, as for a file the JDK opened itself, the JDK's cleaner closes
/// it if it becomes unreachable still open (its `FileCleanable`; on a JDK without one, only an
/// explicit close does). On failure the caller still owns `fd`.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn new_file_descriptor<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
) -> JObject<'local> {
    run(&mut env, |env| {
        if fd < 0 {
            return Err(illegal(format!("{fd} is not a descriptor")));
        }
        let class = env.find_class(jni_str!("java/io/FileDescriptor"))?;
        let descriptor = env.new_object(&class, jni_sig!("()V"), &[])?;
        env.set_field(&descriptor, jni_str!("fd"), jni_sig!("I"), JValue::Int(fd))?;
        let registered = jdk_lookup(env, |env| {
            let cleanable = env.find_class(jni_str!("java/io/FileCleanable"))?;
            env.call_static_method(
                &cleanable,
                jni_str!("register"),
                jni_sig!("(Ljava/io/FileDescriptor;)V"),
                &[JValue::Object(&descriptor)],
            )?;
            Ok(Some(()))
        });
        if registered.is_none() {
            log::debug!("fd {fd}: no FileCleanable on this JDK; closed only when closed");
        }
        Ok(descriptor)
    })
}

/// Readies a received descriptor to become a connected Unix socket (see [`passing::adopt`]).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn adopt_socket<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>, fd: jint) {
    run(&mut env, |_| Ok(passing::adopt(fd)?))
}

/// Writes at most one chunk of `b[off..off+len]` with the descriptors `fds[0..count]` attached
/// to its first byte: bytes written, or -2 when the send buffer is full (nothing was sent).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn unix_write_with_descriptors<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    b: JByteArray<'local>,
    off: jint,
    len: jint,
    fds: JIntArray<'local>,
    count: jint,
) -> jint {
    run(&mut env, |env| {
        require(b.as_raw(), "buffer")?;
        let (off, len) = in_bounds(off.into(), len.into(), b.len(env)?)?;
        require(fds.as_raw(), "descriptors")?;
        let (_, count) = in_bounds(0, count.into(), fds.len(env)?)?;
        let mut numbers = [0; MAX_FDS];
        let numbers = numbers.get_mut(..count).ok_or_else(|| {
            illegal(format!(
                "at most {MAX_FDS} descriptors travel with one write, not {count}"
            ))
        })?;
        fds.get_region(env, 0, numbers)?;
        with_staging(len.min(MAX_CHUNK), |data| {
            b.get_region(env, off as jint, as_jbytes_mut(data))?;
            Ok(passing::send(fd, data, numbers)?)
        })
    })
}

/// Reads at most one chunk into `b[off..off+len]`, taking the descriptors sent with those
/// bytes: returns the bytes read, -1 at end of stream or -2 when nothing is there; `out[0]` is
/// how many descriptors arrived, `out[1]` is 1 when some were lost (and those that did arrive
/// were closed), and the descriptors follow from `out[2]`. `out` must hold 2 + 253 ints.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn unix_read_with_descriptors<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    b: JByteArray<'local>,
    off: jint,
    len: jint,
    out: JIntArray<'local>,
) -> jint {
    run(&mut env, |env| {
        require(b.as_raw(), "buffer")?;
        let (off, len) = in_bounds(off.into(), len.into(), b.len(env)?)?;
        require(out.as_raw(), "out")?;
        in_bounds(0, (READ_HEADER + MAX_FDS) as i64, out.len(env)?)?;
        with_staging(len.min(MAX_CHUNK), |data| {
            let mut fds = [-1; MAX_FDS];
            let r = passing::receive(fd, data, &mut fds)?;
            let received = &fds[..r.count];
            let delivered = (|| -> Outcome<()> {
                if r.len > 0 {
                    b.set_region(env, off as jint, as_jbytes(&data[..r.len as usize]))?;
                }
                out.set_region(env, 0, &[r.count as jint, jint::from(r.truncated)])?;
                out.set_region(env, READ_HEADER as jint, received)?;
                Ok(())
            })();
            if let Err(e) = delivered {
                // never a descriptor the caller was not told about
                received.iter().for_each(|&fd| sock::close(fd));
                return Err(e);
            }
            Ok(r.len)
        })
    })
}
